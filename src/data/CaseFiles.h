#pragma once
// Cases found by file name in a folder of NIfTI files (segeval's images, predictions and
// labels folders), as opposed to the dataset.json manifests of data/Dataset.h.
#include <string>
#include <vector>

namespace seg {

// Groups NIfTI files of a folder (or one file) by case id: `<id>_<cccc>.nii[.gz]`
// files become the channels of case <id> when stripChannel, else one file per case.
// Throws InputError naming the folder when it holds no NIfTI files.
struct CaseFiles {
  std::string id;
  std::vector<std::string> files;
};
std::vector<CaseFiles> discoverCases(const std::string& path, bool stripChannel);

}  // namespace seg
