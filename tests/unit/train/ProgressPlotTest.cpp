#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "support/TestUtil.h"
#include "train/ProgressPlot.h"

namespace seg {
namespace {

const char* kCsv =
    "epoch,iteration,lr,train_loss,val_dice_1,val_dice_2,ema_dice,seconds,loader_wait_s,skipped_steps\n"
    "1,250,0.0095,0.91,0.10,,0.10,12.5,0.1,0\n"
    "2,500,0.0081,0.72,,,0.10,12.0,0.1,0\n"
    "3,750,0.0067,0.55,0.40,0.20,0.13,12.2,0.2,1\n";

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(ProgressPlotTest, ParsesEmptyCellsAsNan) {
  const auto t = parseMetricsCsv(kCsv, "m.csv");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.column("val_dice_2"), 5);
  EXPECT_EQ(t.column("nope"), -1);
  EXPECT_DOUBLE_EQ(t.rows[0][3], 0.91);
  EXPECT_TRUE(std::isnan(t.rows[1][4]));
}

TEST(ProgressPlotTest, BadRowsNameFileAndLine) {
  EXPECT_EQ(test::errorOf([] { parseMetricsCsv("epoch,lr\n1,0.1\n2\n", "run/metrics.csv"); }),
            "run/metrics.csv:3: 1 cells, the header has 2");
  EXPECT_EQ(test::errorOf([] { parseMetricsCsv("epoch,lr\n1,fast\n", "m.csv"); }), "m.csv:2: 'fast' is not a number");
  EXPECT_EQ(test::errorOf([] { renderProgressSvg(parseMetricsCsv("lr\n1\n", "m"), "t"); }),
            "metrics table has no 'epoch' column");
}

TEST(ProgressPlotTest, DrawsEverySeriesInItsPanel) {
  const std::string svg = renderProgressSvg(parseMetricsCsv(kCsv, "m.csv"), "run <a&b>");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("run &lt;a&amp;b&gt;"), std::string::npos) << "titles are escaped";
  EXPECT_EQ(count(svg, "<polyline"), 4);  // train_loss, val_dice_1 (2 points), ema_dice, lr
  EXPECT_EQ(count(svg, "<circle"), 1);    // val_dice_2 has one point
  for (const char* id : {"series-train_loss", "series-lr", "series-val_dice_1", "series-ema_dice", "series-val_dice_2"}) {
    EXPECT_EQ(count(svg, std::string("id=\"") + id + "\""), 1) << id;
  }
  EXPECT_EQ(count(svg, "<svg"), 1);
  EXPECT_EQ(count(svg, "</svg>"), 1);
  EXPECT_EQ(count(svg, "<g class=\"panel\">"), 3);
  EXPECT_EQ(count(svg, "</g>"), 3);
  // val_dice_1 skips epoch 2 (no validation) and joins epochs 1 and 3: two points.
  const auto at = svg.find("id=\"series-val_dice_1\"");
  const auto points = svg.substr(svg.find("points=\"", at) + 8);
  EXPECT_EQ(count(points.substr(0, points.find('"')), ","), 2);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(ProgressPlotTest, FullVolumeLesionMetricsGetTheirOwnPanel) {
  const char* csv =
      "epoch,lr,train_loss,val_dice_1,vol_dice_1,vol_lesion_sensitivity_1,vol_lesion_dice_1,vol_fp_per_case_1,"
      "vol_lesion_f1_1\n"
      "1,0.01,0.9,0.2,0.3,0.5,0.4,2,0.6\n"
      "2,0.009,0.8,0.3,0.4,0.75,0.5,1,0.8\n";
  const std::string svg = renderProgressSvg(parseMetricsCsv(csv, "m.csv"), "r");
  EXPECT_EQ(count(svg, "<g class=\"panel\">"), 4);
  const auto dicePanel = svg.find(">validation Dice<");
  const auto lesionPanel = svg.find(">full-volume lesion metrics<");
  const auto lrPanel = svg.find(">learning rate<");
  ASSERT_NE(dicePanel, std::string::npos);
  ASSERT_NE(lesionPanel, std::string::npos);
  ASSERT_NE(lrPanel, std::string::npos);
  EXPECT_LT(dicePanel, lesionPanel);
  EXPECT_LT(lesionPanel, lrPanel);
  const auto in = [&](const char* id, std::size_t from, std::size_t to) {
    const auto at = svg.find(std::string("id=\"series-") + id + "\"");
    return at != std::string::npos && at > from && at < to;
  };
  EXPECT_TRUE(in("val_dice_1", dicePanel, lesionPanel));
  EXPECT_TRUE(in("vol_dice_1", dicePanel, lesionPanel));
  for (const char* id : {"vol_lesion_sensitivity_1", "vol_lesion_dice_1", "vol_lesion_f1_1"})
    EXPECT_TRUE(in(id, lesionPanel, lrPanel)) << id;
  EXPECT_EQ(svg.find("series-vol_fp_per_case_1"), std::string::npos) << "a count, not in [0, 1]";
}

TEST(ProgressPlotTest, NiceTicksCoverTheRange) {
  const auto t = niceTicks(0.0, 1.0, 5);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_DOUBLE_EQ(t[1], 0.2);
  EXPECT_DOUBLE_EQ(t.back(), 1.0);
  const auto u = niceTicks(0.37, 0.91, 5);
  EXPECT_LE(u.front(), 0.37);
  EXPECT_GE(u.back(), 0.91 - 1e-12);
  EXPECT_TRUE(niceTicks(1.0, 1.0, 5).empty());
}

TEST(ProgressPlotTest, WritesAtomically) {
  test::TempDir dir;
  test::writeText(dir.file("metrics.csv"), kCsv);
  writeProgressSvg(dir.file("metrics.csv"), dir.file("progress.svg"), "x");
  EXPECT_NE(test::readText(dir.file("progress.svg")).find("series-train_loss"), std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos);
  EXPECT_NE(test::errorOf([&] { writeProgressSvg(dir.file("none.csv"), dir.file("p.svg"), "x"); }).find("none.csv"),
            std::string::npos);
}

}  // namespace
}  // namespace seg
