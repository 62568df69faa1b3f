#pragma once
// Private to src/config: where a config value came from, for messages that read
// "file:line:col: dotted.key: ...".
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

namespace seg {

// Says where a config value came from: "file:line:col" for a node of the file,
// "--set a.b=c" for a value (or a section) an override put into the tree, plain
// "file" when there is no position (a key that is missing altogether).
class ConfigLocator {
 public:
  explicit ConfigLocator(std::string source);

  // `path` (and everything below it) now comes from override `raw`. An override of
  // a whole section replaces what earlier overrides put below it.
  void addOverride(const std::string& path, const std::string& raw);

  std::string where(const std::string& path, const YAML::Mark& mark) const;
  const std::string& source() const { return source_; }

  // Throws ConfigError "<where>: <path>: <what>".
  [[noreturn]] void fail(const std::string& path, const YAML::Mark& mark,
                         const std::string& what) const;

 private:
  std::string source_;
  std::map<std::string, std::string> overrides_;  // dotted path -> "key=value" as given
};

}  // namespace seg
