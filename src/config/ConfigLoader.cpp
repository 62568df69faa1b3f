// YAML text -> TrainConfig. The only place (with YamlReader and ConfigWriter) that
// sees yaml-cpp. Order of work: parse the text, apply --set overrides to the tree,
// then walk the field table (ConfigFields.h) with FieldReader, so an override gets
// exactly the same type, range and unknown-key checks as a line of the file. Keys,
// types and ranges live in the table; this file adds the checks across keys.
#include "config/ConfigLoader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "config/FieldReader.h"
#include "config/YamlReader.h"
#include "core/Error.h"

namespace seg {
namespace {

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

// The checks that involve more than one key (or a key and the shape of its section). Each
// runs right after the last key it needs is read, so errors come in the order of the keys
// of the table; the key a message names is the one it is reported at.
void addDataChecks(FieldReader& in, const DataConfig& c) {
  in.after("data.root", [&c](const YamlReader& r) {
    // The resolved config of a case-list run writes root: "" (every key is present).
    if (r.has("root") && c.root.empty() && !r.has("cases")) r.fail("root", "must not be empty");
  });
  in.afterEach<CaseListEntry>("data.cases", [](const YamlReader& item, const CaseListEntry& e) {
    if (e.images.empty()) item.fail("images", "required key is missing (one file per channel)");
    if (e.label.empty()) item.fail("label", "required key is missing");
  });
  in.after("data.labels", [&c](const YamlReader& r) {
    if (!c.cases.empty() && c.labels.size() < 2) {
      r.fail(r.has("labels") ? "labels" : "cases",
             "a case list needs data.labels: class names by index, background first (e.g. [background, lesion])");
    }
    if (c.labels.size() > 256) r.fail("labels", "at most 256 classes");
  });
  in.afterEach<RegionConfig>("data.regions", [](const YamlReader& item, const RegionConfig& e) {
    if (e.name.empty()) item.fail("name", "required key is missing (the region's name, e.g. whole_tumour)");
    if (e.labels.empty()) item.fail("labels", "required key is missing (the label values of the region, e.g. [1, 2, 3])");
  });
  in.after("data.regions_class_order", [&c](const YamlReader& r) {
    if (c.regions.empty() && !c.regions_class_order.empty()) {
      r.fail("regions_class_order", "is only used with data.regions");
    }
    if (!c.regions.empty() && c.regions_class_order.size() != c.regions.size()) {
      r.fail(r.has("regions_class_order") ? "regions_class_order" : "regions",
             "data.regions_class_order needs one label value per region (" + std::to_string(c.regions.size()) +
                 " regions, " + std::to_string(c.regions_class_order.size()) +
                 " values): the value each region is painted with in predicted label maps");
    }
  });
  in.after("data.num_folds", [&c](const YamlReader& r) {
    if (c.fold < 0) r.fail("fold", "must be >= 0, got " + std::to_string(c.fold));
    // With a split file, the file's number of folds bounds data.fold (checked when it is read).
    if (c.split_file.empty() && c.fold >= c.num_folds) {
      r.fail("fold", "must be in [0, " + std::to_string(c.num_folds) + ") (data.num_folds is " +
                         std::to_string(c.num_folds) + "), got " + std::to_string(c.fold));
    }
  });
  in.after("data.target_spacing", [&c](const YamlReader& r) {
    if (!c.target_spacing.empty() && c.target_spacing.size() != 3) {
      r.fail("target_spacing", "expected [x, y, z] in mm (or [] for the dataset median), got " +
                                   std::to_string(c.target_spacing.size()) + " values");
    }
  });
  in.after("data.ct_stats.std", [&s = c.ct_stats](const YamlReader& r) {
    const size_t n = s.mean.size();
    if (s.clip_low.size() != n || s.clip_high.size() != n || s.std.size() != n) {
      r.fail("mean", "clip_low, clip_high, mean and std need one value per channel each (or all empty)");
    }
    for (size_t i = 0; i < n; ++i) {
      if (s.clip_low[i] > s.clip_high[i]) r.failElement("clip_low", i, "is above clip_high[" + std::to_string(i) + "]");
    }
  });
}

// Per stage: kernel_sizes and strides have one [x, y, z] per entry of model.features.
void checkPerStage(const YamlReader& r, const char* key, const std::vector<std::array<int64_t, 3>>& perStage,
                   std::size_t stages) {
  if (perStage.empty() || perStage.size() == stages) return;
  r.fail(key, "has " + std::to_string(perStage.size()) + " entries but model.features has " + std::to_string(stages) +
                  " stages (one [x, y, z] per stage, or leave it empty)");
}

void addModelChecks(FieldReader& in, const ModelConfig& c) {
  in.after("model.strides", [&c](const YamlReader& r) {
    const std::size_t stages = c.features.size();
    checkPerStage(r, "kernel_sizes", c.kernel_sizes, stages);
    for (std::size_t i = 0; i < c.kernel_sizes.size(); ++i)
      for (int64_t k : c.kernel_sizes[i])
        if (k % 2 == 0) r.failElement("kernel_sizes", i, "kernel sizes must be odd, got " + std::to_string(k));
    checkPerStage(r, "strides", c.strides, stages);
    if (!c.strides.empty() && c.strides[0] != std::array<int64_t, 3>{1, 1, 1}) {
      r.failElement("strides", 0, "the first stage must have stride [1, 1, 1] (it works at input resolution)");
    }
  });
  in.after("model.decoder_convs_per_stage", [&c](const YamlReader& r) {
    if (c.name != "resenc_unet" && !c.blocks_per_stage.empty()) {
      r.fail("blocks_per_stage", "is a resenc_unet option (model.name is " + c.name + ")");
    }
    if (!c.blocks_per_stage.empty() && c.blocks_per_stage.size() != c.features.size()) {
      r.fail("blocks_per_stage", "has " + std::to_string(c.blocks_per_stage.size()) + " entries but model.features has " +
                                     std::to_string(c.features.size()) + " stages (one per stage, or leave it empty)");
    }
  });
  in.after("model.checkpointing", [&c](const YamlReader& r) {
    if (c.checkpointing && c.dropout > 0) {
      r.fail("checkpointing", "cannot be combined with model.dropout > 0 (the recomputed stage would draw another "
                              "dropout mask)");
    }
    if (c.checkpointing && c.norm == "batch") {
      r.fail("checkpointing", "cannot be combined with model.norm batch (the recompute would update the running "
                              "statistics twice); use instance or group");
    }
  });
}

void addChecks(FieldReader& in, const TrainConfig& c) {
  addDataChecks(in, c.data);
  addModelChecks(in, c.model);
  in.after("loss.lambda_ce", [&loss = c.loss](const YamlReader& r) {
    if (loss.lambda_dice == 0.0 && loss.lambda_ce == 0.0) {
      r.fail("lambda_ce", "must be > 0 when loss.lambda_dice is 0 (the loss would be constant)");
    }
  });
  in.after("loss.activation", [&c](const YamlReader& r) {
    if (!c.data.regions.empty() && c.loss.activation != "sigmoid") {
      r.fail("activation", "must be sigmoid with data.regions (regions overlap: one independent channel each), got " +
                               c.loss.activation);
    }
  });
  in.after("train.select_by", [&t = c.train](const YamlReader& r) {
    // The lesion criteria are scored by the full-volume validation only.
    if (t.select_by != "pseudo_dice" && t.full_val_every == 0) {
      r.fail("select_by", t.select_by + " needs train.full_val_every > 0 (the lesion scores come from the "
                          "full-volume validation)");
    }
  });
  in.after("train.freeze_encoder_epochs", [&t = c.train](const YamlReader& r) {
    if (t.freeze_encoder_epochs > 0 && t.init_from.empty()) {
      r.fail("freeze_encoder_epochs", "needs train.init_from (freezing a randomly initialised encoder trains nothing "
                                      "useful)");
    }
  });
  in.after("train.optimizer.nesterov", [&opt = c.train.optimizer](const YamlReader& r) {
    // torch::optim::SGD rejects nesterov without momentum when it is constructed; say so
    // here, with the key, instead of an internal error at the start of training.
    if (opt.name == "sgd" && opt.nesterov && opt.momentum == 0.0) {
      r.fail("momentum", "must be > 0 when train.optimizer.nesterov is true (set nesterov: false for plain SGD), got 0");
    }
  });
  in.after("amp.dtype", [&c](const YamlReader& r) {
    // LibTorch 2.x accepts float16 for CPU autocast as well, but our CPU path is tested in
    // bfloat16 only (AutocastTest, GradScalerTest; the float16 runs are CUDA tests), so
    // float16 stays a CUDA option.
    if (c.amp.enabled && c.amp.dtype == "float16" && c.train.device == "cpu") {
      r.fail("dtype", "float16 autocast needs train.device cuda; use bfloat16 on CPU");
    }
  });
  in.after("eval.size_bins", [&bins = c.eval.size_bins](const YamlReader& r) {
    for (std::size_t i = 1; i < bins.size(); ++i) {
      if (bins[i] <= bins[i - 1]) {
        r.failElement("size_bins", i, "must be greater than the previous edge " + formatNumber(bins[i - 1]) +
                                          ", got " + formatNumber(bins[i]));
      }
    }
  });
  in.after("eval.connectivity", [&n = c.eval.connectivity](const YamlReader& r) {
    if (n != 6 && n != 18 && n != 26) {
      r.fail("connectivity", "expected one of 6, 18, 26, got " + std::to_string(n));
    }
  });
  in.after("output.dir", [&dir = c.output.dir](const YamlReader& r) {
    if (dir.empty()) r.fail("dir", "must not be empty");
  });
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
  FieldReader in(top);
  addChecks(in, config);
  visitFields(in, config);
  top.finish();
  in.requireAllReached();

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
