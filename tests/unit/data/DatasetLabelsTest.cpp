#include "data/DatasetLabels.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

using test::errorOf;
using test::TempDir;
using test::writeText;

TEST(DatasetLabels, FindsNnUNetAndMsdLabelsNextToOrAboveTheFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("ds/labelsTs"));
  EXPECT_EQ(findDatasetLabels(dir.file("ds/labelsTs")).numClasses, 0);  // none: the caller falls back
  // nnU-Net v2: name -> index, one folder up.
  writeText(dir.file("ds/dataset.json"), R"({"labels": {"background": 0, "edema": 1, "tumour": 3}})");
  DatasetLabels l = findDatasetLabels(dir.file("ds/labelsTs"));
  EXPECT_EQ(l.numClasses, 4);
  EXPECT_EQ(l.names, (std::vector<std::string>{"background", "edema", "", "tumour"}));
  EXPECT_EQ(std::filesystem::path(l.path).filename(), "dataset.json");
  // MSD: "index": name, in the labels folder itself (wins over the one above).
  writeText(dir.file("ds/labelsTs/dataset.json"), R"({"labels": {"0": "bg", "1": "a", "2": "b"}})");
  l = findDatasetLabels(dir.file("ds/labelsTs/"));
  EXPECT_EQ(l.numClasses, 3);
  EXPECT_EQ(l.names[2], "b");
  writeText(dir.file("ds/labelsTs/dataset.json"), R"({"name": "x"})");
  EXPECT_NE(errorOf([&] { findDatasetLabels(dir.file("ds/labelsTs")); }).find("no \"labels\" object"), std::string::npos);
}

// segeval and training read one parser: what training refuses, segeval refuses too, with
// the file and the key in the message.
TEST(DatasetLabels, RegionListsAndMissingBackgroundAreRefusedAsInTraining) {
  TempDir dir;
  writeText(dir.file("dataset.json"), R"({"labels": {"background": 0, "whole tumour": [1, 2, 3]}})");
  std::string message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("dataset.json: labels.whole tumour: region-based labels"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), R"({"labels": {"lesion": 1}})");
  message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("label 0 (background) is missing"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), R"({"labels": {"0": "bg", "x": "a"}})");
  message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("expected a non-negative integer index, got 'x'"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), "{not json");
  EXPECT_NE(errorOf([&] { findDatasetLabels(dir.path()); }).find("invalid JSON"), std::string::npos);
}

TEST(DatasetLabels, ParserTakesTheFormItIsTold) {
  const auto nnunet = nlohmann::json::parse(R"({"background": 0, "liver": 1, "tumour": 2})");
  const auto labels = parseDatasetLabels(nnunet, LabelsForm::NameToIndex, "f: labels");
  EXPECT_EQ(labels, (std::map<int, std::string>{{0, "background"}, {1, "liver"}, {2, "tumour"}}));
  // The same object read as MSD has keys that are not indices.
  EXPECT_THROW(parseDatasetLabels(nnunet, LabelsForm::IndexToName, "f: labels"), InputError);
  const auto twice = nlohmann::json::parse(R"({"background": 0, "a": 1, "b": 1})");
  EXPECT_EQ(errorOf([&] { parseDatasetLabels(twice, LabelsForm::NameToIndex, "f: labels"); }),
            "f: labels: index 1 is used by 'a' and 'b'");
  const auto big = nlohmann::json::parse(R"({"0": "bg", "256": "x"})");
  EXPECT_EQ(errorOf([&] { parseDatasetLabels(big, LabelsForm::IndexToName, "f: labels"); }),
            "f: labels: label index 256 exceeds 255");
  EXPECT_EQ(parseLabelIndex("42", "k"), 42);
  EXPECT_EQ(errorOf([&] { parseLabelIndex("-1", "k"); }), "k: expected a non-negative integer index, got '-1'");
}

}  // namespace
}  // namespace seg
