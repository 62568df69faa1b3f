#!/usr/bin/env bash
# Preemption: SIGKILL a training run at random moments, resume it each time, and check
# that the final weights are bitwise equal to an uninterrupted run (CPU, deterministic).
# Checkpoints are taken after every iteration here (output.checkpoint_every_minutes tiny).
# Args: BIN_DIR SOURCE_DIR WORK_DIR [TRIALS]
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3; TRIALS=${4:-2}
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch

"$BIN/segdata" synth --out data --cases 6 --test-cases 2 --size 40 40 24 --seed 5 >/dev/null || fail synth
writeConfig k.yaml data.num_workers=2 train.epochs=4 train.iterations_per_epoch=4 train.batch_size=2 \
  train.deterministic=true train.threads=1 output.checkpoint_every_minutes=0.000001
"$BIN/segtrain" --config k.yaml --output full --log-level error || fail "uninterrupted run"

totalResumes=0
checkpoints() { local n; n=$(grep -c "checkpoint at iteration" part/train.log 2>/dev/null); echo "${n:-0}"; }
for trial in $(seq 1 "$TRIALS"); do
  rm -rf part
  kills=0
  for attempt in 1 2 3 4 5 6 7 8; do
    args=(--config k.yaml --output part --log-level error)
    [[ -f part/checkpoint_latest.pt ]] && args+=(--resume) && totalResumes=$((totalResumes + 1))
    "$BIN/segtrain" "${args[@]}" 2>>stderr.txt & pid=$!
    # Kill right after a randomly chosen checkpoint of this attempt is logged (or let
    # the last attempt finish): independent of how fast this machine is.
    if (( attempt < 4 )); then
      target=$(( $(checkpoints) + 1 + RANDOM % 4 ))
      for _ in $(seq 1 3000); do
        (( $(checkpoints) >= target )) && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
      done
      kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
    fi
    wait "$pid" 2>/dev/null; rc=$?
    [[ $rc -eq 0 && -f part/checkpoint_final.pt ]] && break
    [[ $rc -eq 137 || $rc -eq 0 ]] || fail "trial $trial attempt $attempt exited $rc"
    if [[ -f part/checkpoint_latest.pt ]]; then
      "$PY" -c "import torch,sys; torch.jit.load(sys.argv[1])" part/checkpoint_latest.pt 2>/dev/null \
        || fail "trial $trial: checkpoint left by the kill does not load"
    fi
  done
  [[ -f part/checkpoint_final.pt ]] || fail "trial $trial never finished"
  "$PY" "$SRC/scripts/reference/compare_checkpoints.py" full/checkpoint_final.pt part/checkpoint_final.pt \
    || fail "trial $trial ($kills kills): resumed weights differ from the uninterrupted run"
  echo "trial $trial: $kills kills, resumed weights bitwise equal"
done
# Preemption notice (Slurm --signal=USR1@90) or SIGTERM mid-epoch: checkpoint after the
# current iteration, exit 128+N, no final checkpoint; the resumed run matches the
# uninterrupted one.
for spec in USR1:138 TERM:143; do
  sig=${spec%%:*}; want=${spec##*:}
  rm -rf sig
  "$BIN/segtrain" --config k.yaml --set output.checkpoint_every_minutes=30 --output sig --log-level error 2>sig.txt & pid=$!
  for _ in $(seq 1 3000); do [[ -f sig/train.log ]] && grep -q "model: U-Net" sig/train.log && break; sleep 0.02; done
  kill -"$sig" "$pid"; wait "$pid" 2>/dev/null; rc=$?
  [[ $rc -eq $want ]] || fail "SIG$sig: exit $rc, expected $want; $(cat sig.txt)"
  [[ -f sig/checkpoint_latest.pt && ! -f sig/checkpoint_final.pt ]] || fail "SIG$sig: expected only checkpoint_latest.pt"
  grep -q "stop requested" sig/train.log || fail "SIG$sig: log does not say the stop was requested"
  "$BIN/segtrain" --config k.yaml --set output.checkpoint_every_minutes=30 --output sig --resume --log-level error \
    || fail "resume after SIG$sig"
  "$PY" "$SRC/scripts/reference/compare_checkpoints.py" full/checkpoint_final.pt sig/checkpoint_final.pt \
    || fail "resumed-after-SIG$sig weights differ from the uninterrupted run"
done

(( totalResumes > 0 )) || fail "no kill landed after a checkpoint: the resume path was never exercised"
echo "kill_resume: ok ($totalResumes resumes)"
