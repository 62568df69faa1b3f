#include "jobs/Export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include "config/ConfigLoader.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "train/Checkpoint.h"
#include "jobs/Factories.h"

namespace seg {

void exportWeights(const std::string& checkpointPath, const std::string& outputPath) {
  const CheckpointState state = readCheckpointState(checkpointPath);
  const TrainConfig config = parseTrainConfig(state.configYaml, checkpointPath + " (stored config)");
  UNet model(makeUNetOptions(config.model, state.inChannels, state.numClasses));
  loadCheckpoint(checkpointPath, model, nullptr);

  c10::Dict<std::string, torch::Tensor> weights;
  for (const auto& item : model->named_parameters()) weights.insert(item.key(), item.value().detach().clone());
  for (const auto& item : model->named_buffers()) weights.insert(item.key(), item.value().detach().clone());
  // The zip format of Python's torch.save, as torch::pickle_save writes it, but with the
  // dict pickled as a plain dict: pickle_save tags it with its element types
  // (torch.jit._pickle.restore_type_tag), a global that torch.load refuses by default since
  // torch 2.6 (weights_only=True). Untagged, torch.load reads it with its defaults.
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickled.insert(pickled.end(), data, data + size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(weights));
  pickler.stop();
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  writeFileAtomically(outputPath, bytes);
}

}  // namespace seg
