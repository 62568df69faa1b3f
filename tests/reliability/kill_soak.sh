#!/usr/bin/env bash
# Kill/resume soak: each trial trains from scratch and is SIGKILLed at random moments
# (uniform over the length of an uninterrupted run, so kills land anywhere: loading data,
# mid-iteration, mid-checkpoint-write), then resumed with --resume until it finishes.
# After every kill the checkpoint left behind must load (the venv's torch, independent of our
# reader); the finished run's weights must be bitwise equal to the uninterrupted run's (CPU,
# train.deterministic). Checkpoints are taken after every iteration.
# Prints "kill trials: N / exact resumes M / kills K / resumes R / unloadable checkpoints U".
# Args: BIN_DIR SOURCE_DIR WORK_DIR [TRIALS (default 20)] [KILLS_PER_TRIAL (default 3)] [SEED]
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3; TRIALS=${4:-20}; KILLS=${5:-3}; RANDOM=${6:-$$}
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch

"$BIN/segdata" synth --out data --cases 6 --test-cases 2 --size 40 40 24 --seed 5 --log-level error >/dev/null || fail synth
writeConfig k.yaml data.num_workers=2 train.epochs=4 train.iterations_per_epoch=4 train.batch_size=2 \
  train.deterministic=true train.threads=1 output.checkpoint_every_minutes=0.000001
start=$(date +%s%N)
"$BIN/segtrain" --config k.yaml --output full --log-level error || fail "uninterrupted run"
duration=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
# Process start-up (LibTorch and ITK loading) is part of every attempt.
start=$(date +%s%N)
"$BIN/segtrain" --help >/dev/null 2>&1
startup=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
totalIterations=16  # epochs x iterations_per_epoch above
# Iterations covered by the checkpoint a resume starts from (0 before the first one).
done_iterations() {
  local n
  n=$(grep -o "checkpoint at iteration [0-9]*" part/train.log 2>/dev/null | tail -1 | awk '{print $4}')
  echo "${n:-0}"
}

exact=0; kills=0; resumes=0; unloadable=0; problems=()
for trial in $(seq 1 "$TRIALS"); do
  # A trial counts only when at least one kill landed; a run that outpaced every kill
  # (timing noise) is started again, at most 5 times.
  for round in 1 2 3 4 5; do
    rm -rf part
    trialKills=0; finished=0
    for attempt in $(seq 1 $((KILLS + 5))); do
      args=(--config k.yaml --output part --log-level error)
      resumed=0
      [[ -f part/checkpoint_latest.pt ]] && { args+=(--resume); resumed=1; }
      "$BIN/segtrain" "${args[@]}" 2>>stderr.txt & pid=$!
      if (( trialKills < KILLS )); then
        # Uniform over what is left of the run: start-up plus the remaining iterations'
        # share of the uninterrupted run, so kills land anywhere (loading, mid-iteration,
        # mid-checkpoint-write) and rarely miss.
        window=$(awk -v d="$duration" -v s="$startup" -v k="$(done_iterations)" -v n="$totalIterations" \
          'BEGIN { w = s + (d - s) * (1 - k / n); if (w < s) w = s; print w }')
        sleep "$(awk -v r=$RANDOM -v w="$window" 'BEGIN { printf "%.3f", r / 32768 * w }')"
        kill -KILL "$pid" 2>/dev/null && trialKills=$((trialKills + 1))
      fi
      wait "$pid" 2>/dev/null; rc=$?   # 2>/dev/null: no "Killed" notice from bash
      resumes=$((resumes + resumed))
      if [[ $rc -eq 0 ]]; then finished=1; break; fi
      [[ $rc -eq 137 ]] || { problems+=("trial $trial attempt $attempt exited $rc: $(tail -c 300 stderr.txt)"); break; }
      for ckpt in part/checkpoint_*.pt; do
        [[ -f "$ckpt" ]] || continue
        loads "$ckpt" || { unloadable=$((unloadable + 1)); problems+=("trial $trial: $ckpt left by a kill does not load"); }
      done
    done
    (( trialKills > 0 || ! finished )) && break
  done
  kills=$((kills + trialKills))
  if (( finished && trialKills > 0 )) && "$PY" "$SRC/scripts/reference/compare_checkpoints.py" full/checkpoint_final.pt \
       part/checkpoint_final.pt >compare.txt 2>&1; then
    exact=$((exact + 1))
    echo "trial $trial: $trialKills kills, resumed weights bitwise equal"
  else
    if (( ! finished )); then problems+=("trial $trial ($trialKills kills): never finished")
    elif (( trialKills == 0 )); then problems+=("trial $trial: no kill landed in 5 rounds")
    else problems+=("trial $trial ($trialKills kills): $(tail -3 compare.txt | tr '\n' ' ')"); fi
  fi
done
for p in "${problems[@]}"; do echo "FAIL: $p" >&2; done
echo "kill trials: $TRIALS / exact resumes $exact / kills $kills / resumes $resumes / unloadable checkpoints $unloadable"
(( exact == TRIALS && unloadable == 0 ))
