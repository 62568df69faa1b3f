#pragma once
// What LibTorch this binary runs on: the versions it was built with, and the GPUs it sees.
#include <string>

namespace seg {

std::string torchVersion();         // "2.14.1" (torch/version.h)
bool torchHasCuda();                // a CUDA build of LibTorch (its CUDA runtime is linked)
std::string cudaBuildVersion();     // CUDA runtime LibTorch was built with, "13.0"; "" for a CPU build
std::string cudnnBuildVersion();    // cuDNN LibTorch was built with, "9.24.0"; "" without cuDNN
std::string cudnnLoadedVersion();   // the cuDNN library loaded now; "" without cuDNN
int visibleGpus();                  // CUDA devices LibTorch sees (0 without a GPU or a CUDA build)

}  // namespace seg
