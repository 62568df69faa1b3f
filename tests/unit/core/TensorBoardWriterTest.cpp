#include "core/TensorBoardWriter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/Error.h"

namespace seg {
namespace {

namespace fs = std::filesystem;

uint32_t crcOf(const std::string& s) { return crc32c(s.data(), s.size()); }

uint64_t readLe(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

uint32_t mask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8U; }

// The records of a TFRecord file, each frame's two checksums verified.
std::vector<std::string> readRecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size());
    const uint64_t length = readLe(bytes, at, 8);
    EXPECT_EQ(readLe(bytes, at + 8, 4), mask(crcOf(bytes.substr(at, 8))));
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(readLe(bytes, at + 12 + length, 4), mask(crcOf(data)));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

TEST(TensorBoardWriterTest, Crc32cMatchesPublishedCheckValues) {
  // The CRC catalogue's check value for "123456789" and RFC 3720 (iSCSI) B.4's vectors.
  EXPECT_EQ(crcOf("123456789"), 0xe3069283U);
  EXPECT_EQ(crcOf(std::string(32, '\0')), 0x8a9136aaU);
  EXPECT_EQ(crcOf(std::string(32, '\xff')), 0x62a8ab43U);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crcOf(ascending), 0x46dd794eU);
}

TEST(TensorBoardWriterTest, RecordFrameIsLengthCrcDataCrc) {
  const std::string data = "abc";
  const std::string r = tfRecord(data);
  ASSERT_EQ(r.size(), 8U + 4U + 3U + 4U);
  EXPECT_EQ(readLe(r, 0, 8), 3U);
  EXPECT_EQ(readLe(r, 8, 4), mask(crcOf(r.substr(0, 8))));
  EXPECT_EQ(r.substr(12, 3), "abc");
  EXPECT_EQ(readLe(r, 15, 4), mask(crcOf("abc")));
}

TEST(TensorBoardWriterTest, EventsHoldVersionPurgeAndScalarsWithoutNaN) {
  const fs::path dir = fs::temp_directory_path() / ("seg_tb_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::remove_all(dir);
  std::string path;
  {
    TensorBoardWriter w((dir / "tb").string(), 4);
    w.scalars({{"loss/train_loss", 0.5}, {"skip", std::nan("")}}, 4);
    w.scalars({{"only_nan", std::nan("")}}, 5);  // nothing finite: no event
    w.flush();
    path = w.path();
  }
  EXPECT_NE(fs::path(path).filename().string().find("events.out.tfevents."), std::string::npos);
  const auto records = readRecords(path);
  ASSERT_EQ(records.size(), 3U);
  // file_version: field 3, length-delimited (key 0x1a).
  EXPECT_NE(records[0].find(std::string("\x1a\x0d") + "brain.Event:2"), std::string::npos);
  // step 4 (key 0x10, varint 4), then session_log (field 7, key 0x3a) = {status (key 0x08): START = 1}.
  EXPECT_NE(records[1].find(std::string("\x10\x04\x3a\x02\x08\x01", 6)), std::string::npos);
  // summary (0x2a) { value (0x0a) { tag (0x0a) "loss/train_loss", simple_value (0x15) 0.5f } }.
  const float half = 0.5F;
  std::string bits(4, '\0');
  std::memcpy(bits.data(), &half, 4);
  const std::string value = std::string("\x0a\x0f") + "loss/train_loss" + "\x15" + bits;
  const std::string summary = std::string("\x0a") + static_cast<char>(value.size()) + value;
  EXPECT_NE(records[2].find(std::string("\x10\x04\x2a") + static_cast<char>(summary.size()) + summary),
            std::string::npos);
  EXPECT_EQ(records[2].find("skip"), std::string::npos);
  fs::remove_all(dir);
}

TEST(TensorBoardWriterTest, ALaterWriterSortsAfterTheFolderExistingFiles) {
  // TensorBoard loads a folder's files in name order; a resumed run in the same second (or
  // with a smaller process id) must still come last.
  const fs::path dir = fs::temp_directory_path() / "seg_tb_order";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "events.out.tfevents.9999999999.host.99999.0") << "";
  const std::string first = TensorBoardWriter(dir.string()).path();
  const std::string second = TensorBoardWriter(dir.string()).path();
  EXPECT_EQ(fs::path(first).filename().string().rfind("events.out.tfevents.10000000000.", 0), 0U) << first;
  EXPECT_GT(second, first);
  fs::remove_all(dir);
}

TEST(TensorBoardWriterTest, UnwritableFolderIsAnInputErrorNamingIt) {
  const fs::path file = fs::temp_directory_path() / "seg_tb_not_a_dir";
  std::ofstream(file) << "x";
  try {
    TensorBoardWriter w((file / "tb").string());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("output.tensorboard: cannot create " + (file / "tb").string()),
              std::string::npos)
        << e.what();
  }
  fs::remove(file);
}

}  // namespace
}  // namespace seg
