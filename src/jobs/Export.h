#pragma once
// `segtrain export`: a checkpoint as files for use outside segtrain (docs/deployment.md).
#include <cstdint>
#include <string>

namespace seg {

// The weights as a file Python reads with torch.load: a dict of name -> tensor whose names
// follow the module tree ("encoder.0.0.weight", ...). Throws InputError naming the
// checkpoint or output path.
void exportWeights(const std::string& checkpointPath, const std::string& outputPath);

struct TorchScriptExportOptions {
  // Also write {"input": x, "logits": y} here (torch.load reads it with its defaults): x a
  // deterministic N(0, 1) input of shape (1, in_channels, patch z, y, x), y the logits of
  // segtrain's own eval forward on it (the fused CPU path segeval uses). Empty = none.
  std::string checkIoPath;
  uint64_t checkIoSeed = 20;
};

// The network's forward as a TorchScript module (models/TorchScriptExport.h) with the run's
// metadata (patch size, spacing, normalization, classes or regions, activation; the JSON of
// docs/deployment.md) as the extra file "segtrain.json" and the string attribute
// "segtrain_metadata". Throws InputError naming the checkpoint or output path.
void exportTorchScript(const std::string& checkpointPath, const std::string& outputPath,
                       const TorchScriptExportOptions& options = {});

// The metadata JSON of a checkpoint's stored config (for tests and the docs).
std::string torchScriptMetadata(const std::string& checkpointPath);

}  // namespace seg
