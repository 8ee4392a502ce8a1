#!/usr/bin/env bash
# A one-machine Slurm cluster for the executor tests (Debian's slurm-wlm and munge), every
# daemon on loopback, fake GPUs as two character devices. `up` installs what is missing, writes
# /etc/slurm, starts munged, slurmctld and slurmd unless they answer already, and prints
# "started" or "running"; `down` stops the daemons `up` started (their pids are in $STATE).
# Needs root on Debian; says why otherwise and exits 1.
set -euo pipefail
STATE=/run/sabuild-slurm
MARK="# sabuild test cluster"
say() { printf 'slurm-cluster: %s\n' "$*" >&2; }

answers() { timeout 5 sinfo -h -o %T >/dev/null 2>&1 && [ -n "$(timeout 5 sinfo -h -o %T 2>/dev/null)" ]; }

node_ready() {
  local st
  st="$(timeout 5 sinfo -h -N -o %T 2>/dev/null | head -1)"
  case "$st" in idle*|mixed*|allocated*|completing*) return 0 ;; *) return 1 ;; esac
}

install() {
  command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || { say "slurm-wlm and munge are missing and this is not root on Debian: install them (apt-get install slurm-wlm munge)"; exit 1; }
  say "installing slurm-wlm and munge"
  { apt-get install -y -qq slurm-wlm munge || { apt-get update -qq && apt-get install -y -qq slurm-wlm munge; }; } >/dev/null 2>&1 || { say "apt-get install slurm-wlm munge failed"; exit 1; }
}

configure() {
  local host cpus mem
  host="$(hostname -s)"
  if [ -f /etc/slurm/slurm.conf ] && ! grep -q "$MARK" /etc/slurm/slurm.conf; then say "/etc/slurm/slurm.conf exists and is not ours: using it as it is"; return 0; fi
  cpus="$(nproc)"
  mem="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)"
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  [ -e /dev/fakegpu0 ] || mknod /dev/fakegpu0 c 1 3
  [ -e /dev/fakegpu1 ] || mknod /dev/fakegpu1 c 1 3
  cat > /etc/slurm/slurm.conf <<CONF
$MARK
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MinJobAge=3600
DefMemPerCPU=256
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$((mem * 9 / 10)) Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  echo "NodeName=$host Name=gpu File=/dev/fakegpu[0-1]" > /etc/slurm/gres.conf
}

up() {
  install
  if answers && node_ready; then echo running; return 0; fi
  configure
  mkdir -p "$STATE" /run/munge
  chown munge:munge /run/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || { mungekey -c 2>/dev/null || create-munge-key -f 2>/dev/null || true; chown munge:munge /etc/munge/munge.key 2>/dev/null || true; }
    su -s /bin/sh munge -c /usr/sbin/munged
    sleep 0.5
    # munged daemonizes: its own pid file names the daemon, not the su that started it.
    cp /run/munge/munged.pid "$STATE/munged.pid" 2>/dev/null || true
  fi
  if ! answers; then
    (setsid slurmctld -D > "$STATE/slurmctld.out" 2>&1 & echo $! > "$STATE/slurmctld.pid")
    for _ in $(seq 1 30); do answers && break; sleep 0.5; done
  fi
  if ! pgrep -x slurmd >/dev/null; then
    (setsid slurmd -D > "$STATE/slurmd.out" 2>&1 & echo $! > "$STATE/slurmd.pid")
  fi
  local host
  host="$(hostname -s)"
  for i in $(seq 1 40); do
    node_ready && break
    # A node left drained or invalid by an earlier registration: clear it once it has registered.
    [ "$i" = 6 ] && scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  node_ready || { say "the node did not become idle: $(sinfo -h -N -o '%T %E' 2>&1 | head -1); see $STATE/*.out and /var/log/slurm"; exit 1; }
  echo started
}

down() {
  local f
  for f in slurmd slurmctld munged; do
    [ -f "$STATE/$f.pid" ] || continue
    kill "$(cat "$STATE/$f.pid")" 2>/dev/null || true
    rm -f "$STATE/$f.pid"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
