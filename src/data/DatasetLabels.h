#pragma once
// The labels of a dataset.json, read by one parser for training (data/Dataset.h) and for
// segeval's class count and names (findDatasetLabels). Both refuse what the other would
// refuse: label 0 (background) must be there, indices are 0..255. nnU-Net v2's region
// lists ({"whole tumour": [1, 2, 3]}, with "regions_class_order") and its ignore label
// ({"ignore": 4}, the highest value) are read into LabelSpec.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace seg {

// nnU-Net v2 writes {"name": index}; the Medical Segmentation Decathlon {"index": "name"}.
enum class LabelsForm { NameToIndex, IndexToName };

// One region of region-based training: the voxels whose label is one of `labels`.
struct LabelRegion {
  std::string name;
  std::vector<int> labels;  // label values > 0, ascending, no repeats
};

struct LabelSpec {
  // Label value -> name (0 = background). With regions: background and every value that a
  // region uses (named when an entry is a single value, else ""). Never the ignore label.
  std::map<int, std::string> classes;
  std::vector<LabelRegion> regions;    // nnU-Net order of the entries; empty = plain classes
  std::vector<int> regionsClassOrder;  // one label value per region (required with regions)
  int ignoreLabel = -1;                // -1 = none; else above every class value
};

// The "labels" object of a dataset.json (and, for regions, its "regions_class_order",
// null when the file has none). `where` prefixes every error ("x/dataset.json: labels").
// Regions and the ignore label exist in the NameToIndex (nnU-Net v2) form only.
// Takes an ordered_json: regions keep the order of the file's entries (nnU-Net reads
// dataset.json into a Python dict, which keeps it; nlohmann::json would sort the keys).
LabelSpec parseLabelSpec(const nlohmann::ordered_json& labels, const nlohmann::ordered_json& regionsClassOrder,
                         LabelsForm form, const std::string& where);

// Class index -> name (parseLabelSpec(...).classes without regions or ignore label).
std::map<int, std::string> parseDatasetLabels(const nlohmann::json& labels, LabelsForm form, const std::string& where);

// "3" -> 3; anything but up to 6 digits is an InputError naming `where`.
int parseLabelIndex(const std::string& text, const std::string& where);

struct DatasetLabels {
  int numClasses = 0;              // largest index + 1; 0 when no dataset.json was found
  std::vector<std::string> names;  // indexed by class ("" where the file names none)
  std::string path;                // the dataset.json used
  std::vector<LabelRegion> regions;  // nnU-Net region entries, with their class order
  std::vector<int> regionsClassOrder;
  int ignoreLabel = -1;            // -1 = none
};
// The dataset.json in `labelsPath` (a folder, or a file's folder) or in the folder above
// it. Its form is nnU-Net v2 when it has channel_names, MSD when it has training or
// modality, else that of its first label. Throws InputError naming the file.
DatasetLabels findDatasetLabels(const std::string& labelsPath);

}  // namespace seg
