// The run's regions and ignore label (jobs/TrainJob.h resolveLabelEncoding): the config
// wins over dataset.json, dataset regions are picked up and written into the run's config,
// and bad combinations are refused naming the key.
#include <gtest/gtest.h>

#include "core/Error.h"
#include "data/Dataset.h"
#include "jobs/TrainJob.h"
#include "support/TestUtil.h"

namespace seg {
namespace {

// nnU-Net's BraTS form: labels background 0, 1, 2, 3; regions whole tumour {1, 2, 3},
// tumour core {2, 3}, enhancing {3}; regions_class_order [1, 2, 3]; ignore 4.
DatasetManifest bratsManifest(bool ignore) {
  DatasetManifest m;
  m.root = "/data/brats";
  m.labels = {{0, "background"}, {1, ""}, {2, ""}, {3, "enhancing tumor"}};
  m.regions = {{"whole tumor", {1, 2, 3}}, {"tumor core", {2, 3}}, {"enhancing tumor", {3}}};
  m.regionsClassOrder = {1, 2, 3};
  m.ignoreLabel = ignore ? 4 : -1;
  return m;
}

LossConfig sigmoidLoss() {
  LossConfig l;
  l.activation = "sigmoid";
  return l;
}

std::string inputErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(LabelResolutionTest, DatasetRegionsAndIgnoreLabelArePickedUpAndWrittenBack) {
  DataConfig data;
  const LabelEncoding e = resolveLabelEncoding(data, sigmoidLoss(), bratsManifest(true));
  ASSERT_EQ(e.regions.size(), 3u);
  EXPECT_EQ(e.regions[1], (std::vector<int>{2, 3}));
  EXPECT_EQ(e.regionNames[0], "whole tumor");
  EXPECT_EQ(e.regionsClassOrder, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(e.ignoreLabel, 4);
  // The saved config tells segeval what was used.
  ASSERT_EQ(data.regions.size(), 3u);
  EXPECT_EQ(data.regions[2].name, "enhancing tumor");
  EXPECT_EQ(data.regions[0].labels, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(data.regions_class_order, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(data.ignore_label, 4);
  // The ignore label is no class: four classes (0..3), three network channels.
  EXPECT_EQ(classCount(bratsManifest(true), e), 4);
}

TEST(LabelResolutionTest, ConfigRegionsAndIgnoreLabelWin) {
  DataConfig data;
  data.regions = {{"tumour", {3, 1, 2}}, {"enhancing", {3}}};
  data.regions_class_order = {1, 3};
  data.ignore_label = 5;
  const LabelEncoding e = resolveLabelEncoding(data, sigmoidLoss(), bratsManifest(true));
  ASSERT_EQ(e.regions.size(), 2u);
  EXPECT_EQ(e.regions[0], (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(e.regionNames[1], "enhancing");
  EXPECT_EQ(e.regionsClassOrder, (std::vector<int>{1, 3}));
  EXPECT_EQ(e.ignoreLabel, 5);
  EXPECT_EQ(data.regions.size(), 2u);
}

TEST(LabelResolutionTest, PlainDatasetWithoutEncodingStaysPlain) {
  DataConfig data;
  DatasetManifest m;
  m.root = "/data/plain";
  m.labels = {{0, "background"}, {1, "lesion"}};
  const LabelEncoding e = resolveLabelEncoding(data, LossConfig{}, m);
  EXPECT_FALSE(e.hasRegions());
  EXPECT_FALSE(e.hasIgnore());
  EXPECT_TRUE(data.regions.empty());
  EXPECT_EQ(data.ignore_label, -1);
  EXPECT_EQ(classCount(m, e), 2);
}

TEST(LabelResolutionTest, ConfigIgnoreLabelThatTheDatasetNamesIsNoClass) {
  // dataset.json lists "unlabeled": 3; data.ignore_label: 3 makes it the ignore label.
  DataConfig data;
  data.ignore_label = 3;
  DatasetManifest m;
  m.root = "/data/sparse";
  m.labels = {{0, "background"}, {1, "liver"}, {2, "tumour"}, {3, "unlabeled"}};
  const LabelEncoding e = resolveLabelEncoding(data, LossConfig{}, m);
  EXPECT_EQ(classCount(m, e), 3);
}

TEST(LabelResolutionTest, DatasetRegionsNeedSigmoid) {
  DataConfig data;
  EXPECT_EQ(inputErrorOf([&] { resolveLabelEncoding(data, LossConfig{}, bratsManifest(false)); }),
            "loss.activation: must be sigmoid: /data/brats/dataset.json defines 3 regions ('whole tumor', "
            "'tumor core', 'enhancing tumor'), which overlap and are trained with one sigmoid channel each; got "
            "softmax");
}

TEST(LabelResolutionTest, BadCombinationsNameTheKey) {
  {
    DataConfig data;
    data.regions = {{"tumour", {1, 7}}};
    data.regions_class_order = {1};
    EXPECT_EQ(inputErrorOf([&] { resolveLabelEncoding(data, sigmoidLoss(), bratsManifest(false)); }),
              "data.regions: region 'tumour' uses label value 7, which is not a label of /data/brats/dataset.json "
              "(labels 0, 1, 2, 3)");
  }
  {
    DataConfig data;
    data.ignore_label = 2;
    EXPECT_EQ(inputErrorOf([&] { resolveLabelEncoding(data, sigmoidLoss(), bratsManifest(false)); }),
              "data.regions: region 'whole tumor': contains the ignore label 2");
  }
  {
    DataConfig data;
    data.ignore_label = 2;
    DatasetManifest m;
    m.root = "/data/plain";
    m.labels = {{0, "background"}, {1, "a"}, {2, "b"}, {3, "c"}};
    EXPECT_EQ(inputErrorOf([&] { resolveLabelEncoding(data, LossConfig{}, m); }),
              "data.ignore_label: 2 must be above every class value (/data/plain/dataset.json has 3), as nnU-Net "
              "requires of its ignore label");
  }
}

}  // namespace
}  // namespace seg
