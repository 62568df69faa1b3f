#include "losses/LossTerms.h"

#include <torch/torch.h>

namespace seg {

namespace {
std::vector<DiceStatistics> reduceTogether(const std::vector<const DiceStatistics*>& parts,
                                           const StatisticsReducer& reducer) {
  if (parts.empty()) return {};
  if (!reducer) {
    std::vector<DiceStatistics> same;
    for (const auto* p : parts) same.push_back(*p);
    return same;
  }
  if (parts.size() == 1) return {reducer(*parts.front())};
  std::vector<torch::Tensor> tp, sumP, sumG;
  std::vector<int64_t> widths;
  for (const auto* p : parts) {
    TORCH_CHECK(p->tp.dim() == parts.front()->tp.dim(), "combineLossTerms: statistics of shape ", p->tp.sizes(),
                " and ", parts.front()->tp.sizes(), " cannot be reduced together");
    tp.push_back(p->tp);
    sumP.push_back(p->sumP);
    sumG.push_back(p->sumG);
    widths.push_back(p->tp.size(-1));
  }
  const DiceStatistics reduced = reducer({torch::cat(tp, -1), torch::cat(sumP, -1), torch::cat(sumG, -1)});
  const auto tpParts = reduced.tp.split_with_sizes(widths, -1);
  const auto sumPParts = reduced.sumP.split_with_sizes(widths, -1);
  const auto sumGParts = reduced.sumG.split_with_sizes(widths, -1);
  std::vector<DiceStatistics> out;
  for (size_t i = 0; i < parts.size(); ++i) out.push_back({tpParts[i], sumPParts[i], sumGParts[i]});
  return out;
}
}  // namespace

torch::Tensor combineLossTerms(const std::vector<LossTerms>& evaluations, const std::vector<double>& weights,
                               const StatisticsReducer& reducer) {
  TORCH_CHECK(!evaluations.empty(), "combineLossTerms: no evaluations");
  TORCH_CHECK(weights.size() == evaluations.size(), "combineLossTerms: ", weights.size(), " weights for ",
              evaluations.size(), " evaluations");
  std::vector<const DiceStatistics*> parts;
  for (const auto& e : evaluations) {
    if (!e.stats.tp.defined()) continue;
    TORCH_CHECK(e.fromStatistics, "combineLossTerms: statistics without their loss half");
    parts.push_back(&e.stats);
  }
  const std::vector<DiceStatistics> reduced = reduceTogether(parts, reducer);
  torch::Tensor total;
  size_t next = 0;
  for (size_t i = 0; i < evaluations.size(); ++i) {
    const auto& e = evaluations[i];
    torch::Tensor term;
    if (e.stats.tp.defined()) term = e.fromStatistics(reduced[next++]);
    if (e.local.defined()) term = term.defined() ? term + e.local : e.local;
    TORCH_CHECK(term.defined(), "combineLossTerms: evaluation ", i, " has no terms");
    term = weights[i] == 1.0 ? term : weights[i] * term;
    total = total.defined() ? total + term : term;
  }
  return total;
}

torch::Tensor lossOf(const LossTerms& terms, const StatisticsReducer& reducer) {
  return combineLossTerms({terms}, {1.0}, reducer);
}

}  // namespace seg
