// Config loading: exact error messages (file:line:col, dotted key, expectation),
// --set overrides, defaults and the toYaml round trip.
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "unit/config/ConfigSamples.h"

namespace seg {
namespace {

// The message of the ConfigError `f` throws; any other exception fails the test.
std::string configError(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string parseError(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return configError([&] { parseTrainConfig(yaml, "x.yaml", overrides); });
}

// Field by field, doubles exactly: toYaml must print them so that they read back bit-equal.
void expectSameConfig(const TrainConfig& a, const TrainConfig& b) {
  EXPECT_EQ(a.data.root, b.data.root);
  EXPECT_EQ(a.data.fold, b.data.fold);
  EXPECT_EQ(a.data.num_folds, b.data.num_folds);
  EXPECT_EQ(a.data.split_seed, b.data.split_seed);
  EXPECT_EQ(a.data.patch_size, b.data.patch_size);
  EXPECT_EQ(a.data.foreground_fraction, b.data.foreground_fraction);
  EXPECT_EQ(a.data.normalization, b.data.normalization);
  ASSERT_EQ(a.data.cases.size(), b.data.cases.size());
  for (size_t i = 0; i < a.data.cases.size(); ++i) {
    EXPECT_EQ(a.data.cases[i].id, b.data.cases[i].id);
    EXPECT_EQ(a.data.cases[i].images, b.data.cases[i].images);
    EXPECT_EQ(a.data.cases[i].label, b.data.cases[i].label);
  }
  EXPECT_EQ(a.data.labels, b.data.labels);
  EXPECT_EQ(a.data.split_file, b.data.split_file);
  EXPECT_EQ(a.data.cache_dir, b.data.cache_dir);
  EXPECT_EQ(a.data.reorient, b.data.reorient);
  EXPECT_EQ(a.data.resample, b.data.resample);
  EXPECT_EQ(a.data.target_spacing, b.data.target_spacing);
  EXPECT_EQ(a.data.nonzero_mask, b.data.nonzero_mask);
  EXPECT_EQ(a.data.ct_stats.clip_low, b.data.ct_stats.clip_low);
  EXPECT_EQ(a.data.ct_stats.clip_high, b.data.ct_stats.clip_high);
  EXPECT_EQ(a.data.ct_stats.mean, b.data.ct_stats.mean);
  EXPECT_EQ(a.data.ct_stats.std, b.data.ct_stats.std);
  EXPECT_EQ(a.data.num_workers, b.data.num_workers);
  EXPECT_EQ(a.data.queue_depth, b.data.queue_depth);
  EXPECT_EQ(a.data.foreground_sampling, b.data.foreground_sampling);
  EXPECT_EQ(a.data.augment, b.data.augment);

  EXPECT_EQ(a.model.name, b.model.name);
  EXPECT_EQ(a.model.features, b.model.features);
  EXPECT_EQ(a.model.convs_per_stage, b.model.convs_per_stage);
  EXPECT_EQ(a.model.norm, b.model.norm);
  EXPECT_EQ(a.model.activation, b.model.activation);
  EXPECT_EQ(a.model.dropout, b.model.dropout);
  EXPECT_EQ(a.model.kernel_sizes, b.model.kernel_sizes);
  EXPECT_EQ(a.model.strides, b.model.strides);
  EXPECT_EQ(a.model.deep_supervision, b.model.deep_supervision);
  EXPECT_EQ(a.model.checkpointing, b.model.checkpointing);

  EXPECT_EQ(a.loss.name, b.loss.name);
  EXPECT_EQ(a.loss.include_background, b.loss.include_background);
  EXPECT_EQ(a.loss.activation, b.loss.activation);
  EXPECT_EQ(a.loss.squared_pred, b.loss.squared_pred);
  EXPECT_EQ(a.loss.jaccard, b.loss.jaccard);
  EXPECT_EQ(a.loss.batch, b.loss.batch);
  EXPECT_EQ(a.loss.smooth_nr, b.loss.smooth_nr);
  EXPECT_EQ(a.loss.smooth_dr, b.loss.smooth_dr);
  EXPECT_EQ(a.loss.class_weights, b.loss.class_weights);
  EXPECT_EQ(a.loss.lambda_dice, b.loss.lambda_dice);
  EXPECT_EQ(a.loss.lambda_ce, b.loss.lambda_ce);
  EXPECT_EQ(a.loss.w_type, b.loss.w_type);

  const OptimizerConfig& oa = a.train.optimizer;
  const OptimizerConfig& ob = b.train.optimizer;
  EXPECT_EQ(a.train.epochs, b.train.epochs);
  EXPECT_EQ(a.train.iterations_per_epoch, b.train.iterations_per_epoch);
  EXPECT_EQ(a.train.batch_size, b.train.batch_size);
  EXPECT_EQ(oa.name, ob.name);
  EXPECT_EQ(oa.lr, ob.lr);
  EXPECT_EQ(oa.momentum, ob.momentum);
  EXPECT_EQ(oa.nesterov, ob.nesterov);
  EXPECT_EQ(oa.weight_decay, ob.weight_decay);
  EXPECT_EQ(oa.betas, ob.betas);
  EXPECT_EQ(oa.eps, ob.eps);
  EXPECT_EQ(a.train.scheduler.name, b.train.scheduler.name);
  EXPECT_EQ(a.train.scheduler.exponent, b.train.scheduler.exponent);
  EXPECT_EQ(a.train.scheduler.warmup_iterations, b.train.scheduler.warmup_iterations);
  EXPECT_EQ(a.train.scheduler.min_lr, b.train.scheduler.min_lr);
  EXPECT_EQ(a.train.grad_clip, b.train.grad_clip);
  EXPECT_EQ(a.train.seed, b.train.seed);
  EXPECT_EQ(a.train.deterministic, b.train.deterministic);
  EXPECT_EQ(a.train.val_every, b.train.val_every);
  EXPECT_EQ(a.train.val_iterations, b.train.val_iterations);
  EXPECT_EQ(a.train.full_val_every, b.train.full_val_every);
  EXPECT_EQ(a.train.select_by, b.train.select_by);
  EXPECT_EQ(a.train.threads, b.train.threads);
  EXPECT_EQ(a.train.device, b.train.device);

  EXPECT_EQ(a.amp.enabled, b.amp.enabled);
  EXPECT_EQ(a.amp.dtype, b.amp.dtype);
  EXPECT_EQ(a.dist.backend, b.dist.backend);
  EXPECT_EQ(a.dist.timeout_s, b.dist.timeout_s);
  EXPECT_EQ(a.dist.rendezvous_timeout_s, b.dist.rendezvous_timeout_s);
  EXPECT_EQ(a.dist.bucket_mb, b.dist.bucket_mb);

  EXPECT_EQ(a.eval.overlap, b.eval.overlap);
  EXPECT_EQ(a.eval.mirror_tta, b.eval.mirror_tta);
  EXPECT_EQ(a.eval.tile_batch, b.eval.tile_batch);
  EXPECT_EQ(a.eval.tile_workers, b.eval.tile_workers);
  EXPECT_EQ(a.eval.size_bins, b.eval.size_bins);
  EXPECT_EQ(a.eval.connectivity, b.eval.connectivity);
  EXPECT_EQ(a.eval.empty_rule, b.eval.empty_rule);

  EXPECT_EQ(a.output.dir, b.output.dir);
  EXPECT_EQ(a.output.checkpoint_every_minutes, b.output.checkpoint_every_minutes);
  EXPECT_EQ(a.output.log_level, b.output.log_level);
  EXPECT_EQ(a.output.tensorboard, b.output.tensorboard);
}

const char* const kMinimal = "data:\n  root: data/x\n";

// ---------------------------------------------------------------------------------
// Exact messages, one row per failure mode.

struct ErrorCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> overrides;
  std::string expected;
};

// gtest prints a failing parameter with this instead of a byte dump.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::string withRoot(const std::string& rest) { return kMinimal + rest; }

const ErrorCase kErrorCases[] = {
    // YAML syntax: yaml-cpp's message, 1-based position.
    {"bad_yaml_flow", "data:\n  root: [a, b\n", {},
     "x.yaml:3:1: invalid YAML: end of sequence flow not found"},
    {"bad_yaml_indent", "data:\n  root: x\n bad: 1\n", {},
     "x.yaml:3:2: invalid YAML: end of map not found"},
    {"two_documents", "data:\n  root: x\n---\nmodel: {}\n", {},
     "x.yaml:3:1: invalid YAML: expected one document, found a second one"},
    {"top_level_list", "- data\n- model\n", {},
     "x.yaml:1:1: expected a mapping of sections at the top level, got a list"},
    // Wrong types.
    {"number_expected", withRoot("train:\n  optimizer:\n    lr: fast\n"), {},
     "x.yaml:5:5: train.optimizer.lr: expected a number, got 'fast'"},
    {"integer_expected", withRoot("train:\n  epochs: 1.5\n"), {},
     "x.yaml:4:3: train.epochs: expected an integer, got '1.5'"},
    {"bool_expected", withRoot("loss:\n  batch: yes\n"), {},
     "x.yaml:4:3: loss.batch: expected true or false, got 'yes'"},
    {"string_expected", "data:\n  root: [a, b]\n", {},
     "x.yaml:2:3: data.root: expected a string, got a list"},
    {"empty_value", withRoot("output:\n  dir:\n"), {},
     "x.yaml:4:3: output.dir: expected a string, got an empty value"},
    {"list_expected", withRoot("  patch_size: 64\n"), {},
     "x.yaml:3:3: data.patch_size: expected a list of 3 integers, got '64'"},
    {"list_length", withRoot("train:\n  optimizer:\n    betas: [0.9]\n"), {},
     "x.yaml:5:5: train.optimizer.betas: expected a list of 2 numbers, got a list of 1"},
    {"list_element_type", withRoot("  patch_size:\n    - 64\n    - abc\n    - 64\n"), {},
     "x.yaml:5:7: data.patch_size[1]: expected an integer, got 'abc'"},
    {"non_finite", withRoot("eval:\n  overlap: .nan\n"), {},
     "x.yaml:4:3: eval.overlap: expected a number, got '.nan'"},
    {"nan", withRoot("eval:\n  overlap: nan\n"), {},
     "x.yaml:4:3: eval.overlap: expected a finite number, got 'nan'"},
    {"negative_seed", withRoot("train:\n  seed: -1\n"), {},
     "x.yaml:4:3: train.seed: expected a non-negative integer, got '-1'"},
    {"int_overflow", withRoot("  num_workers: 3000000000\n"), {},
     "x.yaml:3:3: data.num_workers: must be in [0, 64], got 3000000000"},
    {"int64_overflow", withRoot("train:\n  epochs: 99999999999999999999\n"), {},
     "x.yaml:4:3: train.epochs: integer out of range, got '99999999999999999999'"},
    {"section_not_mapping", withRoot("train: 5\n"), {},
     "x.yaml:3:1: train: expected a mapping, got '5'"},
    // Ranges.
    {"patch_too_small", withRoot("  patch_size: [64, 4, 64]\n"), {},
     "x.yaml:3:20: data.patch_size[1]: must be >= 8, got 4"},
    {"fold_vs_num_folds", withRoot("  fold: 3\n  num_folds: 3\n"), {},
     "x.yaml:3:3: data.fold: must be in [0, 3) (data.num_folds is 3), got 3"},
    {"num_folds", withRoot("  num_folds: 1\n"), {},
     "x.yaml:3:3: data.num_folds: must be >= 2, got 1"},
    {"foreground_fraction", withRoot("  foreground_fraction: 1.5\n"), {},
     "x.yaml:3:3: data.foreground_fraction: must be in [0, 1], got 1.5"},
    {"cases_need_labels", withRoot("  cases:\n    - {images: [a.nii.gz], label: b.nii.gz}\n"), {},
     "x.yaml:3:3: data.cases: a case list needs data.labels: class names by index, background first (e.g. "
     "[background, lesion])"},
    {"case_needs_label", withRoot("  labels: [bg, x]\n  cases:\n    - images: [a.nii.gz]\n"), {},
     "x.yaml:5:7: data.cases[0].label: required key is missing"},
    {"case_unknown_key", withRoot("  labels: [bg, x]\n  cases:\n    - {image: a.nii.gz, label: b.nii.gz}\n"), {},
     "x.yaml:5:8: data.cases[0].image: unknown key (known keys: id, images, label)"},
    {"target_spacing_length", withRoot("  target_spacing: [1, 2]\n"), {},
     "x.yaml:3:3: data.target_spacing: expected [x, y, z] in mm (or [] for the dataset median), got 2 values"},
    {"target_spacing_positive", withRoot("  target_spacing: [1, 0, 2]\n"), {},
     "x.yaml:3:23: data.target_spacing[1]: must be > 0, got 0"},
    {"ct_stats_lengths", withRoot("  ct_stats:\n    mean: [1]\n    std: [2]\n"), {},
     "x.yaml:4:5: data.ct_stats.mean: clip_low, clip_high, mean and std need one value per channel each (or all empty)"},
    {"lr_positive", withRoot("train:\n  optimizer:\n    lr: 0\n"), {},
     "x.yaml:5:5: train.optimizer.lr: must be > 0, got 0"},
    {"dropout", withRoot("model:\n  dropout: 1\n"), {},
     "x.yaml:4:3: model.dropout: must be in [0, 1), got 1"},
    {"features_empty", withRoot("model:\n  features: []\n"), {},
     "x.yaml:4:3: model.features: must not be empty"},
    {"class_weights", withRoot("loss:\n  class_weights: [1, -0.5]\n"), {},
     "x.yaml:4:22: loss.class_weights[1]: must be >= 0, got -0.5"},
    {"lambdas_both_zero", withRoot("loss:\n  lambda_dice: 0\n  lambda_ce: 0.0\n"), {},
     "x.yaml:5:3: loss.lambda_ce: must be > 0 when loss.lambda_dice is 0 (the loss would be constant)"},
    {"select_by_choice", withRoot("train:\n  select_by: dice\n"), {},
     "x.yaml:4:3: train.select_by: expected one of pseudo_dice, lesion_f1, lesion_sensitivity, got 'dice'"},
    {"select_by_needs_full_val", withRoot("train:\n  select_by: lesion_f1\n"), {},
     "x.yaml:4:3: train.select_by: lesion_f1 needs train.full_val_every > 0 (the lesion scores come from the "
     "full-volume validation)"},
    {"select_by_needs_full_val_override", kMinimal, {"train.select_by=lesion_sensitivity"},
     "--set train.select_by=lesion_sensitivity: train.select_by: lesion_sensitivity needs train.full_val_every > 0 "
     "(the lesion scores come from the full-volume validation)"},
    {"nesterov_without_momentum", withRoot("train:\n  optimizer:\n    momentum: 0\n"), {},
     "x.yaml:5:5: train.optimizer.momentum: must be > 0 when train.optimizer.nesterov is true "
     "(set nesterov: false for plain SGD), got 0"},
    {"size_bins_increasing", withRoot("eval:\n  size_bins: [0, 10, 10]\n"), {},
     "x.yaml:4:22: eval.size_bins[2]: must be greater than the previous edge 10, got 10"},
    {"size_bins_start", withRoot("eval:\n  size_bins: [-1, 10]\n"), {},
     "x.yaml:4:15: eval.size_bins[0]: must be >= 0, got -1"},
    {"connectivity", withRoot("eval:\n  connectivity: 8\n"), {},
     "x.yaml:4:3: eval.connectivity: expected one of 6, 18, 26, got 8"},
    {"checkpoint_minutes", withRoot("output:\n  checkpoint_every_minutes: 0\n"), {},
     "x.yaml:4:3: output.checkpoint_every_minutes: must be > 0, got 0"},
    // Unknown and repeated keys.
    {"unknown_key", withRoot("model:\n  featurs: [8]\n"), {},
     "x.yaml:4:3: model.featurs: unknown key (known keys: name, features, convs_per_stage, blocks_per_stage, decoder_convs_per_stage, norm, "
     "activation, dropout, kernel_sizes, strides, deep_supervision, checkpointing)"},
    {"unknown_nested_key", withRoot("train:\n  scheduler:\n    power: 2\n"), {},
     "x.yaml:5:5: train.scheduler.power: unknown key (known keys: name, exponent, "
     "warmup_iterations, min_lr)"},
    {"unknown_section", withRoot("optimizer:\n  lr: 0.1\n"), {},
     "x.yaml:3:1: optimizer: unknown key (known keys: data, model, loss, train, amp, dist, eval, "
     "output)"},
    {"duplicate_key", withRoot("train:\n  epochs: 5\n  epochs: 6\n"), {},
     "x.yaml:5:3: train.epochs: duplicate key (first given on line 4)"},
    // Choices.
    {"bad_choice", withRoot("loss:\n  name: foo\n"), {},
     "x.yaml:4:3: loss.name: expected one of dice, dice_ce, gdl, ce, got 'foo'"},
    {"bad_choice_device", withRoot("train:\n  device: gpu\n"), {},
     "x.yaml:4:3: train.device: expected one of cpu, cuda, auto, got 'gpu'"},
    // Required keys: reported after unknown keys, so a misspelt section says so.
    {"missing_root", "model:\n  norm: batch\n", {}, "x.yaml: data.root: required key is missing (or give data.cases)"},
    {"missing_root_empty_file", "", {}, "x.yaml: data.root: required key is missing (or give data.cases)"},
    {"misspelt_root", "data:\n  rot: x\n", {},
     "x.yaml:2:3: data.rot: unknown key (known keys: root, cases, labels, regions, regions_class_order, ignore_label, split_file, fold, num_folds, split_seed, "
     "patch_size, foreground_fraction, foreground_sampling, augment, reorient, resample, target_spacing, "
     "normalization, nonzero_mask, ct_stats, cache_dir, num_workers, queue_depth)"},
    {"empty_root", "data:\n  root: ''\n", {}, "x.yaml:2:3: data.root: must not be empty"},
    // Conflicting options.
    {"amp_float16_on_cpu", withRoot("amp:\n  enabled: true\n  dtype: float16\n"), {},
     "x.yaml:5:3: amp.dtype: float16 autocast needs train.device cuda; use bfloat16 on CPU"},
    // Overrides: same checks, reported against the --set argument.
    {"override_type", kMinimal, {"train.epochs=abc"},
     "--set train.epochs=abc: train.epochs: expected an integer, got 'abc'"},
    {"override_list_element", kMinimal, {"data.patch_size=[32,4,32]"},
     "--set data.patch_size=[32,4,32]: data.patch_size[1]: must be >= 8, got 4"},
    {"override_unknown_key", kMinimal, {"model.featurs=[8]"},
     "--set model.featurs=[8]: model.featurs: unknown key (known keys: name, features, "
     "convs_per_stage, blocks_per_stage, decoder_convs_per_stage, norm, activation, dropout, kernel_sizes, strides, deep_supervision, checkpointing)"},
    {"override_unknown_section", kMinimal, {"foo.bar=1"},
     "--set foo.bar=1: foo: unknown key (known keys: data, model, loss, train, amp, dist, eval, "
     "output)"},
    {"override_bad_choice", kMinimal, {"loss.name=foo"},
     "--set loss.name=foo: loss.name: expected one of dice, dice_ce, gdl, ce, got 'foo'"},
    {"override_amp_conflict", kMinimal, {"amp.enabled=true", "amp.dtype=float16"},
     "--set amp.dtype=float16: amp.dtype: float16 autocast needs train.device cuda; use bfloat16 "
     "on CPU"},
    {"override_replaces_file_value", withRoot("train:\n  epochs: 5\n"), {"train.epochs=0"},
     "--set train.epochs=0: train.epochs: must be >= 1, got 0"},
    {"override_section", kMinimal, {"train.optimizer={lr: fast}"},
     "--set train.optimizer={lr: fast}: train.optimizer.lr: expected a number, got 'fast'"},
    {"override_into_value", kMinimal, {"data.root.x=1"},
     "--set data.root.x=1: data.root: is not a section, cannot set 'x' in it"},
    {"override_invalid_yaml", kMinimal, {"data.patch_size=[32,32"},
     "--set data.patch_size=[32,32: invalid YAML value: end of sequence flow not found"},
    {"override_no_equals", kMinimal, {"train.epochs"},
     "--set train.epochs: malformed override, expected key.path=value"},
    {"override_empty_key", kMinimal, {"=5"}, "--set =5: malformed override, expected key.path=value"},
    {"override_empty_component", kMinimal, {"train..epochs=5"},
     "--set train..epochs=5: malformed override, expected key.path=value"},
    {"override_file_error_first", withRoot("train:\n  epochs: x\n"), {"train.batch_size=4"},
     "x.yaml:4:3: train.epochs: expected an integer, got 'x'"},
};

class ConfigLoaderErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigLoaderErrorTest, ReportsExactMessage) {
  const ErrorCase& c = GetParam();
  EXPECT_EQ(parseError(c.yaml, c.overrides), c.expected);
}

INSTANTIATE_TEST_SUITE_P(ConfigErrors, ConfigLoaderErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

// ---------------------------------------------------------------------------------

TEST(ConfigLoaderTest, MissingFileNamesPathAndReason) {
  test::TempDir dir;
  const std::string path = dir.file("nope.yaml");
  EXPECT_EQ(configError([&] { loadTrainConfig(path); }),
            "cannot read config file '" + path + "': " + std::strerror(ENOENT));
}

TEST(ConfigLoaderTest, DirectoryIsNotAConfigFile) {
  test::TempDir dir;
  EXPECT_EQ(configError([&] { loadTrainConfig(dir.path()); }),
            "cannot read config file '" + dir.path() + "': is a directory");
}

TEST(ConfigLoaderTest, FileErrorsNameThePathGiven) {
  test::TempDir dir;
  const std::string path = dir.file("x.yaml");
  // The spec example: line 13, column 5 of a nested key.
  test::writeText(path,
                  "# comment\n"
                  "data:\n"
                  "  root: data/x\n"
                  "model:\n"
                  "  features: [8, 16]\n"
                  "loss:\n"
                  "  name: dice_ce\n"
                  "train:\n"
                  "  epochs: 2\n"
                  "  optimizer:\n"
                  "    name: sgd\n"
                  "    momentum: 0.9\n"
                  "    lr: fast\n");
  EXPECT_EQ(configError([&] { loadTrainConfig(path); }),
            path + ":13:5: train.optimizer.lr: expected a number, got 'fast'");
}

TEST(ConfigLoaderTest, LoadKeepsRelativeRootAndRecordsSource) {
  test::TempDir dir;
  const std::string path = dir.file("run.yaml");
  test::writeText(path, "data:\n  root: ../data/Task01\n  patch_size: [32, 48, 16]\n");
  const TrainConfig c = loadTrainConfig(path);
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.data.root, "../data/Task01");
  EXPECT_EQ(c.data.patch_size, (std::array<int64_t, 3>{32, 48, 16}));
}

TEST(ConfigLoaderTest, DefaultsMatchTrainConfigHeader) {
  TrainConfig expected;
  expected.data.root = "data/x";
  const TrainConfig c = parseTrainConfig(kMinimal, "x.yaml");
  EXPECT_EQ(c.source, "x.yaml");
  expectSameConfig(c, expected);
  // A few defaults spelled out, so that a changed header default is a visible decision.
  EXPECT_EQ(c.data.patch_size, (std::array<int64_t, 3>{64, 64, 64}));
  EXPECT_EQ(c.loss.smooth_nr, 1e-5);
  EXPECT_EQ(c.train.optimizer.name, "sgd");
  EXPECT_EQ(c.amp.dtype, "bfloat16");
  EXPECT_EQ(c.eval.size_bins, (std::vector<double>{0.0, 10.0, 100.0, 1000.0}));
}

TEST(ConfigLoaderTest, EmptySectionsMeanDefaults) {
  TrainConfig expected;
  expected.data.root = "data/x";
  expectSameConfig(parseTrainConfig(withRoot("model:\ntrain:\n  optimizer:\n"), "x.yaml"), expected);
}

TEST(ConfigLoaderTest, ReadsEveryTypeFromAFile) {
  const TrainConfig c = parseTrainConfig(
      "data:\n  root: /abs/data\n  split_seed: 18446744073709551615\n"
      "model:\n  features:\n    - 8\n    - 16\n"
      "loss:\n  name: dice_ce\n  batch: true\n  class_weights: [0.5, 2]\n  smooth_nr: 1e-6\n"
      "train:\n  optimizer:\n    betas: [0.8, +0.99]\n  scheduler:\n    name: cosine\n"
      "eval:\n  size_bins: [0, 5.5]\n  connectivity: 18\n",
      "x.yaml");
  EXPECT_EQ(c.data.root, "/abs/data");
  EXPECT_EQ(c.data.split_seed, 18446744073709551615ull);
  EXPECT_EQ(c.model.features, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(c.loss.name, "dice_ce");
  EXPECT_TRUE(c.loss.batch);
  EXPECT_EQ(c.loss.class_weights, (std::vector<double>{0.5, 2.0}));
  EXPECT_EQ(c.loss.smooth_nr, 1e-6);
  EXPECT_EQ(c.train.optimizer.betas, (std::array<double, 2>{0.8, 0.99}));
  EXPECT_EQ(c.train.scheduler.name, "cosine");
  EXPECT_EQ(c.eval.size_bins, (std::vector<double>{0.0, 5.5}));
  EXPECT_EQ(c.eval.connectivity, 18);
}

TEST(ConfigLoaderTest, OverridesApplyBeforeParsing) {
  const TrainConfig c = parseTrainConfig(
      withRoot("train:\n  epochs: 5\n"), "x.yaml",
      {"data.patch_size=[32,32,32]", "train.epochs=7", "train.optimizer.lr=1e-3",
       "loss.name=dice_ce", "output.dir='runs/a b'", "train.epochs=9"});
  EXPECT_EQ(c.data.patch_size, (std::array<int64_t, 3>{32, 32, 32}));
  EXPECT_EQ(c.train.epochs, 9);                // the last --set of a key wins
  EXPECT_EQ(c.train.optimizer.lr, 1e-3);       // creates a section the file lacks
  EXPECT_EQ(c.loss.name, "dice_ce");
  EXPECT_EQ(parseTrainConfig(withRoot(""), "x.yaml", {"loss.name=ce"}).loss.name, "ce");
  EXPECT_EQ(c.output.dir, "runs/a b");         // quoted YAML value
  EXPECT_EQ(c.data.root, "data/x");            // untouched keys keep the file's value
}

TEST(ConfigLoaderTest, OverrideCanSupplyRequiredRoot) {
  const TrainConfig c = parseTrainConfig("", "x.yaml", {"data.root=/data/Task01"});
  EXPECT_EQ(c.data.root, "/data/Task01");
}

TEST(ConfigLoaderTest, ToYamlRoundTripsEveryField) {
  TrainConfig original = test::everyFieldChanged();
  original.source = "resolved.yaml";  // echoed in the header comment
  const std::string text = toYaml(original);
  SCOPED_TRACE(text);
  EXPECT_EQ(text.rfind("# ", 0), 0u) << "starts with a header comment";
  const TrainConfig back = parseTrainConfig(text, "resolved.yaml");
  expectSameConfig(back, original);
  EXPECT_EQ(toYaml(back), text);
}

TEST(ConfigLoaderTest, ToYamlRoundTripsDefaults) {
  TrainConfig original;
  original.data.root = "data/x";
  original.source = "configs/a.yaml";
  const std::string text = toYaml(original);
  EXPECT_NE(text.find("# Loaded from: configs/a.yaml\n"), std::string::npos);
  // Every default is written, not only the keys the file had.
  EXPECT_NE(text.find("  checkpoint_every_minutes: 30.0\n"), std::string::npos);
  EXPECT_NE(text.find("    betas: [0.9, 0.999]\n"), std::string::npos);
  EXPECT_NE(text.find("  smooth_nr: 1.0e-05\n"), std::string::npos);
  expectSameConfig(parseTrainConfig(text, "resolved.yaml"), original);
}

TEST(ConfigLoaderTest, ReadsPerStageStridesAndKernelsInXYZ) {
  const TrainConfig c = parseTrainConfig(
      "data: {root: d}\nmodel:\n  features: [8, 16, 32]\n  strides: [[1, 1, 1], [2, 2, 1], [2, 2, 2]]\n"
      "  kernel_sizes: [[3, 3, 1], [3, 3, 3], [3, 3, 3]]\n  deep_supervision: true\n  checkpointing: true\n",
      "x.yaml");
  EXPECT_EQ(c.model.strides, (std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {2, 2, 1}, {2, 2, 2}}));
  EXPECT_EQ(c.model.kernel_sizes[0], (std::array<int64_t, 3>{3, 3, 1}));
  EXPECT_TRUE(c.model.deep_supervision);
  EXPECT_TRUE(c.model.checkpointing);
  const TrainConfig back = parseTrainConfig(toYaml(c), "resolved.yaml");
  EXPECT_EQ(back.model.strides, c.model.strides);
  EXPECT_TRUE(back.model.checkpointing);
}

TEST(ConfigLoaderTest, BadStridesAndKernelsNameTheKey) {
  const std::string head = "data: {root: d}\nmodel:\n  features: [8, 16]\n";
  EXPECT_EQ(parseError(head + "  strides: [[1, 1, 1]]\n"),
            "x.yaml:4:3: model.strides: has 1 entries but model.features has 2 stages (one [x, y, z] per stage, or "
            "leave it empty)");
  EXPECT_EQ(parseError(head + "  strides: [[1, 1, 1], [2, 0, 2]]\n"), "x.yaml:4:28: model.strides[1][1]: must be >= 1, got 0");
  EXPECT_EQ(parseError(head + "  strides: [[1, 1, 1], [2, 2]]\n"),
            "x.yaml:4:24: model.strides[1]: expected a list of 3 integers [x, y, z]");
  EXPECT_EQ(parseError(head + "  strides: [[2, 2, 2], [2, 2, 2]]\n"),
            "x.yaml:4:13: model.strides[0]: the first stage must have stride [1, 1, 1] (it works at input resolution)");
  EXPECT_EQ(parseError(head + "  kernel_sizes: [[3, 3, 3], [3, 2, 3]]\n"),
            "x.yaml:4:29: model.kernel_sizes[1]: kernel sizes must be odd, got 2");
  EXPECT_EQ(parseError(head + "  dropout: 0.1\n  checkpointing: true\n"),
            "x.yaml:5:3: model.checkpointing: cannot be combined with model.dropout > 0 (the recomputed stage would "
            "draw another dropout mask)");
}

// Issue 19's keys: regions (a list of sections), their paint order, the ignore label, the
// residual encoder's blocks, fine-tuning; the checks across keys name the key they are at.
TEST(ConfigLoaderTest, RegionsIgnoreLabelResEncAndFineTuningKeys) {
  const TrainConfig c = parseTrainConfig(R"(data:
  root: d
  regions:
    - {name: whole tumor, labels: [1, 2, 3]}
    - {name: tumor core, labels: [2, 3]}
    - {name: enhancing tumor, labels: [3]}
  regions_class_order: [1, 2, 3]
  ignore_label: 4
model: {name: resenc_unet, features: [8, 16, 32], blocks_per_stage: [1, 3, 4]}
loss: {activation: sigmoid}
train: {init_from: pre/checkpoint_final.pt, freeze_encoder_epochs: 2}
)",
                                         "x.yaml");
  ASSERT_EQ(c.data.regions.size(), 3u);
  EXPECT_EQ(c.data.regions[1].name, "tumor core");
  EXPECT_EQ(c.data.regions[1].labels, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(c.data.regions_class_order, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(c.data.ignore_label, 4);
  EXPECT_EQ(c.model.name, "resenc_unet");
  EXPECT_EQ(c.model.blocks_per_stage, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(c.model.decoder_convs_per_stage, 0);
  EXPECT_EQ(c.train.init_from, "pre/checkpoint_final.pt");
  EXPECT_EQ(c.train.freeze_encoder_epochs, 2);
}

TEST(ConfigLoaderTest, BadRegionsResEncAndFineTuningKeysNameTheKey) {
  const std::string regions = "data:\n  root: d\n  regions:\n    - {name: wt, labels: [1, 2]}\n";
  EXPECT_EQ(parseError(regions + "loss: {activation: sigmoid}\n"),
            "x.yaml:3:3: data.regions: data.regions_class_order needs one label value per region (1 regions, 0 values): "
            "the value each region is painted with in predicted label maps");
  EXPECT_EQ(parseError(regions + "  regions_class_order: [1]\n"),
            "x.yaml:1:1: loss.activation: must be sigmoid with data.regions (regions overlap: one independent channel "
            "each), got softmax");
  EXPECT_NE(parseError("data:\n  root: d\n  regions:\n    - {name: wt}\n").find("data.regions[0].labels"),
            std::string::npos);
  EXPECT_NE(parseError("data: {root: d, regions_class_order: [1]}\n").find("is only used with data.regions"),
            std::string::npos);
  EXPECT_NE(parseError("data: {root: d, ignore_label: 256}\n").find("data.ignore_label"), std::string::npos);
  EXPECT_EQ(parseError("data: {root: d}\nmodel: {features: [8, 16], blocks_per_stage: [1, 2]}\n"),
            "x.yaml:2:28: model.blocks_per_stage: is a resenc_unet option (model.name is unet)");
  EXPECT_NE(parseError("data: {root: d}\nmodel: {name: resenc_unet, features: [8, 16], blocks_per_stage: [1]}\n")
                .find("model.blocks_per_stage: has 1 entries but model.features has 2 stages"),
            std::string::npos);
  EXPECT_NE(parseError("data: {root: d}\ntrain: {freeze_encoder_epochs: 3}\n")
                .find("train.freeze_encoder_epochs: needs train.init_from"),
            std::string::npos);
}

}  // namespace
}  // namespace seg
