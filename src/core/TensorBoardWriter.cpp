#include "core/TensorBoardWriter.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

#include "core/Error.h"
#include "core/IoError.h"

namespace seg {

namespace fs = std::filesystem;

namespace {

const std::array<uint32_t, 256>& crcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1U) ? (c >> 1) ^ 0x82f63b78U : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8U; }

// Little-endian fixed-width integers and protobuf's base-128 varints, byte by byte (no
// assumption on the host's byte order).
void putFixed(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xffU));
}

void putVarint(std::string& out, uint64_t value) {
  while (value >= 0x80U) {
    out.push_back(static_cast<char>((value & 0x7fU) | 0x80U));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Field keys: (number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
void putKey(std::string& out, int field, int wireType) { putVarint(out, (static_cast<uint64_t>(field) << 3) | wireType); }

void putBytes(std::string& out, int field, const std::string& bytes) {
  putKey(out, field, 2);
  putVarint(out, bytes.size());
  out += bytes;
}

std::string eventHeader(int64_t step) {
  std::string e;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  uint64_t bits = 0;
  std::memcpy(&bits, &now, sizeof bits);
  putKey(e, 1, 1);  // wall_time
  putFixed(e, bits, 8);
  putKey(e, 2, 0);  // step
  putVarint(e, static_cast<uint64_t>(step));
  return e;
}

std::string hostName() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  const auto& table = crcTable();
  uint32_t c = 0xffffffffU;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xffU] ^ (c >> 8);
  return c ^ 0xffffffffU;
}

std::string tfRecord(const std::string& data) {
  std::string length;
  putFixed(length, data.size(), 8);
  std::string record = length;
  putFixed(record, masked(crc32c(length.data(), length.size())), 4);
  record += data;
  putFixed(record, masked(crc32c(data.data(), data.size())), 4);
  return record;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir, int64_t purgeFromStep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError("output.tensorboard: cannot create " + dir + ": " + ec.message());
  // Several writers in one second and process (folds) get distinct names through the counter.
  static std::atomic<int> counter{0};
  int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // TensorBoard's DirectoryWatcher loads the files in path order and purges by the order it
  // loads them: a later run must sort later.
  static const std::string prefix = "events.out.tfevents.";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    try {
      seconds = std::max<int64_t>(seconds, std::stoll(name.substr(prefix.size())) + 1);
    } catch (const std::exception&) {
    }
  }
  path_ = (fs::path(dir) / (prefix + std::to_string(seconds) + "." + hostName() + "." +
                            std::to_string(getpid()) + "." + std::to_string(counter++)))
              .string();
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError("output.tensorboard: cannot write " + path_);
  std::string first = eventHeader(0);
  putBytes(first, 3, "brain.Event:2");  // file_version
  writeEvent(first);
  if (purgeFromStep >= 0) {
    std::string sessionLog;
    putKey(sessionLog, 1, 0);  // status
    putVarint(sessionLog, 1);  // START
    std::string start = eventHeader(purgeFromStep);
    putBytes(start, 7, sessionLog);
    writeEvent(start);
  }
  flush();
}

void TensorBoardWriter::scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step) {
  std::string summary;
  for (const auto& [tag, value] : values) {
    if (!std::isfinite(value)) continue;
    const auto f = static_cast<float>(value);
    uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    std::string v;
    putBytes(v, 1, tag);
    putKey(v, 2, 5);  // simple_value
    putFixed(v, bits, 4);
    putBytes(summary, 1, v);
  }
  if (summary.empty()) return;
  std::string event = eventHeader(step);
  putBytes(event, 5, summary);
  writeEvent(event);
}

void TensorBoardWriter::writeEvent(const std::string& event) {
  const std::string record = tfRecord(event);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  if (!out_) throw IoError("cannot write " + path_ + " (disk full or I/O error)");
}

void TensorBoardWriter::flush() {
  out_.flush();
  if (!out_) throw IoError("cannot write " + path_ + " (disk full or I/O error)");
}

}  // namespace seg
