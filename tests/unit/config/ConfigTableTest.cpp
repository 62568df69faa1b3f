// The config field table (config/ConfigFields.h) is the one list of keys: what toYaml
// writes, what the loader knows (its unknown-key messages) and the table itself agree,
// section by section and in order, and every field survives toYaml -> parseTrainConfig.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <any>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "config/ConfigFields.h"
#include "config/ConfigLoader.h"
#include "config/FieldReader.h"
#include "core/Error.h"
#include "unit/config/ConfigSamples.h"

namespace seg {
namespace {

// Section path ("" = top level, "data.cases[]" = an element of data.cases) -> its keys.
using SectionKeys = std::map<std::string, std::vector<std::string>>;

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// The table's keys, per section, in table order.
class KeyLister {
 public:
  SectionKeys keys{{"", {}}};

  template <class T, class... Rules>
  void field(const char* key, const T&, const Rules&...) {
    keys[prefix_].push_back(key);
  }
  void choice(const char* key, const std::string&, const std::vector<std::string>&) { keys[prefix_].push_back(key); }
  template <class S>
  void section(const char* key, const S& s) {
    enter(key, join(prefix_, key), s);
  }
  template <class S>
  void sections(const char* key, const std::vector<S>&) {
    enter(key, join(prefix_, key) + "[]", S{});
  }

 private:
  template <class S>
  void enter(const char* key, const std::string& path, const S& s) {
    keys[prefix_].push_back(key);
    const std::string saved = prefix_;
    prefix_ = path;
    keys[prefix_];  // a section without keys still counts
    visitFields(*this, s);
    prefix_ = saved;
  }
  std::string prefix_;
};

SectionKeys tableKeys() {
  KeyLister lister;
  visitFields(lister, static_cast<const TrainConfig&>(TrainConfig{}));
  return lister.keys;
}

// The keys of YAML text as an independent parser (yaml-cpp) sees them.
void collectKeys(const YAML::Node& map, const std::string& path, SectionKeys& out) {
  out[path];
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node value = it->second;
    out[path].push_back(key);
    if (value.IsMap()) collectKeys(value, join(path, key), out);
    if (!value.IsSequence() || value.size() == 0 || !value[0].IsMap()) continue;
    for (const YAML::Node& element : value) {
      SectionKeys one;
      collectKeys(element, join(path, key) + "[]", one);
      const std::string elementPath = join(path, key) + "[]";
      const auto slot = out.emplace(elementPath, one.at(elementPath)).first;
      EXPECT_EQ(slot->second, one.at(elementPath)) << "elements of " << join(path, key) << " differ in keys";
    }
  }
}

// Every field's value, by dotted path ("data.cases[1].label"), in table order.
class FieldValues {
 public:
  struct Value {
    std::string path;
    std::any value;
    std::function<bool(const std::any&, const std::any&)> equal;
  };
  std::vector<Value> values;

  template <class T, class... Rules>
  void field(const char* key, const T& v, const Rules&...) {
    add(prefix_ + key, v);
  }
  void choice(const char* key, const std::string& v, const std::vector<std::string>&) { add(prefix_ + key, v); }
  template <class S>
  void section(const char* key, const S& s) {
    within(prefix_ + key + ".", s);
  }
  template <class S>
  void sections(const char* key, const std::vector<S>& items) {
    add(prefix_ + key, items.size());
    for (std::size_t i = 0; i < items.size(); ++i) within(prefix_ + key + "[" + std::to_string(i) + "].", items[i]);
  }

 private:
  template <class T>
  void add(const std::string& path, const T& v) {
    values.push_back({path, std::any(v), [](const std::any& a, const std::any& b) {
                        return std::any_cast<const T&>(a) == std::any_cast<const T&>(b);
                      }});
  }
  template <class S>
  void within(const std::string& prefix, const S& s) {
    const std::string saved = prefix_;
    prefix_ = prefix;
    visitFields(*this, s);
    prefix_ = saved;
  }
  std::string prefix_;
};

std::vector<FieldValues::Value> fieldValues(const TrainConfig& c) {
  FieldValues v;
  visitFields(v, c);
  return v.values;
}

// The paths of `a` whose value equals the one at the same path of `b` (paths only in one are left out).
std::set<std::string> samePaths(const TrainConfig& a, const TrainConfig& b) {
  std::map<std::string, FieldValues::Value> right;
  for (auto& v : fieldValues(b)) right.emplace(v.path, std::move(v));
  std::set<std::string> same;
  for (const auto& v : fieldValues(a)) {
    const auto other = right.find(v.path);
    if (other != right.end() && v.equal(v.value, other->second.value)) same.insert(v.path);
  }
  return same;
}

std::string parseError(const std::string& yaml, const std::vector<std::string>& overrides) {
  try {
    parseTrainConfig(yaml, "x.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::vector<std::string> splitList(const std::string& list) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(", ", start);
    items.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return items;
}

const TrainConfig kSamples[] = {test::everyFieldChanged(), test::checkpointingInsteadOfDropout()};

// ---------------------------------------------------------------------------------

TEST(ConfigTableTest, TableHasEverySection) {
  const SectionKeys table = tableKeys();
  std::vector<std::string> sections;
  for (const auto& [path, keys] : table) sections.push_back(path);
  EXPECT_EQ(sections, (std::vector<std::string>{"", "amp", "data", "data.cases[]", "data.ct_stats", "data.regions[]", "dist", "eval",
                                                "loss", "model", "output", "train", "train.optimizer",
                                                "train.scheduler"}));
  EXPECT_EQ(table.at(""), (std::vector<std::string>{"data", "model", "loss", "train", "amp", "dist", "eval", "output"}));
}

TEST(ConfigTableTest, WrittenKeysAreTheTableKeysInTableOrder) {
  const SectionKeys table = tableKeys();
  for (const TrainConfig& sample : kSamples) {
    const std::string text = toYaml(sample);
    SCOPED_TRACE(text);
    SectionKeys written;
    collectKeys(YAML::Load(text), "", written);
    ASSERT_EQ(written.size(), table.size());
    for (const auto& [path, keys] : table) {
      SCOPED_TRACE("section '" + path + "'");
      ASSERT_EQ(written.count(path), 1u);
      EXPECT_EQ(written.at(path), keys);
    }
  }
}

// The loader's unknown-key message lists the keys it asked for: per section, they must be
// the table's, in the table's order.
TEST(ConfigTableTest, LoaderKnowsExactlyTheTableKeys) {
  const std::string base = "data:\n  root: d\n";
  for (const auto& [path, keys] : tableKeys()) {
    SCOPED_TRACE("section '" + path + "'");
    const bool element = path.size() > 2 && path.compare(path.size() - 2, 2, "[]") == 0;
    const std::string section = element ? path.substr(0, path.size() - 2) : path;
    const std::string override =
        element ? section + "=[{zz_unknown: 1}]" : join(section, "zz_unknown") + "=1";
    const std::string message = parseError(base, {override});
    const std::string unknownPath = element ? section + "[0].zz_unknown" : join(section, "zz_unknown");
    const std::string head = "--set " + override + ": " + unknownPath + ": unknown key (known keys: ";
    ASSERT_EQ(message.rfind(head, 0), 0u) << message;
    ASSERT_EQ(message.back(), ')') << message;
    EXPECT_EQ(splitList(message.substr(head.size(), message.size() - head.size() - 1)), keys);
  }
}

TEST(ConfigTableTest, EveryFieldRoundTripsToTheSameValuesAndText) {
  for (TrainConfig sample : kSamples) {
    sample.source = "resolved.yaml";  // toYaml echoes it in a comment; parseTrainConfig sets it
    const std::string text = toYaml(sample);
    SCOPED_TRACE(text);
    const TrainConfig back = parseTrainConfig(text, "resolved.yaml");
    const auto expected = fieldValues(sample);
    const auto actual = fieldValues(back);
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(actual[i].path, expected[i].path);
      EXPECT_TRUE(expected[i].equal(expected[i].value, actual[i].value)) << expected[i].path << " changed";
    }
    EXPECT_EQ(toYaml(back), text);
  }
}

// The samples above prove something only for fields they move away from the default.
TEST(ConfigTableTest, SamplesChangeEveryField) {
  const TrainConfig defaults;
  EXPECT_EQ(samePaths(kSamples[0], defaults), (std::set<std::string>{"model.checkpointing"}));
  EXPECT_EQ(samePaths(kSamples[1], defaults), (std::set<std::string>{"model.dropout"}));
  EXPECT_EQ(samePaths(kSamples[0], kSamples[0]).size(), fieldValues(kSamples[0]).size());
}

// A cross-key check is hung on the walk by the key's dotted path: it runs once, after its
// key and before the keys that follow; a path the table does not have is an error, not a
// check dropped silently.
TEST(ConfigTableTest, ChecksRunOnceAtTheirKeyAndMisspeltPathsAreCaught) {
  const YAML::Node root = YAML::Load("data: {root: d, num_workers: 5}\ntrain: {optimizer: {lr: 0.5}}\n");
  const ConfigLocator locator("x.yaml");
  {
    YamlReader top(locator, root, "", root.Mark());
    FieldReader in(top);
    TrainConfig c;
    std::vector<std::string> seen;
    in.after("data.root", [&](const YamlReader& r) {
      seen.push_back(c.data.root + " " + std::to_string(c.data.num_workers) + " " + std::to_string(r.has("num_workers")));
    });
    in.after("train.optimizer.lr", [&](const YamlReader& r) {
      seen.push_back(std::to_string(c.data.num_workers) + " " + formatNumber(c.train.optimizer.lr) + " " +
                     std::to_string(r.has("num_workers")));
    });
    visitFields(in, c);
    // At data.root, num_workers is not read yet; the check gets the section it is in.
    EXPECT_EQ(seen, (std::vector<std::string>{"d 2 1", "5 0.5 0"}));
    EXPECT_NO_THROW(in.requireAllReached());
  }
  {
    YamlReader top(locator, root, "", root.Mark());
    FieldReader in(top);
    TrainConfig c;
    in.after("data.rooot", [](const YamlReader&) {});
    visitFields(in, c);
    EXPECT_THROW(in.requireAllReached(), std::logic_error);
  }
}

}  // namespace
}  // namespace seg
