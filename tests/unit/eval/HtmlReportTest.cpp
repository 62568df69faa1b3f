#include "eval/HtmlReport.h"

#include <gtest/gtest.h>
#include <itk_zlib.h>

#include "support/TestUtil.h"

namespace seg {
namespace {

uint32_t bigEndian(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

TEST(HtmlReportPng, HeaderChunksAndPixelsRoundTripThroughZlib) {
  const std::vector<uint8_t> rgb{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};  // 2x2
  const std::string png = encodePng(rgb, 2, 2);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(bigEndian(png, 16), 2u);  // width
  EXPECT_EQ(bigEndian(png, 20), 2u);  // height
  EXPECT_EQ(png[24], 8);              // bit depth
  EXPECT_EQ(png[25], 2);              // RGB
  // IHDR CRC covers type + data.
  const std::string ihdr = png.substr(12, 17);
  EXPECT_EQ(bigEndian(png, 29),
            static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(ihdr.data()), 17)));
  const uint32_t idatLength = bigEndian(png, 33);
  EXPECT_EQ(png.substr(37, 4), "IDAT");
  std::string raw(2 * (1 + 6), '\x7f');
  uLongf rawSize = raw.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &rawSize,
                       reinterpret_cast<const Bytef*>(png.data() + 41), idatLength),
            Z_OK);
  EXPECT_EQ(raw, std::string("\0\xff\0\0\0\xff\0\0\0\0\xff\x0a\x14\x1e", 14));
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND");
}

TEST(HtmlReportPng, Base64) {
  EXPECT_EQ(base64("Man"), "TWFu");
  EXPECT_EQ(base64("Ma"), "TWE=");
  EXPECT_EQ(base64("M"), "TQ==");
  EXPECT_EQ(base64(""), "");
}

TEST(HtmlReportPage, SelfContainedWithChartFiguresAndConventions) {
  LabelVolume ref = test::makeLabels(4, 3, 2), pred = test::makeLabels(4, 3, 2);
  ref.data[1] = pred.data[1] = 1;
  ref.data[2] = 1;
  EvalReport report;
  report.numClasses = 2;
  report.cases = {evaluateCase("a<b", pred, ref, report)};
  const OverlayFigure fig = renderOverlay(nullptr, ref, pred, 1, 0, "case a<b");
  const std::string html = renderReportHtml(report, {fig});
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("empty-reference rule: nan"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(html.find("a<b"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://www.w3.org/2000/svg\""), html.find("http"));  // no other URLs
}

}  // namespace
}  // namespace seg
