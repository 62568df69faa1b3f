#pragma once
// Private to src/config: the visitor that reads the config field table (ConfigFields.h)
// through YamlReader, so the loader names every key, type and range only there. Checks
// that involve several fields are hung on the walk by the loader (after / afterEach).
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "config/ConfigFields.h"
#include "config/YamlReader.h"

namespace seg {

class FieldReader {
 public:
  using Check = std::function<void(const YamlReader& section)>;

  // `top` reads the top-level mapping; its finish() is left to the caller.
  explicit FieldReader(YamlReader& top) : readers_{&top}, prefixes_{""} {}

  // Runs `check` with the reader of the key's section right after the key at dotted
  // `path` ("data.num_folds") is read: a check that involves several keys fails at the
  // point of the walk where its last key is read, before the keys after it are read
  // and before the section's unknown-key check.
  void after(const std::string& path, Check check);

  // Runs `check` on each element of the list of mappings at `path`, after the element's
  // unknown-key check (so a misspelt key is reported as such, not as a missing one).
  template <class T>
  void afterEach(const std::string& path, std::function<void(const YamlReader& item, const T& value)> check) {
    auto run = [check = std::move(check)](const YamlReader& r, const void* v) { check(r, *static_cast<const T*>(v)); };
    if (!each_.emplace(path, EachCheck{std::type_index(typeid(T)), std::move(run)}).second) {
      throw std::logic_error("FieldReader: a second check on each " + path);
    }
  }

  // Throws std::logic_error for a path given to after/afterEach that the walk never
  // reached: a misspelt path would otherwise drop its check silently.
  void requireAllReached() const;

  // The visitor interface of ConfigFields.h.
  template <class T, class... Rules>
  void field(const char* key, T& out, const Rules&... rules) {
    reader().read(key, out, rules...);
    reached(key);
  }
  void choice(const char* key, std::string& out, const std::vector<std::string>& allowed) {
    reader().choice(key, out, allowed);
    reached(key);
  }
  template <class S>
  void section(const char* key, S& out) {
    YamlReader sub = reader().section(key);
    enter(sub, pathOf(key) + ".");
    visitFields(*this, out);
    sub.finish();
    leave();
    reached(key);
  }
  template <class T>
  void sections(const char* key, std::vector<T>& out) {
    const std::string path = pathOf(key);
    for (YamlReader item : reader().sections(key)) {
      T value;
      enter(item, path + "[].");
      visitFields(*this, value);
      leave();
      item.finish();
      checkElement(path, item, value);
      out.push_back(std::move(value));
    }
    reached(key);
  }

 private:
  struct EachCheck {
    std::type_index type;
    std::function<void(const YamlReader&, const void*)> run;
  };

  YamlReader& reader() { return *readers_.back(); }
  std::string pathOf(const char* key) const { return prefixes_.back() + key; }
  void enter(YamlReader& section, std::string prefix) {
    readers_.push_back(&section);
    prefixes_.push_back(std::move(prefix));
  }
  void leave() {
    readers_.pop_back();
    prefixes_.pop_back();
  }
  void reached(const char* key);
  template <class T>
  void checkElement(const std::string& path, const YamlReader& item, const T& value) {
    const auto it = each_.find(path);
    if (it == each_.end()) return;
    if (it->second.type != std::type_index(typeid(T))) {
      throw std::logic_error("FieldReader: the check on each " + path + " takes another element type");
    }
    it->second.run(item, &value);
  }

  std::vector<YamlReader*> readers_;   // the section being read is last
  std::vector<std::string> prefixes_;  // its dotted path and "." ("" at the top level)
  std::map<std::string, Check> after_;
  std::map<std::string, EachCheck> each_;
  std::vector<std::string> reachedPaths_;
};

}  // namespace seg
