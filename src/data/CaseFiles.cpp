#include "data/CaseFiles.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/Error.h"
#include "data/Dataset.h"

namespace seg {
namespace fs = std::filesystem;

namespace {

bool isNifti(const fs::path& p) {
  const std::string name = p.filename().string();
  auto endsWith = [&](const std::string& s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return endsWith(".nii") || endsWith(".nii.gz");
}

}  // namespace

std::vector<CaseFiles> discoverCases(const std::string& path, bool stripChannel) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    return {CaseFiles{caseIdFromFile(fs::path(path).filename().string(), stripChannel), {path}}};
  }
  if (!fs::is_directory(path, ec)) throw InputError("not found: " + path);
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_regular_file() || !isNifti(entry.path())) continue;
    const std::string name = entry.path().filename().string();
    if (name.front() == '.') continue;  // our own temporary files
    groups[caseIdFromFile(name, stripChannel)].push_back(entry.path().string());
  }
  if (groups.empty()) throw InputError("no NIfTI files (.nii, .nii.gz) in '" + path + "'");
  std::vector<CaseFiles> cases;
  for (auto& [id, files] : groups) {
    std::sort(files.begin(), files.end());  // _0000, _0001, ... in channel order
    cases.push_back({id, files});
  }
  return cases;
}

}  // namespace seg
