#!/usr/bin/env bash
# Dead rank: a 2-rank CPU/Gloo run with ranks started by hand (as torchrun or srun start
# them: one process per rank, no segtrain launcher to clean up), one rank SIGKILLed at a
# random moment (uniform over the length of an uninterrupted 2-rank run, so kills land in
# start-up, rendezvous, training, validation or a checkpoint write), the victim rank drawn
# at random. The survivor must exit non-zero on its own within 60 s, and the checkpoint
# left behind (if any) must load (the venv's torch) and resume to the end with --nproc 2.
# Prints "dead-rank trials: N / survivor exited non-zero M / max detection time T s /
# hangs H / unloadable checkpoints U / failed resumes R".
# Args: BIN_DIR SOURCE_DIR WORK_DIR [TRIALS (default 5)] [SEED]
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3; TRIALS=${4:-5}; RANDOM=${5:-$$}
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch
nowNs() { date +%s%N; }

"$BIN/segdata" synth --out data --cases 6 --test-cases 1 --size 40 40 24 --seed 4 --log-level error >/dev/null || fail synth
writeConfig k.yaml loss.name=dice_ce loss.batch=true train.epochs=3 train.iterations_per_epoch=6 \
  train.deterministic=true train.threads=1 output.checkpoint_every_minutes=0.000001

# Both ranks of one run, started by hand; pids in pid0/pid1.
startRanks() {
  local out=$1 port
  port=$(freeport)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$BIN/segtrain" --config k.yaml --output "$out" --log-level warn 2>"$out.rank$r.err" &
    eval "pid$r=\$!"
  done
}

start=$(nowNs)
startRanks full
wait "$pid0" && wait "$pid1" || fail "uninterrupted 2-rank run: $(cat full.rank0.err full.rank1.err)"
duration=$(awk -v a="$start" -v b="$(nowNs)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
echo "uninterrupted 2-rank run: ${duration} s"

nonzero=0; hangs=0; unloadable=0; failedResumes=0; maxTook=0; problems=()
for trial in $(seq 1 "$TRIALS"); do
  out=t$trial
  startRanks "$out"
  victim=$((RANDOM % 2)); survivor=$((1 - victim))
  delay=$(awk -v r=$RANDOM -v d="$duration" 'BEGIN { printf "%.3f", r / 32768 * d }')
  sleep "$delay"
  victimPid=pid$victim; survivorPid=pid$survivor
  if ! kill -KILL "${!victimPid}" 2>/dev/null; then
    # The run finished before the kill (timing noise): not a trial; draw again.
    wait "$pid0"; wait "$pid1"
    echo "trial $trial: run ended before the kill at ${delay} s; retrying"
    rm -rf "$out"; startRanks "$out"; delay=$(awk -v d="$duration" 'BEGIN { printf "%.3f", d / 2 }'); sleep "$delay"
    kill -KILL "${!victimPid}" 2>/dev/null || { problems+=("trial $trial: no kill landed"); wait "$pid0"; wait "$pid1"; continue; }
  fi
  killed=$(nowNs)
  wait "${!victimPid}" 2>/dev/null
  # Wait at most 90 s for the survivor on its own; past 60 s is a failure, past 90 s a hang.
  for _ in $(seq 1 900); do kill -0 "${!survivorPid}" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "${!survivorPid}" 2>/dev/null; then
    hangs=$((hangs + 1)); problems+=("trial $trial: rank $survivor still running 90 s after rank $victim was killed")
    kill -KILL "${!survivorPid}"; wait "${!survivorPid}" 2>/dev/null
    continue
  fi
  wait "${!survivorPid}"; rc=$?
  took=$(awk -v a="$killed" -v b="$(nowNs)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  maxTook=$(awk -v a="$maxTook" -v b="$took" 'BEGIN { print (b > a) ? b : a }')
  if (( rc != 0 )); then nonzero=$((nonzero + 1)); else problems+=("trial $trial: rank $survivor exited 0 after rank $victim was killed"); fi
  awk -v t="$took" 'BEGIN { exit !(t <= 60) }' || problems+=("trial $trial: rank $survivor needed ${took} s")
  state="no checkpoint yet"
  if [[ -f $out/checkpoint_latest.pt ]]; then
    if ! loads "$out/checkpoint_latest.pt"; then
      unloadable=$((unloadable + 1)); problems+=("trial $trial: checkpoint_latest.pt does not load")
    elif "$BIN/segtrain" --nproc 2 --output "$out" --resume --log-level error 2>"$out.resume.err" \
         && [[ -f $out/checkpoint_final.pt ]]; then
      state="checkpoint loads, 2-rank resume finished"
    else
      failedResumes=$((failedResumes + 1)); problems+=("trial $trial: resume failed: $(tail -c 300 "$out.resume.err")")
    fi
  fi
  echo "trial $trial: rank $victim killed at ${delay} s; rank $survivor exited $rc after ${took} s; $state"
done
for p in "${problems[@]}"; do echo "FAIL: $p" >&2; done
echo "dead-rank trials: $TRIALS / survivor exited non-zero $nonzero / max detection time ${maxTook} s / hangs $hangs / unloadable checkpoints $unloadable / failed resumes $failedResumes"
(( ${#problems[@]} == 0 ))
