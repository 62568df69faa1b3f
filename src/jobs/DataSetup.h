#pragma once
// Composition root for the data pipeline: maps data.* config keys onto the options of
// src/data, and resolves the dataset-dependent ones (target spacing, CT statistics)
// so that the run's saved config holds concrete values that segeval reuses.
#include <string>
#include <vector>

#include "config/TrainConfig.h"
#include "data/CaseLoader.h"
#include "data/Splits.h"

namespace seg {

// The training cases: data.cases (a plain list) or the dataset.json folder data.root.
DatasetManifest loadManifest(const DataConfig& data);

// The fold: from data.split_file (nnU-Net splits_final.json) or k-fold by data.split_seed.
Split makeSplit(const DataConfig& data, const DatasetManifest& manifest);

// The preprocessing a resolved config describes. An empty data.target_spacing means
// "no resampling" here (a checkpoint from before resampling existed); data.ct_stats
// must be filled for normalization: ct.
PreprocessOptions preprocessOptions(const DataConfig& data, const std::string& source);

// Dataset-dependent keys the user left empty (data.target_spacing, data.ct_stats, and
// data.regions / regions_class_order / ignore_label, which may come from dataset.json)
// taken from `stored` (a resumed run's saved config).
void takeResolvedKeys(DataConfig& data, const DataConfig& stored);

// Fills data.target_spacing (nnU-Net's median rule over `allTraining`) when resampling
// and empty, loads `train` preprocessed, and fills data.ct_stats from those cases'
// foreground when normalization is ct and they are empty. Logs what it resolved.
std::vector<LoadedCase> loadTrainingCases(DataConfig& data, const std::vector<CaseEntry>& allTraining,
                                          const std::vector<CaseEntry>& train, LabelValues labels, int threads);

}  // namespace seg
