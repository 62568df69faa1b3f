#pragma once
// Dataset manifests: nnU-Net / Medical Segmentation Decathlon style folders with a
// dataset.json. Plain data; reading the volumes is NiftiIO's job.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/DatasetLabels.h"

namespace seg {

struct CaseEntry {
  std::string id;
  std::vector<std::string> images;  // one path per channel (absolute or root-relative resolved)
  std::string label;                // empty for unlabeled test cases
};

struct DatasetManifest {
  std::string root;
  std::string name;
  std::vector<std::string> channelNames;
  std::map<int, std::string> labels;  // class index -> name (0 = background); never the ignore label
  std::vector<LabelRegion> regions;   // dataset.json region entries (nnU-Net v2); empty = classes
  std::vector<int> regionsClassOrder; // one label value per region
  int ignoreLabel = -1;               // dataset.json's "ignore" label; -1 = none
  std::string fileEnding = ".nii.gz";
  std::vector<CaseEntry> training;
  std::vector<CaseEntry> test;        // imagesTs/labelsTs when present

  int numClasses() const;             // max label index + 1
};

// Reads root/dataset.json. nnU-Net v2 keys (channel_names, labels name->index,
// numTraining, file_ending; cases discovered in imagesTr/labelsTr as
// <case>_<cccc><ending>) and MSD keys (modality, labels index->name,
// training: [{image, label}], test: [...]). Throws InputError naming the file/case.
DatasetManifest loadDataset(const std::string& root);

// A manifest from a plain case list (the config's data.cases) instead of a folder:
// `labelNames` by class index (background first). Relative paths are resolved against
// `root` when it is not empty. An empty id becomes the first image's file name without
// .nii[.gz] and _0000. Throws InputError for missing files, repeated ids, differing
// channel counts or an empty list, naming the case.
DatasetManifest manifestFromList(std::vector<CaseEntry> cases, const std::vector<std::string>& labelNames,
                                 const std::string& root);

// Case id from a file name: strips .nii/.nii.gz and, when stripChannel, a trailing _0000.
std::string caseIdFromFile(const std::string& fileName, bool stripChannel);

}  // namespace seg
