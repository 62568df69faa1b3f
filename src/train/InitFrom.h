#pragma once
// Fine-tuning (train.init_from, docs/training.md): a freshly built model takes the weights
// of another run's checkpoint. Tensors with equal name and shape are copied. Two
// mismatches are expected and handled:
//  - segmentation heads (names under "head." / "ds_heads.") whose class dimension (dim 0)
//    differs, or that only one side has (deep supervision switched): they keep the fresh
//    model's own initialisation, which is why the model must be freshly built (nnU-Net's
//    load_pretrained_weights never loads its seg_layers at all; we load them when they fit);
//  - the convolution reading the image (the first encoder conv weight) when the input
//    channel count differs (dim 1): adapted with timm's adapt_input_conv rule (adaptInputConv).
// Any other difference (a missing or unexpected tensor, another shape) is an InputError
// naming the checkpoint and the first tensors with both shapes; the model is then unchanged.
//
// The encoder freeze of train.freeze_encoder_epochs lives here too (setParametersFrozen).
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace seg {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct InitFromOptions {
  std::string source;  // the checkpoint path, named in messages and in the JSON
  std::vector<std::string> headPrefixes{"head.", "ds_heads."};
  // The weight of the convolution that reads the image; empty = the first parameter under
  // `encoderPrefix` with 3 or more dimensions (UNet: encoder.0.0.weight).
  std::string inputConv;
  std::string encoderPrefix = "encoder.";
  size_t listed = 5;  // mismatching tensors named in an error
};

enum class InitAction { Loaded, Adapted, Reinitialised, Skipped };
const char* initActionName(InitAction action);  // loaded | adapted | reinitialised | skipped

struct InitFromEntry {
  std::string name;
  InitAction action = InitAction::Loaded;
  std::vector<int64_t> modelShape;   // empty for a checkpoint tensor the model lacks (skipped)
  std::vector<int64_t> sourceShape;  // empty for a model tensor the checkpoint lacks
};

struct InitFromReport {
  std::string source;
  std::vector<InitFromEntry> entries;  // model tensors in module order, then skipped ones
  int64_t loaded = 0, adapted = 0, reinitialised = 0, skipped = 0;
  int64_t inChannelsFrom = 0, inChannelsTo = 0;  // set when the input conv was adapted
  int64_t classesFrom = 0, classesTo = 0;        // set when a head's class count differed
  // "loaded 28 tensors, adapted 1 (in channels 1 -> 2), re-initialised 2 (classes 2 -> 3)"
  std::string summary() const;
  // {"source", "loaded", "adapted", "reinitialised", "skipped", "in_channels": {from, to},
  //  "classes": {from, to}, "tensors": [{"name", "action", "model_shape", "checkpoint_shape"}]}
  std::string toJson() const;
};

// Copies `source` into the parameters and buffers of `model` as described above. Checks
// everything before the first copy: on an InputError the model is unchanged.
InitFromReport initFrom(torch::nn::Module& model, const NamedTensors& source, const InitFromOptions& options);

// timm's adapt_input_conv (timm/models/_manipulate.py), generalised from 3 input channels
// to any count C_old: for C_new = 1 the weights of all old channels are summed; otherwise
// new channel c takes old channel c mod C_old, scaled by C_old / C_new. Either way the
// response to C_new channels holding the same (similarly normalised) image keeps its scale:
// exactly for the sum and when C_old divides C_new, approximately otherwise. `weight` is
// (O, C_old, k...); the result is (O, C_new, k...) in the same dtype.
torch::Tensor adaptInputConv(const torch::Tensor& weight, int64_t inChannels);

// The model tensors (parameters, then buffers, named as the module tree names them:
// "encoder.0.0.weight", ...) of a segtrain checkpoint, on the CPU. Throws InputError
// naming the file when it is missing or not a segtrain checkpoint.
NamedTensors readCheckpointWeights(const std::string& path);

// Sets requires_grad of the parameters whose name starts with `prefix` to !frozen and drops
// their gradients when freezing, so that neither the optimiser (momentum, weight decay) nor
// the gradient all-reduce (which skips parameters that need no gradient) touches them.
// Returns how many parameters matched; throws InputError when none does.
int64_t setParametersFrozen(torch::nn::Module& model, const std::string& prefix, bool frozen);

}  // namespace seg
