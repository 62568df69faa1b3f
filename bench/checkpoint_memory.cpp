// Memory and time of one U-Net training step with and without activation
// checkpointing (models/StageCheckpoint.h). Run once per mode so that the process
// peak (ru_maxrss) belongs to that mode alone:
//   build/bench/seg_checkpoint_memory off
//   build/bench/seg_checkpoint_memory on
// "held after forward" is the heap growth between the start of the forward and the
// end of it (mallinfo2: in-use small blocks + mmapped blocks), i.e. the tensors the
// autograd graph keeps for backward; that is what checkpointing trades for compute.
#include <malloc.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "models/UNet.h"

namespace {
double heapMiB() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd) / (1024.0 * 1024.0);
}
double peakRssMiB() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}
}  // namespace

int main(int argc, char** argv) {
  const bool checkpointing = argc > 1 && std::strcmp(argv[1], "on") == 0;
  const int64_t side = argc > 2 ? std::atoll(argv[2]) : 64;
  torch::manual_seed(0);
  seg::UNet net(seg::UNetOptions(1, 2).features({16, 32, 64, 128}).checkpointing(checkpointing));
  net->train();
  const auto x = torch::randn({1, 1, side, side, side});
  // Warm-up step so that one-off allocations (thread pools, weight caches) are not counted.
  net->forward(x).square().mean().backward();
  net->zero_grad();

  const double before = heapMiB();
  const auto t0 = std::chrono::steady_clock::now();
  auto out = net->forward(x);
  const double held = heapMiB() - before;
  auto loss = (out * out).mean();
  loss.backward();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("checkpointing=%s input=1x1x%lldx%lldx%lld features=16,32,64,128: held after forward %.1f MiB, "
              "process peak RSS %.1f MiB, forward+backward %.2f s\n",
              checkpointing ? "on" : "off", static_cast<long long>(side), static_cast<long long>(side),
              static_cast<long long>(side), held, peakRssMiB(), seconds);
  return 0;
}
