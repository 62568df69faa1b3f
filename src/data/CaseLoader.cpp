#include "data/CaseLoader.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "core/Error.h"
#include "core/Log.h"
#include "data/NiftiIO.h"

namespace seg {

LoadedCase loadCase(const CaseEntry& entry, Normalization normalization, int numClasses) {
  if (entry.images.empty()) throw InputError("case '" + entry.id + "': no image files");
  LoadedCase out;
  out.id = entry.id;
  for (size_t c = 0; c < entry.images.size(); ++c) {
    Volume channel = readImage(entry.images[c]);
    if (c == 0) {
      out.image = std::move(channel);
      continue;
    }
    if (!channel.geometry.sameGrid(out.image.geometry)) {
      throw InputError("case '" + entry.id + "': channel file '" + entry.images[c] + "' has size " +
                       channel.geometry.describeSize() + " or geometry different from '" +
                       entry.images[0] + "' " + out.image.geometry.describeSize());
    }
    out.image.data.insert(out.image.data.end(), channel.data.begin(), channel.data.end());
    out.image.channels += channel.channels;
  }
  if (!entry.label.empty()) {
    out.label = readLabel(entry.label);
    if (!out.label.geometry.sameGrid(out.image.geometry)) {
      throw InputError("case '" + entry.id + "': label '" + entry.label + "' size " +
                       out.label.geometry.describeSize() + " or geometry does not match image '" +
                       entry.images[0] + "' " + out.image.geometry.describeSize());
    }
    const uint8_t maxLabel = out.label.data.empty()
                                 ? 0
                                 : *std::max_element(out.label.data.begin(), out.label.data.end());
    if (maxLabel >= numClasses) {
      throw InputError("case '" + entry.id + "': label '" + entry.label + "' holds value " +
                       std::to_string(maxLabel) + " but the dataset declares " +
                       std::to_string(numClasses) + " classes");
    }
  }
  normalizeIntensities(out.image, normalization);
  return out;
}

std::vector<LoadedCase> loadCases(const std::vector<CaseEntry>& entries, Normalization normalization,
                                  int numClasses, int threads) {
  std::vector<LoadedCase> cases(entries.size());
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failureMutex;
  auto work = [&] {
    for (size_t i = next++; i < entries.size(); i = next++) {
      try {
        cases[i] = loadCase(entries[i], normalization, numClasses);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failureMutex);
        if (!failure) failure = std::current_exception();
        next = entries.size();
      }
    }
  };
  const int n = std::max(1, std::min<int>(threads, static_cast<int>(entries.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  logger("data")->info("loaded {} cases", cases.size());
  return cases;
}

}  // namespace seg
