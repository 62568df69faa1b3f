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
TEST(DatasetLabels, MissingBackgroundAndBadIndicesAreRefusedAsInTraining) {
  TempDir dir;
  writeText(dir.file("dataset.json"), R"({"labels": {"lesion": 1}})");
  std::string message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("label 0 (background) is missing"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), R"({"labels": {"0": "bg", "x": "a"}})");
  message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("expected a non-negative integer index, got 'x'"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), "{not json");
  EXPECT_NE(errorOf([&] { findDatasetLabels(dir.path()); }).find("invalid JSON"), std::string::npos);
}

// nnU-Net v2's BraTS dataset.json (nnunetv2/dataset_conversion/Dataset137_BraTS21.py): region
// lists, a single value that is a region of its own, and regions_class_order. As nnunetv2's
// LabelManager reads it: three regions in the order of the entries, values 1..3.
TEST(DatasetLabels, NnUNetRegionsAndRegionsClassOrderAreRead) {
  TempDir dir;
  writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "T1"}, "labels": {"background": 0,
    "whole tumor": [1, 2, 3], "tumor core": [3, 2], "enhancing tumor": 3}, "regions_class_order": [1, 2, 3]})");
  const DatasetLabels l = findDatasetLabels(dir.path());
  ASSERT_EQ(l.regions.size(), 3u);
  EXPECT_EQ(l.regions[0].name, "whole tumor");
  EXPECT_EQ(l.regions[0].labels, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(l.regions[1].labels, (std::vector<int>{2, 3}));  // sorted
  EXPECT_EQ(l.regions[2].name, "enhancing tumor");
  EXPECT_EQ(l.regions[2].labels, (std::vector<int>{3}));
  EXPECT_EQ(l.regionsClassOrder, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(l.numClasses, 4);  // values 0..3 occur in label maps
  EXPECT_EQ(l.names[3], "enhancing tumor");
  EXPECT_EQ(l.ignoreLabel, -1);

  writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "T1"}, "labels": {"background": 0, "wt": [1, 2]}})");
  std::string message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("dataset.json: regions_class_order: required with region labels"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "T1"}, "labels": {"background": 0, "wt": [1, 2]},
    "regions_class_order": [1, 2]})");
  message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("regions_class_order: expected a list of 1 label values"), std::string::npos) << message;
  writeText(dir.file("dataset.json"), R"({"channel_names": {"0": "T1"}, "labels": {"background": 0, "wt": [0, 2]},
    "regions_class_order": [2]})");
  message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("labels.wt: a region cannot contain 0"), std::string::npos) << message;
}

// nnU-Net v2's ignore label: {"ignore": N} among the labels, the highest value, not a class.
TEST(DatasetLabels, IgnoreLabelIsReadAndMustBeTheHighestValue) {
  TempDir dir;
  writeText(dir.file("dataset.json"),
            R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "lesion": 1, "ignore": 2}})");
  DatasetLabels l = findDatasetLabels(dir.path());
  EXPECT_EQ(l.ignoreLabel, 2);
  EXPECT_EQ(l.numClasses, 2);  // the ignore label is no class
  writeText(dir.file("dataset.json"),
            R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "lesion": 3, "ignore": 2}})");
  const std::string message = errorOf([&] { findDatasetLabels(dir.path()); });
  EXPECT_NE(message.find("labels.ignore: the ignore label must be the highest label value"), std::string::npos)
      << message;
  // The plain parser (case lists, MSD callers) has no place for either.
  const auto withIgnore = nlohmann::json::parse(R"({"background": 0, "a": 1, "ignore": 2})");
  EXPECT_NE(errorOf([&] { parseDatasetLabels(withIgnore, LabelsForm::NameToIndex, "f: labels"); }).find("ignore"),
            std::string::npos);
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
