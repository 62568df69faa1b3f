// segdata: synthetic datasets, file inspection and dataset checks.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "AppCommon.h"
#include "core/Error.h"
#include "data/Dataset.h"
#include "data/Fingerprint.h"
#include "data/NiftiIO.h"
#include "data/Synth.h"

namespace {

using nlohmann::ordered_json;

struct Stats {
  bool available = false;
  std::string error;
  double min = 0, max = 0, mean = 0;
  bool integerValued = false;
  std::vector<double> distinct;  // sorted, at most kMaxDistinct
  bool distinctTruncated = false;
  uint64_t nonFinite = 0;        // NaN/Inf values; min/max/mean are over the others
  bool finite = false;           // some finite value: min/max/mean are set
};

constexpr size_t kMaxDistinct = 20;

Stats computeStats(const std::string& path) {
  Stats s;
  seg::Volume volume;
  std::vector<uint64_t> nonFinite;
  try {
    volume = seg::readImageCountingNonFinite(path, nonFinite);
  } catch (const seg::InputError& e) {
    s.error = e.what();
    return s;
  }
  s.nonFinite = nonFinite.size();
  s.available = true;
  if (nonFinite.size() == volume.data.size()) return s;  // nothing finite: no min/max/mean
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  double sum = 0;
  s.integerValued = true;
  std::set<double> distinct;
  size_t skip = 0;  // next index into nonFinite (sorted)
  for (size_t i = 0; i < volume.data.size(); ++i) {
    if (skip < nonFinite.size() && nonFinite[skip] == i) {
      ++skip;
      continue;
    }
    const float v = volume.data[i];
    s.min = std::min<double>(s.min, v);
    s.max = std::max<double>(s.max, v);
    sum += v;
    if (s.integerValued) {
      if (v != std::floor(v)) {
        s.integerValued = false;
      } else if (distinct.insert(v).second && distinct.size() > kMaxDistinct) {
        // Keep the smallest kMaxDistinct values seen so far.
        distinct.erase(std::prev(distinct.end()));
        s.distinctTruncated = true;
      }
    }
  }
  s.mean = sum / static_cast<double>(volume.data.size() - nonFinite.size());
  s.finite = true;
  if (s.integerValued) s.distinct.assign(distinct.begin(), distinct.end());
  return s;
}

std::string triple(const std::array<double, 3>& v) {
  std::ostringstream out;
  out << v[0] << " " << v[1] << " " << v[2];
  return out.str();
}

int inspect(const std::string& file, bool asJson) {
  const seg::ImageInfo info = seg::readImageInfo(file);
  const Stats stats = computeStats(file);
  const seg::ImageGeometry& g = info.geometry;
  if (asJson) {
    ordered_json j;
    j["path"] = info.path;
    j["dimension"] = info.dimensions;
    j["channels"] = info.channels;
    j["pixel_components"] = 1;  // vector-pixel files are refused at read
    j["component_type"] = info.componentType;
    j["size"] = g.size;
    j["spacing"] = g.spacing;
    j["origin"] = g.origin;
    // Nested rows of ITK's direction matrix (LPS physical space).
    j["direction"] = {{g.direction[0], g.direction[1], g.direction[2]},
                      {g.direction[3], g.direction[4], g.direction[5]},
                      {g.direction[6], g.direction[7], g.direction[8]}};
    if (stats.available) {
      j["min"] = stats.finite ? ordered_json(stats.min) : ordered_json(nullptr);
      j["max"] = stats.finite ? ordered_json(stats.max) : ordered_json(nullptr);
      j["mean"] = stats.finite ? ordered_json(stats.mean) : ordered_json(nullptr);
      j["non_finite"] = stats.nonFinite;
      j["integer_valued"] = stats.finite && stats.integerValued;
      if (stats.finite && stats.integerValued) {
        j["distinct_values"] = stats.distinct;
        j["distinct_values_truncated"] = stats.distinctTruncated;
      }
    } else if (!stats.error.empty()) {
      j["error"] = stats.error;
    }
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "file:        " << info.path << "\n"
              << "dimensions:  " << info.dimensions << "D, " << info.channels << " channel(s)\n"
              << "component:   " << info.componentType << "\n"
              << "size:        " << g.size[0] << " " << g.size[1] << " " << g.size[2] << "\n"
              << "spacing:     " << triple(g.spacing) << "\n"
              << "origin:      " << triple(g.origin) << "\n"
              << "direction:   " << triple({g.direction[0], g.direction[1], g.direction[2]}) << " / "
              << triple({g.direction[3], g.direction[4], g.direction[5]}) << " / "
              << triple({g.direction[6], g.direction[7], g.direction[8]}) << "\n";
    if (stats.available) {
      if (stats.finite) {
        std::cout << "min/max/mean: " << stats.min << " / " << stats.max << " / " << stats.mean
                  << (stats.nonFinite ? " (finite values)" : "") << "\n";
      }
      std::cout << "non-finite:  " << stats.nonFinite << (stats.nonFinite ? " (NaN/Inf; training refuses this file)" : "")
                << "\n";
      if (stats.finite && stats.integerValued) {
        std::cout << "values:      ";
        for (double v : stats.distinct) std::cout << v << " ";
        std::cout << (stats.distinctTruncated ? "..." : "") << "\n";
      }
    }
  }
  if (!stats.error.empty()) throw seg::InputError(stats.error);
  return 0;
}

// Checks one case; appends "case <id>: ..." lines to `problems`.
void checkCase(const seg::DatasetManifest& m, const seg::CaseEntry& c, std::vector<std::string>& problems) {
  auto problem = [&](const std::string& text) { problems.push_back("case " + c.id + ": " + text); };
  const int64_t expectedChannels = static_cast<int64_t>(m.channelNames.size());
  int64_t channels = 0;
  bool haveGrid = false;
  seg::ImageGeometry grid;
  for (const std::string& image : c.images) {
    // The whole file, as training reads it (non-finite values, truncation).
    seg::Volume info;
    try {
      info = seg::readImage(image);
    } catch (const seg::InputError& e) {
      problem(e.what());
      continue;
    }
    channels += info.channels;
    if (!haveGrid) {
      grid = info.geometry;
      haveGrid = true;
    } else if (!grid.sameGrid(info.geometry)) {
      problem(image + ": grid " + info.geometry.describeSize() + " differs from channel 0 " + grid.describeSize() +
              " (size, spacing, origin or direction)");
    }
  }
  if (haveGrid && channels != expectedChannels) {
    problem(std::to_string(channels) + " channel(s) but dataset.json declares " + std::to_string(expectedChannels));
  }
  if (c.label.empty()) return;
  seg::LabelVolume label;
  try {
    label = seg::readLabel(c.label);
  } catch (const seg::InputError& e) {
    problem(e.what());
    return;
  }
  if (haveGrid && !grid.sameGrid(label.geometry)) {
    problem(c.label + ": label grid " + label.geometry.describeSize() + " does not match the image grid " +
            grid.describeSize() + " (size, spacing, origin or direction)");
  }
  std::array<bool, 256> seen{};
  for (uint8_t v : label.data) seen[v] = true;
  std::string unknown;
  for (int v = 0; v < 256; ++v) {
    if (seen[v] && !m.labels.count(v)) unknown += (unknown.empty() ? "" : ", ") + std::to_string(v);
  }
  if (!unknown.empty()) problem(c.label + ": label values {" + unknown + "} are not declared in dataset.json labels");
}

int check(const std::string& root) {
  const seg::DatasetManifest m = seg::loadDataset(root);
  std::vector<std::string> problems;
  size_t checked = 0;
  for (const auto* list : {&m.training, &m.test}) {
    for (const seg::CaseEntry& c : *list) {
      checkCase(m, c, problems);
      ++checked;
    }
  }
  for (const std::string& p : problems) std::cout << p << "\n";
  if (!problems.empty()) {
    std::cerr << "segdata: " << problems.size() << " problem(s) in " << root << "\n";
    return 2;
  }
  std::cout << m.name << ": " << m.training.size() << " training and " << m.test.size() << " test cases, "
            << m.channelNames.size() << " channel(s), " << m.numClasses() << " classes; " << checked
            << " cases checked, no problems\n";
  return 0;
}

template <typename T>
std::string joined(const T& values, const char* sep = " x ") {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? sep : "") << values[i];
  return out.str();
}

int plan(const std::string& root, bool asJson, const seg::PlanOptions& options) {
  const seg::DatasetManifest m = seg::loadDataset(root);
  const seg::DatasetFingerprint fp = seg::fingerprintDataset(m.training, m.numClasses());
  const seg::Plan p = seg::suggestPlan(fp, options);
  auto binName = [&](size_t b) {
    std::ostringstream out;
    out << fp.sizeBins[b] << "-" << (b + 1 < fp.sizeBins.size() ? std::to_string(static_cast<int64_t>(fp.sizeBins[b + 1])) : "inf");
    return out.str();
  };
  if (asJson) {
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
    j["plan"] = {{"target_spacing", p.spacing}, {"median_shape_at_target", p.medianShape},
                 {"patch_size", p.patchSize}, {"batch_size", p.batchSize}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << m.name << ": " << fp.cases.size() << " training cases, " << fp.intensity.size() << " channel(s), "
            << m.numClasses() << " classes\n"
            << "median spacing:   " << joined(fp.medianSpacing) << " mm (x y z, L P S orientation)\n"
            << "median size:      " << joined(fp.medianSize) << " voxels\n";
  for (size_t c = 0; c < fp.intensity.size(); ++c) {
    const auto& i = fp.intensity[c];
    std::cout << "foreground, channel " << c << ": mean " << i.mean << ", std " << i.std << ", range [" << i.min << ", "
              << i.max << "], percentiles 0.5/50/99.5: " << i.p005 << " / " << i.p50 << " / " << i.p995 << "\n";
  }
  for (const auto& c : fp.classes) {
    std::cout << "class " << c.classIndex << ": " << c.lesions << " lesions in " << c.casesWithClass << " cases; mm^3 bins";
    for (size_t b = 0; b < c.sizeHistogram.size(); ++b) std::cout << " [" << binName(b) << "): " << c.sizeHistogram[b];
    std::cout << "\n";
  }
  std::cout << "suggested plan:\n"
            << "  data.target_spacing: [" << joined(p.spacing, ", ") << "]\n"
            << "  data.patch_size: [" << joined(p.patchSize, ", ") << "]  (median shape at that spacing "
            << joined(p.medianShape) << ")\n"
            << "  train.batch_size: " << p.batchSize << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"segdata: synthetic datasets, NIfTI inspection, dataset checks and plans"};
  seg::app::addVersionFlag(cli, "segdata");
  std::string logLevel = "info";
  cli.add_option("--log-level", logLevel, "trace|debug|info|warn|error|off")->capture_default_str();
  cli.require_subcommand(1);
  cli.fallthrough();  // --log-level is accepted after the subcommand too

  seg::SynthOptions synth;
  std::string synthOut;
  auto* synthCmd = cli.add_subcommand("synth", "Write a synthetic lesion dataset (nnU-Net v2 layout)");
  synthCmd->add_option("--out", synthOut, "Output folder (must not exist or be empty)")->required();
  synthCmd->add_option("--cases", synth.cases, "Total number of cases")->capture_default_str();
  synthCmd->add_option("--test-cases", synth.testCases, "Cases held out in imagesTs/labelsTs")->capture_default_str();
  synthCmd->add_option("--size", synth.size, "Volume size X Y Z (voxels)");
  synthCmd->add_option("--spacing", synth.spacing, "Voxel spacing X Y Z (mm)");
  synthCmd->add_option("--classes", synth.classes, "Foreground classes (1 or 2)")->capture_default_str();
  synthCmd->add_option("--seed", synth.seed, "Random seed")->capture_default_str();
  synthCmd->add_option("--min-lesions", synth.minLesions, "Fewest lesions per case")->capture_default_str();
  synthCmd->add_option("--max-lesions", synth.maxLesions, "Most lesions per case")->capture_default_str();
  synthCmd->add_option("--min-radius", synth.minRadius, "Smallest lesion radius (voxels)")->capture_default_str();
  synthCmd->add_option("--max-radius", synth.maxRadius, "Largest lesion radius (voxels)")->capture_default_str();

  std::string inspectFile;
  bool inspectJson = false;
  auto* inspectCmd = cli.add_subcommand("inspect", "Print a NIfTI file's header and value statistics");
  inspectCmd->add_option("file", inspectFile, "NIfTI file (.nii or .nii.gz)")->required();
  inspectCmd->add_flag("--json", inspectJson, "Print JSON");

  std::string planRoot;
  bool planJson = false;
  seg::PlanOptions planOptions;
  auto* planCmd = cli.add_subcommand("plan", "Dataset fingerprint and a suggested spacing, patch size and batch size");
  planCmd->add_option("dataset", planRoot, "Dataset folder holding dataset.json")->required();
  planCmd->add_flag("--json", planJson, "Print JSON");
  planCmd->add_option("--voxel-budget", planOptions.voxelBudget,
                      "Patch voxels that fit with batch 2 (default 128^3 = 2097152)")
      ->check(CLI::PositiveNumber);

  std::string checkRoot;
  auto* checkCmd = cli.add_subcommand("check", "Check a dataset folder (dataset.json, headers, labels)");
  checkCmd->add_option("dataset", checkRoot, "Dataset folder holding dataset.json")->required();

  int rc = seg::app::parseCommandLine(cli, argc, argv);
  if (rc >= 0) return rc;
  return seg::app::runTool("segdata", [&]() -> int {
    seg::app::setupConsoleLogging(logLevel);
    if (*synthCmd) {
      seg::writeSynthDataset(synth, synthOut);
      std::cout << "wrote " << synth.cases << " cases to " << synthOut << "\n";
      return 0;
    }
    if (*inspectCmd) return inspect(inspectFile, inspectJson);
    if (*planCmd) return plan(planRoot, planJson, planOptions);
    return check(checkRoot);
  });
}
