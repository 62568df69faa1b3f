#pragma once
// The model side of segeval: one checkpoint, or several as an ensemble, loaded with the
// run's stored config, predicting a loaded case back in its input geometry (sliding window,
// optional mirror TTA, probabilities resampled to the input grid, labelsFromScores).
// docs/evaluation.md, "Ensembles". No torch in this header (pimpl).
#include <memory>
#include <string>
#include <vector>

#include "config/TrainConfig.h"
#include "core/Image.h"
#include "core/LabelEncoding.h"
#include "data/CaseLoader.h"

namespace seg {

struct PredictorOptions {
  double overlap = -1.0;     // < 0: eval.overlap of the (first) checkpoint's stored config
  int64_t tileBatch = 0;     // 0: eval.tile_batch of the stored config
  int64_t tileWorkers = -1;  // -1: eval.tile_workers of the stored config; 0 = auto
  bool mirror = false;       // or eval.mirror_tta of the stored config
  std::string device = "cpu";
};

// The label encoding of a run, from its resolved config (the training run wrote the
// regions and ignore label it used there, from dataset.json or the config itself).
// Throws InputError prefixed by `where`.
LabelEncoding encodingOf(const DataConfig& data, const std::string& where);

// Label values a reference may hold under `e` for `numClasses` network classes: the
// classes (or every region value) and the ignore label. loadCase refuses larger ones.
int labelValueBound(const LabelEncoding& e, int numClasses);

class Predictor {
 public:
  // One checkpoint, or several = an ensemble. InputError naming the checkpoint and what differs when
  // members disagree in input channels, output channels, label encoding (regions/ignore), activation,
  // patch size or preprocessing (spacing, normalization, CT statistics).
  Predictor(const std::vector<std::string>& checkpoints, const PredictorOptions& options);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  size_t size() const;  // number of members
  const std::string& checkpoint(size_t m) const;
  const TrainConfig& config() const;            // the first member's stored config
  const LabelEncoding& encoding() const;        // the run's regions / ignore label
  int64_t numClasses() const;                   // network output channels
  int64_t inChannels() const;
  const PreprocessOptions& preprocess() const;  // what loadCase needs
  int labelBound() const;                       // label value bound for loadCase
  bool sigmoid() const;                         // sigmoid (or regions) rather than softmax outputs
  double overlap() const;                       // the sliding window's resolved settings, for logs
  bool mirror() const;

  // Class map in the case's input geometry; probabilities (K channels, input grid) into
  // *probabilities when not null.
  // One member: the blended logits decide (softmax / sigmoid taken after blending, as nnU-Net).
  // With several members: the members' softmax/sigmoid probabilities averaged tile by tile,
  // then blended (see docs/evaluation.md for how that differs from nnU-Net's logit average).
  LabelVolume predict(const LoadedCase& c, Volume* probabilities = nullptr) const;
  // Member m alone, exactly as a one-checkpoint Predictor of it would predict.
  LabelVolume predictMember(size_t m, const LoadedCase& c, Volume* probabilities = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seg
