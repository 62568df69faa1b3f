#pragma once
// Training/validation splits of a manifest's training cases: k-fold by seed, or an
// nnU-Net splits_final.json.
#include <cstdint>
#include <string>
#include <vector>

#include "data/Dataset.h"

namespace seg {

// Deterministic k-fold split of the training cases: shuffle ids with `seed`, then
// fold f takes every case whose shuffled position % k == f for validation.
struct Split {
  std::vector<CaseEntry> train;
  std::vector<CaseEntry> val;
};
Split splitFolds(const std::vector<CaseEntry>& cases, int numFolds, int fold, uint64_t seed);

// An explicit split in nnU-Net's splits_final.json form: a list with one
// {"train": [ids], "val": [ids]} object per fold; `fold` picks one. Every id must be a
// training case and may appear once per fold; cases the fold does not name are left out
// (as in nnU-Net). Throws InputError naming the file, fold and id.
Split splitFromFile(const std::string& path, const std::vector<CaseEntry>& cases, int fold);

}  // namespace seg
