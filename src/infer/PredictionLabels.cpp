#include "infer/PredictionLabels.h"

#include <torch/torch.h>

#include "core/Error.h"

namespace seg {

torch::Tensor probabilitiesFromLogits(const torch::Tensor& logits, const PredictionRule& rule) {
  const bool sigmoid = rule.sigmoid || rule.encoding.hasRegions();
  return (sigmoid ? torch::sigmoid(logits) : torch::softmax(logits, 0)).contiguous();
}

torch::Tensor labelsFromScores(const torch::Tensor& scores, const PredictionRule& rule, bool probabilities) {
  if (scores.dim() != 4) throw InternalError("labelsFromScores: expected (K, Z, Y, X) scores");
  const double threshold = probabilities ? 0.5 : 0.0;
  const LabelEncoding& enc = rule.encoding;
  if (enc.hasRegions()) {
    const auto regions = static_cast<int64_t>(enc.regions.size());
    if (scores.size(0) != regions) {
      throw InputError("prediction: the network has " + std::to_string(scores.size(0)) + " output channels for " +
                       std::to_string(regions) + " regions");
    }
    // Painting in order: later regions overwrite earlier ones (nnU-Net's
    // convert_probabilities_to_segmentation with regions_class_order).
    torch::Tensor labels = torch::zeros({scores.size(1), scores.size(2), scores.size(3)}, torch::kUInt8);
    for (int64_t r = 0; r < regions; ++r) {
      labels.masked_fill_(scores[r] > threshold, static_cast<int64_t>(enc.regionsClassOrder[static_cast<size_t>(r)]));
    }
    return labels.contiguous();
  }
  if (rule.sigmoid && scores.size(0) == 1) return (scores[0] > threshold).to(torch::kUInt8).contiguous();
  return scores.argmax(0).to(torch::kUInt8).contiguous();
}

}  // namespace seg
