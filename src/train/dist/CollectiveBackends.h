#pragma once
// Construction of the c10d collective backends. Each lives in a translation unit of its own,
// the only one that sees its library's headers: GlooBackend.cpp (gloo) and NcclBackend.cpp
// (nccl.h, CUDA); src/CMakeLists.txt gives them the libraries' include folders. Without the
// headers a file builds a stub whose *Built() is false, and ProcessGroup refuses that backend.
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

namespace seg::dist {

bool glooBuilt();
// GLOO_SOCKET_IFNAME picks the interface, as in torch.distributed; else the address this
// host name resolves to (loopback when it resolves to none).
c10::intrusive_ptr<c10d::Backend> makeGlooBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout);

bool ncclBuilt();
// `device` is cuda:<local rank>; it is made current first, so that NCCL and the caching
// allocator work on it.
c10::intrusive_ptr<c10d::Backend> makeNcclBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout, c10::Device device);
// ProcessGroupNCCL wants shutdown() before destruction (else a warning, and possibly a hang
// at exit): flushes and destroys the communicators.
void shutdownNcclBackend(c10d::Backend& backend);
// NCCL versions, "2.30.7" ("" without NCCL): of the nccl.h this file compiled against, of the
// one LibTorch was built with, and of the libnccl loaded now. The first two must agree:
// ProcessGroupNCCL::Options embeds ncclConfig_t, whose layout is nccl.h's.
std::string ncclHeaderVersion();
std::string ncclTorchBuildVersion();
std::string ncclLibraryVersion();

}  // namespace seg::dist
