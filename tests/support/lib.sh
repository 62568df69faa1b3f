# Helpers shared by the shell tests (tests/integration/*.sh, tests/reliability/*.sh).
# Each script takes BIN_DIR SOURCE_DIR WORK_DIR and starts with
#   source "$SRC/tests/support/lib.sh"; workdir "$WORK"
# A skipped test exits 77, which ctest reports as skipped (SKIP_RETURN_CODE in
# tests/CMakeLists.txt), never as passed; scripts/reliability.sh reports it as unfinished.

# A fresh, empty work folder, made the current directory.
workdir() { rm -rf "$1"; mkdir -p "$1"; cd "$1" || exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
# The project's Python: the venv of scripts/setup.sh with scripts/requirements.txt (torch,
# monai, nibabel, scipy). ctest passes it as SEG_PYTHON (tests/CMakeLists.txt).
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}
# The checks that compare with PyTorch or MONAI need them in that Python.
needTorch() { "$PY" -c "import torch" 2>/dev/null || skip "$PY has no torch (run scripts/setup.sh)"; }
needMonai() { "$PY" -c "import monai" 2>/dev/null || skip "$PY has no monai (run scripts/setup.sh)"; }
# Whether a checkpoint (a TorchScript archive) loads in PyTorch.
loads() { "$PY" -c "import torch,sys; torch.jit.load(sys.argv[1])" "$1" 2>/dev/null; }
# A TCP port free on 127.0.0.1 now (for a rendezvous or a slurmctld).
freeport() { "$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# The golden NIfTI checks read files with nibabel.
needNibabel() { "$PY" -c "import nibabel, numpy" 2>/dev/null || skip "$PY has no nibabel/numpy (run scripts/setup.sh)"; }

# writeConfig FILE [KEY=VALUE ...]: the small training config the shell tests share, as YAML:
#   data: root data, num_folds 2, patch_size [32, 32, 16], num_workers 1
#   model: features [4, 8]
#   train: epochs 1, iterations_per_epoch 1, batch_size 1, val_iterations 1
# Each KEY is a dotted config key (section.key or section.sub.key, as segtrain --set takes);
# it replaces the default or adds the key. VALUE is YAML text, e.g.
#   writeConfig k.yaml train.epochs=3 loss.name=dice_ce 'data.patch_size=[16, 16, 8]'
writeConfig() {
  local file=$1; shift
  local -a keys=(data.root data.num_folds data.patch_size data.num_workers model.features
                 train.epochs train.iterations_per_epoch train.batch_size train.val_iterations)
  local -A value=([data.root]=data [data.num_folds]=2 [data.patch_size]="[32, 32, 16]" [data.num_workers]=1
                  [model.features]="[4, 8]" [train.epochs]=1 [train.iterations_per_epoch]=1
                  [train.batch_size]=1 [train.val_iterations]=1)
  local kv key
  for kv in "$@"; do
    key=${kv%%=*}
    [[ $kv == *=* && $key =~ ^[a-z_]+\.[a-z_]+(\.[a-z_]+)?$ ]] ||
      fail "writeConfig: '$kv' is not section.key=value (or section.sub.key=value)"
    [[ -v "value[$key]" ]] || keys+=("$key")
    value[$key]=${kv#*=}
  done
  # YAML nests by section (then sub-section), in the order the keys first appear.
  local -a sections=() subs=()
  local section sub rest
  for key in "${keys[@]}"; do
    section=${key%%.*}
    [[ " ${sections[*]} " == *" $section "* ]] || sections+=("$section")
  done
  {
    for section in "${sections[@]}"; do
      echo "$section:"
      subs=()
      for key in "${keys[@]}"; do
        [[ ${key%%.*} == "$section" ]] || continue
        rest=${key#*.}
        if [[ $rest == *.* ]]; then
          [[ " ${subs[*]} " == *" ${rest%%.*} "* ]] || subs+=("${rest%%.*}")
        else
          echo "  $rest: ${value[$key]}"
        fi
      done
      for sub in "${subs[@]}"; do
        echo "  $sub:"
        for key in "${keys[@]}"; do
          [[ $key == "$section.$sub."* ]] && echo "    ${key##*.}: ${value[$key]}"
        done
      done
    done
  } > "$file"
}
