#!/usr/bin/env bash
# Failure handling of 2-rank CPU/Gloo training (issue 6, acceptance 2):
# 1. ranks started by hand (torchrun-style variables): SIGKILL rank 1 mid-training;
#    rank 0 must exit non-zero within 60 s on its own, checkpoint_latest.pt must load,
#    and a 2-rank run (--nproc 2 --resume) continues it to the end;
# 2. the launcher: SIGKILL one rank; the launcher stops the other and exits non-zero
#    within 60 s, leaving no rank behind;
# 3. SIGUSR1 to the launcher (Slurm's preemption notice): all ranks checkpoint at the
#    same iteration and exit 138; the resumed 2-rank run ends with bitwise the weights
#    of an uninterrupted 2-rank run.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch
checkpoints() { local n; n=$(grep -c "checkpoint at iteration" "$1/train.log" 2>/dev/null); echo "${n:-0}"; }
now() { date +%s; }

"$BIN/segdata" synth --out data --cases 6 --test-cases 1 --size 40 40 24 --seed 4 >/dev/null || fail synth
writeConfig k.yaml loss.name=dice_ce loss.batch=true train.epochs=3 train.iterations_per_epoch=6 \
  train.deterministic=true train.threads=1 output.checkpoint_every_minutes=0.000001

# --- 1. hand-started ranks, kill rank 1 ---------------------------------------------
port=$(freeport)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$BIN/segtrain" --config k.yaml --output run --log-level warn 2>rank$r.err &
  eval "pid$r=\$!"
done
for _ in $(seq 1 3000); do
  (( $(checkpoints run) >= 3 )) && break
  kill -0 "$pid0" 2>/dev/null || break
  sleep 0.02
done
(( $(checkpoints run) >= 3 )) || fail "no checkpoints logged before the kill: $(cat rank0.err)"
kill -KILL "$pid1"
killed=$(now)
wait "$pid1" 2>/dev/null
wait "$pid0"; rc=$?
took=$(( $(now) - killed ))
(( rc != 0 )) || fail "rank 0 exited 0 after rank 1 was killed"
(( took <= 60 )) || fail "rank 0 needed ${took} s to notice the dead peer"
echo "rank 1 killed: rank 0 exited $rc after ${took} s: $(grep -m1 -o 'internal error.*' rank0.err | cut -c1-160)"
[[ -f run/checkpoint_latest.pt && ! -f run/checkpoint_final.pt ]] || fail "expected only checkpoint_latest.pt"
loads run/checkpoint_latest.pt || fail "checkpoint_latest.pt left by the failure does not load"
"$BIN/segtrain" --nproc 2 --output run --resume --log-level warn 2>resume.err || fail "2-rank resume: $(cat resume.err)"
[[ -f run/checkpoint_final.pt ]] || fail "resumed run wrote no final checkpoint"
grep -q "resumed from" run/train.log || fail "train.log does not record the resume"
echo "2-rank resume finished"

# --- 2. launcher: kill one rank -----------------------------------------------------
"$BIN/segtrain" --nproc 2 --config k.yaml --output launched --log-level warn 2>launched.err &
launcher=$!
for _ in $(seq 1 3000); do
  (( $(checkpoints launched) >= 2 )) && break
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.02
done
ranks=$(pgrep -P "$launcher" | tr '\n' ' ')
[[ $(echo $ranks | wc -w) -eq 2 ]] || fail "expected 2 rank processes under the launcher, got '$ranks'"
victim=$(echo $ranks | cut -d' ' -f2)
kill -KILL "$victim"
killed=$(now)
wait "$launcher"; rc=$?
took=$(( $(now) - killed ))
(( rc != 0 )) || fail "launcher exited 0 after a rank was killed"
(( took <= 60 )) || fail "launcher needed ${took} s"
for p in $ranks; do kill -0 "$p" 2>/dev/null && fail "rank process $p still running after the launcher exited"; done
grep -q "launcher: rank . was killed by signal 9" launched.err || fail "launcher does not say which rank died: $(cat launched.err)"
loads launched/checkpoint_latest.pt || fail "launcher run: checkpoint_latest.pt does not load"
echo "launcher: rank killed, launcher exited $rc after ${took} s, no rank left"

# --- 3. SIGUSR1 to the launcher, resume, compare with an uninterrupted run ----------
"$BIN/segtrain" --nproc 2 --config k.yaml --set output.checkpoint_every_minutes=30 --output full --log-level error \
  || fail "uninterrupted 2-rank run"
"$BIN/segtrain" --nproc 2 --config k.yaml --set output.checkpoint_every_minutes=30 --output sig --log-level warn 2>sig.err &
launcher=$!
for _ in $(seq 1 3000); do [[ -f sig/train.log ]] && grep -q "model: U-Net" sig/train.log && break; sleep 0.02; done
sleep 1
kill -USR1 "$launcher"
wait "$launcher"; rc=$?
[[ $rc -eq 138 ]] || fail "SIGUSR1: launcher exited $rc, expected 138; $(cat sig.err)"
[[ -f sig/checkpoint_latest.pt && ! -f sig/checkpoint_final.pt ]] || fail "SIGUSR1: expected only checkpoint_latest.pt"
grep -q "stop requested" sig/train.log || fail "SIGUSR1: log does not say the stop was requested"
"$BIN/segtrain" --nproc 2 --output sig --resume --set output.checkpoint_every_minutes=30 --log-level error \
  || fail "resume after SIGUSR1"
"$PY" "$SRC/scripts/reference/compare_checkpoints.py" full/checkpoint_final.pt sig/checkpoint_final.pt \
  || fail "stopped and resumed 2-rank run differs from the uninterrupted one"
echo "PASS"
