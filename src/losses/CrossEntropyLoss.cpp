#include "losses/CrossEntropyLoss.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include "losses/DiceStatistics.h"

namespace seg {

namespace F = torch::nn::functional;

namespace {

enum class Target { Indices, Probabilities, Binary };

// Checks shapes, weights and label range; says which form the CE takes.
Target checkInputs(const torch::Tensor& x, const torch::Tensor& logits, const torch::Tensor& labels,
                   const CrossEntropyLossOptions& options, const char* component) {
  TORCH_CHECK(x.dim() >= 3 && labels.dim() == x.dim() && labels.size(0) == x.size(0) &&
                  labels.sizes().slice(2) == x.sizes().slice(2),
              component, ": logits ", logits.sizes(), " and labels ", labels.sizes(), " differ in size");
  const int64_t channels = x.size(1);
  const auto& w = options.class_weights();
  if (!w.empty()) {
    TORCH_CHECK(static_cast<int64_t>(w.size()) == channels, component, ": ", w.size(), " class weights given for ",
                channels, " classes (logits ", logits.sizes(), "); weights cover all classes, background included");
    for (double v : w) TORCH_CHECK(v >= 0, component, ": class weights must be >= 0, got ", v);
  }
  if (channels == 1) {
    checkLabelRange(labels, channels, component);
    TORCH_CHECK(labels.size(1) == 1, component, ": one-channel logits ", logits.sizes(), " need one-channel labels, got ",
                labels.sizes());
    return Target::Binary;
  }
  if (options.binary()) {
    TORCH_CHECK(labels.size(1) == channels, component, ": binary cross-entropy on logits ", logits.sizes(), " needs ",
                channels, " target channels (one per label/region), got ", labels.sizes());
    if (!labels.is_floating_point()) checkLabelRange(labels, 1, component);
    return Target::Binary;
  }
  checkLabelRange(labels, channels, component);
  // Class-probability targets (one-hot): PyTorch averages over voxels.
  if (labels.is_floating_point() && labels.size(1) == channels) return Target::Probabilities;
  TORCH_CHECK(labels.size(1) == 1, component, ": labels ", labels.sizes(), " must have one channel (class indices) or ",
              channels, " float channels");
  return Target::Indices;
}

// pos_weight of shape (C, 1, ...) so that it broadcasts over the channel axis (PyTorch
// broadcasts it against the last axis otherwise; one channel is the same either way).
torch::Tensor posWeight(const std::vector<double>& w, const torch::Tensor& x) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim() - 1), 1);
  shape[0] = static_cast<int64_t>(w.size());
  return torch::tensor(w, x.options()).reshape(shape);
}

}  // namespace

torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const CrossEntropyLossOptions& options, const char* component,
                               const torch::Tensor& mask) {
  if (mask.defined()) return crossEntropySums(logits, labels, options, mask, component).value();
  const auto x = logits.to(statisticsType(logits));
  const Target form = checkInputs(x, logits, labels, options, component);
  const auto& w = options.class_weights();
  if (form == Target::Binary) {
    // MONAI passes the weight to BCEWithLogitsLoss as pos_weight.
    auto o = F::BinaryCrossEntropyWithLogitsFuncOptions();
    if (!w.empty()) o.pos_weight(posWeight(w, x));
    return F::binary_cross_entropy_with_logits(x, labels.to(x.scalar_type()), o);
  }
  auto o = F::CrossEntropyFuncOptions();
  if (!w.empty()) o.weight(torch::tensor(w, x.options()));
  if (form == Target::Probabilities) return F::cross_entropy(x, labels.to(x.scalar_type()), o);
  return F::cross_entropy(x, labels.to(torch::kLong).squeeze(1), o);
}

torch::Tensor crossEntropyTerm(const torch::Tensor& logits, const torch::Tensor& labels,
                               const std::vector<double>& classWeights, const char* component) {
  return crossEntropyTerm(logits, labels, CrossEntropyLossOptions().class_weights(classWeights), component);
}

MaskedMean crossEntropySums(const torch::Tensor& logits, const torch::Tensor& labels,
                            const CrossEntropyLossOptions& options, const torch::Tensor& mask, const char* component) {
  const auto x = logits.to(statisticsType(logits));
  const Target form = checkInputs(x, logits, labels, options, component);
  TORCH_CHECK(mask.defined(), component, ": crossEntropySums needs a mask");
  checkMask(mask, x, component);
  const auto m = mask.to(x.scalar_type());
  const auto& w = options.class_weights();
  MaskedMean out;
  if (form == Target::Binary) {
    auto o = F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone);
    if (!w.empty()) o.pos_weight(posWeight(w, x));
    const auto l = F::binary_cross_entropy_with_logits(x, labels.to(x.scalar_type()), o);
    out.sum = (l * m).sum();
    out.count = m.sum() * static_cast<double>(x.size(1));
  } else if (form == Target::Probabilities) {
    // PyTorch's probability targets: -sum_c w_c t_c log p_c per voxel, divided by the
    // number of voxels (not by the weights).
    auto t = labels.to(x.scalar_type());
    if (!w.empty()) t = t * posWeight(w, x);
    const auto l = -(t * torch::log_softmax(x, 1)).sum(1, /*keepdim=*/true);
    out.sum = (l * m).sum();
    out.count = m.sum();
  } else {
    // PyTorch's ignore_index semantics: the weighted mean over kept voxels,
    // sum(m w_y l) / sum(m w_y).
    const auto y = labels.to(torch::kLong);
    auto o = F::CrossEntropyFuncOptions().reduction(torch::kNone);
    if (!w.empty()) o.weight(torch::tensor(w, x.options()));
    const auto l = F::cross_entropy(x, y.squeeze(1), o).unsqueeze(1);  // w_y * l
    out.sum = (l * m).sum();
    out.count = w.empty() ? m.sum() : (torch::tensor(w, x.options()).index({y}) * m).sum();
  }
  out.count = out.count.detach();
  return out;
}

LossTerms crossEntropyTerms(const torch::Tensor& logits, const torch::Tensor& labels,
                            const CrossEntropyLossOptions& options, const torch::Tensor& mask) {
  LossTerms terms;
  if (mask.defined()) {
    terms.masked = crossEntropySums(logits, labels, options, mask, "CrossEntropyLoss");
  } else {
    terms.local = crossEntropyTerm(logits, labels, options, "CrossEntropyLoss");
  }
  return terms;
}

torch::Tensor crossEntropyLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                               const CrossEntropyLossOptions& options, const torch::Tensor& mask) {
  return crossEntropyTerm(logits, labels, options, "CrossEntropyLoss", mask);
}

}  // namespace seg
