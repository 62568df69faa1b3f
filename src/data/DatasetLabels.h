#pragma once
// The labels of a dataset.json, read by one parser for training (data/Dataset.h) and for
// segeval's class count and names (findDatasetLabels). Both refuse what the other would
// refuse: label 0 (background) must be there, indices are 0..255, and region lists
// (nnU-Net's {"whole tumour": [1, 2, 3]}) are refused until region-based training exists.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace seg {

// nnU-Net v2 writes {"name": index}; the Medical Segmentation Decathlon {"index": "name"}.
enum class LabelsForm { NameToIndex, IndexToName };

// Class index -> name. `where` prefixes every error ("x/dataset.json: labels").
std::map<int, std::string> parseDatasetLabels(const nlohmann::json& labels, LabelsForm form, const std::string& where);

// "3" -> 3; anything but up to 6 digits is an InputError naming `where`.
int parseLabelIndex(const std::string& text, const std::string& where);

struct DatasetLabels {
  int numClasses = 0;              // largest index + 1; 0 when no dataset.json was found
  std::vector<std::string> names;  // indexed by class ("" where the file names none)
  std::string path;                // the dataset.json used
};
// The dataset.json in `labelsPath` (a folder, or a file's folder) or in the folder above
// it. Its form is nnU-Net v2 when it has channel_names, MSD when it has training or
// modality, else that of its first label. Throws InputError naming the file.
DatasetLabels findDatasetLabels(const std::string& labelsPath);

}  // namespace seg
