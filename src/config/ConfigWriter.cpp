// TrainConfig -> YAML (toYaml, declared in ConfigLoader.h). The run directory and
// every checkpoint keep this text, and parseTrainConfig reads it back, so it lists
// every key and prints doubles exactly. The keys and their order come from the field
// table (ConfigFields.h) that the loader walks too.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/ConfigFields.h"
#include "config/ConfigLoader.h"
#include "config/NumberRange.h"

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

std::string yamlValue(bool v) { return v ? "true" : "false"; }
std::string yamlValue(double v) { return yamlNumber(v); }
std::string yamlValue(const std::string& s) { return yamlString(s); }
template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
std::string yamlValue(Int v) {
  return std::to_string(v);
}
// Lists in flow style, one key per line, as ConfigDiff expects: [8, 16], [[1, 1, 1], [2, 2, 1]].
template <class List, class = decltype(std::declval<const List&>().begin())>
std::string yamlValue(const List& values) {
  std::string s = "[";
  for (const auto& v : values) s += (s.size() > 1 ? ", " : "") + yamlValue(v);
  return s + "]";
}

// The one-line form of a mapping inside a list: "{id: x, images: [a.nii], label: y}".
class FlowWriter {
 public:
  template <class T, class... Rules>
  void field(const char* key, const T& v, const Rules&...) {
    put(key, yamlValue(v));
  }
  void choice(const char* key, const std::string& v, const std::vector<std::string>&) { put(key, yamlValue(v)); }
  std::string text() const { return "{" + text_ + "}"; }

 private:
  void put(const char* key, const std::string& value) { text_ += (text_.empty() ? "" : ", ") + (key + (": " + value)); }
  std::string text_;
};

// Writes the walk of the field table as "key: value" lines, a section's keys two spaces
// deeper than its own.
class BlockWriter {
 public:
  explicit BlockWriter(std::ostringstream& out) : out_(out) {}

  template <class T, class... Rules>
  void field(const char* key, const T& v, const Rules&...) {
    put(key, yamlValue(v));
  }
  void choice(const char* key, const std::string& v, const std::vector<std::string>&) { put(key, yamlValue(v)); }
  template <class S>
  void section(const char* key, const S& s) {
    out_ << pad_ << key << ":\n";
    pad_ += "  ";
    visitFields(*this, s);
    pad_.resize(pad_.size() - 2);
  }
  template <class S>
  void sections(const char* key, const std::vector<S>& items) {
    std::string list = "[";
    for (const S& item : items) {
      FlowWriter flow;
      visitFields(flow, item);
      list += (list.size() > 1 ? ", " : "") + flow.text();
    }
    put(key, list + "]");
  }

 private:
  void put(const char* key, const std::string& text) { out_ << pad_ << key << ": " << text << "\n"; }

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
  BlockWriter writer(out);
  visitFields(writer, c);
  return out.str();
}

}  // namespace seg
