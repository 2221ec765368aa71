#!/usr/bin/env bash
# A one-node Slurm for RuleDsl's tests and for trying `ruledsl submit` on one machine: installs
# Debian's slurm-wlm and munge, writes a configuration with slurmctld and slurmd on this host (its
# CPUs and memory), starts munged, slurmctld and slurmd, and waits until `sinfo` shows the node up
# (idle, or mixed/allocated when jobs, e.g. a test's, are running on it).
# Idempotent: a second run finds everything up and says so. `--stop` stops the three daemons.
# Runs as root (or through sudo): the daemons and their spool folders are the system's.
set -euo pipefail
fail() { echo "install-slurm: $*" >&2; exit 1; }
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || fail "needs root (apt-get, daemons); run this script as root"
  sudo=sudo
fi
conf=/etc/slurm/slurm.conf
state=/var/lib/ruledsl-slurm

stop() {
  $sudo scontrol shutdown >/dev/null 2>&1 || true
  for d in slurmd slurmctld munged; do $sudo pkill -x "$d" 2>/dev/null || true; done
  for _ in $(seq 50); do pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || pgrep -x munged >/dev/null || break; sleep 0.2; done
  echo "install-slurm: stopped"
}
if [ "${1:-}" = "--stop" ]; then stop; exit 0; fi
[ $# -eq 0 ] || fail "unknown option '$1' (usage: install-slurm.sh [--stop])"

node=$(hostname -s)
# Up: idle, or busy with jobs (mixed, allocated, completing); not down, drained or not responding (a '*').
up() { sinfo -h -n "$node" -o %T 2>/dev/null | grep -qxE 'idle|mixed|allocated|completing'; }
state_now() { sinfo -h -n "$node" -o %T 2>/dev/null | head -1; }
if command -v sinfo >/dev/null && up; then echo "install-slurm: node $node is up ($(state_now))"; exit 0; fi

missing=()
for p in slurm-wlm munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || fail "apt-get not found; install ${missing[*]} by hand"
  echo "install-slurm: installing ${missing[*]}"
  $sudo apt-get update -q >/dev/null || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
fi

# munge: the package makes a key on install; make one if a image lost it.
if [ ! -s /etc/munge/munge.key ]; then $sudo mungekey --create --force >/dev/null || fail "cannot create /etc/munge/munge.key"; fi
$sudo mkdir -p /run/munge /var/log/munge /var/lib/munge
$sudo chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
$sudo chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  $sudo runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
fi
munge -n | unmunge >/dev/null 2>&1 || fail "munge does not answer (see /var/log/munge/munged.log)"

# One node, this machine: CPUs and memory as the machine reports them, less 1 GiB for the system.
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) - 1024 ))
$sudo mkdir -p "$state/ctld" "$state/d" /var/log/slurm
$sudo tee "$conf" >/dev/null <<EOF
# Written by RuleDsl's scripts/install-slurm.sh: one node, slurmctld and slurmd on this host.
ClusterName=ruledsl
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups in a container: processes are tracked by parent id, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

if ! pgrep -x slurmctld >/dev/null; then $sudo /usr/sbin/slurmctld -i || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"; fi
if ! pgrep -x slurmd >/dev/null; then $sudo /usr/sbin/slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"; fi
for _ in $(seq 60); do
  if up; then echo "install-slurm: node $node is up ($(state_now); $cpus CPUs, $mem MB)"; exit 0; fi
  # A node left down by an earlier run comes back once its daemons answer.
  $sudo scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
  sleep 1
done
sinfo -N -l >&2 || true
tail -n 20 /var/log/slurm/slurmd.log /var/log/slurm/slurmctld.log >&2 || true
fail "the node did not come up (idle, mixed or allocated) within 60 s"
