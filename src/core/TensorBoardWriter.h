#pragma once
// TensorBoard event files with scalars (output.tensorboard), written by hand: no TensorFlow,
// no protobuf library. docs/training.md, "TensorBoard".
//
// A file is a sequence of TFRecords (tensorflow/core/lib/io/record_writer.cc): the data's
// length as uint64 little-endian, the masked CRC-32C of those 8 bytes, the data, the masked
// CRC-32C of the data, with mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8. Each record is a
// serialized Event (tensorflow/core/util/event.proto): 1 wall_time (double), 2 step (int64),
// 3 file_version (string), 5 summary, 7 session_log (6 is the deprecated log_message).
// Summary (summary.proto) is `repeated Value value = 1` with Value 1 tag (string),
// 2 simple_value (float); SessionLog has
// 1 status (START = 1). The first event of a file carries file_version "brain.Event:2", as
// torch.utils.tensorboard's EventFileWriter writes it.
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace seg {

class TensorBoardWriter {
 public:
  // Creates `dir` and a new file events.out.tfevents.<unix seconds>.<host>.<pid>.<n> in it
  // (the name torch.utils.tensorboard uses; TensorBoard reads every file whose name holds
  // "tfevents", in name order). The seconds are past those of the folder's existing files, so
  // a resumed run's file sorts after them even within the same second. purgeFromStep >= 0 adds a SessionLog START event at that step: TensorBoard
  // then drops the events of the directory's earlier files with step >= purgeFromStep, what a
  // resumed run writes again (torch.utils.tensorboard's SummaryWriter(purge_step=...)).
  // Throws InputError naming the directory when it cannot be created or written.
  explicit TensorBoardWriter(const std::string& dir, int64_t purgeFromStep = -1);

  // One event at `step` holding every finite value (NaN = not measured is left out).
  void scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step);
  // Makes what was written visible to a reader; IoError on a failed write.
  void flush();
  const std::string& path() const { return path_; }

 private:
  void writeEvent(const std::string& event);

  std::string path_;
  std::ofstream out_;
};

// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as TFRecord frames use it.
uint32_t crc32c(const void* data, size_t size);
// One TFRecord frame around `data`.
std::string tfRecord(const std::string& data);

}  // namespace seg
