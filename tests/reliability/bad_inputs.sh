#!/usr/bin/env bash
# Bad-input corpus: every case must end with exit code 2, a message naming the file, key or
# case, and no partial output (no checkpoint, prediction, report or temporary file that was
# not there before; files that were there stay unchanged). Inputs come from
# tests/reliability/make_bad_inputs.py (nibabel/numpy) and `segdata synth`.
# Prints "bad inputs: tried N / clear errors M / crashes K / skipped S" and exits non-zero
# unless every case that ran gave a clear error.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needNibabel

tried=0; clear=0; crashes=0; skipped=0; failures=()

# Files (with checksums) under DIR, minus the logs a refused run may legitimately write
# (*.log; metrics.csv and the progress.svg drawn from it, which a restarted or resumed run
# trims to its checkpoint) and the resolved config.yaml: anything else new or changed is partial output.
snapshot() {
  [[ -d "$1" ]] || return 0
  (cd "$1" && find . -type f ! -name '*.log' ! -name config.yaml ! -name metrics.csv ! -name progress.svg -print0 | sort -z | xargs -0 -r md5sum)
}

# check NAME PATTERN OUTDIR -- command...   (OUTDIR "-" when the tool writes nothing)
# EXPECT_RC (default 2, bad input) is the exit code wanted, or an alternation like "1|2".
check() {
  local name=$1 pattern=$2 out=$3 want=${EXPECT_RC:-2}; shift 4
  tried=$((tried + 1))
  local before=""; [[ "$out" != - ]] && before=$(snapshot "$out")
  timeout -s KILL 300 "$@" > "logs/$name.out" 2> "logs/$name.err"
  local rc=$? problem=""
  if (( rc >= 128 )) || grep -qE "AddressSanitizer|runtime error:|terminate called|Segmentation fault" "logs/$name.err"; then
    crashes=$((crashes + 1)); problem="crashed (exit $rc)"
  elif [[ ! "$rc" =~ ^($want)$ ]]; then
    problem="exit $rc, expected $want"
  elif ! grep -qE -- "$pattern" "logs/$name.err"; then
    problem="message does not name '$pattern'"
  elif grep -q "internal error" "logs/$name.err"; then  # I/O errors say "I/O error"
    problem="reported as an internal error"
  elif [[ "$out" != - && "$(snapshot "$out")" != "$before" ]]; then
    problem="partial output left in $out: $(diff <(echo "$before") <(snapshot "$out") | grep '^>' | head -3 | tr '\n' ' ')"
  fi
  if [[ -z "$problem" ]]; then
    clear=$((clear + 1))
  else
    failures+=("$name: $problem; stderr: $(tail -c 400 "logs/$name.err" | tr '\n' ' ')")
  fi
}
skipCase() { skipped=$((skipped + 1)); echo "skipped: $1: $2"; }

mkdir -p logs
"$BIN/segdata" synth --out base --cases 4 --test-cases 1 --size 32 32 16 --seed 3 --log-level error >/dev/null \
  || { echo "FAIL: segdata synth" >&2; exit 1; }
"$PY" "$SRC/tests/reliability/make_bad_inputs.py" base corpus >/dev/null || { echo "FAIL: corpus" >&2; exit 1; }
F=corpus/files
cat > t.yaml <<'YAML'
data:
  root: base
  num_folds: 2
  patch_size: [16, 16, 16]
  num_workers: 1
model:
  features: [4, 8]
train:
  epochs: 1
  iterations_per_epoch: 2
  batch_size: 1
  val_iterations: 1
  threads: 1
YAML
"$BIN/segtrain" --config t.yaml --output runA --log-level error || { echo "FAIL: reference run" >&2; exit 1; }
"$BIN/segtrain" --config t.yaml --set 'model.features=[8,16,32]' --output runB --log-level error \
  || { echo "FAIL: second reference run" >&2; exit 1; }
CKPT=runA/checkpoint_final.pt

# --- single files (segdata inspect) ----------------------------------------------------------
check file_empty_gz        "empty.nii.gz: not a NIfTI file"        - -- "$BIN/segdata" inspect $F/empty.nii.gz
check file_empty_nii       "empty.nii: not a NIfTI file"           - -- "$BIN/segdata" inspect $F/empty.nii
check file_text            "text.nii.gz: not a NIfTI-1 file"       - -- "$BIN/segdata" inspect $F/text.nii.gz
check file_text_in_gzip    "text_gz.nii.gz: not a NIfTI-1 file"    - -- "$BIN/segdata" inspect $F/text_gz.nii.gz
check file_png             "png.nii: not a NIfTI-1 file"           - -- "$BIN/segdata" inspect $F/png.nii
check file_truncated_gz    "truncated.nii.gz: truncated"           - -- "$BIN/segdata" inspect $F/truncated.nii.gz
check file_truncated_nii   "truncated.nii: truncated"              - -- "$BIN/segdata" inspect $F/truncated.nii
check file_header_only     "header_only.nii: truncated NIfTI header" - -- "$BIN/segdata" inspect $F/header_only.nii
check file_corrupted_gz    "corrupted.nii.gz: corrupt gzip"        - -- "$BIN/segdata" inspect $F/corrupted.nii.gz
check file_bad_magic       "bad_magic.nii: not a single-file NIfTI-1" - -- "$BIN/segdata" inspect $F/bad_magic.nii
check file_huge_dims       "huge_dims.nii: truncated"              - -- "$BIN/segdata" inspect $F/huge_dims.nii
check file_zero_dim        "zero_dim.nii"                          - -- "$BIN/segdata" inspect $F/zero_dim.nii
check file_nifti2          "nifti2.nii.gz: NIfTI-2 is not supported" - -- "$BIN/segdata" inspect $F/nifti2.nii.gz
check file_2d              "two_d.nii.gz: expected a 3D or 4D image, got 2D" - -- "$BIN/segdata" inspect $F/two_d.nii.gz
check file_5d              "five_d.nii.gz: expected a 3D or 4D image, got 5D" - -- "$BIN/segdata" inspect $F/five_d.nii.gz
check file_rgb             "rgb.nii.gz: vector pixels"             - -- "$BIN/segdata" inspect $F/rgb.nii.gz
check file_not_nifti_ext   "good.mha: unsupported file type"       - -- "$BIN/segdata" inspect $F/good.mha
check file_folder          "folder.nii.gz: is a folder"            - -- "$BIN/segdata" inspect $F/folder.nii.gz
check file_missing         "missing.nii.gz"                        - -- "$BIN/segdata" inspect $F/missing.nii.gz

# --- datasets (segtrain; each variant has one defect) ------------------------------------------
train_on() {  # train_on NAME PATTERN
  rm -rf "out_$1"
  check "dataset_$1" "$2" "out_$1" -- "$BIN/segtrain" --config t.yaml --set "data.root=corpus/ds_$1" --output "out_$1" --log-level error
}
train_on no_json          "ds_no_json/dataset.json: not found"
train_on empty_json       "ds_empty_json/dataset.json: invalid JSON"
train_on bad_json         "ds_bad_json/dataset.json: invalid JSON"
train_on list_json        "ds_list_json/dataset.json: expected a JSON object"
train_on no_labels        "ds_no_labels/dataset.json: missing key 'labels'"
train_on no_background    "ds_no_background/dataset.json: labels: label 0"
train_on num_training     "ds_num_training/dataset.json: numTraining is 99"
train_on no_cases         "ds_no_cases/dataset.json: no training cases"
train_on missing_label    "case case_000: label file not found"
train_on missing_image    "case case_000: label .*has no image"
train_on extra_channel    "case case_000: has a channel 1 image"
train_on msd_missing      "training\[0\]: case nope: image file not found"
train_on msd_twice        "case case_000_0000 is listed twice"
train_on label_size       "case 'case_000': label .*size \(30,32,16\) vs \(32,32,16\)"
train_on label_spacing    "case 'case_000': label .*spacing \(2,1,1\) vs \(1,1,1\)"
train_on label_origin     "case 'case_000': label .*origin"
train_on label_direction  "case 'case_000': label .*direction"
train_on label_value      "case 'case_000': label .*holds value 5 but the dataset declares 2 classes"
train_on label_negative   "case_000.nii.gz: label value -1"
train_on label_fraction   "case_000.nii.gz: label value 0.5"
train_on label_4d         "case_000.nii.gz: a label map must be 3D, got 4D"
train_on label_corrupted  "labelsTr/case_000.nii.gz: corrupt"
train_on image_nan        "case_000_0000.nii.gz: 1 non-finite values"
train_on image_inf        "case_000_0000.nii.gz: 1 non-finite values"
train_on image_truncated  "case_000_0000.nii.gz: truncated file"
train_on image_corrupted  "case_000_0000.nii.gz: corrupt gzip"
train_on image_nifti2     "case_000_0000.nii.gz: NIfTI-2 is not supported"
train_on image_text       "case_000_0000.nii.gz: not a NIfTI-1 file"
train_on image_2d         "case_000_0000.nii.gz: expected a 3D or 4D image, got 2D"
train_on image_4d         "case 'case_000': image has 2 channel\(s\) but .*dataset.json declares 1"
train_on image_empty      "case_000_0000.nii.gz: not a NIfTI file"
rm -rf out_nodata
check dataset_folder_missing "dataset folder not found: nowhere" out_nodata -- \
  "$BIN/segtrain" --config t.yaml --set data.root=nowhere --output out_nodata --log-level error

# --- config error families ---------------------------------------------------------------------
mkdir -p cfg
config_case() {  # config_case NAME PATTERN YAML-TEXT [extra args]
  local name=$1 pattern=$2 text=$3; shift 3
  printf '%s' "$text" > "cfg/$name.yaml"
  rm -rf "out_cfg_$name"
  check "config_$name" "$pattern" "out_cfg_$name" -- "$BIN/segtrain" --config "cfg/$name.yaml" --output "out_cfg_$name" "$@"
}
NL=$'\n'
config_case syntax        "syntax.yaml:[0-9]+:[0-9]+: invalid YAML" "data:${NL}  root: base${NL}  patch_size: [16, 16${NL}"
config_case tab_indent    "tab_indent.yaml:2:[0-9]+: invalid YAML" "data:${NL}	root: base${NL}"
config_case duplicate_key "duplicate_key.yaml:3:3: data.root: duplicate key" "data:${NL}  root: base${NL}  root: other${NL}"
config_case binary        "binary.yaml:1:1: expected a mapping" $'\x01\x02\xff\xfe'
config_case empty_file    "empty_file.yaml: data.root: required key is missing" ""
config_case type_number   "type_number.yaml:5:5: train.optimizer.lr: expected a number, got 'fast'" "data:${NL}  root: base${NL}train:${NL}  optimizer:${NL}    lr: fast${NL}"
config_case type_list     "type_list.yaml:3:3: data.patch_size: expected a list of 3 integers" "data:${NL}  root: base${NL}  patch_size: 16${NL}"
config_case type_bool     "type_bool.yaml:3:3: data.augment: expected true or false" "data:${NL}  root: base${NL}  augment: maybe${NL}"
config_case type_integer  "type_integer.yaml:4:3: train.epochs: expected an integer, got '2.5'" "data:${NL}  root: base${NL}train:${NL}  epochs: 2.5${NL}"
config_case type_section  "type_section.yaml:1:1: data: expected a mapping" "data: 5${NL}"
config_case type_nan      "type_nan.yaml:5:5: train.optimizer.lr: expected a number, got '.nan'" "data:${NL}  root: base${NL}train:${NL}  optimizer:${NL}    lr: .nan${NL}"
config_case range_overflow "range_overflow.yaml:4:3: train.epochs: integer out of range" "data:${NL}  root: base${NL}train:${NL}  epochs: 99999999999999999999999${NL}"
config_case range_epochs  "range_epochs.yaml:4:3: train.epochs: must be >= 1, got 0" "data:${NL}  root: base${NL}train:${NL}  epochs: 0${NL}"
config_case range_dropout "range_dropout.yaml:4:3: model.dropout: must be in \[0, 1\), got 1.5" "data:${NL}  root: base${NL}model:${NL}  dropout: 1.5${NL}"
config_case range_patch   "range_patch.yaml:3:16: data.patch_size\[0\]: must be >= 8, got -16" "data:${NL}  root: base${NL}  patch_size: [-16, 16, 16]${NL}"
config_case range_list_length "range_list_length.yaml:3:3: data.patch_size: expected a list of 3 integers, got a list of 2" "data:${NL}  root: base${NL}  patch_size: [16, 16]${NL}"
config_case choice        "choice.yaml:4:3: loss.name: expected one of .*got 'focal'" "data:${NL}  root: base${NL}loss:${NL}  name: focal${NL}"
config_case unknown_section "unknown_section.yaml:3:1: trainer: unknown key \(known keys:" "data:${NL}  root: base${NL}trainer:${NL}  epochs: 2${NL}"
config_case unknown_key   "unknown_key.yaml:5:5: train.optimizer.learning_rate: unknown key" "data:${NL}  root: base${NL}train:${NL}  optimizer:${NL}    learning_rate: 0.1${NL}"
config_case conflict_checkpointing "model.checkpointing: cannot be combined with model.dropout" "data:${NL}  root: base${NL}model:${NL}  checkpointing: true${NL}  dropout: 0.2${NL}"
config_case conflict_nesterov "train.optimizer.momentum: must be > 0 when train.optimizer.nesterov is true" "data:${NL}  root: base${NL}train:${NL}  optimizer:${NL}    nesterov: true${NL}    momentum: 0${NL}"
config_case conflict_fold "data.fold: must be in \[0, 5\)" "data:${NL}  root: base${NL}  fold: 5${NL}  num_folds: 5${NL}"
config_case conflict_fp16_cpu "amp.dtype: float16 autocast needs train.device cuda" "data:${NL}  root: base${NL}train:${NL}  device: cpu${NL}amp:${NL}  enabled: true${NL}  dtype: float16${NL}"
config_case conflict_kernels "model.kernel_sizes: has 1 entries but model.features has 2 stages" "data:${NL}  root: base${NL}model:${NL}  features: [4, 8]${NL}  kernel_sizes: [[3,3,3]]${NL}"
config_case conflict_patch_strides "data.patch_size: \[10, 16, 16\] \(x, y, z\) must be a multiple of \[4, 4, 4\]" "$(cat t.yaml)${NL}" \
  --set 'data.patch_size=[10,16,16]' --set 'model.features=[4,8,16]' --log-level error
config_case set_malformed "--set train.epochs: malformed override" "$(cat t.yaml)${NL}" --set train.epochs
config_case set_bad_yaml  "--set data.patch_size=\[1,: invalid YAML value" "$(cat t.yaml)${NL}" --set 'data.patch_size=[1,'
config_case set_not_section "--set data.root.x=1: data.root: is not a section" "$(cat t.yaml)${NL}" --set data.root.x=1
config_case set_range     "--set train.epochs=-3.*train.epochs: must be >= 1" "$(cat t.yaml)${NL}" --set train.epochs=-3
rm -rf out_cfgdir
check config_is_folder "cannot read config file 'cfg': is a directory" out_cfgdir -- "$BIN/segtrain" --config cfg --output out_cfgdir
check config_missing "/nonexistent/segtrain.yaml" - -- "$BIN/segtrain" --config /nonexistent/segtrain.yaml --print-config

# --- resume -----------------------------------------------------------------------------------
resume_case() {  # resume_case NAME PATTERN SETUP-COMMAND
  rm -rf "res_$1"; cp -r runA "res_$1"; rm -f "res_$1/checkpoint_final.pt"
  (cd "res_$1" && eval "$3")
  check "resume_$1" "$2" "res_$1" -- "$BIN/segtrain" --output "res_$1" --resume --set train.epochs=2 --log-level error
}
resume_case truncated     "checkpoint 'res_truncated/checkpoint_latest.pt' cannot be read" "head -c 50000 ../runA/checkpoint_latest.pt > checkpoint_latest.pt"
resume_case empty         "checkpoint 'res_empty/checkpoint_latest.pt' cannot be read" ": > checkpoint_latest.pt"
resume_case garbage       "checkpoint 'res_garbage/checkpoint_latest.pt' cannot be read" "head -c 4096 /dev/urandom > checkpoint_latest.pt"
resume_case other_model   "model.features: \[8, 16, 32\] -> \[4, 8\]" "cp ../runB/checkpoint_latest.pt checkpoint_latest.pt"
resume_case torch_file    "checkpoint 'res_torch_file/checkpoint_latest.pt' cannot be read \(truncated or not a checkpoint\)" \
  "$PY -c \"import torch; torch.save({'w': torch.zeros(3)}, 'checkpoint_latest.pt')\""
resume_case changed_key   "train.optimizer.lr: 0.01 -> 0.5" "sed -i 's/lr: 0.01/lr: 0.5/' config.yaml"
rm -rf res_none; mkdir res_none; cp runA/config.yaml res_none/
check resume_no_checkpoint "--resume: no checkpoint to resume in 'res_none'" res_none -- "$BIN/segtrain" --output res_none --resume --log-level error
check train_into_run "output directory 'runA' already holds a run" runA -- "$BIN/segtrain" --config t.yaml --output runA --log-level error

# --- segeval ----------------------------------------------------------------------------------
head -c 50000 "$CKPT" > truncated.pt
"$BIN/segtrain" export --checkpoint "$CKPT" --out exported.pt >/dev/null || { echo "FAIL: export" >&2; exit 1; }
eval_case() {  # eval_case NAME PATTERN args...
  local name=$1 pattern=$2; shift 2
  rm -rf "ev_$name"
  check "segeval_$name" "$pattern" "ev_$name" -- "$BIN/segeval" --output "ev_$name" --log-level error "$@"
}
eval_case truncated_checkpoint "checkpoint 'truncated.pt' cannot be read" --checkpoint truncated.pt --images base/imagesTs
eval_case exported_weights  "checkpoint 'exported.pt' cannot be read \(truncated or not a checkpoint\)" --checkpoint exported.pt --images base/imagesTs
eval_case nifti_as_checkpoint "checkpoint '$F/nan.nii.gz' cannot be read" --checkpoint $F/nan.nii.gz --images base/imagesTs
eval_case missing_checkpoint "checkpoint not found: none.pt" --checkpoint none.pt --images base/imagesTs
eval_case image_channels    "case 'case_000' has 2 channels but the model was trained on 1" --checkpoint "$CKPT" --images corpus/ds_image_4d/imagesTr
eval_case image_nan         "case_000_0000.nii.gz: 1 non-finite values" --checkpoint "$CKPT" --images corpus/ds_image_nan/imagesTr
eval_case image_truncated   "case_000_0000.nii.gz: truncated file" --checkpoint "$CKPT" --images corpus/ds_image_truncated/imagesTr
eval_case no_images         "no NIfTI files .*in 'corpus/ds_no_cases/imagesTr'" --checkpoint "$CKPT" --images corpus/ds_no_cases/imagesTr
eval_case prediction_grid   "case 'case_000': prediction .* differ in grid: size" --predictions corpus/ds_label_size/labelsTr --labels base/labelsTr
eval_case prediction_spacing "case 'case_000': prediction .* differ in grid: spacing" --predictions corpus/ds_label_spacing/labelsTr --labels base/labelsTr
eval_case prediction_corrupted "labelsTr/case_000.nii.gz: corrupt" --predictions corpus/ds_label_corrupted/labelsTr --labels base/labelsTr
eval_case prediction_missing_label "no label 'case_000'" --predictions base/labelsTr --labels corpus/ds_missing_label/labelsTr
eval_case prediction_value  "case_000.nii.gz: label value 0.5" --predictions corpus/ds_label_fraction/labelsTr --labels base/labelsTr
eval_case overlap_range     "--overlap must be in \[0, 1\)" --checkpoint "$CKPT" --images base/imagesTs --overlap 1.5
eval_case size_bins         "--size-bins: expected comma-separated numbers" --predictions base/labelsTr --labels base/labelsTr --size-bins 0,ten

# --- output folders: unwritable and full ---------------------------------------------------------
check out_under_file "cannot create output directory 't.yaml/run'" - -- "$BIN/segtrain" --config t.yaml --output t.yaml/run --log-level error
check eval_out_under_file "cannot create output directory 't.yaml/ev'" - -- "$BIN/segeval" --checkpoint "$CKPT" --images base/imagesTs --output t.yaml/ev --log-level error
mkdir -p ro full
if mount -t tmpfs -o ro,size=64k tmpfs ro 2>/dev/null && mount -t tmpfs -o size=256k tmpfs full 2>/dev/null; then
  check readonly_train "cannot create output directory 'ro/run': Read-only file system" ro -- \
    "$BIN/segtrain" --config t.yaml --output ro/run --log-level error
  check readonly_eval "cannot create output directory 'ro/ev': Read-only file system" ro -- \
    "$BIN/segeval" --checkpoint "$CKPT" --images base/imagesTs --output ro/ev --log-level error
  # Leave FREE bytes on the tmpfs, then run; what a refused run wrote must be gone.
  fill() { rm -rf full/*; head -c $(( $(df -B1 --output=avail full | tail -1) - $1 )) /dev/zero > full/filler 2>/dev/null; }
  # A full disk is not bad input: "I/O error", exit 1 (core/IoError.h). ITK's writer may
  # fail before our short-write check can see it: that is reported as a write error, exit 2.
  fill 24576
  EXPECT_RC=1 check full_train "I/O error: cannot write checkpoint 'full/run/checkpoint_latest.pt'" full -- \
    "$BIN/segtrain" --config t.yaml --output full/run --log-level error
  fill 4096
  EXPECT_RC="1|2" check full_eval "full/ev/predictions/case_003.nii.gz: cannot write NIfTI file|cannot write 'full/ev/" full -- \
    "$BIN/segeval" --checkpoint "$CKPT" --images base/imagesTs --labels base/labelsTs --output full/ev --log-level error
  fill 12288
  EXPECT_RC="1|2" check full_synth "full/syn/.*: cannot write NIfTI file" full -- \
    "$BIN/segdata" synth --out full/syn --cases 4 --test-cases 1 --size 32 32 16 --log-level error
  fill 8192
  EXPECT_RC=1 check full_export "I/O error: cannot write 'full/w.pt'" full -- "$BIN/segtrain" export --checkpoint "$CKPT" --out full/w.pt
  umount ro full
else
  for c in readonly_train readonly_eval full_train full_eval full_synth full_export; do
    skipCase "$c" "mount -t tmpfs is not permitted here"
  done
fi

for f in "${failures[@]}"; do echo "FAIL: $f" >&2; done
echo "bad inputs: tried $tried / clear errors $clear / crashes $crashes / skipped $skipped"
(( clear == tried && crashes == 0 ))
