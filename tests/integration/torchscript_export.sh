#!/usr/bin/env bash
# segtrain export --torchscript (docs/deployment.md): a tiny run trained one epoch, exported
# as a TorchScript module with --check-io; Python's torch.jit.load runs it on segtrain's input
# and must give segtrain's logits (the fused CPU forward segeval uses) within 1e-4, on another
# valid size too; the metadata reads back from the extra file and the attribute and describes
# the run. The plain weights export stays the default; bad uses are exit 2 with nothing written.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch

"$BIN/segdata" synth --out data --cases 3 --test-cases 0 --size 32 32 16 --seed 3 --classes 2 --log-level warn >/dev/null \
  || fail "synth"
for model in unet resenc_unet; do
  writeConfig $model.yaml model.name=$model 'model.features=[4, 8, 16]' model.deep_supervision=true \
    'data.patch_size=[32, 16, 16]' train.val_every=0
  "$BIN/segtrain" --config $model.yaml --set output.dir=run_$model --log-level warn || fail "$model: train exited $?"
  CKPT=run_$model/checkpoint_final.pt
  [[ -s $CKPT ]] || fail "$CKPT missing"
  "$BIN/segtrain" export --torchscript --checkpoint $CKPT --out $model.pt --check-io ${model}_io.pt > out.txt \
    || fail "$model: export exited $?: $(cat out.txt)"
  grep -q "wrote $model.pt" out.txt && grep -q "wrote ${model}_io.pt" out.txt || fail "$model: output: $(cat out.txt)"
  "$PY" - $model.pt ${model}_io.pt $model <<'PY' || fail "$model: Python check"
import json, sys, warnings, zipfile, torch
warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", FutureWarning)  # torch 2.14; docs/deployment.md
path, io_path, name = sys.argv[1:]
m = torch.jit.load(path)
m.eval()
io = torch.load(io_path)  # the defaults (weights_only=True) read it
x, y = io["input"], io["logits"]
assert x.shape == (1, 1, 16, 16, 32), x.shape  # patch 32, 16, 16 (x, y, z) as a (z, y, x) tensor
with torch.no_grad():
    out = m(x)
    diff = (out - y).abs().max().item()
    print(name, "max abs diff", diff)
    assert out.shape == (1, 3, 16, 16, 32), out.shape
    assert diff <= 1e-4, diff
    assert y.abs().max().item() > 1e-3, "logits all zero: the comparison would prove nothing"
    # Another size the strides (4 per axis) divide, and a batch of two.
    other = m(torch.randn(2, 1, 8, 20, 12))
    assert other.shape == (2, 3, 8, 20, 12), other.shape
meta = json.loads(m.segtrain_metadata)
extra = {"segtrain.json": ""}
torch.jit.load(path, _extra_files=extra)
assert json.loads(extra["segtrain.json"]) == meta
with zipfile.ZipFile(path) as z:  # readable without torch too
    inner = [n for n in z.namelist() if n.endswith("extra/segtrain.json")]
    assert inner and json.loads(z.read(inner[0])) == meta, z.namelist()
assert meta["format"] == "segtrain-torchscript" and meta["format_version"] == 1
assert meta["input"]["in_channels"] == 1 and meta["input"]["layout"] == "BCZYX"
assert meta["input"]["patch_size_xyz"] == [32, 16, 16] and meta["input"]["patch_size_zyx"] == [16, 16, 32]
assert meta["input"]["size_divisors_zyx"] == [4, 4, 4]
assert meta["output"]["channels"] == 3 and meta["output"]["activation"] == "softmax"
assert meta["output"]["class_names"][0] == "background" and len(meta["output"]["class_names"]) == 3, meta["output"]
assert meta["preprocessing"]["normalization"] == "zscore"
assert len(meta["preprocessing"]["target_spacing_xyz"]) == 3
assert meta["model"]["name"] == name
# Parameter names are the checkpoint's (the weights export and the module agree).
names = dict(m.named_parameters())
assert "head.weight" in names and "ds_heads.0.weight" in names, list(names)
assert any(k.startswith("encoder.0.0.") for k in names), list(names)[:5]
PY
done

# The plain weights export is still the default: a dict, not a module.
"$BIN/segtrain" export --checkpoint run_unet/checkpoint_final.pt --out weights.pt >/dev/null || fail "weights export"
"$PY" -c "import torch,sys; d=torch.load(sys.argv[1]); assert isinstance(d, dict) and 'head.weight' in d" weights.pt \
  || fail "weights.pt is not a torch.load dict"

# --check-io needs --torchscript; a missing checkpoint is exit 2 naming it; nothing written.
"$BIN/segtrain" export --checkpoint run_unet/checkpoint_final.pt --out w2.pt --check-io io2.pt 2> err.txt; rc=$?
[[ $rc -eq 2 && ! -e w2.pt && ! -e io2.pt ]] || fail "--check-io without --torchscript: rc $rc, $(cat err.txt)"
"$BIN/segtrain" export --torchscript --checkpoint nowhere/c.pt --out m3.pt --check-io io3.pt 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "nowhere/c.pt" err.txt || fail "missing checkpoint: rc $rc, $(cat err.txt)"
[[ ! -e m3.pt && ! -e io3.pt ]] || fail "files written after a bad checkpoint"
echo "torchscript_export: ok"
