// Connected-component postprocessing and its selection on cross-validation predictions.
// Selection follows nnU-Net v2's determine_postprocessing
// (nnunetv2/postprocessing/remove_connected_components.py); the goldens in
// tests/unit/eval/NnunetPostprocessingReference.h come from that function itself
// (scripts/reference/nnunet_postprocessing_reference.py).
#include "eval/Postprocessing.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/ConnectedComponents.h"
#include "core/Error.h"
#include "core/Log.h"
#include "core/ParallelFor.h"

namespace seg {

namespace {

using json = nlohmann::ordered_json;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

void checkConnectivity(int connectivity, const std::string& where) {
  if (connectivity != 6 && connectivity != 18 && connectivity != 26) {
    throw InputError(where + "connectivity must be 6, 18 or 26, got " + std::to_string(connectivity));
  }
}

// The 0/1 mask a step works on (see applyPostprocessing in the header).
std::vector<uint8_t> targetMask(const LabelVolume& labels, int target, const LabelEncoding& encoding) {
  std::vector<uint8_t> mask(labels.data.size(), 0);
  if (target == 0) {
    // nnU-Net passes label_manager.foreground_labels (every label but background and ignore).
    for (size_t i = 0; i < mask.size(); ++i) {
      const int v = labels.data[i];
      mask[i] = (v != 0 && v != encoding.ignoreLabel) ? 1 : 0;
    }
  } else if (encoding.hasRegions()) {
    // region_or_label_to_mask for a tuple: every label value of the region.
    const auto bits = encoding.regionBits();
    const uint64_t bit = uint64_t{1} << (target - 1);
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = (bits[labels.data[i]] & bit) ? 1 : 0;
  } else {
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = labels.data[i] == target ? 1 : 0;
  }
  return mask;
}

void checkStep(const PostprocessingStep& step, const LabelEncoding& encoding, const std::string& where) {
  if (step.kind != "keep_largest" && step.kind != "remove_small") {
    throw InputError(where + "kind: expected 'keep_largest' or 'remove_small', got '" + step.kind + "'");
  }
  if (step.target < 0 || step.target > 255 ||
      (encoding.hasRegions() && step.target > static_cast<int>(encoding.regions.size()))) {
    throw InputError(where + "target: " + std::to_string(step.target) + " is not 0 (all foreground) or a " +
                     (encoding.hasRegions() ? "region 1.." + std::to_string(encoding.regions.size()) : "class 1..255"));
  }
  if (step.kind == "remove_small" && !(std::isfinite(step.minSizeMm3) && step.minSizeMm3 > 0.0)) {
    throw InputError(where + "min_size_mm3: expected a positive number of mm^3, got " + std::to_string(step.minSizeMm3));
  }
}

std::string stepWhere(size_t i) { return "steps[" + std::to_string(i) + "]."; }

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json scoresJson(const PostprocessingScores& s) {
  json perClass = json::array();
  for (double v : s.perClass) perClass.push_back(number(v));
  return json{{"foreground", number(s.foreground)}, {"per_class", perClass}};
}

json stepJson(const PostprocessingStep& step) {
  json j{{"kind", step.kind}, {"target", step.target}};
  if (step.kind == "remove_small") j["min_size_mm3"] = step.minSizeMm3;
  return j;
}

// Key readers that name the file and the key path.
const json& member(const json& object, const std::string& key, const std::string& where, bool required = true) {
  static const json none;
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) throw InputError(where + key + ": missing");
    return none;
  }
  return *it;
}

void knownKeys(const json& object, const std::set<std::string>& known, const std::string& where) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (known.count(it.key())) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw InputError(where + it.key() + ": unknown key (known: " + list + ")");
  }
}

double readNumber(const json& v, const std::string& where) {
  if (v.is_null()) return kNan;
  if (!v.is_number()) throw InputError(where + ": expected a number or null, got " + v.dump());
  return v.get<double>();
}

int readInt(const json& v, const std::string& where) {
  if (!v.is_number_integer()) throw InputError(where + ": expected an integer, got " + v.dump());
  const int64_t x = v.get<int64_t>();
  if (x < -1000000 || x > 1000000) throw InputError(where + ": " + v.dump() + " is out of range");
  return static_cast<int>(x);
}

std::string readString(const json& v, const std::string& where) {
  if (!v.is_string()) throw InputError(where + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}

PostprocessingScores readScores(const json& v, const std::string& where) {
  PostprocessingScores s;
  if (v.is_null()) return s;
  if (!v.is_object()) throw InputError(where + ": expected an object");
  knownKeys(v, {"foreground", "per_class"}, where + ".");
  s.foreground = readNumber(member(v, "foreground", where + ".", false), where + ".foreground");
  const json& perClass = member(v, "per_class", where + ".", false);
  if (!perClass.is_null()) {
    if (!perClass.is_array()) throw InputError(where + ".per_class: expected an array");
    for (size_t i = 0; i < perClass.size(); ++i) {
      s.perClass.push_back(readNumber(perClass[i], where + ".per_class[" + std::to_string(i) + "]"));
    }
  }
  return s;
}

PostprocessingStep readStep(const json& v, const std::string& where, const std::set<std::string>& extra = {}) {
  if (!v.is_object()) throw InputError(where.substr(0, where.size() - 1) + ": expected an object, got " + v.dump());
  std::set<std::string> known{"kind", "target", "min_size_mm3"};
  known.insert(extra.begin(), extra.end());
  knownKeys(v, known, where);
  PostprocessingStep step;
  step.kind = readString(member(v, "kind", where), where + "kind");
  step.target = readInt(member(v, "target", where), where + "target");
  const json& size = member(v, "min_size_mm3", where, step.kind == "remove_small");
  if (!size.is_null()) step.minSizeMm3 = readNumber(size, where + "min_size_mm3");
  checkStep(step, LabelEncoding{}, where);
  return step;
}

}  // namespace

std::string describeStep(const PostprocessingStep& step, const LabelEncoding& encoding) {
  std::string target = "all foreground";
  if (step.target > 0) {
    if (encoding.hasRegions() && step.target <= static_cast<int>(encoding.regionNames.size())) {
      target = "region " + std::to_string(step.target) + " (" + encoding.regionNames[step.target - 1] + ")";
    } else {
      target = (encoding.hasRegions() ? "region " : "class ") + std::to_string(step.target);
    }
  }
  if (step.kind == "keep_largest") return "keep the largest component of " + target;
  std::ostringstream size;
  size << step.minSizeMm3;
  return "remove components < " + size.str() + " mm^3 of " + target;
}

void applyStep(LabelVolume& prediction, const PostprocessingStep& step, const LabelEncoding& encoding,
               int connectivity) {
  checkStep(step, encoding, "postprocessing step: ");
  checkConnectivity(connectivity, "postprocessing: ");
  const std::vector<uint8_t> mask = targetMask(prediction, step.target, encoding);
  const Components cc = connectedComponents(mask, prediction.geometry.size, 1, connectivity);
  if (cc.count == 0) return;
  std::vector<int64_t> sizes(static_cast<size_t>(cc.count) + 1, 0);
  for (int32_t id : cc.ids) ++sizes[static_cast<size_t>(id)];
  std::vector<uint8_t> keep(sizes.size(), 1);
  keep[0] = 1;
  if (step.kind == "keep_largest") {
    // acvl_utils remove_all_but_largest_component: keeps [i for i, j in zip(ids, sizes) if j == max(sizes)].
    const int64_t largest = *std::max_element(sizes.begin() + 1, sizes.end());
    for (size_t k = 1; k < sizes.size(); ++k) keep[k] = sizes[k] == largest ? 1 : 0;
  } else {
    const double voxelMm3 = prediction.geometry.voxelVolume();
    for (size_t k = 1; k < sizes.size(); ++k) {
      keep[k] = static_cast<double>(sizes[k]) * voxelMm3 < step.minSizeMm3 ? 0 : 1;
    }
  }
  for (size_t i = 0; i < cc.ids.size(); ++i) {
    if (cc.ids[i] != 0 && !keep[static_cast<size_t>(cc.ids[i])]) prediction.data[i] = 0;
  }
}

void applyPostprocessing(LabelVolume& prediction, const Postprocessing& pp, const LabelEncoding& encoding) {
  for (const PostprocessingStep& step : pp.steps) applyStep(prediction, step, encoding, pp.connectivity);
}

void checkPostprocessing(const Postprocessing& pp, int numClasses, const LabelEncoding& encoding,
                         const std::string& where) {
  const std::string prefix = where.empty() ? std::string() : where + ": ";
  checkConnectivity(pp.connectivity, prefix);
  if (pp.numClasses > 0 && pp.numClasses != numClasses) {
    throw InputError(prefix + "chosen for " + std::to_string(pp.numClasses - 1) +
                     (encoding.hasRegions() ? " regions" : " foreground classes") + " but the model has " +
                     std::to_string(numClasses - 1) + " (a postprocessing.json of another run?)");
  }
  for (size_t i = 0; i < pp.steps.size(); ++i) {
    checkStep(pp.steps[i], encoding, prefix + stepWhere(i));
    if (pp.steps[i].target >= numClasses) {
      throw InputError(prefix + stepWhere(i) + "target: " + std::to_string(pp.steps[i].target) + " is not a " +
                       (encoding.hasRegions() ? "region" : "class") + " of the model (1.." +
                       std::to_string(numClasses - 1) + ")");
    }
  }
}

std::string postprocessingToJson(const Postprocessing& pp) {
  json steps = json::array();
  for (const auto& s : pp.steps) steps.push_back(stepJson(s));
  json candidates = json::array();
  for (const auto& c : pp.candidates) {
    json j = stepJson(c.step);
    j["applied"] = c.applied;
    j["before"] = scoresJson(c.before);
    j["after"] = scoresJson(c.after);
    candidates.push_back(j);
  }
  json out{{"format", "segtrain-postprocessing"},
           {"version", 1},
           {"criterion", pp.criterion},
           {"connectivity", pp.connectivity},
           {"num_classes", pp.numClasses},
           {"steps", steps},
           {"num_cases", pp.numCases},
           {"before", scoresJson(pp.before)},
           {"after", scoresJson(pp.after)},
           {"candidates", candidates},
           {"conventions",
            {{"keep_largest", "keep the largest connected component (all of equal largest size) of the target"},
             {"remove_small", "remove connected components with volume < min_size_mm3 from the target"},
             {"target", "0 = all foreground labels together, else the class (or region) index"},
             {"removed_voxels", "become background (0)"},
             {"scores", "dice: per class mean case Dice ignoring NaN; lesion_f1: pooled lesion F1 "
                        "2TP/(2TP+FN+FP) per class; foreground: mean over classes"}}}};
  return out.dump(2) + "\n";
}

Postprocessing postprocessingFromJson(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(where + ": not valid JSON: " + e.what());
  }
  const std::string w = where + ": ";
  if (!j.is_object()) throw InputError(w + "expected a JSON object");
  knownKeys(j,
            {"format", "version", "criterion", "connectivity", "num_classes", "steps", "num_cases", "before", "after",
             "candidates", "conventions"},
            w);
  const json& format = member(j, "format", w, false);
  if (!format.is_null() && format != "segtrain-postprocessing") {
    throw InputError(w + "format: expected 'segtrain-postprocessing', got " + format.dump());
  }
  const json& version = member(j, "version", w, false);
  if (!version.is_null() && readInt(version, w + "version") != 1) {
    throw InputError(w + "version: this segeval reads version 1, got " + version.dump());
  }
  Postprocessing pp;
  pp.criterion = readString(member(j, "criterion", w), w + "criterion");
  if (pp.criterion != "dice" && pp.criterion != "lesion_f1") {
    throw InputError(w + "criterion: expected 'dice' or 'lesion_f1', got '" + pp.criterion + "'");
  }
  pp.connectivity = readInt(member(j, "connectivity", w), w + "connectivity");
  checkConnectivity(pp.connectivity, w);
  const json& numClasses = member(j, "num_classes", w, false);
  if (!numClasses.is_null()) pp.numClasses = readInt(numClasses, w + "num_classes");
  if (pp.numClasses < 0 || pp.numClasses == 1 || pp.numClasses > 256) {
    throw InputError(w + "num_classes: expected 0 (unknown) or 2..256, got " + std::to_string(pp.numClasses));
  }
  const json& steps = member(j, "steps", w);
  if (!steps.is_array()) throw InputError(w + "steps: expected an array, got " + steps.dump());
  for (size_t i = 0; i < steps.size(); ++i) pp.steps.push_back(readStep(steps[i], w + stepWhere(i)));
  const json& numCases = member(j, "num_cases", w, false);
  if (!numCases.is_null()) pp.numCases = readInt(numCases, w + "num_cases");
  pp.before = readScores(member(j, "before", w, false), w + "before");
  pp.after = readScores(member(j, "after", w, false), w + "after");
  const json& candidates = member(j, "candidates", w, false);
  if (!candidates.is_null()) {
    if (!candidates.is_array()) throw InputError(w + "candidates: expected an array");
    for (size_t i = 0; i < candidates.size(); ++i) {
      const std::string cw = w + "candidates[" + std::to_string(i) + "].";
      PostprocessingCandidate c;
      c.step = readStep(candidates[i], cw, {"applied", "before", "after"});
      const json& applied = member(candidates[i], "applied", cw, false);
      if (!applied.is_null() && !applied.is_boolean()) throw InputError(cw + "applied: expected true or false");
      c.applied = applied.is_boolean() && applied.get<bool>();
      c.before = readScores(member(candidates[i], "before", cw, false), cw + "before");
      c.after = readScores(member(candidates[i], "after", cw, false), cw + "after");
      pp.candidates.push_back(c);
    }
  }
  return pp;
}

Postprocessing readPostprocessing(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read postprocessing file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError("cannot read postprocessing file '" + path + "'");
  return postprocessingFromJson(text.str(), path);
}

void writePostprocessing(const Postprocessing& pp, const std::string& path) {
  writeFileAtomically(path, postprocessingToJson(pp));
}

PostprocessingScores scorePredictions(const EvalReport& report, const std::string& criterion) {
  if (criterion != "dice" && criterion != "lesion_f1") {
    throw InputError("postprocessing criterion: expected 'dice' or 'lesion_f1', got '" + criterion + "'");
  }
  PostprocessingScores s;
  double sum = 0.0;
  for (int c = 1; c < report.numClasses; ++c) {
    double v = kNan;
    if (criterion == "dice") {
      std::vector<double> dice;
      for (const CaseResult& cs : report.cases) dice.push_back(overlapOf(cs, c).dice);
      v = meanIgnoringNan(dice);
    } else {
      v = pooledLesionDetection(report, c).f1;
    }
    s.perClass.push_back(v);
    sum += v;  // nnU-Net's foreground_mean is np.mean: NaN when any class is NaN
  }
  s.foreground = s.perClass.empty() ? kNan : sum / static_cast<double>(s.perClass.size());
  return s;
}

namespace {

// Scores each variant (extra steps applied after `chosen`) on every case.
std::vector<PostprocessingScores> scoreVariants(size_t numCases, const PostprocessingCaseLoader& load,
                                                const EvalReport& settings, const PostprocessingSearch& search,
                                                const std::vector<PostprocessingStep>& chosen,
                                                const std::vector<std::vector<PostprocessingStep>>& variants) {
  std::vector<EvalReport> reports(variants.size(), settings);
  for (auto& r : reports) r.cases.assign(numCases, CaseResult{});
  parallelFor(numCases, search.threads, [&](size_t i) {
    PostprocessingCase c = load(i);
    for (const auto& step : chosen) applyStep(c.prediction, step, settings.encoding, search.connectivity);
    for (size_t v = 0; v < variants.size(); ++v) {
      LabelVolume pred = c.prediction;
      for (const auto& step : variants[v]) applyStep(pred, step, settings.encoding, search.connectivity);
      reports[v].cases[i] = evaluateCase(c.id, pred, c.reference, reports[v]);
    }
  });
  std::vector<PostprocessingScores> scores;
  for (const auto& r : reports) scores.push_back(scorePredictions(r, search.criterion));
  return scores;
}

}  // namespace

Postprocessing determinePostprocessing(size_t numCases, const PostprocessingCaseLoader& load,
                                       const EvalReport& settings, const PostprocessingSearch& search) {
  auto log = logger("eval");
  checkConnectivity(search.connectivity, "--pp connectivity: ");
  for (double s : search.minSizesMm3) {
    if (!(std::isfinite(s) && s > 0.0)) {
      throw InputError("--pp-min-sizes: expected positive sizes in mm^3, got " + std::to_string(s));
    }
  }
  if (search.criterion != "dice" && search.criterion != "lesion_f1") {
    throw InputError("postprocessing criterion: expected 'dice' or 'lesion_f1', got '" + search.criterion + "'");
  }
  if (numCases == 0) throw InputError("postprocessing: no cases to choose it on");
  EvalReport scoring = settings;
  scoring.surfaceDistances = false;
  scoring.cases.clear();

  Postprocessing pp;
  pp.criterion = search.criterion;
  pp.connectivity = search.connectivity;
  pp.numCases = static_cast<int>(numCases);
  pp.numClasses = settings.numClasses;
  const int numTargets = settings.numClasses - 1;

  // 1. Keep the largest component of all foreground together: only if the foreground mean
  // improves and no class gets worse ("if a single class got worse as a result we won't do this").
  const PostprocessingStep all{"keep_largest", 0, 0.0};
  auto first = scoreVariants(numCases, load, scoring, search, {}, {{}, {all}});
  pp.before = first[0];
  PostprocessingScores current = first[0];
  {
    PostprocessingCandidate c{all, first[0], first[1], false};
    bool doThis = c.after.foreground > c.before.foreground;
    for (size_t k = 0; doThis && k < c.after.perClass.size(); ++k) {
      if (c.after.perClass[k] < c.before.perClass[k]) doThis = false;
    }
    c.applied = doThis;
    if (doThis) {
      pp.steps.push_back(all);
      current = c.after;
    }
    pp.candidates.push_back(c);
  }
  // 2. Per class or region, in order, when there is more than one: applied when that class
  // improves (nnU-Net compares only pp_results['mean'][label_or_region]['Dice']).
  if (numTargets > 1) {
    for (int t = 1; t <= numTargets; ++t) {
      const PostprocessingStep step{"keep_largest", t, 0.0};
      const auto scores = scoreVariants(numCases, load, scoring, search, pp.steps, {{step}});
      PostprocessingCandidate c{step, current, scores[0], false};
      c.applied = c.after.perClass[t - 1] > c.before.perClass[t - 1];
      if (c.applied) {
        pp.steps.push_back(step);
        current = c.after;
      }
      pp.candidates.push_back(c);
    }
  }
  // 3. Ours: per class, remove components below each candidate size; the size with the best
  // score of that class (the smallest on ties) is applied when it improves on the selection.
  if (!search.minSizesMm3.empty()) {
    std::vector<double> sizes = search.minSizesMm3;
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    for (int t = 1; t <= numTargets; ++t) {
      std::vector<std::vector<PostprocessingStep>> variants;
      for (double s : sizes) variants.push_back({PostprocessingStep{"remove_small", t, s}});
      const auto scores = scoreVariants(numCases, load, scoring, search, pp.steps, variants);
      size_t best = 0;
      for (size_t v = 0; v < scores.size(); ++v) {
        pp.candidates.push_back({variants[v][0], current, scores[v], false});
        const double score = scores[v].perClass[t - 1];
        if (std::isnan(scores[best].perClass[t - 1]) ? !std::isnan(score) : score > scores[best].perClass[t - 1]) {
          best = v;
        }
      }
      if (scores[best].perClass[t - 1] > current.perClass[t - 1]) {
        pp.candidates[pp.candidates.size() - scores.size() + best].applied = true;
        pp.steps.push_back(variants[best][0]);
        current = scores[best];
      }
    }
  }
  pp.after = current;
  for (const auto& c : pp.candidates) {
    log->info("postprocessing: {}: {} -> {} ({})", describeStep(c.step, settings.encoding),
              c.step.target == 0 ? c.before.foreground : c.before.perClass[c.step.target - 1],
              c.step.target == 0 ? c.after.foreground : c.after.perClass[c.step.target - 1],
              c.applied ? "applied" : "not applied");
  }
  return pp;
}

}  // namespace seg
