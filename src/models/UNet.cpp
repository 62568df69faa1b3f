#include "models/UNet.h"

#include <torch/nn.h>

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "models/FusedNormAct.h"
#include "models/ResidualBlocks.h"
#include "models/StageCheckpoint.h"
#include "models/UNetInference.h"

namespace seg {

namespace {
int64_t groupCount(int64_t channels) {
  // The largest divisor of `channels` not above 8 keeps GroupNorm valid for any width.
  for (int64_t g = std::min<int64_t>(8, channels); g > 1; --g)
    if (channels % g == 0) return g;
  return 1;
}

std::string str(const std::array<int64_t, 3>& a) {
  std::ostringstream s;
  s << "[" << a[0] << ", " << a[1] << ", " << a[2] << "]";
  return s.str();
}

torch::ExpandingArray<3> expand(const std::array<int64_t, 3>& a) { return torch::ExpandingArray<3>({a[0], a[1], a[2]}); }
}  // namespace

UNetImpl::UNetImpl(UNetOptions options) : options_(std::move(options)) { reset(); }

torch::nn::Sequential UNetImpl::makeStage(int64_t in, int64_t out, const std::array<int64_t, 3>& kernel,
                                          const std::array<int64_t, 3>& firstStride, int64_t convs) {
  torch::nn::Sequential stage;
  const std::array<int64_t, 3> padding{kernel[0] / 2, kernel[1] / 2, kernel[2] / 2};
  for (int64_t i = 0; i < convs; ++i) {
    const int64_t cin = i == 0 ? in : out;
    stage->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(cin, out, expand(kernel))
                                           .stride(i == 0 ? expand(firstStride) : torch::ExpandingArray<3>(1))
                                           .padding(expand(padding))
                                           .bias(true)));
    const std::string& norm = options_.norm();
    if (norm == "instance") {
      // nnU-Net: InstanceNorm3d(eps=1e-5, affine=True).
      stage->push_back(torch::nn::InstanceNorm3d(torch::nn::InstanceNorm3dOptions(out).affine(true)));
    } else if (norm == "batch") {
      stage->push_back(torch::nn::BatchNorm3d(out));
    } else {
      stage->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(groupCount(out), out)));
    }
    if (options_.dropout() > 0.0) {
      stage->push_back(torch::nn::Dropout3d(torch::nn::Dropout3dOptions(options_.dropout())));
    }
    // In-place is safe: the norm output is not needed for its own backward.
    stage->push_back(torch::nn::LeakyReLU(
        torch::nn::LeakyReLUOptions().negative_slope(options_.negative_slope()).inplace(true)));
  }
  return stage;
}

namespace {
ConvNormActOptions convOptions(const UNetOptions& o, int64_t in, int64_t out, const std::array<int64_t, 3>& kernel) {
  return ConvNormActOptions(in, out).kernel(kernel).norm(o.norm()).dropout(o.dropout()).negative_slope(o.negative_slope());
}
}  // namespace

// nnU-Net's StackedResidualBlocks: the first block takes the stride and the channel change.
torch::nn::Sequential UNetImpl::makeResidualStage(int64_t in, int64_t out, const std::array<int64_t, 3>& kernel,
                                                  const std::array<int64_t, 3>& firstStride, int64_t blocks) {
  torch::nn::Sequential stage;
  for (int64_t b = 0; b < blocks; ++b) {
    stage->push_back(BasicBlockD(convOptions(options_, b == 0 ? in : out, out, kernel)
                                     .stride(b == 0 ? firstStride : std::array<int64_t, 3>{1, 1, 1})));
  }
  return stage;
}

// nnU-Net's UNetDecoder stage after a residual encoder: StackedConvBlocks of
// ConvDropoutNormReLU (dropout before the norm, as there).
torch::nn::Sequential UNetImpl::makeResidualDecoderStage(int64_t in, int64_t out, const std::array<int64_t, 3>& kernel) {
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < decoderConvs_; ++i)
    stage->push_back(ConvNormAct(convOptions(options_, i == 0 ? in : out, out, kernel)));
  return stage;
}

void UNetImpl::reset() {
  const auto& f = options_.features();
  const size_t stages = f.size();
  TORCH_CHECK(!f.empty(), "UNet: features must not be empty");
  TORCH_CHECK(options_.in_channels() > 0 && options_.num_classes() > 0,
              "UNet: in_channels and num_classes must be positive");
  TORCH_CHECK(options_.convs_per_stage() >= 1, "UNet: convs_per_stage must be >= 1");
  TORCH_CHECK(options_.encoder() == "plain" || options_.encoder() == "residual",
              "UNet: encoder must be plain or residual, got '", options_.encoder(), "'");
  const bool residual = options_.encoder() == "residual";
  TORCH_CHECK(options_.decoder_convs_per_stage() >= 0,
              "UNet: decoder_convs_per_stage must be >= 1 (or 0 = convs_per_stage), got ",
              options_.decoder_convs_per_stage());
  decoderConvs_ = options_.decoder_convs_per_stage() > 0 ? options_.decoder_convs_per_stage() : options_.convs_per_stage();
  TORCH_CHECK(residual || options_.blocks_per_stage().empty(),
              "UNet: blocks_per_stage is an option of the residual encoder (encoder 'residual'); the plain encoder "
              "has convs_per_stage");
  blocks_.clear();
  if (residual) {
    blocks_ = options_.blocks_per_stage();
    if (blocks_.empty()) {
      // nnU-Net's ResEncUNetPlanner: UNet_blocks_per_stage_encoder = (1, 3, 4, 6, 6, 6, ...).
      for (size_t s = 0; s < stages; ++s) blocks_.push_back(s == 0 ? 1 : s == 1 ? 3 : s == 2 ? 4 : 6);
    }
    TORCH_CHECK(blocks_.size() == stages, "UNet: blocks_per_stage has ", blocks_.size(), " entries for ", stages,
                " stages (features has ", stages, ")");
    for (size_t s = 0; s < stages; ++s)
      TORCH_CHECK(blocks_[s] >= 1, "UNet: blocks_per_stage[", s, "] = ", blocks_[s], ": every stage needs >= 1 block");
  }
  TORCH_CHECK(options_.norm() == "instance" || options_.norm() == "batch" || options_.norm() == "group",
              "UNet: norm must be instance, batch or group, got '", options_.norm(), "'");
  // A recomputed stage must produce exactly what the forward produced: dropout draws
  // new masks and batch norm updates its running statistics a second time.
  TORCH_CHECK(!options_.checkpointing() || options_.dropout() == 0.0,
              "UNet: checkpointing needs dropout 0 (the recompute would draw a different dropout mask), got dropout ",
              options_.dropout());
  TORCH_CHECK(!options_.checkpointing() || options_.norm() != "batch",
              "UNet: checkpointing cannot be combined with norm 'batch' (the recompute would update the running "
              "statistics twice); use instance or group");

  kernels_ = options_.kernel_sizes();
  if (kernels_.empty()) kernels_.assign(stages, {3, 3, 3});
  strides_ = options_.strides();
  if (strides_.empty()) {
    strides_.assign(stages, {2, 2, 2});
    strides_[0] = {1, 1, 1};
  }
  TORCH_CHECK(kernels_.size() == stages, "UNet: kernel_sizes has ", kernels_.size(), " entries for ", stages,
              " stages (features has ", stages, ")");
  TORCH_CHECK(strides_.size() == stages, "UNet: strides has ", strides_.size(), " entries for ", stages,
              " stages (features has ", stages, ")");
  for (size_t s = 0; s < stages; ++s) {
    for (int a = 0; a < 3; ++a) {
      TORCH_CHECK(kernels_[s][a] >= 1 && kernels_[s][a] % 2 == 1, "UNet: kernel_sizes[", s, "] = ",
                  str(kernels_[s]), ": every kernel size must be odd and >= 1 (same padding)");
      TORCH_CHECK(strides_[s][a] >= 1, "UNet: strides[", s, "] = ", str(strides_[s]), ": strides must be >= 1");
    }
  }
  TORCH_CHECK(strides_[0] == (std::array<int64_t, 3>{1, 1, 1}), "UNet: strides[0] = ", str(strides_[0]),
              " must be [1, 1, 1] (the first stage works at input resolution)");

  encoder_ = register_module("encoder", torch::nn::ModuleList());
  upsample_ = register_module("upsample", torch::nn::ModuleList());
  decoder_ = register_module("decoder", torch::nn::ModuleList());
  int64_t in = options_.in_channels();
  stemModules_ = 0;
  if (residual) {
    // nnU-Net's stem: one ConvDropoutNormReLU to features[0] with kernel_sizes[0], stride 1,
    // in a Sequential like every stage so that checkpointing treats it as one.
    torch::nn::Sequential stem;
    stem->push_back(ConvNormAct(convOptions(options_, in, f[0], kernels_[0])));
    encoder_->push_back(stem);
    stemModules_ = 1;
    in = f[0];
  }
  for (size_t s = 0; s < stages; ++s) {
    encoder_->push_back(residual ? makeResidualStage(in, f[s], kernels_[s], strides_[s], blocks_[s])
                                 : makeStage(in, f[s], kernels_[s], strides_[s], options_.convs_per_stage()));
    in = f[s];
  }
  // Decoder stage s (s = stages-2 .. 0) upsamples from stage s+1 by that stage's stride
  // (nnU-Net: transposed conv with kernel = stride) and fuses the skip of stage s.
  for (size_t s = stages - 1; s-- > 0;) {
    upsample_->push_back(torch::nn::ConvTranspose3d(
        torch::nn::ConvTranspose3dOptions(f[s + 1], f[s], expand(strides_[s + 1]))
            .stride(expand(strides_[s + 1]))
            .bias(options_.upsample_bias())));
    decoder_->push_back(residual ? makeResidualDecoderStage(2 * f[s], f[s], kernels_[s])
                                 : makeStage(2 * f[s], f[s], kernels_[s], {1, 1, 1}, decoderConvs_));
  }
  head_ = register_module("head", torch::nn::Conv3d(torch::nn::Conv3dOptions(f[0], options_.num_classes(), 1)));
  // Registered after `head` and only when enabled, so networks without deep
  // supervision keep their parameter names and order (checkpoints stay loadable).
  dsHeads_ = nullptr;
  if (options_.deep_supervision() && stages > 2) {
    dsHeads_ = register_module("ds_heads", torch::nn::ModuleList());
    // Decoder stages 0 .. stages-3 (all but the last, full-resolution one).
    for (size_t d = 0; d + 2 < stages; ++d) {
      const int64_t channels = f[stages - 2 - d];
      dsHeads_->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(channels, options_.num_classes(), 1)));
    }
  }

  // He initialisation as nnU-Net's InitWeights_He(neg_slope=1e-2): kaiming normal with
  // the LeakyReLU slope, zero biases.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv3d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, options_.negative_slope());
      if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
    } else if (auto* up = module->as<torch::nn::ConvTranspose3d>()) {
      torch::nn::init::kaiming_normal_(up->weight, options_.negative_slope());
      if (up->bias.defined()) torch::nn::init::zeros_(up->bias);
    }
  }
  // nnU-Net's ResidualEncoderUNet.initialize also runs init_last_bn_before_add_to_0.
  for (auto& module : modules(/*include_self=*/false))
    if (auto* block = module->as<BasicBlockDImpl>()) block->zeroLastNorm();
}

std::array<int64_t, 3> UNetImpl::sizeDivisors() const {
  std::array<int64_t, 3> d{1, 1, 1};
  for (const auto& s : strides_)
    for (int a = 0; a < 3; ++a) d[a] *= s[a];
  return d;
}

int64_t UNetImpl::sizeDivisor() const {
  const auto d = sizeDivisors();
  return *std::max_element(d.begin(), d.end());
}

namespace {
// A plain stage's modules in order, each InstanceNorm3d and the LeakyReLU after it (an
// eval-mode or p = 0 Dropout3d between them is the identity) as one fused autograd op on
// channels-last activations; the convolutions follow their input's layout.
torch::Tensor fusedStageForward(torch::nn::SequentialImpl& stage, torch::Tensor x) {
  const size_t n = stage.size();
  for (size_t i = 0; i < n; ++i) {
    if (auto* norm = stage[i]->as<torch::nn::InstanceNorm3d>()) {
      size_t j = i + 1;
      while (j < n && stage[j]->as<torch::nn::Dropout3d>()) ++j;
      if (j < n) {
        if (auto* act = stage[j]->as<torch::nn::LeakyReLU>()) {
          x = instanceNormLeakyReluTrainable(x, norm->weight, norm->bias, norm->options.eps(),
                                             act->options.negative_slope());
          i = j;
          continue;
        }
      }
    }
    x = (stage.begin() + static_cast<std::ptrdiff_t>(i))->forward<torch::Tensor>(x);
  }
  return x;
}
}  // namespace

bool UNetImpl::channelsLastApplies(const torch::Tensor& x) const {
  const bool grad = torch::GradMode::is_enabled();
  const bool plain = options_.encoder() == "plain";
  // plain: its stages run as fusedStageForward (norm -> dropout -> activation there, so no
  // training-mode dropout; no checkpointing, which runs the Sequential). residual: the
  // modules themselves take the fused op on channels-last activations (ConvNormAct: dropout
  // before the norm), checkpointing included, and without grad (evaluation: the plain
  // encoder has its own fused inference path) when fused_inference is on.
  // Tracing (TorchScript export) runs without grad and fused_inference off, so it keeps the
  // module path, whose operations the tracer can record.
  const bool enabled = plain ? options_.fused_training() && grad && !options_.checkpointing() &&
                                   (options_.dropout() == 0.0 || !is_training())
                             : (grad ? options_.fused_training() : options_.fused_inference());
  return enabled && options_.norm() == "instance" && options_.negative_slope() >= 0.0 && x.dim() == 5 &&
         x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         // CPU autocast hands the norms bfloat16 activations, which the fused op takes too.
         (!at::autocast::is_autocast_enabled(c10::DeviceType::CPU) ||
          at::autocast::get_autocast_dtype(c10::DeviceType::CPU) == torch::kBFloat16);
}

torch::Tensor UNetImpl::runStage(torch::nn::ModuleList& list, size_t index, const torch::Tensor& x, bool fused) {
  if (fused) return fusedStageForward(*list[index]->as<torch::nn::Sequential>(), x);
  if (options_.checkpointing() && is_training() && torch::GradMode::is_enabled()) {
    return checkpointStage(std::dynamic_pointer_cast<torch::nn::SequentialImpl>(list->ptr(index)), x);
  }
  return list[index]->as<torch::nn::Sequential>()->forward(x);
}

void UNetImpl::checkInput(const torch::Tensor& x) const {
  TORCH_CHECK(x.dim() == 5 && x.size(1) == options_.in_channels(), "UNet: expected input (B, ",
              options_.in_channels(), ", Z, Y, X), got ", x.sizes());
  const auto div = sizeDivisors();
  TORCH_CHECK(x.size(2) % div[0] == 0 && x.size(3) % div[1] == 0 && x.size(4) % div[2] == 0,
              "UNet: spatial size (z, y, x) ", x.sizes().slice(2), " must be divisible by ", str(div),
              " (the product of the strides per axis)");
}

std::vector<torch::Tensor> UNetImpl::run(torch::Tensor x, bool allLevels) {
  const int64_t stages = static_cast<int64_t>(options_.features().size());
  checkInput(x);
  const bool channelsLastPath = channelsLastApplies(x);
  if (channelsLastPath) x = channelsLast(x);
  const bool fused = channelsLastPath && options_.encoder() == "plain";
  std::vector<torch::Tensor> skips;
  skips.reserve(stages);
  if (stemModules_ > 0) x = runStage(encoder_, 0, x, fused);
  for (int64_t s = 0; s < stages; ++s) {
    x = runStage(encoder_, stemModules_ + s, x, fused);
    skips.push_back(x);
  }
  std::vector<torch::Tensor> lowRes;  // deep-supervision logits, lowest resolution first
  for (int64_t d = 0; d < stages - 1; ++d) {
    const int64_t s = stages - 2 - d;
    x = upsample_[d]->as<torch::nn::ConvTranspose3d>()->forward(x);
    x = torch::cat({x, skips[s]}, 1);
    skips[s] = torch::Tensor();  // drop the reference early: the skip is in the graph now
    x = runStage(decoder_, d, x, fused);
    if (allLevels && dsHeads_ && d < stages - 2) {
      lowRes.push_back(dsHeads_[d]->as<torch::nn::Conv3d>()->forward(x).contiguous());
    }
  }
  // Logits in NCDHW whatever the layout inside (a copy of num_classes channels when fused).
  std::vector<torch::Tensor> out{head_->forward(x).contiguous()};
  out.insert(out.end(), lowRes.rbegin(), lowRes.rend());
  return out;
}

torch::Tensor UNetImpl::forward(torch::Tensor x) {
  if (fusedInferenceApplies(*this, x)) return fusedInferenceForward(*this, x);
  return run(std::move(x), false).front();
}

std::vector<torch::Tensor> UNetImpl::forwardAll(torch::Tensor x) { return run(std::move(x), true); }

}  // namespace seg
