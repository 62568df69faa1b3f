#include "config/YamlReader.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace seg {
namespace {

// How a node that has the wrong type is described after "got".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an empty value";
  }
}

// YAML 1.1 would also read 1_000, 0x10 or 1e3 as integers; we accept plain decimal
// only so that "1.5" or "1e3" for a count is an error rather than a silent truncation.
std::string_view stripPlus(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  return s;
}

template <class T>
std::optional<T> parseInteger(std::string_view s, bool* outOfRange) {
  s = stripPlus(s);
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (end != s.data() + s.size() || s.empty()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    *outOfRange = true;
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  return value;
}

std::optional<double> parseDouble(std::string_view s) {
  s = stripPlus(s);
  double value = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// One scalar that must be a number: the node, its dotted path and the mark to report.
struct Item {
  const ConfigLocator& loc;
  const YAML::Node& node;
  std::string path;
  YAML::Mark mark;

  [[noreturn]] void fail(const std::string& what) const { loc.fail(path, mark, what); }
  void checkRange(double v, const NumberRange& range) const {
    if (!range.contains(v)) fail(range.describe() + ", got " + node.Scalar());
  }
};

double readDouble(const Item& item, const NumberRange& range) {
  if (!item.node.IsScalar()) item.fail("expected a number, got " + describe(item.node));
  const auto v = parseDouble(item.node.Scalar());
  if (!v) item.fail("expected a number, got " + describe(item.node));
  // No option has a use for inf or nan, and nan would slip through every range check.
  if (!std::isfinite(*v)) item.fail("expected a finite number, got " + describe(item.node));
  item.checkRange(*v, range);
  return *v;
}

int64_t readInt64(const Item& item, const NumberRange& range) {
  if (!item.node.IsScalar()) item.fail("expected an integer, got " + describe(item.node));
  bool outOfRange = false;
  const auto v = parseInteger<int64_t>(item.node.Scalar(), &outOfRange);
  if (outOfRange) item.fail("integer out of range, got " + describe(item.node));
  if (!v) item.fail("expected an integer, got " + describe(item.node));
  item.checkRange(static_cast<double>(*v), range);
  return *v;
}

}  // namespace

// ---------------------------------------------------------------------------------

YamlReader::YamlReader(const ConfigLocator& locator, const YAML::Node& node, std::string path,
                       const YAML::Mark& keyMark)
    : locator_(&locator), path_(std::move(path)), mark_(keyMark) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    if (path_.empty()) locator.fail("", mark_, "expected a mapping of sections at the top level, got " + describe(node));
    locator.fail(path_, mark_, "expected a mapping, got " + describe(node));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's operator-> hands out a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) locator.fail(path_, key.Mark(), "expected a key name, got " + describe(key));
    const std::string name = key.Scalar();
    for (const auto& [seen, entry] : entries_) {
      // yaml-cpp keeps both copies of a repeated key and lookups see only the first,
      // so a later line that looks like it wins would be ignored silently.
      if (seen == name) {
        locator.fail(childPath(name), key.Mark(),
                     "duplicate key (first given on line " + std::to_string(entry.key.Mark().line + 1) + ")");
      }
    }
    entries_.push_back({name, Entry{key, value}});
  }
}

std::string YamlReader::childPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

std::string YamlReader::elementPath(const std::string& key, std::size_t index) const {
  return childPath(key) + "[" + std::to_string(index) + "]";
}

const YamlReader::Entry* YamlReader::find(const std::string& key) {
  known_.push_back(key);
  for (const auto& [name, entry] : entries_) {
    if (name == key) return &entry;
  }
  return nullptr;
}

bool YamlReader::has(const std::string& key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return true;
  }
  return false;
}

YamlReader YamlReader::section(const std::string& key) {
  const Entry* e = find(key);
  if (!e) return YamlReader(*locator_, YAML::Node(), childPath(key), mark_);
  return YamlReader(*locator_, e->value, childPath(key), e->key.Mark());
}

void YamlReader::read(const std::string& key, bool& out) {
  const Entry* e = find(key);
  if (!e) return;
  // Only the YAML 1.2 spellings: "yes"/"on" are strings in 1.2 and booleans in 1.1,
  // and a config should not depend on which one the reader follows.
  const std::string text = e->value.IsScalar() ? e->value.Scalar() : "";
  if (text == "true") {
    out = true;
  } else if (text == "false") {
    out = false;
  } else {
    fail(key, "expected true or false, got " + describe(e->value));
  }
}

void YamlReader::read(const std::string& key, std::string& out) {
  const Entry* e = find(key);
  if (!e) return;
  if (!e->value.IsScalar()) fail(key, "expected a string, got " + describe(e->value));
  out = e->value.Scalar();
}

void YamlReader::read(const std::string& key, double& out, const NumberRange& range) {
  const Entry* e = find(key);
  if (!e) return;
  out = readDouble(Item{*locator_, e->value, childPath(key), e->key.Mark()}, range);
}

void YamlReader::read(const std::string& key, int64_t& out, const NumberRange& range) {
  const Entry* e = find(key);
  if (!e) return;
  out = readInt64(Item{*locator_, e->value, childPath(key), e->key.Mark()}, range);
}

void YamlReader::read(const std::string& key, int& out, const NumberRange& range) {
  const Entry* e = find(key);
  if (!e) return;
  const Item item{*locator_, e->value, childPath(key), e->key.Mark()};
  const int64_t v = readInt64(item, range);
  constexpr int64_t lo = std::numeric_limits<int>::min();
  constexpr int64_t hi = std::numeric_limits<int>::max();
  if (v > hi) item.fail("must be <= " + std::to_string(hi) + ", got " + e->value.Scalar());
  if (v < lo) item.fail("must be >= " + std::to_string(lo) + ", got " + e->value.Scalar());
  out = static_cast<int>(v);
}

void YamlReader::read(const std::string& key, uint64_t& out) {
  const Entry* e = find(key);
  if (!e) return;
  const Item item{*locator_, e->value, childPath(key), e->key.Mark()};
  const std::string expected = "expected a non-negative integer, got ";
  if (!e->value.IsScalar()) item.fail(expected + describe(e->value));
  bool outOfRange = false;
  const auto v = parseInteger<uint64_t>(e->value.Scalar(), &outOfRange);
  if (outOfRange) item.fail("integer out of range, got " + describe(e->value));
  if (!v) item.fail(expected + describe(e->value));
  out = *v;
}

void YamlReader::choice(const std::string& key, std::string& out,
                        const std::vector<std::string>& allowed) {
  const Entry* e = find(key);
  if (!e) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  const std::string text = e->value.IsScalar() ? e->value.Scalar() : std::string();
  for (const auto& a : allowed) {
    if (e->value.IsScalar() && text == a) {
      out = text;
      return;
    }
  }
  fail(key, "expected one of " + list + ", got " + describe(e->value));
}

std::vector<YAML::Node> YamlReader::sequence(const std::string& key, const Entry& e,
                                             const std::string& expected) {
  if (!e.value.IsSequence()) fail(key, "expected " + expected + ", got " + describe(e.value));
  std::vector<YAML::Node> items;
  for (const auto& n : e.value) items.push_back(n);
  return items;
}

void YamlReader::checkCount(const std::string& key, std::size_t count, std::size_t minCount) const {
  if (count >= minCount) return;
  if (minCount == 1) fail(key, "must not be empty");
  fail(key, "expected at least " + std::to_string(minCount) + " values, got " + std::to_string(count));
}

template <class List>
void YamlReader::readNumbers(const std::string& key, List& out, const NumberRange& each, std::size_t minCount,
                             const std::string& expected) {
  const Entry* e = find(key);
  if (!e) return;
  const auto items = sequence(key, *e, expected);
  List values{};
  if constexpr (std::is_same_v<List, std::vector<typename List::value_type>>) {
    checkCount(key, items.size(), minCount);
    values.resize(items.size());
  } else if (items.size() != values.size()) {
    fail(key, "expected " + expected + ", got a list of " + std::to_string(items.size()));
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item item{*locator_, items[i], elementPath(key, i), items[i].Mark()};
    if constexpr (std::is_floating_point_v<typename List::value_type>) {
      values[i] = readDouble(item, each);
    } else {
      values[i] = readInt64(item, each);
    }
  }
  out = std::move(values);
}

void YamlReader::read(const std::string& key, std::array<int64_t, 3>& out, const NumberRange& each) {
  readNumbers(key, out, each, 0, "a list of 3 integers");
}

void YamlReader::read(const std::string& key, std::array<double, 2>& out, const NumberRange& each) {
  readNumbers(key, out, each, 0, "a list of 2 numbers");
}

void YamlReader::read(const std::string& key, std::vector<int64_t>& out, const NumberRange& each,
                      std::size_t minCount) {
  readNumbers(key, out, each, minCount, "a list of integers");
}

void YamlReader::read(const std::string& key, std::vector<double>& out, const NumberRange& each,
                      std::size_t minCount) {
  readNumbers(key, out, each, minCount, "a list of numbers");
}

void YamlReader::read(const std::string& key, std::vector<std::array<int64_t, 3>>& out, const NumberRange& each) {
  const Entry* e = find(key);
  if (!e) return;
  const auto items = sequence(key, *e, "a list of [x, y, z] lists");
  std::vector<std::array<int64_t, 3>> values;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string path = elementPath(key, i);
    if (!items[i].IsSequence() || items[i].size() != 3) {
      failElement(key, i, "expected a list of 3 integers [x, y, z]");
    }
    std::array<int64_t, 3> v{};
    for (std::size_t j = 0; j < 3; ++j) {
      const YAML::Node item = items[i][j];
      v[j] = readInt64(Item{*locator_, item, path + "[" + std::to_string(j) + "]", item.Mark()}, each);
    }
    values.push_back(v);
  }
  out = std::move(values);
}

void YamlReader::read(const std::string& key, std::vector<std::string>& out, std::size_t minCount) {
  const Entry* e = find(key);
  if (!e) return;
  const auto items = sequence(key, *e, "a list of strings");
  checkCount(key, items.size(), minCount);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].IsScalar()) failElement(key, i, "expected a string, got " + describe(items[i]));
    values.push_back(items[i].Scalar());
  }
  out = std::move(values);
}

std::vector<YamlReader> YamlReader::sections(const std::string& key) {
  const Entry* e = find(key);
  if (!e) return {};
  const auto items = sequence(key, *e, "a list of mappings");
  std::vector<YamlReader> readers;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].IsMap()) failElement(key, i, "expected a mapping, got " + describe(items[i]));
    readers.emplace_back(*locator_, items[i], elementPath(key, i), items[i].Mark());
  }
  return readers;
}

void YamlReader::fail(const std::string& key, const std::string& what) const {
  for (const auto& [name, entry] : entries_) {
    if (name == key) locator_->fail(childPath(key), entry.key.Mark(), what);
  }
  locator_->fail(childPath(key), mark_, what);
}

void YamlReader::failElement(const std::string& key, std::size_t index, const std::string& what) const {
  const std::string path = elementPath(key, index);
  for (const auto& [name, entry] : entries_) {
    if (name == key && entry.value.IsSequence() && index < entry.value.size()) {
      locator_->fail(path, entry.value[index].Mark(), what);
    }
  }
  locator_->fail(path, mark_, what);
}

void YamlReader::finish() const {
  for (const auto& [name, entry] : entries_) {
    bool isKnown = false;
    for (const auto& k : known_) isKnown = isKnown || k == name;
    if (isKnown) continue;
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    locator_->fail(childPath(name), entry.key.Mark(), "unknown key (known keys: " + list + ")");
  }
}

}  // namespace seg
