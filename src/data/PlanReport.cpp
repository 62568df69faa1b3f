#include "data/PlanReport.h"

#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace seg {

namespace {

using nlohmann::ordered_json;

template <typename T>
std::string joined(const T& values, const char* sep = " x ") {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? sep : "") << values[i];
  return out.str();
}

// "[0-10)" style name of size bin b; the last bin is open ("1000-inf").
std::string binName(const std::vector<double>& bins, size_t b) {
  std::ostringstream out;
  out << bins[b] << "-" << (b + 1 < bins.size() ? std::to_string(static_cast<int64_t>(bins[b + 1])) : "inf");
  return out.str();
}

}  // namespace

namespace {
FingerprintOptions ignoring(const DatasetManifest& manifest) {
  FingerprintOptions o;
  o.ignoreLabel = manifest.ignoreLabel;
  return o;
}
}  // namespace

PlanReport planDataset(const DatasetManifest& manifest, const PlanOptions& options) {
  PlanReport report;
  report.manifest = manifest;
  report.fingerprint = fingerprintDataset(manifest.training, manifest.numClasses(), ignoring(manifest));
  report.plan = suggestPlan(report.fingerprint, options);
  return report;
}

PlanReport planDatasetForMemory(const DatasetManifest& manifest, const ExperimentPlanOptions& options) {
  PlanReport report;
  report.manifest = manifest;
  report.fingerprint = fingerprintDataset(manifest.training, manifest.numClasses(), ignoring(manifest));
  const int64_t channels = static_cast<int64_t>(std::max<size_t>(1, report.fingerprint.intensity.size()));
  report.experiment = planExperiment(report.fingerprint, channels, manifest.numClasses(), options);
  report.hasExperiment = true;
  return report;
}

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

ordered_json experimentJson(const ExperimentPlan& p) {
  const NetworkSpec& n = p.network;
  const MemoryEstimate& e = p.estimate;
  return {{"preset", presetName(p.preset)},
          {"gpu_memory_gb", p.gpuMemoryGb},
          {"budget_gib", p.budgetBytes / kGiB},
          {"target_spacing", p.spacing},
          {"median_shape_at_target", p.medianShape},
          {"patch_size", p.patchSize},
          {"batch_size", p.batchSize},
          {"batch_dice", p.batchDice},
          {"network",
           {{"name", n.name},
            {"features", n.features},
            {"strides", n.strides},
            {"kernel_sizes", n.kernels},
            {"encoder_blocks", n.encoderBlocks},
            {"decoder_convs", n.decoderConvs},
            {"deep_supervision", n.deepSupervision},
            {"parameters", e.parameterCount}}},
          {"estimate_gib",
           {{"activations", e.activations / kGiB},
            {"loss", e.loss / kGiB},
            {"parameters", e.parameters / kGiB},
            {"workspace", e.workspace / kGiB},
            {"total", e.total() / kGiB}}}};
}

std::string experimentText(const ExperimentPlan& p) {
  const NetworkSpec& n = p.network;
  const MemoryEstimate& e = p.estimate;
  std::ostringstream out;
  out << std::setprecision(4);
  out << "plan for " << p.gpuMemoryGb << " GB, preset " << presetName(p.preset) << " (" << n.name << ", "
      << n.features.size() << " stages, " << static_cast<double>(e.parameterCount) / 1e6 << " M parameters):\n"
      << "  data.target_spacing: [" << joined(p.spacing, ", ") << "]  (median shape there "
      << joined(p.medianShape) << ")\n"
      << "  data.patch_size: [" << joined(p.patchSize, ", ") << "]\n"
      << "  train.batch_size: " << p.batchSize << "\n"
      << "  loss.batch: " << (p.batchDice ? "true" : "false") << "  (batch Dice, nnU-Net's 3d_lowres rule)\n"
      << "  stage  stride   kernel   features  " << (n.name == "resenc_unet" ? "blocks" : "convs") << "\n";
  for (size_t s = 0; s < n.features.size(); ++s) {
    out << "  " << std::setw(5) << s << "  " << std::setw(7) << joined(n.strides[s], ",") << "  " << std::setw(7)
        << joined(n.kernels[s], ",") << "  " << std::setw(8) << n.features[s] << "  " << n.encoderBlocks[s] << "\n";
  }
  out << "  decoder: " << n.decoderConvs << " conv(s) per stage, deep supervision "
      << (n.deepSupervision ? "on" : "off") << "\n"
      << "estimated memory: " << e.total() / kGiB << " GiB of a " << p.budgetBytes / kGiB
      << " GiB budget (activations " << e.activations / kGiB << ", loss " << e.loss / kGiB << ", parameters "
      << e.parameters / kGiB << ", workspace " << e.workspace / kGiB << ")\n";
  return out.str();
}

}  // namespace

std::string planJson(const PlanReport& report) {
  const DatasetManifest& m = report.manifest;
  const DatasetFingerprint& fp = report.fingerprint;
  const Plan& p = report.plan;
  ordered_json j;
  j["dataset"] = m.name;
  j["cases"] = fp.cases.size();
  ordered_json f;
  ordered_json cases = ordered_json::array();
  for (const auto& c : fp.cases) cases.push_back({{"id", c.id}, {"spacing", c.spacing}, {"size", c.size}});
  f["orientation"] = "ITK identity direction (L, P, S)";
  f["spacings_and_sizes"] = cases;
  f["median_spacing"] = fp.medianSpacing;
  f["median_size"] = fp.medianSize;
  ordered_json channels = ordered_json::array();
  for (size_t c = 0; c < fp.intensity.size(); ++c) {
    const auto& i = fp.intensity[c];
    channels.push_back({{"channel", c < m.channelNames.size() ? m.channelNames[c] : std::to_string(c)},
                        {"mean", i.mean}, {"std", i.std}, {"min", i.min}, {"max", i.max},
                        {"percentile_00_5", i.p005}, {"median", i.p50}, {"percentile_99_5", i.p995}});
  }
  f["foreground_intensity"] = channels;
  ordered_json classes = ordered_json::array();
  for (const auto& c : fp.classes) {
    ordered_json hist = ordered_json::array();
    for (size_t b = 0; b < c.sizeHistogram.size(); ++b) {
      hist.push_back({{"min_mm3", fp.sizeBins[b]}, {"lesions", c.sizeHistogram[b]}});
    }
    const auto name = m.labels.find(c.classIndex);
    classes.push_back({{"class", c.classIndex}, {"name", name == m.labels.end() ? "" : name->second},
                       {"lesions", c.lesions}, {"cases_with_class", c.casesWithClass},
                       {"mean_lesion_mm3", c.lesions ? c.totalMm3 / static_cast<double>(c.lesions) : 0.0},
                       {"size_histogram", hist}});
  }
  f["classes"] = classes;
  j["fingerprint"] = f;
  if (report.hasExperiment) {
    j["plan"] = experimentJson(report.experiment);
  } else {
    j["plan"] = {{"target_spacing", p.spacing}, {"median_shape_at_target", p.medianShape},
                 {"patch_size", p.patchSize}, {"batch_size", p.batchSize}};
  }
  return j.dump(2) + "\n";
}

std::string planText(const PlanReport& report) {
  const DatasetManifest& m = report.manifest;
  const DatasetFingerprint& fp = report.fingerprint;
  const Plan& p = report.plan;
  std::ostringstream out;
  out << m.name << ": " << fp.cases.size() << " training cases, " << fp.intensity.size() << " channel(s), "
      << m.numClasses() << " classes\n"
      << "median spacing:   " << joined(fp.medianSpacing) << " mm (x y z, L P S orientation)\n"
      << "median size:      " << joined(fp.medianSize) << " voxels\n";
  for (size_t c = 0; c < fp.intensity.size(); ++c) {
    const auto& i = fp.intensity[c];
    out << "foreground, channel " << c << ": mean " << i.mean << ", std " << i.std << ", range [" << i.min << ", "
        << i.max << "], percentiles 0.5/50/99.5: " << i.p005 << " / " << i.p50 << " / " << i.p995 << "\n";
  }
  for (const auto& c : fp.classes) {
    out << "class " << c.classIndex << ": " << c.lesions << " lesions in " << c.casesWithClass << " cases; mm^3 bins";
    for (size_t b = 0; b < c.sizeHistogram.size(); ++b) out << " [" << binName(fp.sizeBins, b) << "): " << c.sizeHistogram[b];
    out << "\n";
  }
  if (report.hasExperiment) {
    out << experimentText(report.experiment);
    return out.str();
  }
  out << "suggested plan:\n"
      << "  data.target_spacing: [" << joined(p.spacing, ", ") << "]\n"
      << "  data.patch_size: [" << joined(p.patchSize, ", ") << "]  (median shape at that spacing "
      << joined(p.medianShape) << ")\n"
      << "  train.batch_size: " << p.batchSize << "\n";
  return out.str();
}

}  // namespace seg
