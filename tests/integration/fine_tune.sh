#!/usr/bin/env bash
# Fine-tuning (train.init_from, train.freeze_encoder_epochs; docs/training.md): a tiny run
# on a one-class synthetic dataset, then runs initialised from its final checkpoint on a
# two-class dataset (heads re-initialised), on two input channels (first conv adapted) and
# with the encoder frozen; a resume does not initialise again; a wrong path or another
# architecture is exit 2 naming it, with no checkpoint written.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out one --cases 4 --test-cases 0 --size 40 40 24 --seed 3 --log-level warn >/dev/null || fail "synth one"
"$BIN/segdata" synth --out two --cases 4 --test-cases 0 --size 40 40 24 --seed 4 --classes 2 --log-level warn >/dev/null \
  || fail "synth two"
writeConfig tiny.yaml data.root=one train.iterations_per_epoch=2 train.val_every=0
"$BIN/segtrain" --config tiny.yaml --set output.dir=source --log-level warn || fail "source run exited $?"
SOURCE=source/checkpoint_final.pt
[[ -s $SOURCE ]] || fail "$SOURCE missing"

# Two classes: heads re-initialised, everything else loaded; the encoder frozen for epoch 1.
"$BIN/segtrain" --config tiny.yaml --set data.root=two --set train.init_from=$SOURCE --set train.epochs=2 \
  --set train.freeze_encoder_epochs=1 --set output.dir=classes --log-level warn || fail "fine-tune (classes) exited $?"
grep -q "train.init_from $SOURCE: loaded [0-9]* tensors, adapted 0, re-initialised 2 (classes 2 -> 3)" classes/train.log \
  || fail "summary line: $(grep init_from classes/train.log)"
grep -q "encoder frozen" classes/train.log || fail "no freeze line: $(cat classes/train.log)"
grep -q "epoch 2: encoder unfrozen" classes/train.log || fail "no unfreeze line: $(cat classes/train.log)"
[[ -s classes/init_from.json && -s classes/checkpoint_final.pt ]] || fail "classes/init_from.json or checkpoint missing"
grep -q "init_from: $SOURCE" classes/config.yaml || fail "the resolved config does not record init_from"
grep -q '"classes": {' classes/init_from.json && grep -q '"reinitialised": 2' classes/init_from.json \
  || fail "init_from.json: $(head -20 classes/init_from.json)"
grep -q '"name": "head.weight"' classes/init_from.json || fail "init_from.json lacks the tensor list"

# A resume continues from its own checkpoint: no second initialisation.
"$BIN/segtrain" --config tiny.yaml --set data.root=two --set train.init_from=$SOURCE --set train.epochs=3 \
  --set train.freeze_encoder_epochs=1 --set output.dir=classes --resume --log-level warn || fail "resume exited $?"
[[ $(grep -c "train.init_from $SOURCE:" classes/train.log) -eq 1 ]] || fail "init_from applied again on --resume"
[[ $(wc -l < classes/metrics.csv) -eq 4 ]] || fail "resume should reach 3 epochs: $(cat classes/metrics.csv)"

# Two input channels (the same scan twice, a case list): the first conv is adapted.
{
  echo "data:"; echo "  root: ."; echo "  labels: [background, lesion]"; echo "  cases:"
  for i in 0 1 2 3; do
    echo "    - {images: [one/imagesTr/case_00${i}_0000.nii.gz, one/imagesTr/case_00${i}_0000.nii.gz], label: one/labelsTr/case_00${i}.nii.gz}"
  done
  sed -n '/^  num_folds/,$p' tiny.yaml
} > channels.yaml
"$BIN/segtrain" --config channels.yaml --set train.init_from=$SOURCE --set output.dir=channels --log-level warn \
  || fail "fine-tune (channels) exited $?"
grep -q "adapted 1 (in channels 1 -> 2), re-initialised 0" channels/train.log \
  || fail "channels summary: $(grep init_from channels/train.log)"
grep -q '"action": "adapted"' channels/init_from.json || fail "init_from.json lacks the adapted conv"

# A whole run frozen: the encoder in its final checkpoint is the source's, bit for bit.
if "$PY" -c "import torch" 2>/dev/null; then
  "$BIN/segtrain" --config tiny.yaml --set data.root=two --set train.init_from=$SOURCE --set train.freeze_encoder_epochs=1 \
    --set output.dir=frozen --log-level warn || fail "frozen run exited $?"
  "$PY" - <<'PY' || fail "frozen encoder changed, or the decoder did not train"
import torch
def weights(path):
    m = torch.jit.load(path)
    return {k[len("model."):]: v for k, v in m.named_parameters() if k.startswith("model.")}
a, b = weights("source/checkpoint_final.pt"), weights("frozen/checkpoint_final.pt")
enc = [k for k in a if k.startswith("encoder.")]
assert enc and all(torch.equal(a[k], b[k]) for k in enc), "encoder moved"
assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("decoder.")), "decoder did not train"
assert b["head.weight"].shape[0] == 3
PY
fi

# A wrong path: exit 2 naming it, no checkpoint.
"$BIN/segtrain" --config tiny.yaml --set train.init_from=nowhere/ckpt.pt --set output.dir=bad --log-level warn 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "nowhere/ckpt.pt" err.txt || fail "bad init_from path: rc $rc, $(cat err.txt)"
ls bad 2>/dev/null | grep -q "checkpoint" && fail "a checkpoint was written after a bad init_from"

# Another architecture: exit 2 naming the checkpoint and a tensor with both shapes.
"$BIN/segtrain" --config tiny.yaml --set train.init_from=$SOURCE --set 'model.features=[4, 16]' --set output.dir=arch \
  --log-level warn 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "$SOURCE" err.txt && grep -q "encoder.1.0.weight: (8, 4, 3, 3, 3) in the checkpoint, (16, 4, 3, 3, 3) in the model" err.txt \
  || fail "other architecture: rc $rc, $(cat err.txt)"
ls arch 2>/dev/null | grep -q "checkpoint" && fail "a checkpoint was written after a mismatching init_from"
echo "fine_tune: ok"
