#include "losses/LossTerms.h"

#include <torch/torch.h>

#include <map>

namespace seg {

torch::Tensor MaskedMean::value() const {
  const auto mean = sum / count.detach().clamp_min(1e-8);
  return weight == 1.0 ? mean : weight * mean;
}

namespace {
// One reducer call per statistics rank ((C) or (B, C)): parts of the same rank are
// concatenated along the last axis and split back.
std::vector<DiceStatistics> reduceTogether(const std::vector<DiceStatistics>& parts, const StatisticsReducer& reducer) {
  if (!reducer) return parts;
  std::map<int64_t, std::vector<size_t>> byRank;
  for (size_t i = 0; i < parts.size(); ++i) byRank[parts[i].tp.dim()].push_back(i);
  std::vector<DiceStatistics> out(parts.size());
  for (const auto& [rank, members] : byRank) {
    if (members.size() == 1) {
      out[members.front()] = reducer(parts[members.front()]);
      continue;
    }
    std::vector<torch::Tensor> tp, sumP, sumG;
    std::vector<int64_t> widths;
    for (size_t i : members) {
      TORCH_CHECK(parts[i].tp.sizes().slice(0, rank - 1) == parts[members.front()].tp.sizes().slice(0, rank - 1),
                  "combineLossTerms: statistics of shape ", parts[i].tp.sizes(), " and ",
                  parts[members.front()].tp.sizes(), " cannot be reduced together");
      tp.push_back(parts[i].tp);
      sumP.push_back(parts[i].sumP);
      sumG.push_back(parts[i].sumG);
      widths.push_back(parts[i].tp.size(-1));
    }
    const DiceStatistics reduced = reducer({torch::cat(tp, -1), torch::cat(sumP, -1), torch::cat(sumG, -1)});
    const auto tpParts = reduced.tp.split_with_sizes(widths, -1);
    const auto sumPParts = reduced.sumP.split_with_sizes(widths, -1);
    const auto sumGParts = reduced.sumG.split_with_sizes(widths, -1);
    for (size_t k = 0; k < members.size(); ++k) out[members[k]] = {tpParts[k], sumPParts[k], sumGParts[k]};
  }
  return out;
}
}  // namespace

torch::Tensor combineLossTerms(const std::vector<LossTerms>& evaluations, const std::vector<double>& weights,
                               const StatisticsReducer& reducer) {
  TORCH_CHECK(!evaluations.empty(), "combineLossTerms: no evaluations");
  TORCH_CHECK(weights.size() == evaluations.size(), "combineLossTerms: ", weights.size(), " weights for ",
              evaluations.size(), " evaluations");
  // Dice statistics and masked means (as (sum, count, 0) columns) of all evaluations.
  std::vector<DiceStatistics> parts;
  for (const auto& e : evaluations) {
    if (e.stats.tp.defined()) {
      TORCH_CHECK(e.fromStatistics, "combineLossTerms: statistics without their loss half");
      parts.push_back(e.stats);
    }
    if (e.masked.defined()) {
      const auto sum = e.masked.sum.reshape({1});
      parts.push_back({sum, e.masked.count.detach().reshape({1}).to(sum.scalar_type()), torch::zeros_like(sum)});
    }
  }
  const std::vector<DiceStatistics> reduced = reduceTogether(parts, reducer);
  torch::Tensor total;
  size_t next = 0;
  for (size_t i = 0; i < evaluations.size(); ++i) {
    const auto& e = evaluations[i];
    torch::Tensor term;
    if (e.stats.tp.defined()) term = e.fromStatistics(reduced[next++]);
    if (e.local.defined()) term = term.defined() ? term + e.local : e.local;
    if (e.masked.defined()) {
      const DiceStatistics& r = reduced[next++];
      const auto mean = MaskedMean{r.tp.reshape({}), r.sumP.reshape({}), e.masked.weight}.value();
      term = term.defined() ? term + mean : mean;
    }
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
