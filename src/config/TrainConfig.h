#pragma once
// Typed configuration for segtrain. YAML is parsed once, in src/config, into these
// structs; nothing below src/config sees YAML or string-keyed maps.
// Every field's default is the value written here; docs/config.md lists them all.
//
// Axis convention for user-facing sizes: x, y, z (NIfTI i, j, k order), the
// order ITK-SNAP and 3D Slicer show.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace seg {

// Foreground intensity statistics per channel for data.normalization: ct. Empty
// means "compute from the training cases at start"; the run's resolved config and
// checkpoints then hold the values, so segeval normalises exactly as training did.
struct CtStatsConfig {
  std::vector<double> clip_low;   // foreground percentile 0.5
  std::vector<double> clip_high;  // foreground percentile 99.5
  std::vector<double> mean;
  std::vector<double> std;
};

// One case of a plain case list (data.cases), instead of a dataset.json folder.
struct CaseListEntry {
  std::string id;                   // empty = from the first image's file name
  std::vector<std::string> images;  // one file per channel (a 4D file holds them all)
  std::string label;
};

// One region of region-based training (nnU-Net's {"whole tumour": [1, 2, 3]}): the
// network's channel for it is trained with sigmoid on "label is one of `labels`".
struct RegionConfig {
  std::string name;
  std::vector<int64_t> labels;  // label values (> 0) that make up the region
};

struct DataConfig {
  std::string root;                 // dataset folder holding dataset.json (required without cases)
  std::vector<CaseListEntry> cases; // plain list of training cases instead of dataset.json
  std::vector<std::string> labels;  // class names by index, with cases (0 = background)
  // Region-based training (docs/data.md): one sigmoid channel per region; empty = classes
  // (softmax), or the regions of dataset.json when it lists some (resolved at start).
  std::vector<RegionConfig> regions;
  // The label value each region is painted with when predictions become a label map, in
  // order (later regions overwrite earlier ones; nnU-Net's regions_class_order). One per region.
  std::vector<int64_t> regions_class_order;
  // Label value that marks unannotated voxels: no loss, no statistics, no sampling, no
  // metrics there. -1 = none, or dataset.json's "ignore" label (resolved at start).
  int64_t ignore_label = -1;
  std::string split_file;           // nnU-Net splits_final.json; data.fold indexes it
  int fold = 0;                     // validation fold, 0..num_folds-1
  int num_folds = 5;                // k of the k-fold split of the training cases
  uint64_t split_seed = 12345;      // seed of the case shuffle before splitting
  std::array<int64_t, 3> patch_size{64, 64, 64};  // x, y, z voxels
  double foreground_fraction = 0.33;  // share of patches forced to contain foreground
  std::string foreground_sampling = "class_voxel";  // class_voxel | lesion_uniform
  bool augment = true;              // nnU-Net's default augmentations (docs/data.md)
  bool reorient = true;             // to ITK's identity direction (LPS), docs/data.md
  bool resample = true;             // to target_spacing
  // x, y, z mm; empty = the training cases' median with nnU-Net's anisotropy rule,
  // resolved at start and saved in the run's config.
  std::vector<double> target_spacing;
  std::string normalization = "zscore";  // zscore | ct | none
  bool nonzero_mask = false;        // zscore over voxels where any channel is nonzero
  CtStatsConfig ct_stats;           // ct: resolved at start when empty
  std::string cache_dir;            // decoded-case cache (docs/data.md); empty = off
  int num_workers = 2;              // loader threads
  int queue_depth = 4;              // batches buffered ahead of the trainer
};

struct ModelConfig {
  std::string name = "unet";             // unet | resenc_unet (nnU-Net's ResidualEncoderUNet)
  std::vector<int64_t> features{16, 32, 64, 128};  // channels per encoder stage
  int convs_per_stage = 2;               // unet: convs per encoder and decoder stage
  // resenc_unet: residual blocks per encoder stage; empty = nnU-Net's 1, 3, 4, 6, 6, 6, ...
  std::vector<int64_t> blocks_per_stage;
  // Convs per decoder stage; 0 = convs_per_stage for unet, 1 for resenc_unet (nnU-Net's ResEnc presets).
  int decoder_convs_per_stage = 0;
  std::string norm = "instance";         // instance | batch | group
  std::string activation = "leaky_relu";  // leaky_relu | relu
  double dropout = 0.0;
  // Per stage, x, y, z like data.patch_size (the factory reverses to tensor z, y, x).
  std::vector<std::array<int64_t, 3>> kernel_sizes;  // empty = 3 everywhere
  std::vector<std::array<int64_t, 3>> strides;       // empty = [1,1,1] then [2,2,2]
  bool deep_supervision = false;  // nnU-Net-weighted loss over all decoder levels
  bool checkpointing = false;     // recompute stages in backward (less memory)
};

struct LossConfig {
  std::string name = "dice";        // dice | dice_ce | gdl | ce
  bool include_background = true;   // MONAI default
  std::string activation = "softmax";  // softmax | sigmoid
  bool squared_pred = false;
  bool jaccard = false;
  bool batch = false;
  double smooth_nr = 1e-5;
  double smooth_dr = 1e-5;
  std::vector<double> class_weights;  // empty = all 1
  double lambda_dice = 1.0;
  double lambda_ce = 1.0;
  std::string w_type = "square";      // gdl: square | simple | uniform
};

struct OptimizerConfig {
  std::string name = "sgd";      // sgd | adam | adamw
  double lr = 1e-2;
  double momentum = 0.99;        // sgd
  bool nesterov = true;          // sgd
  double weight_decay = 3e-5;
  std::array<double, 2> betas{0.9, 0.999};  // adam / adamw
  double eps = 1e-8;             // adam / adamw
};

struct SchedulerConfig {
  std::string name = "poly";     // poly | cosine | constant
  double exponent = 0.9;         // poly
  int64_t warmup_iterations = 0; // linear warm-up from 0 to lr
  double min_lr = 0.0;           // cosine floor
};

struct TrainSection {
  int64_t epochs = 100;
  int64_t iterations_per_epoch = 250;
  int64_t batch_size = 2;
  OptimizerConfig optimizer;
  SchedulerConfig scheduler;
  double grad_clip = 12.0;       // max global L2 norm; 0 disables
  uint64_t seed = 12345;
  bool deterministic = false;
  int64_t val_every = 1;         // epochs between validations; 0 disables
  int64_t val_iterations = 10;   // validation batches per validation
  int64_t full_val_every = 0;    // epochs between full-volume validations (sliding window); 0 = never
  // What decides checkpoint_best.pt (docs/training.md "Choosing the best checkpoint"):
  // pseudo_dice (EMA of the patch pseudo-Dice) | lesion_f1 | lesion_sensitivity (pooled
  // over the full-volume validation, mean over foreground classes; need full_val_every > 0).
  std::string select_by = "pseudo_dice";
  int threads = 0;               // intra-op threads; 0 = LibTorch default
  std::string device = "cpu";    // cpu | cuda | auto
  // Fine-tuning: weights from another run's checkpoint (docs/training.md). Tensors whose
  // shape differs (the head when classes change, the first conv when channels change) are
  // adapted or re-initialised and the log lists what was loaded. Empty = train from scratch.
  std::string init_from;
  int64_t freeze_encoder_epochs = 0;  // encoder frozen for the first N epochs (with init_from)
};

struct AmpConfig {
  bool enabled = false;
  std::string dtype = "bfloat16";  // bfloat16 | float16 (float16 needs CUDA)
};

struct DistConfig {
  std::string backend = "auto";  // auto | gloo | nccl
  int64_t timeout_s = 1800;            // collectives (a hung or silent peer)
  int64_t rendezvous_timeout_s = 45;   // start-up: waiting for every rank to join
  int64_t bucket_mb = 25;        // gradient all-reduce bucket size (DDP's default)
};

struct EvalConfig {
  double overlap = 0.5;          // sliding-window tile overlap, [0, 1)
  bool mirror_tta = false;
  int64_t tile_batch = 2;        // tiles per forward pass
  int64_t tile_workers = 0;      // CPU threads running tiles in parallel; 0 = auto
  std::vector<double> size_bins{0.0, 10.0, 100.0, 1000.0};  // mm^3, lower edge inclusive
  int connectivity = 26;         // 6 | 18 | 26
  std::string empty_rule = "nan";  // nan | one | zero
};

struct OutputConfig {
  std::string dir = "runs/default";
  double checkpoint_every_minutes = 30.0;
  std::string log_level = "info";  // trace | debug | info | warn | error
  bool tensorboard = false;         // TensorBoard event files in RUN/tensorboard/
};

struct TrainConfig {
  std::string source;  // file the config came from (for messages)
  DataConfig data;
  ModelConfig model;
  LossConfig loss;
  TrainSection train;
  AmpConfig amp;
  DistConfig dist;
  EvalConfig eval;
  OutputConfig output;
};

}  // namespace seg
