#include "train/dist/CollectiveBackends.h"

#include <cstdlib>

#include "core/Error.h"

#ifdef SEG_HAVE_GLOO
// The pip wheel ships libtorch's gloo but not its headers, so these declarations come from
// Debian's libgloo-dev. Nothing of gloo is instantiated here: this file calls only functions
// that libtorch compiled (Options' constructor, createDevice*, ProcessGroupGloo's constructor
// and virtual collectives), and ProcessGroupGloo and its Options hold gloo objects only through
// shared_ptr, so their sizes do not depend on gloo's headers. GlooStore's inline methods, which
// do, are never used here (ProcessGroupGloo's constructor wraps the store inside libtorch).
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

namespace seg::dist {

#ifdef SEG_HAVE_GLOO

bool glooBuilt() { return true; }

c10::intrusive_ptr<c10d::Backend> makeGlooBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}

#else

bool glooBuilt() { return false; }

c10::intrusive_ptr<c10d::Backend> makeGlooBackend(const c10::intrusive_ptr<c10d::Store>&, int, int,
                                                  std::chrono::milliseconds) {
  throw InternalError("makeGlooBackend: this segtrain was built without Gloo");
}

#endif

}  // namespace seg::dist
