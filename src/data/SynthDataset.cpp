// writeSynthDataset (declared in data/Synth.h): the phantoms of makePhantom written as an
// nnU-Net v2 dataset folder.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/Log.h"
#include "core/ParallelFor.h"
#include "data/NiftiIO.h"
#include "data/Synth.h"

namespace seg {
namespace fs = std::filesystem;

namespace {

std::string caseName(int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "case_%03d", index);
  return name;
}

// Cases first, dataset.json last.
void writeSynthFiles(const SynthOptions& options, const fs::path& root) {
  std::error_code ec;
  for (const char* sub : {"imagesTr", "labelsTr", "imagesTs", "labelsTs"}) {
    fs::create_directories(root / sub, ec);
    if (ec) throw InputError((root / sub).string() + ": cannot create folder: " + ec.message());
  }
  const int numTrain = options.cases - options.testCases;
  auto log = logger("data");
  log->info("writing {} synthetic cases ({} test) of size ({},{},{}) to {}", options.cases, options.testCases,
            options.size[0], options.size[1], options.size[2], root.string());

  // Cases are independent, and .nii.gz compression dominates: a few threads help.
  const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  parallelFor(static_cast<size_t>(options.cases), threads, [&](size_t index) {
    const int i = static_cast<int>(index);
    const SynthCase c = makePhantom(options, i);
    const bool test = i >= numTrain;
    const std::string name = caseName(i);
    for (int64_t ch = 0; ch < c.image.channels; ++ch) {
      Volume channel;
      channel.geometry = c.image.geometry;
      const auto n = static_cast<int64_t>(c.image.geometry.numVoxels());
      channel.data.assign(c.image.data.begin() + ch * n, c.image.data.begin() + (ch + 1) * n);
      char suffix[16];
      std::snprintf(suffix, sizeof suffix, "_%04d.nii.gz", static_cast<int>(ch));
      writeImage(channel, (root / (test ? "imagesTs" : "imagesTr") / (name + suffix)).string());
    }
    writeLabel(c.label, (root / (test ? "labelsTs" : "labelsTr") / (name + ".nii.gz")).string());
    log->debug("{}: {} lesions", name, c.lesions.size());
  });

  // dataset.json last: a folder without it was not finished.
  nlohmann::ordered_json doc;
  doc["name"] = "SynthLesions";
  doc["description"] = "segtrain synthetic lesion phantoms (seed " + std::to_string(options.seed) + ")";
  if (options.regions) {
    // nnU-Net v2 region labels as its BraTS datasets write them (Dataset137_BraTS2021).
    doc["name"] = "SynthTumours";
    doc["channel_names"] = {{"0", "FLAIR-like"}, {"1", "T1c-like"}};
    doc["labels"] = {{"background", 0},
                     {"whole tumor", {1, 2, 3}},
                     {"tumor core", {2, 3}},
                     {"enhancing tumor", 3}};
    doc["regions_class_order"] = {1, 2, 3};
  } else {
    doc["channel_names"] = {{"0", "synthetic"}};
    doc["labels"] = {{"background", 0}, {"lesion", 1}};
    if (options.classes == 2) doc["labels"]["lesion_b"] = 2;
  }
  if (synthIgnoreLabel(options) >= 0) doc["labels"]["ignore"] = synthIgnoreLabel(options);
  doc["numTraining"] = numTrain;
  doc["numTest"] = options.testCases;
  doc["file_ending"] = ".nii.gz";
  writeFileAtomically((root / "dataset.json").string(), doc.dump(2) + "\n");
}


}  // namespace

void writeSynthDataset(const SynthOptions& options, const std::string& outDir) {
  validateSynthOptions(options);
  std::error_code ec;
  if (fs::exists(outDir, ec)) {
    if (!fs::is_directory(outDir, ec)) throw InputError(outDir + ": exists and is not a folder");
    if (!fs::is_empty(outDir, ec)) throw InputError(outDir + ": folder exists and is not empty");
  }
  const fs::path root(outDir);
  const bool createdRoot = !fs::exists(root, ec);
  // A failed run (disk full, bad option found late) removes what it wrote: the folder was
  // empty or absent before, and a half-written dataset must not look like a usable one.
  auto cleanUp = [&] {
    std::error_code ignored;
    for (const char* sub : {"imagesTr", "labelsTr", "imagesTs", "labelsTs", "dataset.json"}) {
      fs::remove_all(root / sub, ignored);
    }
    if (createdRoot) fs::remove(root, ignored);
  };
  try {
    writeSynthFiles(options, root);
  } catch (...) {
    cleanUp();
    throw;
  }
}

}  // namespace seg
