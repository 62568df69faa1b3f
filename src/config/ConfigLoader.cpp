// YAML text -> TrainConfig. The only place (with YamlReader and ConfigWriter) that
// sees yaml-cpp. Order of work: parse the text, apply --set overrides to the tree,
// then read every section through YamlReader, so an override gets exactly the same
// type, range and unknown-key checks as a line of the file.
#include "config/ConfigLoader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "config/YamlReader.h"
#include "core/Error.h"

namespace seg {
namespace {

using R = NumberRange;

std::string readFile(const std::string& path) {
  const auto fail = [&](const std::string& reason) -> std::string {
    throw ConfigError("cannot read config file '" + path + "': " + reason);
  };
  std::error_code ec;
  // fopen succeeds on a directory on Linux and only the read fails (EISDIR), which
  // would otherwise surface as an empty config and a confusing "data.root missing".
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(std::strerror(errno));
  std::string text;
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  const bool bad = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (bad) return fail(std::strerror(err));
  return text;
}

std::string position(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// Counts documents without building nodes, remembering where the second one starts.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  YAML::Mark second = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

YAML::Node parseDocument(const std::string& text, const std::string& source) {
  try {
    // YAML::Load would silently drop everything after a second "---", and YAML::LoadAll never
    // returns on some inputs: in yaml-cpp 0.7 a stray ',' outside a flow collection yields
    // empty documents forever (found by fuzz/config_fuzzer; fuzz/regressions/config). So
    // count documents first and stop at the second.
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.documents < 2 && parser.HandleNextDocument(counter)) {
    }
    if (counter.documents > 1) {
      throw ConfigError(position(source, counter.second) +
                        ": invalid YAML: expected one document, found a second one");
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(position(source, e.mark) + ": invalid YAML: " + e.msg);
  }
}

// --set key.path=value. The value is YAML ("0.1", "[32, 32, 32]", "'quoted'"), so it
// gets the same typing as in a file.
struct Override {
  std::string raw;
  std::vector<std::string> keys;
  YAML::Node value;
};

Override parseOverride(const std::string& raw) {
  const std::string malformed = "--set " + raw + ": malformed override, expected key.path=value";
  const auto eq = raw.find('=');
  if (eq == std::string::npos) throw ConfigError(malformed);
  std::string key = raw.substr(0, eq);
  const auto first = key.find_first_not_of(" \t");
  const auto last = key.find_last_not_of(" \t");
  key = first == std::string::npos ? "" : key.substr(first, last - first + 1);
  Override o{raw, {}, {}};
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    o.keys.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (o.keys.back().empty()) throw ConfigError(malformed);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  try {
    o.value = YAML::Load(raw.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw ConfigError("--set " + raw + ": invalid YAML value: " + e.msg);
  }
  return o;
}

void applyOverride(YAML::Node& root, const Override& o, ConfigLocator& locator) {
  YAML::Node cur = root;
  std::string path;
  for (std::size_t i = 0; i + 1 < o.keys.size(); ++i) {
    path += (path.empty() ? "" : ".") + o.keys[i];
    YAML::Node child = cur[o.keys[i]];
    if (!child.IsDefined() || child.IsNull()) {
      child = YAML::Node(YAML::NodeType::Map);
      locator.addOverride(path, o.raw);  // a section this override created is its own
    } else if (!child.IsMap()) {
      throw ConfigError("--set " + o.raw + ": " + path + ": is not a section, cannot set '" +
                        o.keys[i + 1] + "' in it");
    }
    // reset() rebinds the handle; `cur = child` would instead overwrite cur's node.
    cur.reset(child);
  }
  cur[o.keys.back()] = o.value;
  locator.addOverride(path + (path.empty() ? "" : ".") + o.keys.back(), o.raw);
}

void readData(YamlReader r, DataConfig& c) {
  r.read("root", c.root);
  // The resolved config of a case-list run writes root: "" (every key is present).
  if (r.has("root") && c.root.empty() && !r.has("cases")) r.fail("root", "must not be empty");
  for (YamlReader item : r.sections("cases")) {
    CaseListEntry e;
    item.read("id", e.id);
    item.read("images", e.images, 1);
    item.read("label", e.label);
    item.finish();  // a misspelt key is reported as such, not as a missing one
    if (e.images.empty()) item.fail("images", "required key is missing (one file per channel)");
    if (e.label.empty()) item.fail("label", "required key is missing");
    c.cases.push_back(std::move(e));
  }
  r.read("labels", c.labels, 0);
  if (!c.cases.empty() && c.labels.size() < 2) {
    r.fail(r.has("labels") ? "labels" : "cases",
           "a case list needs data.labels: class names by index, background first (e.g. [background, lesion])");
  }
  if (c.labels.size() > 256) r.fail("labels", "at most 256 classes");
  r.read("split_file", c.split_file);
  r.read("fold", c.fold, R::any());
  r.read("num_folds", c.num_folds, R::atLeast(2));
  if (c.fold < 0) r.fail("fold", "must be >= 0, got " + std::to_string(c.fold));
  // With a split file, the file's number of folds bounds data.fold (checked when it is read).
  if (c.split_file.empty() && c.fold >= c.num_folds) {
    r.fail("fold", "must be in [0, " + std::to_string(c.num_folds) + ") (data.num_folds is " +
                       std::to_string(c.num_folds) + "), got " + std::to_string(c.fold));
  }
  r.read("split_seed", c.split_seed);
  r.read("patch_size", c.patch_size, R::atLeast(8));
  r.read("foreground_fraction", c.foreground_fraction, R::closed(0, 1));
  r.choice("foreground_sampling", c.foreground_sampling, {"class_voxel", "lesion_uniform"});
  r.read("augment", c.augment);
  r.read("reorient", c.reorient);
  r.read("resample", c.resample);
  r.read("target_spacing", c.target_spacing, R::greaterThan(0), 0);
  if (!c.target_spacing.empty() && c.target_spacing.size() != 3) {
    r.fail("target_spacing", "expected [x, y, z] in mm (or [] for the dataset median), got " +
                                 std::to_string(c.target_spacing.size()) + " values");
  }
  r.choice("normalization", c.normalization, {"zscore", "ct", "none"});
  r.read("nonzero_mask", c.nonzero_mask);
  {
    YamlReader s = r.section("ct_stats");
    s.read("clip_low", c.ct_stats.clip_low, R::any(), 0);
    s.read("clip_high", c.ct_stats.clip_high, R::any(), 0);
    s.read("mean", c.ct_stats.mean, R::any(), 0);
    s.read("std", c.ct_stats.std, R::atLeast(0), 0);
    const size_t n = c.ct_stats.mean.size();
    if (c.ct_stats.clip_low.size() != n || c.ct_stats.clip_high.size() != n || c.ct_stats.std.size() != n) {
      s.fail("mean", "clip_low, clip_high, mean and std need one value per channel each (or all empty)");
    }
    for (size_t i = 0; i < n; ++i) {
      if (c.ct_stats.clip_low[i] > c.ct_stats.clip_high[i]) {
        s.failElement("clip_low", i, "is above clip_high[" + std::to_string(i) + "]");
      }
    }
    s.finish();
  }
  r.read("cache_dir", c.cache_dir);
  r.read("num_workers", c.num_workers, R::closed(0, 64));
  r.read("queue_depth", c.queue_depth, R::atLeast(1));
  r.finish();
}

void readModel(YamlReader r, ModelConfig& c) {
  r.choice("name", c.name, {"unet"});
  r.read("features", c.features, R::atLeast(1), 1);
  r.read("convs_per_stage", c.convs_per_stage, R::atLeast(1));
  r.choice("norm", c.norm, {"instance", "batch", "group"});
  r.choice("activation", c.activation, {"leaky_relu", "relu"});
  r.read("dropout", c.dropout, R::closedOpen(0, 1));
  r.read("kernel_sizes", c.kernel_sizes, R::atLeast(1));
  r.read("strides", c.strides, R::atLeast(1));
  const std::size_t stages = c.features.size();
  if (!c.kernel_sizes.empty()) {
    if (c.kernel_sizes.size() != stages) {
      r.fail("kernel_sizes", "has " + std::to_string(c.kernel_sizes.size()) + " entries but model.features has " +
                                 std::to_string(stages) + " stages (one [x, y, z] per stage, or leave it empty)");
    }
    for (std::size_t i = 0; i < stages; ++i)
      for (int64_t k : c.kernel_sizes[i])
        if (k % 2 == 0) r.failElement("kernel_sizes", i, "kernel sizes must be odd, got " + std::to_string(k));
  }
  if (!c.strides.empty()) {
    if (c.strides.size() != stages) {
      r.fail("strides", "has " + std::to_string(c.strides.size()) + " entries but model.features has " +
                            std::to_string(stages) + " stages (one [x, y, z] per stage, or leave it empty)");
    }
    if (c.strides[0] != std::array<int64_t, 3>{1, 1, 1}) {
      r.failElement("strides", 0, "the first stage must have stride [1, 1, 1] (it works at input resolution)");
    }
  }
  r.read("deep_supervision", c.deep_supervision);
  r.read("checkpointing", c.checkpointing);
  if (c.checkpointing && c.dropout > 0) {
    r.fail("checkpointing", "cannot be combined with model.dropout > 0 (the recomputed stage would draw another "
                            "dropout mask)");
  }
  if (c.checkpointing && c.norm == "batch") {
    r.fail("checkpointing", "cannot be combined with model.norm batch (the recompute would update the running "
                            "statistics twice); use instance or group");
  }
  r.finish();
}

void readLoss(YamlReader r, LossConfig& c) {
  r.choice("name", c.name, {"dice", "dice_ce", "gdl", "ce"});
  r.read("include_background", c.include_background);
  r.choice("activation", c.activation, {"softmax", "sigmoid"});
  r.read("squared_pred", c.squared_pred);
  r.read("jaccard", c.jaccard);
  r.read("batch", c.batch);
  r.read("smooth_nr", c.smooth_nr, R::atLeast(0));
  r.read("smooth_dr", c.smooth_dr, R::atLeast(0));
  r.read("class_weights", c.class_weights, R::atLeast(0), 0);
  r.read("lambda_dice", c.lambda_dice, R::atLeast(0));
  r.read("lambda_ce", c.lambda_ce, R::atLeast(0));
  if (c.lambda_dice == 0.0 && c.lambda_ce == 0.0) {
    r.fail("lambda_ce", "must be > 0 when loss.lambda_dice is 0 (the loss would be constant)");
  }
  r.choice("w_type", c.w_type, {"square", "simple", "uniform"});
  r.finish();
}

void readOptimizer(YamlReader r, OptimizerConfig& c) {
  r.choice("name", c.name, {"sgd", "adam", "adamw"});
  r.read("lr", c.lr, R::greaterThan(0));
  r.read("momentum", c.momentum, R::closedOpen(0, 1));
  r.read("nesterov", c.nesterov);
  // torch::optim::SGD rejects nesterov without momentum when it is constructed; say so
  // here, with the key, instead of an internal error at the start of training.
  if (c.name == "sgd" && c.nesterov && c.momentum == 0.0) {
    r.fail("momentum", "must be > 0 when train.optimizer.nesterov is true (set nesterov: false for plain SGD), got 0");
  }
  r.read("weight_decay", c.weight_decay, R::atLeast(0));
  r.read("betas", c.betas, R::closedOpen(0, 1));
  r.read("eps", c.eps, R::greaterThan(0));
  r.finish();
}

void readScheduler(YamlReader r, SchedulerConfig& c) {
  r.choice("name", c.name, {"poly", "cosine", "constant"});
  r.read("exponent", c.exponent, R::greaterThan(0));
  r.read("warmup_iterations", c.warmup_iterations, R::atLeast(0));
  r.read("min_lr", c.min_lr, R::atLeast(0));
  r.finish();
}

void readTrain(YamlReader r, TrainSection& c) {
  r.read("epochs", c.epochs, R::atLeast(1));
  r.read("iterations_per_epoch", c.iterations_per_epoch, R::atLeast(1));
  r.read("batch_size", c.batch_size, R::atLeast(1));
  readOptimizer(r.section("optimizer"), c.optimizer);
  readScheduler(r.section("scheduler"), c.scheduler);
  r.read("grad_clip", c.grad_clip, R::atLeast(0));
  r.read("seed", c.seed);
  r.read("deterministic", c.deterministic);
  r.read("val_every", c.val_every, R::atLeast(0));
  r.read("val_iterations", c.val_iterations, R::atLeast(1));
  r.read("full_val_every", c.full_val_every, R::atLeast(0));
  r.read("threads", c.threads, R::atLeast(0));
  r.choice("device", c.device, {"cpu", "cuda", "auto"});
  r.finish();
}

void readAmp(YamlReader r, AmpConfig& c, const std::string& device) {
  r.read("enabled", c.enabled);
  r.choice("dtype", c.dtype, {"bfloat16", "float16"});
  // fp16 autocast is CUDA-only in LibTorch 1.13; CPU autocast runs in bfloat16.
  if (c.enabled && c.dtype == "float16" && device == "cpu") {
    r.fail("dtype", "float16 autocast needs train.device cuda; use bfloat16 on CPU");
  }
  r.finish();
}

void readDist(YamlReader r, DistConfig& c) {
  r.choice("backend", c.backend, {"auto", "gloo", "nccl"});
  r.read("timeout_s", c.timeout_s, R::atLeast(1));
  r.read("rendezvous_timeout_s", c.rendezvous_timeout_s, R::atLeast(1));
  r.read("bucket_mb", c.bucket_mb, R::atLeast(1));
  r.finish();
}

void readEval(YamlReader r, EvalConfig& c) {
  r.read("overlap", c.overlap, R::closedOpen(0, 1));
  r.read("mirror_tta", c.mirror_tta);
  r.read("tile_batch", c.tile_batch, R::atLeast(1));
  r.read("tile_workers", c.tile_workers, R::atLeast(0));
  r.read("size_bins", c.size_bins, R::atLeast(0), 1);
  for (std::size_t i = 1; i < c.size_bins.size(); ++i) {
    if (c.size_bins[i] <= c.size_bins[i - 1]) {
      r.failElement("size_bins", i, "must be greater than the previous edge " +
                                        formatNumber(c.size_bins[i - 1]) + ", got " +
                                        formatNumber(c.size_bins[i]));
    }
  }
  r.read("connectivity", c.connectivity, R::any());
  if (c.connectivity != 6 && c.connectivity != 18 && c.connectivity != 26) {
    r.fail("connectivity", "expected one of 6, 18, 26, got " + std::to_string(c.connectivity));
  }
  r.choice("empty_rule", c.empty_rule, {"nan", "one", "zero"});
  r.finish();
}

void readOutput(YamlReader r, OutputConfig& c) {
  r.read("dir", c.dir);
  if (c.dir.empty()) r.fail("dir", "must not be empty");
  r.read("checkpoint_every_minutes", c.checkpoint_every_minutes, R::greaterThan(0));
  r.choice("log_level", c.log_level, {"trace", "debug", "info", "warn", "error"});
  r.finish();
}

}  // namespace

TrainConfig parseTrainConfig(const std::string& yamlText, const std::string& source,
                             const std::vector<std::string>& overrides) {
  ConfigLocator locator(source);
  YAML::Node root = parseDocument(yamlText, locator.source());

  // Overrides cannot go into a top level that is a list or a scalar; YamlReader below
  // reports that shape error against the file.
  if (!root.IsDefined() || root.IsNull() || root.IsMap()) {
    for (const auto& raw : overrides) {
      const Override o = parseOverride(raw);
      if (!root.IsMap()) root.reset(YAML::Node(YAML::NodeType::Map));
      applyOverride(root, o, locator);
    }
  } else {
    for (const auto& raw : overrides) parseOverride(raw);  // still report malformed ones
  }

  TrainConfig config;
  config.source = source;
  YamlReader top(locator, root, "", root.IsDefined() ? root.Mark() : YAML::Mark::null_mark());
  readData(top.section("data"), config.data);
  readModel(top.section("model"), config.model);
  readLoss(top.section("loss"), config.loss);
  readTrain(top.section("train"), config.train);
  readAmp(top.section("amp"), config.amp, config.train.device);
  readDist(top.section("dist"), config.dist);
  readEval(top.section("eval"), config.eval);
  readOutput(top.section("output"), config.output);
  top.finish();

  // Checked last so that a misspelt "data:" or "root:" is reported as the unknown key
  // it is. The file is named without a position: there is no line to point at.
  if (config.data.root.empty() && config.data.cases.empty()) {
    throw ConfigError(locator.source() + ": data.root: required key is missing (or give data.cases)");
  }
  return config;
}

TrainConfig loadTrainConfig(const std::string& path, const std::vector<std::string>& overrides) {
  return parseTrainConfig(readFile(path), path, overrides);
}

}  // namespace seg
