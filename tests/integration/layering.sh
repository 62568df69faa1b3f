#!/usr/bin/env bash
# Include layering (docs/architecture.md): scripts/check_layers.sh passes on the real tree,
# and each planted upward include, leaf-to-leaf include, misplaced yaml-cpp/sinks/ITK include
# and unranked src/ folder makes it fail, naming the planted file and line.
# Usage: layering.sh BIN_DIR SOURCE_DIR WORK_DIR   (BIN_DIR is not used: no executable runs)
set -uo pipefail
SRC=$2
WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
CHECK="$SRC/scripts/check_layers.sh"
failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

# (a) The real tree.
if bash "$CHECK" "$SRC" > real.out 2>&1; then
  grep -q "no upward include" real.out || bad "the real tree passes but the summary line is missing"
  echo "ok: $(tail -1 real.out)"
else
  bad "scripts/check_layers.sh fails on the real tree:"
  sed 's/^/  /' real.out
fi

# (b) A copy of src/ and app/, one planted include at a time; each file is restored after.
mkdir tree
cp -R "$SRC/src" "$SRC/app" tree/
# first PATTERN...: the first file in tree/ matching a pattern (quoted at the call, expanded here).
first() {
  (cd tree && for pattern in "$@"; do for f in $pattern; do [[ -f "$f" ]] && { echo "$f"; exit 0; }; done; done)
}

# plant FILE TEXT WHY: puts TEXT as line 2 of FILE (relative to tree/), expects exit 1 and a
# line naming FILE:2 that says WHY.
plant() {
  local file=$1 text=$2 why=$3
  if [[ -z "$file" || ! -f "tree/$file" ]]; then bad "no file to plant '$text' into ($file)"; return; fi
  cp "tree/$file" saved
  sed -i "1a $text" "tree/$file"
  bash "$CHECK" "$PWD/tree" > planted.out 2>&1
  local rc=$?
  cp saved "tree/$file"
  if [[ $rc -ne 1 ]]; then
    bad "$text in $file: exit $rc, expected 1"; sed 's/^/  /' planted.out | head -20
  elif ! grep -F -- "$file:2: " planted.out | grep -qF -- "$why"; then
    bad "$text in $file: no '$file:2: ... $why' line"; sed 's/^/  /' planted.out | head -20
  else
    echo "ok: $(grep -F -- "$file:2: " planted.out | head -1)"
  fi
}

data_cpp=$(first 'src/data/*.cpp')
data_h=$(first 'src/data/*.h')
metrics_cpp=$(first 'src/metrics/Overlap.cpp' 'src/metrics/*.cpp')
metrics_h=$(first 'src/metrics/Overlap.h' 'src/metrics/*.h')
train_cpp=$(first 'src/train/Trainer.cpp' 'src/train/*.cpp')
core_cpp=$(first 'src/core/*.cpp')
plant "$data_cpp" '#include "train/Trainer.h"' "includes must point down"
plant "$train_cpp" '#include "config/TrainConfig.h"' "includes must point down"
plant "$metrics_cpp" '#include "losses/DiceLoss.h"' "never each other"
plant "$data_h" '#include <yaml-cpp/yaml.h>' "only src/config may use yaml-cpp"
plant "$train_cpp" '#include <spdlog/sinks/basic_file_sink.h>' "only app/ configures logging sinks"
plant "$metrics_h" '#include <itkImage.h>' "ITK is used only in"
plant "$metrics_cpp" '#include "data/ItkBridge.h"' "ITK is used only in"
plant "$core_cpp" '#include "Log.h"' "without an area folder"

# A new folder without a rank.
mkdir tree/src/foo
printf '#pragma once\n#include "core/Error.h"\n' > tree/src/foo/Bar.h
bash "$CHECK" "$PWD/tree" > planted.out 2>&1
rc=$?
if [[ $rc -ne 1 ]]; then
  bad "src/foo/Bar.h: exit $rc, expected 1"; sed 's/^/  /' planted.out | head -20
elif ! grep -q "^src/foo/Bar.h: src/foo is no known area" planted.out; then
  bad "src/foo/Bar.h: no line naming it"; sed 's/^/  /' planted.out | head -20
else
  echo "ok: $(grep "^src/foo/Bar.h:" planted.out)"
fi
rm -r tree/src/foo

# (c) A small tree that obeys every rule passes, so (b) fails for the planted reason alone.
mkdir -p clean/src/core clean/src/losses clean/src/data clean/src/config clean/src/jobs clean/app
printf '#pragma once\n' > clean/src/core/Error.h
printf '#include "losses/DiceLoss.h"\n#include "core/Error.h"\n#include <torch/torch.h>\n' > clean/src/losses/DiceLoss.cpp
printf '#pragma once\n#include <itkImage.h>\n#include "core/Error.h"\n' > clean/src/data/ItkBridge.h
printf '#include <yaml-cpp/yaml.h>\n#include "data/Dataset.h"\n' > clean/src/config/YamlReader.cpp
printf '#include "config/TrainConfig.h"\n#include "losses/DiceLoss.h"\n' > clean/src/jobs/TrainJob.cpp
printf '#include "AppCommon.h"\n#include <spdlog/sinks/dist_sink.h>\n#include "jobs/TrainJob.h"\n' > clean/app/segtrain.cpp
if bash "$CHECK" "$PWD/clean" > clean.out 2>&1; then
  grep -qx "layers: 6 files, no upward include" clean.out || { bad "clean tree: unexpected summary"; sed 's/^/  /' clean.out; }
else
  bad "a tree that obeys the rules fails:"; sed 's/^/  /' clean.out
fi

if [[ $failures -ne 0 ]]; then
  echo "layering: $failures failure(s)"
  exit 1
fi
echo "layering: OK"
