#!/usr/bin/env bash
# A real single-node Slurm on localhost (Debian slurm-wlm + munge: munged, slurmctld
# and slurmd started here as root with a private slurm.conf, NodeName=localhost
# CPUs=2) runs scripts/slurm/segtrain.sbatch with 2 tasks on CPU/Gloo to completion,
# then, in a second job, a SIGUSR1 to the job's tasks (what --signal=USR1@90 sends)
# makes the script requeue the job and the requeued job resume to the end.
# When Slurm cannot start here, the test says why and exits 77 (ctest: skipped).
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"; WORK=$PWD
fail() { echo "FAIL: $*" >&2; showlogs; exit 1; }
showlogs() { for f in "$WORK"/log/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -15 "$f"; }; done >&2; }

[[ $(id -u) -eq 0 ]] || skip "needs root to start munged, slurmctld and slurmd"
for tool in munged slurmctld slurmd sbatch srun scontrol squeue sinfo; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$tool" >/dev/null || skip "$tool not installed (apt-get install slurm-wlm munge)"
done

mkdir -p munge state spool log
chmod 755 munge
# munged checks that its key and directories are private to the user it runs as.
dd if=/dev/urandom of=munge/munge.key bs=1024 count=1 status=none
chmod 400 munge/munge.key
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT
munged -F -f --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/munge.socket" --pid-file="$WORK/munge/munged.pid" \
  --seed-file="$WORK/munge/munged.seed" --log-file="$WORK/log/munged.log" >log/munged.out 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [[ -S munge/munge.socket ]] && break; sleep 0.1; done
[[ -S munge/munge.socket ]] || { showlogs; skip "munged did not start"; }

ctlPort=$(freeport); dPort=$(freeport)
export SLURM_CONF=$WORK/slurm.conf
cat > slurm.conf <<CONF
ClusterName=segtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctlPort
SlurmdPort=$dPort
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
MinJobAge=600
KillWait=10
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -i -c -f "$SLURM_CONF" >log/slurmctld.out 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >log/slurmd.out 2>&1 &
pids+=($!)
up=0
for _ in $(seq 1 150); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null)
  [[ $state == idle ]] && { up=1; break; }
  sleep 0.2
done
if (( ! up )); then
  echo "slurm did not come up (node state '${state:-?}'):"
  cat log/slurmctld.out log/slurmd.out 2>/dev/null | tail -20
  showlogs
  skip "slurmctld/slurmd did not bring node localhost to idle within 30 s"
fi
echo "slurm up: $(sinfo -h -o '%P %D %c %t')"

"$BIN/segdata" synth --out "$WORK/data" --cases 6 --test-cases 1 --size 40 40 24 --seed 6 >/dev/null || fail synth
writeConfig c.yaml "data.root=$WORK/data" loss.name=dice_ce loss.batch=true train.epochs=2 \
  train.iterations_per_epoch=4 train.threads=1

# Waits for job $1 to leave the queue (requeues included); fails after $2 seconds.
waitjob() {
  for _ in $(seq 1 $(( $2 * 5 ))); do
    [[ -z $(squeue -h -j "$1" 2>/dev/null) ]] && return 0
    sleep 0.2
  done
  fail "job $1 still queued after $2 s: $(scontrol show job "$1" | head -5)"
}
submit() {  # prints the job id
  env PARTITION=debug NODES=1 GPUS_PER_NODE=0 TASKS_PER_NODE=2 CPUS_PER_TASK=1 TIME_LIMIT=10 \
    SEGTRAIN="$BIN/segtrain" CONFIG="$WORK/c.yaml" "$@" \
    bash "$SRC/scripts/slurm/segtrain.sbatch" --parsable
}

# --- 1. a 2-task job to completion ------------------------------------------------------
job=$(submit OUTPUT="$WORK/run" SEGTRAIN_ARGS="--log-level warn") || fail "sbatch refused the job"
echo "job $job submitted"
waitjob "$job" 240
out=$(cat "$WORK"/run/slurm/*.out 2>/dev/null)
echo "$out" | tail -5
[[ -f run/checkpoint_final.pt ]] || fail "job $job wrote no final checkpoint: $out"
grep -q "rank 0 of 2 joined (gloo, slurm launch, master localhost" run/train.log \
  || fail "train.log does not show a 2-rank Slurm rendezvous: $(head -20 run/train.log)"
grep -q "training finished" <<<"$out" || fail "sbatch script did not report success"

# --- 2. time-limit notice: SIGUSR1 to the tasks, requeue, resume -------------------------
job=$(submit OUTPUT="$WORK/req" SEGTRAIN_ARGS="--set train.epochs=4") || fail "sbatch refused the second job"
for _ in $(seq 1 600); do
  grep -q "model: U-Net" req/train.log 2>/dev/null && break
  sleep 0.2
done
grep -q "model: U-Net" req/train.log 2>/dev/null || fail "second job never started training"
scancel --signal=USR1 "$job" || fail "scancel --signal=USR1"
# Slurm holds a requeued job back for cred_expire + 1 seconds (Reason=BeginTime): until
# then slurmd still holds the revoked credential of the job's previous run and refuses
# it ("Job credential revoked"). cred_expire=10 above (default 120) keeps the test short;
# releasing the job earlier by hand races that revocation.
for _ in $(seq 1 600); do
  restarts=$(scontrol show job "$job" 2>/dev/null | grep -o "Restarts=[0-9]*")
  [[ $restarts == Restarts=1 ]] && [[ $(squeue -h -j "$job" -o %T) == PENDING ]] && break
  [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break
  sleep 0.2
done
[[ $restarts == Restarts=1 ]] || fail "job $job was not requeued: $(cat "$WORK"/req/slurm/*.out 2>/dev/null)"
waitjob "$job" 240
out=$(cat "$WORK"/req/slurm/*.out 2>/dev/null)
grep -q "requeueing job $job" <<<"$out" || fail "the script did not requeue after SIGUSR1: $out"
grep -q "resuming" <<<"$out" || fail "the requeued job did not resume: $out"
grep -q "stop requested" req/train.log || fail "no checkpoint-and-stop in train.log"
[[ -f req/checkpoint_final.pt ]] || fail "requeued job did not finish: $out"
echo "SIGUSR1 -> checkpoint, requeue, resume, finished"
echo "PASS"
