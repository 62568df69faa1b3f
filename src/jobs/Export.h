#pragma once
// Exports a checkpoint's weights as a file Python reads with torch.load: a dict of
// name -> tensor whose names follow the module tree ("encoder.0.0.weight", ...).
#include <string>

namespace seg {

// Throws InputError naming the checkpoint or output path.
void exportWeights(const std::string& checkpointPath, const std::string& outputPath);

}  // namespace seg
