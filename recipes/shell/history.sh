#!/bin/sh
# Builds the workspace: "relay", a small webhook relay in POSIX shell, with a release history.
# Fixed names and dates make the commit ids the same on every build.
set -eu
cd /workspace
git init -q -b main .
git config user.name "Dana Reyes"
git config user.email "dana@example.com"

at() { export GIT_AUTHOR_DATE="$1 +0000" GIT_COMMITTER_DATE="$1 +0000"; }
commit() { at "$1"; git add -A; git commit -q -m "$2"; }
tag() { at "$1"; git tag -a "$2" -m "Release ${2#v}"; }
put() { mkdir -p "$(dirname "$1")"; cat >"$1"; }

put README.md <<'EOF'
# relay

Forwards JSON events from a spool directory to HTTP webhooks.

    bin/relay --config config/relay.conf
EOF
put deps.txt <<'EOF'
curl 8.5.0
jq 1.7
shellcheck 0.9.0
EOF
put config/relay.conf <<'EOF'
spool=/var/spool/relay
endpoint=https://hooks.example.com/in
log_level=info
EOF
put lib/config.sh <<'EOF'
# Reads key=value lines into RELAY_<KEY> variables.
load_config() {
  while IFS='=' read -r key value; do
    [ -n "$key" ] || continue
    eval "RELAY_$(echo "$key" | tr '[:lower:]' '[:upper:]')=\$value"
  done <"$1"
}
EOF
put lib/deliver.sh <<'EOF'
# Posts one event file to the endpoint.
deliver() {
  curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "@$1" "$RELAY_ENDPOINT"
}
EOF
put bin/relay <<'EOF'
#!/bin/sh
set -eu
here=$(dirname "$0")/..
. "$here/lib/config.sh"
. "$here/lib/deliver.sh"
config=$here/config/relay.conf
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$2; shift 2 ;;
    *) echo "relay: unknown option $1" >&2; exit 2 ;;
  esac
done
load_config "$config"
for event in "$RELAY_SPOOL"/*.json; do
  [ -e "$event" ] || continue
  deliver "$event" && rm -f "$event"
done
EOF
chmod +x bin/relay
put CHANGELOG.md <<'EOF'
# Changelog

## 1.0.0 - 2024-02-26

### Added
- Forward spooled JSON events to one webhook endpoint
EOF
commit "2024-02-26T10:00:00" "Initial import of relay"
tag "2024-02-26T10:05:00" v1.0.0

sed -i 's/    \*) echo/    --dry-run) dry_run=1; shift ;;\n    *) echo/' bin/relay
sed -i 's/^config=\$here/dry_run=0\nconfig=$here/' bin/relay
sed -i 's/^  deliver "\$event"/  if [ "$dry_run" = 1 ]; then echo "would send $event"; continue; fi\n  deliver "$event"/' bin/relay
commit "2024-03-11T09:12:00" "Add --dry-run flag that lists events without sending them"

sed -i 's/^curl 8.5.0/curl 8.6.0/' deps.txt
commit "2024-03-12T16:40:00" "deps: bump curl from 8.5.0 to 8.6.0"

sed -i 's/\[ -n "\$key" \] || continue/[ -n "$key" ] || continue\n    key=$(printf %s "$key" | tr -d "[:space:]")/' lib/config.sh
commit "2024-03-18T11:03:00" "Fix crash when the config file ends with a blank line"

put CHANGELOG.md <<'EOF'
# Changelog

## 1.1.0 - 2024-03-20

### Added
- Add --dry-run flag that lists events without sending them

### Fixed
- Fix crash when the config file ends with a blank line

## 1.0.0 - 2024-02-26

### Added
- Forward spooled JSON events to one webhook endpoint
EOF
commit "2024-03-20T08:30:00" "Release 1.1.0"
tag "2024-03-20T08:31:00" v1.1.0

put lib/retry.sh <<'EOF'
# Runs a command up to RELAY_ATTEMPTS times, doubling the pause after each failure.
retry() {
  attempts=${RELAY_ATTEMPTS:-3}
  pause=1
  n=1
  while ! "$@"; do
    [ "$n" -lt "$attempts" ] || return 1
    sleep "$pause"
    pause=$((pause * 2))
    n=$((n + 1))
  done
}
EOF
sed -i 's/^\. "\$here\/lib\/deliver.sh"/. "$here\/lib\/deliver.sh"\n. "$here\/lib\/retry.sh"/' bin/relay
sed -i 's/^  deliver "\$event" \&\&/  retry deliver "$event" \&\&/' bin/relay
echo "attempts=3" >>config/relay.conf
commit "2024-04-02T14:20:00" "Add retries with exponential backoff for failed deliveries"

sed -i 's/^jq 1.7$/jq 1.7.1/' deps.txt
commit "2024-04-03T10:00:00" "deps: bump jq from 1.7 to 1.7.1"

printf 'failed=0\n' >>lib/deliver.sh
commit "2024-04-09T17:45:00" "Fix exit status when every delivery fails"

put CHANGELOG.md <<'EOF'
# Changelog

## 1.2.0 - 2024-04-10

### Added
- Add retries with exponential backoff for failed deliveries

### Fixed
- Fix exit status when every delivery fails

## 1.1.0 - 2024-03-20

### Added
- Add --dry-run flag that lists events without sending them

### Fixed
- Fix crash when the config file ends with a blank line

## 1.0.0 - 2024-02-26

### Added
- Forward spooled JSON events to one webhook endpoint
EOF
commit "2024-04-10T09:00:00" "Release 1.2.0"
tag "2024-04-10T09:01:00" v1.2.0

sed -i "s/curl -fsS -X POST/curl -fsS --max-time \"\${RELAY_TIMEOUT:-10}\" -X POST/" lib/deliver.sh
echo "timeout=10" >>config/relay.conf
commit "2024-05-06T10:15:00" "Add timeout option for slow endpoints"

sed -i 's/^curl 8.6.0/curl 8.7.1/' deps.txt
commit "2024-05-07T08:00:00" "deps: bump curl from 8.6.0 to 8.7.1"

sed -i 's/\[ "\$n" -lt "\$attempts" \]/[ "$n" -le "$attempts" ]/' lib/retry.sh
commit "2024-05-08T15:30:00" "Fix retry counter that skipped the last attempt"

git checkout -q -b fix/header-quoting
sed -i "s/-H 'Content-Type: application\/json'/-H \"Content-Type: application\/json\" \${RELAY_HEADER:+-H \"\$RELAY_HEADER\"}/" lib/deliver.sh
commit "2024-05-09T11:00:00" "Fix quoting of header values that contain spaces"
git checkout -q main
at "2024-05-09T13:00:00"
git merge -q --no-ff -m "Merge branch 'fix/header-quoting'" fix/header-quoting
git branch -q -d fix/header-quoting

put lib/log.sh <<'EOF'
# One JSON object per line on stderr: {"level":"info","msg":"..."}
log() { printf '{"level":"%s","msg":"%s"}\n' "$1" "$2" >&2; }
EOF
commit "2024-05-10T12:00:00" "Change the log format to one JSON object per line"

sed -i 's/^shellcheck 0.9.0/shellcheck 0.10.0/' deps.txt
commit "2024-05-13T09:40:00" "deps: bump shellcheck from 0.9.0 to 0.10.0"

cat >>README.md <<'EOF'

## Configuration

`config/relay.conf` holds `key=value` lines: `spool`, `endpoint`, `log_level`, `attempts`
(delivery attempts per event) and `timeout` (seconds per request).
EOF
commit "2024-05-14T16:05:00" "Document the configuration keys in the README"

unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE
