#pragma once
// Private to src/config: typed reading of a YAML mapping with messages that name
// "file:line:col: dotted.key: ...". Only src/config and its tests include this file,
// so yaml-cpp stays out of every other layer.
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/ConfigLocator.h"
#include "config/NumberRange.h"

namespace seg {

// Reads the keys of one mapping (a section). Every getter records its key as known,
// leaves the output untouched when the key is absent (so the struct default stays),
// and throws ConfigError naming the key on a wrong type or range. finish() then
// rejects the keys nobody asked for. An absent or empty (null) section reads as an
// empty mapping, so `train:` with everything commented out means "all defaults".
class YamlReader {
 public:
  // `keyMark` is the position of the key that introduced this mapping (the root's own
  // mark at the top level); `path` is its dotted path ("" at the top level).
  YamlReader(const ConfigLocator& locator, const YAML::Node& node, std::string path,
             const YAML::Mark& keyMark);

  bool has(const std::string& key) const;
  YamlReader section(const std::string& key);

  void read(const std::string& key, bool& out);
  void read(const std::string& key, std::string& out);
  void read(const std::string& key, double& out, const NumberRange& range);
  void read(const std::string& key, int& out, const NumberRange& range);
  void read(const std::string& key, int64_t& out, const NumberRange& range);
  void read(const std::string& key, uint64_t& out);
  void choice(const std::string& key, std::string& out, const std::vector<std::string>& allowed);
  void read(const std::string& key, std::array<int64_t, 3>& out, const NumberRange& each);
  void read(const std::string& key, std::array<double, 2>& out, const NumberRange& each);
  // Variable length, at least `minCount` elements.
  void read(const std::string& key, std::vector<int64_t>& out, const NumberRange& each,
            std::size_t minCount);
  void read(const std::string& key, std::vector<double>& out, const NumberRange& each,
            std::size_t minCount);
  void read(const std::string& key, std::vector<std::string>& out, std::size_t minCount);
  // A list of mappings ([{a: 1}, {a: 2}]): one reader per element, named key[i].
  std::vector<YamlReader> sections(const std::string& key);
  // A list of 3-integer lists ([[1, 1, 1], [2, 2, 1]]); errors name key[i][j].
  void read(const std::string& key, std::vector<std::array<int64_t, 3>>& out, const NumberRange& each);

  // For checks that involve other keys: fails at `key`'s position (or the section's
  // when the key is absent).
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  // For element checks: fails at element `index` of list `key`.
  [[noreturn]] void failElement(const std::string& key, std::size_t index,
                                const std::string& what) const;

  // Throws on the first key that no getter asked for, listing the known ones.
  void finish() const;

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  const Entry* find(const std::string& key);  // records `key` as known
  std::string childPath(const std::string& key) const;
  std::string elementPath(const std::string& key, std::size_t index) const;
  // The numeric lists above: a std::array needs exactly its size, a vector minCount.
  template <class List>
  void readNumbers(const std::string& key, List& out, const NumberRange& each, std::size_t minCount,
                   const std::string& expected);
  std::vector<YAML::Node> sequence(const std::string& key, const Entry& e,
                                   const std::string& expected);
  void checkCount(const std::string& key, std::size_t count, std::size_t minCount) const;

  const ConfigLocator* locator_;
  std::string path_;
  YAML::Mark mark_;
  std::vector<std::pair<std::string, Entry>> entries_;  // document order
  std::vector<std::string> known_;                      // order of the getters
};

}  // namespace seg
