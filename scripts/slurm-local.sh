#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, from Debian's packages (slurm-wlm, munge), for
# testing `lmsim dse --slurm` for real (docs/dse.md "Beyond one machine"; CTest label `slurm`).
#
#   scripts/slurm-local.sh start   # install if missing, configure, start munged, slurmctld, slurmd
#   scripts/slurm-local.sh stop    # stop the daemons started here
#   scripts/slurm-local.sh status  # exit 0 when the node takes jobs
#
# Needs root (or sudo). The configuration is lmsim's own, in /etc/slurm/slurm.conf; an existing
# one that was not written by this script is left alone (the script refuses to start).
set -euo pipefail
cmd=${1:-start}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
conf=/etc/slurm/slurm.conf
marker="# written by lmsim scripts/slurm-local.sh"

node_ready() {
  sinfo -h -N -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'
}

case "$cmd" in
  status)
    node_ready
    ;;
  stop)
    $sudo pkill -x slurmd 2>/dev/null || true
    $sudo pkill -x slurmctld 2>/dev/null || true
    $sudo pkill -x munged 2>/dev/null || true
    ;;
  start)
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slurm-wlm munge
    fi
    if node_ready; then exit 0; fi
    if [ -f "$conf" ] && ! grep -q "$marker" "$conf"; then
      echo "slurm-local.sh: $conf exists and is not this script's; not touching it" >&2
      exit 1
    fi
    # munge: a key and the daemon.
    $sudo mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
      $sudo dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    $sudo chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    $sudo chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    $sudo chmod 0400 /etc/munge/munge.key
    pgrep -x munged >/dev/null || $sudo -u munge /usr/sbin/munged 2>/dev/null || $sudo runuser -u munge -- /usr/sbin/munged
    # slurm: one node (this host), one partition.
    host=$(hostname -s)
    cpus=$(nproc)
    $sudo mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    $sudo tee "$conf" >/dev/null <<EOF
$marker
ClusterName=lmsim-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    pgrep -x slurmctld >/dev/null || $sudo /usr/sbin/slurmctld
    pgrep -x slurmd >/dev/null || $sudo /usr/sbin/slurmd
    for _ in $(seq 1 60); do
      if node_ready; then exit 0; fi
      $sudo scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
      sleep 1
    done
    echo "slurm-local.sh: the node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
    sinfo -N >&2 || true
    exit 1
    ;;
  *)
    echo "usage: scripts/slurm-local.sh start|stop|status" >&2
    exit 2
    ;;
esac
