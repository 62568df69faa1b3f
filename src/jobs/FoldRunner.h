#pragma once
// `segtrain --folds`: which folds of the split a run trains, where each one lives
// (<run>/fold_K, as nnU-Net's fold_K folders) and how far each one got. The training of
// one fold is an ordinary run (jobs/TrainJob.h) with data.fold = K; app/segtrain.cpp walks
// the list, so --nproc, torchrun and Slurm ranks all walk the same folds in order.
#include <string>
#include <vector>

namespace seg {

struct DataConfig;

// The number of folds of the split data describes: the entries of data.split_file
// (nnU-Net's splits_final.json) when one is set, else data.num_folds. InputError naming
// the file when it is unreadable or not a list.
int foldCount(const DataConfig& data);

// "all" -> 0..numFolds-1; "0,2" or "1" -> those folds, in the given order, each once.
// InputError naming --folds for anything else or a fold outside [0, numFolds).
std::vector<int> parseFoldList(const std::string& text, int numFolds);

// <runDir>/fold_K
std::string foldDir(const std::string& runDir, int fold);

enum class FoldState { Pending, Started, Done };
// Done: checkpoint_final.pt exists; Started: checkpoint_latest.pt only; else Pending.
FoldState foldState(const std::string& dir);
const char* foldStateName(FoldState state);  // "pending", "started", "done"

// <runDir>/folds.json, written atomically: {"num_folds": k, "folds": [{"fold": K,
// "dir": "fold_K", "status": "done"|"started"|"pending"}...]} for every fold of the split,
// read from the folders (so Slurm array tasks, each training one fold, agree on it).
// segeval --cv finds the folds by their fold_K folders; this is the summary.
void writeFoldSummary(const std::string& runDir, int numFolds);

}  // namespace seg
