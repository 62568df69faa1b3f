#pragma once
// The one worker pool for independent items (decoding cases, writing phantoms): `threads`
// threads (the caller's among them) take items in order; after the first exception no
// new item starts, every thread is joined, and that exception is rethrown to the caller.
#include <cstddef>
#include <functional>

namespace seg {

// body(i) for i in [0, count). threads < 1 counts as 1; never more threads than items.
void parallelFor(size_t count, int threads, const std::function<void(size_t)>& body);

}  // namespace seg
