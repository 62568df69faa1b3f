// The process group itself (train/dist/ProcessGroup.h): backend choice and its errors, the
// rendezvous deadline, and the collectives over a real Gloo group whose ranks are threads of
// this test (TCPStore on a free local port). DataParallel's use of it: DataParallelTest.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <exception>
#include <functional>
#include <thread>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "train/dist/LocalLauncher.h"
#include "train/dist/ProcessGroup.h"

namespace seg::dist {
namespace {

// Runs body(rank, group) on `world` threads, each a rank of one Gloo group.
void runGroup(int world, const std::function<void(int, ProcessGroup&)>& body, const std::string& backend = "gloo") {
  const int port = findFreePort();
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        LaunchEnv env;
        env.rank = rank;
        env.worldSize = world;
        env.masterAddr = "127.0.0.1";
        env.masterPort = port;
        env.source = "test";
        ProcessGroupOptions options;
        options.backend = backend;
        options.timeout = std::chrono::seconds(60);
        const auto group = ProcessGroup::create(env, options, torch::kCPU);
        body(rank, *group);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

TEST(ProcessGroupTest, UnknownOrMismatchedBackendIsAnInputError) {
  LaunchEnv env;
  env.worldSize = 2;
  env.masterAddr = "127.0.0.1";
  env.masterPort = 1;
  ProcessGroupOptions options;
  options.backend = "nccl";
  EXPECT_EQ(test::errorOf([&] { ProcessGroup::create(env, options, torch::kCPU); }),
            "dist.backend: nccl needs train.device cuda (the device resolved to cpu); use gloo on CPU");
  options.backend = "mpi";
  EXPECT_EQ(test::errorOf([&] { ProcessGroup::create(env, options, torch::kCPU); }),
            "dist.backend: unknown backend 'mpi' (expected auto, gloo or nccl)");
}

TEST(ProcessGroupTest, GlooWithACudaDeviceIsAnInputError) {
  // Checked before any device is touched: a torch::Device value needs no GPU.
  LaunchEnv env;
  env.worldSize = 2;
  env.masterAddr = "127.0.0.1";
  env.masterPort = 1;
  ProcessGroupOptions options;
  options.backend = "gloo";
  EXPECT_EQ(test::errorOf([&] { ProcessGroup::create(env, options, torch::Device(torch::kCUDA, 0)); }),
            "dist.backend: gloo with a CUDA device is not supported here; use nccl (or auto)");
}

TEST(ProcessGroupTest, NoRendezvousAddressIsAnInputError) {
  LaunchEnv env;  // one process, no MASTER_ADDR: nothing to rendezvous at
  ProcessGroupOptions options;
  options.backend = "gloo";
  EXPECT_EQ(test::errorOf([&] { ProcessGroup::create(env, options, torch::kCPU); }),
            "dist: a process group needs MASTER_ADDR/MASTER_PORT (or a Slurm step)");
}

TEST(ProcessGroupTest, AutoOnTheCpuIsGlooAndEveryRankKnowsItsPlace) {
  std::vector<int> ranks(3, -1), sizes(3, -1);
  std::vector<std::string> backends(3);
  runGroup(
      3,
      [&](int rank, ProcessGroup& group) {
        ranks[rank] = group.rank();
        sizes[rank] = group.size();
        backends[rank] = group.backend();
        EXPECT_EQ(group.device(), torch::Device(torch::kCPU));
      },
      "auto");
  EXPECT_EQ(ranks, std::vector<int>({0, 1, 2}));
  EXPECT_EQ(sizes, std::vector<int>({3, 3, 3}));
  EXPECT_EQ(backends, std::vector<std::string>({"gloo", "gloo", "gloo"}));
}

TEST(ProcessGroupTest, AllReduceSumAndMaxGiveEveryRankTheReduction) {
  constexpr int kWorld = 3;
  std::vector<std::vector<torch::Tensor>> sums(kWorld);
  std::vector<torch::Tensor> maxima(kWorld), single(kWorld);
  std::vector<int64_t> collectives(kWorld);
  runGroup(kWorld, [&](int rank, ProcessGroup& group) {
    const int64_t before = group.collectiveCount();
    // rank r holds r+1 and (r+1)^2: the sums are 1+2+3 = 6 and 1+4+9 = 14.
    const double r = rank + 1;
    sums[rank] = {torch::tensor({r, 10 * r}, torch::kFloat64), torch::full({2, 2}, static_cast<float>(r * r))};
    group.allReduceSum(sums[rank]);
    single[rank] = torch::tensor({static_cast<int64_t>(rank)});
    group.allReduceSum(single[rank]);
    maxima[rank] = torch::tensor({-r, r, rank == 1 ? 100.0 : 0.0});
    group.allReduceMax(maxima[rank]);
    collectives[rank] = group.collectiveCount() - before;
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    EXPECT_TRUE(torch::equal(sums[rank][0], torch::tensor({6.0, 60.0}, torch::kFloat64))) << rank << sums[rank][0];
    EXPECT_TRUE(torch::equal(sums[rank][1], torch::full({2, 2}, 14.0f))) << rank << sums[rank][1];
    EXPECT_EQ(single[rank].item<int64_t>(), 0 + 1 + 2) << rank;
    EXPECT_TRUE(torch::equal(maxima[rank], torch::tensor({-1.0, 3.0, 100.0}).to(maxima[rank].dtype())))
        << rank << maxima[rank];
    // One collective per tensor: two for the vector, one each for the others.
    EXPECT_EQ(collectives[rank], 4) << rank;
  }
}

TEST(ProcessGroupTest, BroadcastGivesEveryRankTheRootsValues) {
  constexpr int kWorld = 3;
  std::vector<std::vector<torch::Tensor>> got(kWorld);
  runGroup(kWorld, [&](int rank, ProcessGroup& group) {
    got[rank] = {torch::full({3}, static_cast<float>(rank)), torch::full({2}, static_cast<int64_t>(10 + rank))};
    group.broadcast(got[rank], /*root=*/1);
    group.barrier();
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    EXPECT_TRUE(torch::equal(got[rank][0], torch::full({3}, 1.0f))) << rank << got[rank][0];
    EXPECT_TRUE(torch::equal(got[rank][1], torch::full({2}, int64_t{11}))) << rank << got[rank][1];
  }
}

// A rank that dies before it joined closes no connection the others could notice: only
// the rendezvous deadline ends their wait (tests/reliability/dead_rank.sh kills ranks at
// random moments, start-up included). Alone in a group of 2, each role must give up
// after dist.rendezvous_timeout_s, not after the 60 s collective timeout.
double secondsUntilRendezvousFails(int rank, std::string& message) {
  LaunchEnv env;
  env.rank = rank;
  env.worldSize = 2;
  env.masterAddr = "127.0.0.1";
  env.masterPort = findFreePort();
  env.source = "test";
  ProcessGroupOptions options;
  options.backend = "gloo";
  options.timeout = std::chrono::seconds(60);
  options.rendezvousTimeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  try {
    ProcessGroup::create(env, options, torch::kCPU);
    message = "(no error)";
  } catch (const InternalError& e) {
    message = e.what();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(ProcessGroupTest, RendezvousGivesUpWhenRankZeroNeverServesTheStore) {
  std::string message;
  const double seconds = secondsUntilRendezvousFails(1, message);
  EXPECT_NE(message.find("rank 1: cannot reach the rendezvous store"), std::string::npos) << message;
  EXPECT_NE(message.find("dist.rendezvous_timeout_s = 1 s"), std::string::npos) << message;
  EXPECT_EQ(message.find("frame #"), std::string::npos) << "backtrace in the message: " << message;
  EXPECT_LT(seconds, 30.0);
}

TEST(ProcessGroupTest, RendezvousGivesUpWhenAPeerNeverJoins) {
  // Rank 0 serves the store; Gloo's mesh connection waits for rank 1's address.
  std::string message;
  const double seconds = secondsUntilRendezvousFails(0, message);
  EXPECT_NE(message.find("rank 0: not every rank joined within dist.rendezvous_timeout_s = 1 s"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("frame #"), std::string::npos) << "backtrace in the message: " << message;
  EXPECT_LT(seconds, 30.0);
}

}  // namespace
}  // namespace seg::dist
