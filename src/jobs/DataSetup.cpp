#include "jobs/DataSetup.h"

#include "core/Error.h"
#include "core/Log.h"

namespace seg {

DatasetManifest loadManifest(const DataConfig& data) {
  if (data.cases.empty()) return loadDataset(data.root);
  std::vector<CaseEntry> cases;
  for (const CaseListEntry& e : data.cases) cases.push_back({e.id, e.images, e.label});
  return manifestFromList(std::move(cases), data.labels, data.root);
}

Split makeSplit(const DataConfig& data, const DatasetManifest& manifest) {
  if (!data.split_file.empty()) return splitFromFile(data.split_file, manifest.training, data.fold);
  return splitFolds(manifest.training, data.num_folds, data.fold, data.split_seed);
}

PreprocessOptions preprocessOptions(const DataConfig& data, const std::string& source) {
  PreprocessOptions o;
  o.reorient = data.reorient;
  if (data.resample && data.target_spacing.size() == 3) {
    o.spacing = {data.target_spacing[0], data.target_spacing[1], data.target_spacing[2]};
  } else if (data.resample && !data.target_spacing.empty()) {
    throw ConfigError(source + ": data.target_spacing: expected [x, y, z]");
  }
  o.normalization = parseNormalization(data.normalization);
  o.nonzeroMask = data.nonzero_mask;
  o.cacheDir = data.cache_dir;
  o.ct.clipLow = data.ct_stats.clip_low;
  o.ct.clipHigh = data.ct_stats.clip_high;
  o.ct.mean = data.ct_stats.mean;
  o.ct.std = data.ct_stats.std;
  if (o.normalization == Normalization::CT && o.ct.empty()) {
    throw ConfigError(source + ": data.normalization is ct but data.ct_stats is empty (segtrain fills it from "
                               "the training cases and saves it in the run's config)");
  }
  return o;
}

void takeResolvedKeys(DataConfig& data, const DataConfig& stored) {
  if (data.target_spacing.empty()) data.target_spacing = stored.target_spacing;
  if (data.ct_stats.mean.empty()) data.ct_stats = stored.ct_stats;
  if (data.regions.empty()) {
    data.regions = stored.regions;
    data.regions_class_order = stored.regions_class_order;
  }
  if (data.ignore_label < 0) data.ignore_label = stored.ignore_label;
}

std::vector<LoadedCase> loadTrainingCases(DataConfig& data, const std::vector<CaseEntry>& allTraining,
                                          const std::vector<CaseEntry>& train, LabelValues labels, int threads) {
  auto log = logger("data");
  if (data.resample && data.target_spacing.empty()) {
    const auto s = datasetTargetSpacing(allTraining, data.reorient);
    data.target_spacing = {s[0], s[1], s[2]};
    log->info("target spacing {} x {} x {} mm (median of {} training cases, nnU-Net's anisotropy rule)", s[0], s[1],
              s[2], allTraining.size());
  }
  const bool needStats = data.normalization == "ct" && data.ct_stats.mean.empty();
  DataConfig withoutNorm = data;
  if (needStats) withoutNorm.normalization = "none";
  PreprocessOptions options = preprocessOptions(withoutNorm, "data");
  std::vector<LoadedCase> cases = loadCases(train, options, labels, threads, /*normalize=*/!needStats);
  if (needStats) {
    std::vector<ForegroundSource> sources;
    for (const LoadedCase& c : cases) sources.push_back({&c.image, &c.label, labels.ignoreLabel});
    const IntensityStats s = foregroundStats(sources);
    data.ct_stats.clip_low = s.clipLow;
    data.ct_stats.clip_high = s.clipHigh;
    data.ct_stats.mean = s.mean;
    data.ct_stats.std = s.std;
    for (size_t c = 0; c < s.channels(); ++c) {
      log->info("CT normalisation, channel {}: clip [{:.6g}, {:.6g}], foreground mean {:.6g}, std {:.6g}", c,
                s.clipLow[c], s.clipHigh[c], s.mean[c], s.std[c]);
    }
    normalizeCases(cases, preprocessOptions(data, "data"));
  }
  return cases;
}

}  // namespace seg
