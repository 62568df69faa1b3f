// TrainConfig -> YAML (toYaml, declared in ConfigLoader.h). The run directory and
// every checkpoint keep this text, and parseTrainConfig reads it back, so it lists
// every key and prints doubles exactly. Key names here must match ConfigLoader.cpp;
// the round-trip test with non-default values catches any drift.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <sstream>
#include <type_traits>

#include "config/ConfigLoader.h"
#include "config/YamlReader.h"

namespace seg {
namespace {

// Shortest round-trip text, with a ".0" so that other YAML readers (PyYAML follows
// YAML 1.1, where "1e-05" and "30" are not floats) see a float too: "1.0e-05", "30.0".
std::string yamlNumber(double v) {
  std::string s = formatNumber(v);
  if (s.find_first_of(".ni") != std::string::npos) return s;  // has a point, or inf/nan
  const auto e = s.find('e');
  if (e == std::string::npos) return s + ".0";
  return s.insert(e, ".0");
}

bool isPlainSafe(const std::string& s) {
  if (s.empty()) return false;
  // Words that YAML 1.1 or 1.2 readers turn into booleans or null.
  static const char* const reserved[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : reserved) {
    if (lower == word) return false;
  }
  const char first = s[0];
  // A leading digit, sign or ".5"/".inf" could read as a number; "./x" and "../x" are paths.
  if (!(std::isalpha(static_cast<unsigned char>(first)) || first == '_' || first == '/' ||
        (first == '.' && (s.size() == 1 || s[1] == '/' || s[1] == '.')))) {
    return false;
  }
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string yamlString(const std::string& s) {
  if (isPlainSafe(s)) return s;
  YAML::Emitter out;
  out << YAML::DoubleQuoted << s;
  return out.c_str();
}

template <class T>
std::string yamlList(const T& values) {
  std::string s = "[";
  for (const auto& v : values) {
    if (s.size() > 1) s += ", ";
    if constexpr (std::is_floating_point_v<typename T::value_type>) {
      s += yamlNumber(v);
    } else {
      s += std::to_string(v);
    }
  }
  return s + "]";
}

std::string yamlNestedList(const std::vector<std::array<int64_t, 3>>& values) {
  std::string s = "[";
  for (const auto& v : values) {
    if (s.size() > 1) s += ", ";
    s += yamlList(v);
  }
  return s + "]";
}

// Writes "key: value" lines at one indentation level.
class Block {
 public:
  Block(std::ostringstream& out, int indent) : out_(out), pad_(static_cast<std::size_t>(indent), ' ') {}
  void put(const char* key, const std::string& text) { out_ << pad_ << key << ": " << text << "\n"; }
  void str(const char* key, const std::string& v) { put(key, yamlString(v)); }
  void num(const char* key, double v) { put(key, yamlNumber(v)); }
  void flag(const char* key, bool v) { put(key, v ? "true" : "false"); }
  template <class Int>
  void integer(const char* key, Int v) { put(key, std::to_string(v)); }
  void section(const char* key) { out_ << pad_ << key << ":\n"; }

 private:
  std::ostringstream& out_;
  std::string pad_;
};

}  // namespace

std::string toYaml(const TrainConfig& c) {
  std::ostringstream out;
  out << "# segtrain configuration, resolved: every key present, defaults filled in.\n"
      << "# Keys, types and ranges: docs/config.md\n";
  if (!c.source.empty()) {
    std::string source = c.source;
    for (char& ch : source) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    out << "# Loaded from: " << source << "\n";
  }
  Block top(out, 0);
  Block b(out, 2);
  Block bb(out, 4);

  top.section("data");
  b.str("root", c.data.root);
  {
    // One line per key (flow style), as ConfigDiff expects.
    std::string cases = "[";
    for (const CaseListEntry& e : c.data.cases) {
      std::vector<std::string> images;
      for (const auto& image : e.images) images.push_back(yamlString(image));
      std::string imageList = "[";
      for (const auto& image : images) imageList += (imageList.size() > 1 ? ", " : "") + image;
      cases += std::string(cases.size() > 1 ? ", " : "") + "{id: " + yamlString(e.id) + ", images: " + imageList +
               "], label: " + yamlString(e.label) + "}";
    }
    b.put("cases", cases + "]");
    std::string labels = "[";
    for (const auto& name : c.data.labels) labels += (labels.size() > 1 ? ", " : "") + yamlString(name);
    b.put("labels", labels + "]");
  }
  b.str("split_file", c.data.split_file);
  b.integer("fold", c.data.fold);
  b.integer("num_folds", c.data.num_folds);
  b.integer("split_seed", c.data.split_seed);
  b.put("patch_size", yamlList(c.data.patch_size));
  b.num("foreground_fraction", c.data.foreground_fraction);
  b.str("foreground_sampling", c.data.foreground_sampling);
  b.flag("augment", c.data.augment);
  b.flag("reorient", c.data.reorient);
  b.flag("resample", c.data.resample);
  b.put("target_spacing", yamlList(c.data.target_spacing));
  b.str("normalization", c.data.normalization);
  b.flag("nonzero_mask", c.data.nonzero_mask);
  b.section("ct_stats");
  bb.put("clip_low", yamlList(c.data.ct_stats.clip_low));
  bb.put("clip_high", yamlList(c.data.ct_stats.clip_high));
  bb.put("mean", yamlList(c.data.ct_stats.mean));
  bb.put("std", yamlList(c.data.ct_stats.std));
  b.str("cache_dir", c.data.cache_dir);
  b.integer("num_workers", c.data.num_workers);
  b.integer("queue_depth", c.data.queue_depth);

  top.section("model");
  b.str("name", c.model.name);
  b.put("features", yamlList(c.model.features));
  b.integer("convs_per_stage", c.model.convs_per_stage);
  b.str("norm", c.model.norm);
  b.str("activation", c.model.activation);
  b.num("dropout", c.model.dropout);
  b.put("kernel_sizes", yamlNestedList(c.model.kernel_sizes));
  b.put("strides", yamlNestedList(c.model.strides));
  b.flag("deep_supervision", c.model.deep_supervision);
  b.flag("checkpointing", c.model.checkpointing);

  top.section("loss");
  b.str("name", c.loss.name);
  b.flag("include_background", c.loss.include_background);
  b.str("activation", c.loss.activation);
  b.flag("squared_pred", c.loss.squared_pred);
  b.flag("jaccard", c.loss.jaccard);
  b.flag("batch", c.loss.batch);
  b.num("smooth_nr", c.loss.smooth_nr);
  b.num("smooth_dr", c.loss.smooth_dr);
  b.put("class_weights", yamlList(c.loss.class_weights));
  b.num("lambda_dice", c.loss.lambda_dice);
  b.num("lambda_ce", c.loss.lambda_ce);
  b.str("w_type", c.loss.w_type);

  const TrainSection& t = c.train;
  top.section("train");
  b.integer("epochs", t.epochs);
  b.integer("iterations_per_epoch", t.iterations_per_epoch);
  b.integer("batch_size", t.batch_size);
  b.section("optimizer");
  bb.str("name", t.optimizer.name);
  bb.num("lr", t.optimizer.lr);
  bb.num("momentum", t.optimizer.momentum);
  bb.flag("nesterov", t.optimizer.nesterov);
  bb.num("weight_decay", t.optimizer.weight_decay);
  bb.put("betas", yamlList(t.optimizer.betas));
  bb.num("eps", t.optimizer.eps);
  b.section("scheduler");
  bb.str("name", t.scheduler.name);
  bb.num("exponent", t.scheduler.exponent);
  bb.integer("warmup_iterations", t.scheduler.warmup_iterations);
  bb.num("min_lr", t.scheduler.min_lr);
  b.num("grad_clip", t.grad_clip);
  b.integer("seed", t.seed);
  b.flag("deterministic", t.deterministic);
  b.integer("val_every", t.val_every);
  b.integer("val_iterations", t.val_iterations);
  b.integer("full_val_every", t.full_val_every);
  b.integer("threads", t.threads);
  b.str("device", t.device);

  top.section("amp");
  b.flag("enabled", c.amp.enabled);
  b.str("dtype", c.amp.dtype);

  top.section("dist");
  b.str("backend", c.dist.backend);
  b.integer("timeout_s", c.dist.timeout_s);
  b.integer("rendezvous_timeout_s", c.dist.rendezvous_timeout_s);
  b.integer("bucket_mb", c.dist.bucket_mb);

  top.section("eval");
  b.num("overlap", c.eval.overlap);
  b.flag("mirror_tta", c.eval.mirror_tta);
  b.integer("tile_batch", c.eval.tile_batch);
  b.integer("tile_workers", c.eval.tile_workers);
  b.put("size_bins", yamlList(c.eval.size_bins));
  b.integer("connectivity", c.eval.connectivity);
  b.str("empty_rule", c.eval.empty_rule);

  top.section("output");
  b.str("dir", c.output.dir);
  b.num("checkpoint_every_minutes", c.output.checkpoint_every_minutes);
  b.str("log_level", c.output.log_level);
  return out.str();
}

}  // namespace seg
