#include "train/Export.h"

#include <torch/serialize.h>
#include <torch/torch.h>


#include "config/ConfigLoader.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "train/Checkpoint.h"
#include "train/Factories.h"

namespace seg {

void exportWeights(const std::string& checkpointPath, const std::string& outputPath) {
  const CheckpointState state = readCheckpointState(checkpointPath);
  const TrainConfig config = parseTrainConfig(state.configYaml, checkpointPath + " (stored config)");
  UNet model(makeUNetOptions(config.model, state.inChannels, state.numClasses));
  loadCheckpoint(checkpointPath, model, nullptr);

  c10::Dict<std::string, torch::Tensor> weights;
  for (const auto& item : model->named_parameters()) weights.insert(item.key(), item.value().detach().clone());
  for (const auto& item : model->named_buffers()) weights.insert(item.key(), item.value().detach().clone());
  // pickle_save writes the same zip format as Python's torch.save.
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(weights));

  writeFileAtomically(outputPath, std::string(bytes.begin(), bytes.end()));
}

}  // namespace seg
