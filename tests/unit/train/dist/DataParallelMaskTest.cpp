// Data parallelism with loss masks (the ignore label) and regions: W ranks with batch b
// must still give the gradients of one process with batch W*b, although the ranks keep
// different numbers of voxels. The masked CE is a mean over the kept voxels of the global
// batch (its sum and count go through the statistics collective, losses/LossTerms.h), so a
// rank-local masked mean, which would weight the ranks equally, fails this test.
// Unmasked equivalence: DataParallelTest.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <exception>
#include <functional>
#include <thread>

#include "config/TrainConfig.h"
#include "jobs/Factories.h"
#include "losses/DeepSupervisionLoss.h"
#include "models/UNet.h"
#include "train/dist/DataParallel.h"
#include "train/dist/LocalLauncher.h"
#include "train/dist/ProcessGroup.h"

namespace seg::dist {
namespace {

constexpr int kWorld = 2;
constexpr int64_t kLocalBatch = 2;

void runRanks(const std::function<void(int, DataParallel&)>& body) {
  const int port = findFreePort();
  std::vector<std::exception_ptr> errors(kWorld);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kWorld; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        LaunchEnv env;
        env.rank = rank;
        env.worldSize = kWorld;
        env.masterAddr = "127.0.0.1";
        env.masterPort = port;
        env.source = "test";
        ProcessGroupOptions options;
        options.backend = "gloo";
        options.timeout = std::chrono::seconds(60);
        DataParallel parallel(ProcessGroup::create(env, options, torch::kCPU), /*bucketBytes=*/4096);
        body(rank, parallel);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Labels 0, 1, 2 in blobs, the ignore label 3 on most of rank 0's first sample and a
// corner of rank 1's: the ranks keep very different numbers of voxels.
struct Data {
  torch::Tensor images;
  torch::Tensor labels;
};

Data makeData() {
  torch::manual_seed(17);
  const int64_t n = kWorld * kLocalBatch;
  Data d;
  d.images = torch::randn({n, 1, 16, 16, 16}, torch::kFloat64);
  const auto smooth = torch::avg_pool3d(torch::randn({n, 1, 16, 16, 16}), 5, 1, 2);
  d.labels = (smooth > 0.05).to(torch::kLong) + (smooth > 0.2).to(torch::kLong);
  d.labels[0].slice(1, 0, 12).fill_(3);
  d.labels[2].slice(1, 0, 3).slice(2, 0, 4).fill_(3);
  return d;
}

torch::Tensor slice(const torch::Tensor& t, int rank) {
  return t.slice(0, rank * kLocalBatch, (rank + 1) * kLocalBatch);
}

std::vector<torch::Tensor> gradients(UNet& net) {
  std::vector<torch::Tensor> out;
  // The lowest deep-supervision head gets no gradient (never evaluated): it counts as zero.
  for (const auto& p : net->parameters())
    out.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::zeros_like(p));
  return out;
}

double relativeError(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]).pow(2).sum().item<double>();
    norm += b[i].pow(2).sum().item<double>();
  }
  return std::sqrt(diff / norm);
}

struct MaskCase {
  const char* name;
  LossConfig loss;
  bool regions;
  int64_t statisticCollectives;  // forward + backward
};

LossConfig lossOf(const std::string& name, bool batch, const std::string& activation = "softmax") {
  LossConfig c;
  c.name = name;
  c.batch = batch;
  c.activation = activation;
  return c;
}

LabelEncoding encodingOf(bool regions) {
  LabelEncoding e;
  e.ignoreLabel = 3;
  if (regions) {
    e.regions = {{1, 2}, {2}};
    e.regionNames = {"tumour", "core"};
    e.regionsClassOrder = {1, 2};
  }
  return e;
}

std::vector<MaskCase> maskCases() {
  return {
      {"dice_batch", lossOf("dice", true), false, 2},
      {"dice_ce_batch", lossOf("dice_ce", true), false, 2},
      {"dice_ce_per_sample", lossOf("dice_ce", false), false, 2},  // the masked CE's sums
      {"ce", lossOf("ce", false), false, 2},
      {"gdl_batch", lossOf("gdl", true), false, 2},
      {"dice_per_sample", lossOf("dice", false), false, 0},
      {"regions_dice_bce_batch", lossOf("dice_ce", true, "sigmoid"), true, 2},
  };
}

class DataParallelMaskTest : public ::testing::TestWithParam<MaskCase> {};

TEST_P(DataParallelMaskTest, TwoRanksMatchOneProcessWithTheGlobalBatch) {
  const MaskCase& c = GetParam();
  const LabelEncoding encoding = encodingOf(c.regions);
  const int64_t channels = c.regions ? 2 : 3;
  const auto makeNet = [channels](uint64_t seed) {
    torch::manual_seed(seed);
    UNet net(UNetOptions(1, channels).features({4, 8}));
    net->to(torch::kFloat64);
    return net;
  };
  const Data data = makeData();
  UNet single = makeNet(1);
  makeLoss(c.loss, {}, encoding)(single->forward(data.images), data.labels).backward();
  const auto expected = gradients(single);

  std::vector<UNet> nets{makeNet(1), makeNet(1)};
  std::vector<std::vector<torch::Tensor>> got(kWorld);
  std::vector<int64_t> collectives(kWorld);
  runRanks([&](int rank, DataParallel& parallel) {
    UNet& net = nets[rank];
    const auto loss = makeLoss(c.loss, parallel.statisticsReducer(), encoding);
    const int64_t before = parallel.group().collectiveCount();
    loss(net->forward(slice(data.images, rank)), slice(data.labels, rank)).backward();
    collectives[rank] = parallel.group().collectiveCount() - before;
    parallel.averageGradients(net->parameters());
    got[rank] = gradients(net);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    EXPECT_LE(relativeError(got[rank], expected), 1e-10) << c.name << ": rank " << rank;
    EXPECT_EQ(collectives[rank], c.statisticCollectives) << c.name << ": one packed collective each way";
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, DataParallelMaskTest, ::testing::ValuesIn(maskCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DataParallelMaskTest, DeepSupervisionWithMasksKeepsOneCollectiveEachWay) {
  // Every level's labels are downsampled, then masked: the Dice statistics and masked CE
  // sums of both evaluated levels share one collective forward and one backward.
  const auto net = [](uint64_t seed) {
    torch::manual_seed(seed);
    UNet n(UNetOptions(1, 3).features({4, 8, 16, 32}).deep_supervision(true));
    n->to(torch::kFloat64);
    return n;
  };
  const Data data = makeData();
  const LossConfig cfg = lossOf("dice_ce", true);
  const LabelEncoding encoding = encodingOf(false);
  UNet single = net(1);
  deepSupervisionLoss(single->forwardAll(data.images), data.labels, makeLossTerms(cfg, encoding), StatisticsReducer{})
      .backward();
  const auto expected = gradients(single);
  std::vector<UNet> nets{net(1), net(1)};
  std::vector<std::vector<torch::Tensor>> got(kWorld);
  std::vector<int64_t> collectives(kWorld);
  runRanks([&](int rank, DataParallel& parallel) {
    UNet& n = nets[rank];
    const int64_t before = parallel.group().collectiveCount();
    deepSupervisionLoss(n->forwardAll(slice(data.images, rank)), slice(data.labels, rank),
                        makeLossTerms(cfg, encoding), parallel.statisticsReducer())
        .backward();
    collectives[rank] = parallel.group().collectiveCount() - before;
    parallel.averageGradients(n->parameters());
    got[rank] = gradients(n);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    EXPECT_EQ(collectives[rank], 2) << "rank " << rank;
    EXPECT_LE(relativeError(got[rank], expected), 1e-10) << "rank " << rank;
  }
}

}  // namespace
}  // namespace seg::dist
