# Brings what the sabuild CLI itself needs into a fresh clone, once: a Node >= 22 (fetched from
# the npm registry as the node-linux-<arch> package when the system one is older), the npm
# dependencies, and the compiled CLI. Later runs find everything in place and start at once.
# Sourced by bin/sabuild and bin/test; sets SABUILD_NODE. Messages go to stderr.

SABUILD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SABUILD_MIN_NODE=22

sabuild_say() { printf 'sabuild setup: %s\n' "$*" >&2; }

sabuild_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

sabuild_ensure_node() {
  local local_node="$SABUILD_ROOT/.sabuild/node/bin/node"
  if [ -x "$local_node" ]; then SABUILD_NODE="$local_node"; return 0; fi
  local sys
  sys="$(command -v node || true)"
  if [ -n "$sys" ] && [ "$(sabuild_node_major "$sys")" -ge "$SABUILD_MIN_NODE" ]; then SABUILD_NODE="$sys"; return 0; fi
  command -v npm >/dev/null || { sabuild_say "need Node >= $SABUILD_MIN_NODE or npm to fetch it; install Node from https://nodejs.org"; return 1; }
  local arch
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) sabuild_say "no Node package for $(uname -m)"; return 1 ;; esac
  sabuild_say "system Node is ${sys:+$("$sys" --version)}${sys:-missing}; fetching Node 24 (npm package node-linux-$arch) into .sabuild/node"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-$arch@24" >/dev/null 2>&1) || { sabuild_say "npm pack node-linux-$arch@24 failed"; rm -rf "$tmp"; return 1; }
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp/x" package/bin/node
  mkdir -p "$SABUILD_ROOT/.sabuild/node/bin.tmp" && mv "$tmp/x/package/bin/node" "$SABUILD_ROOT/.sabuild/node/bin.tmp/node"
  rm -rf "$SABUILD_ROOT/.sabuild/node/bin" && mv "$SABUILD_ROOT/.sabuild/node/bin.tmp" "$SABUILD_ROOT/.sabuild/node/bin"
  rm -rf "$tmp"
  SABUILD_NODE="$local_node"
}

sabuild_ensure_deps() {
  local stamp="$SABUILD_ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ ! "$SABUILD_ROOT/package-lock.json" -nt "$stamp" ]; then return 0; fi
  sabuild_say "installing npm dependencies"
  # npm runs under the Node chosen above (it is first on PATH).
  (cd "$SABUILD_ROOT" && PATH="$(dirname "$SABUILD_NODE"):$PATH" npm ci --no-audit --no-fund --loglevel=error >&2)
}

sabuild_ensure_dist() {
  local stamp="$SABUILD_ROOT/dist/.build-stamp"
  [ -d "$SABUILD_ROOT/src" ] || return 0 # an installed package ships dist/ only
  if [ -f "$stamp" ] && [ -z "$(find "$SABUILD_ROOT/src" "$SABUILD_ROOT/scripts" "$SABUILD_ROOT/tsconfig.json" "$SABUILD_ROOT/package.json" -newer "$stamp" -print -quit)" ]; then return 0; fi
  sabuild_say "compiling the CLI (tsc)"
  (cd "$SABUILD_ROOT" && rm -rf dist && "$SABUILD_NODE" node_modules/typescript/bin/tsc -p tsconfig.json >&2 && "$SABUILD_NODE" scripts/bundle-cli.mjs >&2) || return 1
  touch "$stamp"
}

# The test suite runs the remote cache against a real nginx (WebDAV PUT), as users' servers are;
# sabuild setup installs it for docs folders that sabuild serves (SABUILD_NGINX_FOR says so).
sabuild_ensure_nginx() {
  local why="${SABUILD_NGINX_FOR:-the remote cache tests}"
  { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    sabuild_say "installing nginx-light for $why"
    { apt-get install -y -qq nginx-light || { apt-get update -qq && apt-get install -y -qq nginx-light; }; } >/dev/null 2>&1 ||
      { sabuild_say "could not install nginx-light; $why need it"; return 1; }
    # The package starts a default server on port 80; the tests and sabuild start their own.
    nginx -s quit >/dev/null 2>&1 || true
  else
    sabuild_say "nginx is missing: install it (apt-get install nginx-light); $why need it"
    return 1
  fi
}

sabuild_apt_install() {
  { apt-get install -y -qq "$@" || { apt-get update -qq && apt-get install -y -qq "$@"; }; } >/dev/null 2>&1
}

# The sandbox tests (and every build: the pipeline's sandbox stage) need a Docker engine and
# the base image. No registry may be reachable: the base image then comes from debootstrap.
sabuild_ensure_docker() {
  local base="${SABUILD_BASE_IMAGE:-debian:bookworm-slim}" root
  local can_apt=0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && can_apt=1
  # A docker client alone (some images ship one) cannot start an engine: install the engine too.
  if ! command -v docker >/dev/null 2>&1 || { ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1 && [ -z "${DOCKER_HOST:-}" ]; }; then
    if [ "$can_apt" = 1 ]; then
      sabuild_say "installing docker.io for the sandbox tests"
      sabuild_apt_install docker.io || { sabuild_say "could not install docker.io; the sandbox tests will say so"; return 0; }
    else
      sabuild_say "Docker is missing: install it (apt-get install docker.io); the sandbox tests need it"
      return 0
    fi
  fi
  if ! docker info >/dev/null 2>&1; then
    if [ -n "${DOCKER_HOST:-}" ] || ! command -v dockerd >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
      sabuild_say "the Docker engine does not answer${DOCKER_HOST:+ at $DOCKER_HOST}: start it (dockerd); the sandbox tests need it"
      return 0
    fi
    sabuild_say "starting dockerd (log: /var/log/sabuild-dockerd.log)"
    (setsid dockerd >/var/log/sabuild-dockerd.log 2>&1 &)
    local i
    for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { sabuild_say "dockerd did not come up; see /var/log/sabuild-dockerd.log"; return 0; }
  fi
  docker image inspect "$base" >/dev/null 2>&1 && return 0
  docker pull -q "$base" >/dev/null 2>&1 && return 0
  case "$base" in debian:bookworm-slim) ;; *) sabuild_say "cannot pull $base; pull or import it by hand"; return 0 ;; esac
  if ! command -v debootstrap >/dev/null 2>&1; then
    [ "$can_apt" = 1 ] && sabuild_say "installing debootstrap to make $base" && sabuild_apt_install debootstrap
    command -v debootstrap >/dev/null 2>&1 || { sabuild_say "$base is missing and debootstrap is not installed; the sandbox tests need the image"; return 0; }
  fi
  sabuild_say "making $base with debootstrap (no registry answered)"
  root="$(mktemp -d)"
  if debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null 2>&1; then
    tar -C "$root" -c . | docker import - "$base" >/dev/null
  else
    sabuild_say "debootstrap failed; the sandbox tests will say so"
  fi
  rm -rf "$root"
}

# The report page is tested in headless Chromium (Debian's package; playwright-core drives it).
sabuild_ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    sabuild_say "installing chromium for the report page tests"
    sabuild_apt_install chromium || sabuild_say "could not install chromium; the report page tests will say so"
  else
    sabuild_say "chromium is missing: install it (apt-get install chromium); the report page tests need it"
  fi
}

# The sandbox contract suite runs against rootful Podman too (through its Docker-compatible
# API); catatonit is the init binary sandboxes start with.
sabuild_ensure_podman() {
  command -v podman >/dev/null 2>&1 && [ -x /usr/libexec/podman/catatonit ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    sabuild_say "installing podman for the sandbox contract tests"
    sabuild_apt_install podman catatonit || sabuild_say "could not install podman; the podman contract tests will say so"
  else
    sabuild_say "podman is missing: install it (apt-get install podman catatonit); the podman contract tests need it"
  fi
}

# The executor contract suite runs against a real one-machine Slurm cluster (slurm-wlm and
# munge from Debian, on loopback; tests/support/slurm-cluster.sh) and a real Ray head (pip's
# ray, core only). Missing either, those tests fail and say why: they never pass unrun.
sabuild_ensure_slurm() {
  local out
  if out="$("$SABUILD_ROOT/tests/support/slurm-cluster.sh" up 2>&1)"; then
    if [ "$out" = started ]; then
      sabuild_say "started a one-machine Slurm cluster for the executor tests; stopped when they end"
      SABUILD_SLURM_STARTED=1
    fi
  else
    sabuild_say "no Slurm cluster for the executor tests: $out"
  fi
}

sabuild_ensure_ray() {
  local venv="${SABUILD_RAY_VENV:-${TMPDIR:-/tmp}/sabuild-test-ray-venv}"
  [ -x "$venv/bin/ray" ] && return 0
  command -v python3 >/dev/null 2>&1 || { sabuild_say "python3 is missing; the Ray executor tests need it"; return 0; }
  sabuild_say "installing ray 2.58.0 into $venv for the executor tests"
  { python3 -m venv "$venv" && PIP_RETRIES=0 "$venv/bin/pip" install -q ray==2.58.0; } >/dev/null 2>&1 ||
    sabuild_say "could not install ray; the Ray executor tests will say so"
}

sabuild_ensure_test_tools() {
  sabuild_ensure_nginx || true
  sabuild_ensure_docker
  sabuild_ensure_podman
  sabuild_ensure_chromium
  sabuild_ensure_slurm
  sabuild_ensure_ray
}

sabuild_bootstrap() {
  sabuild_ensure_node && sabuild_ensure_deps && sabuild_ensure_dist
}
