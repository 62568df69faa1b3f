// train.select_by in the Trainer (train/ModelSelection.h): what it refuses. The choice
// itself is covered by ModelSelectionTest and tests/integration/select_by_lesion.sh.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "train/Trainer.h"

namespace seg {
namespace {

UNet tinyNet() { return UNet(UNetOptions(1, 2).features({4, 8})); }

std::unique_ptr<torch::optim::Optimizer> sgd(UNet& net) {
  return std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(0.1));
}

torch::Tensor zeroLoss(const torch::Tensor& logits, const torch::Tensor&) { return logits.sum() * 0; }

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(TrainerSelectionTest, LesionCriterionWithoutFullValidationIsRefused) {
  UNet net = tinyNet();
  TrainerOptions o;
  o.selectBy = SelectBy::LesionSensitivity;
  o.fullValEvery = 1;  // but no validator
  EXPECT_EQ(errorOf([&] { Trainer(net, zeroLoss, sgd(net), LrScheduleOptions{}, nullptr, nullptr, o); }),
            "train.select_by: lesion_sensitivity needs train.full_val_every > 0 (the lesion scores come from the "
            "full-volume validation)");
}

// Resuming under another criterion would compare scores of different kinds.
TEST(TrainerSelectionTest, ResumeUnderAnotherCriterionIsRefused) {
  test::TempDir dir;
  UNet net = tinyNet();
  CheckpointState state;
  state.selectBy = "lesion_f1";
  state.bestScore = 0.5;
  state.bestEpoch = 2;
  const std::string path = dir.file("checkpoint_latest.pt");
  auto optimizer = sgd(net);
  saveCheckpoint(path, net, optimizer.get(), state);
  TrainerOptions o;  // pseudo_dice
  o.outputDir = dir.file("run");
  Trainer trainer(net, zeroLoss, sgd(net), LrScheduleOptions{}, nullptr, nullptr, o);
  EXPECT_EQ(errorOf([&] { trainer.resumeFrom(path); }),
            "train.select_by: '" + path + "' chose its best checkpoint by lesion_f1, this run by pseudo_dice; "
            "resume with the same train.select_by or start a new run");
}

}  // namespace
}  // namespace seg
