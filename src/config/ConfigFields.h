#pragma once
// The one table of config keys (design.md section 2): for every section of TrainConfig,
// its YAML keys in the order toYaml writes them, each once, with its member and the
// range, minimum count or choices the loader checks. The loader (ConfigLoader.cpp, with
// FieldReader) and the writer (ConfigWriter.cpp) both walk it; adding a field here is
// all it takes for both. Checks that involve more than one field stay in the loader.
//
// visitFields(v, section) calls, per key, one of
//   v.field(key, member)                 bool, string, uint64_t
//   v.field(key, member, range)          double, int, int64_t, fixed-size lists, [x, y, z] lists
//   v.field(key, member, range, count)   number lists with at least `count` elements
//   v.field(key, member, count)          string lists with at least `count` elements
//   v.choice(key, member, {allowed...})  strings from a fixed set
//   v.section(key, member)               a nested mapping (visitFields of the member)
//   v.sections(key, member)              a list of mappings (visitFields of each element)
// Each takes the member as const for a const section, so one table serves both directions.
#include <type_traits>

#include "config/NumberRange.h"
#include "config/TrainConfig.h"

namespace seg {

// Enables the overload when `C` is section type `S`, const or not (SFINAE rather than a
// concept: the GPU machine's LibTorch 2.11 builds as C++17).
template <class C, class S>
using IfSection = std::enable_if_t<std::is_same_v<std::remove_const_t<C>, S>, int>;

template <class V, class C, IfSection<C, CaseListEntry> = 0>
void visitFields(V& v, C& c) {
  v.field("id", c.id);
  v.field("images", c.images, 1);
  v.field("label", c.label);
}

template <class V, class C, IfSection<C, RegionConfig> = 0>
void visitFields(V& v, C& c) {
  v.field("name", c.name);
  v.field("labels", c.labels, NumberRange::closed(1, 255), 1);
}

template <class V, class C, IfSection<C, CtStatsConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.field("clip_low", c.clip_low, R::any(), 0);
  v.field("clip_high", c.clip_high, R::any(), 0);
  v.field("mean", c.mean, R::any(), 0);
  v.field("std", c.std, R::atLeast(0), 0);
}

template <class V, class C, IfSection<C, DataConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.field("root", c.root);
  v.sections("cases", c.cases);
  v.field("labels", c.labels, 0);
  v.sections("regions", c.regions);
  v.field("regions_class_order", c.regions_class_order, R::closed(1, 255), 0);
  v.field("ignore_label", c.ignore_label, R::closed(-1, 255));
  v.field("split_file", c.split_file);
  v.field("fold", c.fold, R::any());
  v.field("num_folds", c.num_folds, R::atLeast(2));
  v.field("split_seed", c.split_seed);
  v.field("patch_size", c.patch_size, R::atLeast(8));
  v.field("foreground_fraction", c.foreground_fraction, R::closed(0, 1));
  v.choice("foreground_sampling", c.foreground_sampling, {"class_voxel", "lesion_uniform"});
  v.field("augment", c.augment);
  v.field("reorient", c.reorient);
  v.field("resample", c.resample);
  v.field("target_spacing", c.target_spacing, R::greaterThan(0), 0);
  v.choice("normalization", c.normalization, {"zscore", "ct", "none"});
  v.field("nonzero_mask", c.nonzero_mask);
  v.section("ct_stats", c.ct_stats);
  v.field("cache_dir", c.cache_dir);
  v.field("num_workers", c.num_workers, R::closed(0, 64));
  v.field("queue_depth", c.queue_depth, R::atLeast(1));
}

template <class V, class C, IfSection<C, ModelConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.choice("name", c.name, {"unet", "resenc_unet"});
  v.field("features", c.features, R::atLeast(1), 1);
  v.field("convs_per_stage", c.convs_per_stage, R::atLeast(1));
  v.field("blocks_per_stage", c.blocks_per_stage, R::atLeast(1), 0);
  v.field("decoder_convs_per_stage", c.decoder_convs_per_stage, R::atLeast(0));
  v.choice("norm", c.norm, {"instance", "batch", "group"});
  v.choice("activation", c.activation, {"leaky_relu", "relu"});
  v.field("dropout", c.dropout, R::closedOpen(0, 1));
  v.field("kernel_sizes", c.kernel_sizes, R::atLeast(1));
  v.field("strides", c.strides, R::atLeast(1));
  v.field("deep_supervision", c.deep_supervision);
  v.field("checkpointing", c.checkpointing);
}

template <class V, class C, IfSection<C, LossConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.choice("name", c.name, {"dice", "dice_ce", "gdl", "ce"});
  v.field("include_background", c.include_background);
  v.choice("activation", c.activation, {"softmax", "sigmoid"});
  v.field("squared_pred", c.squared_pred);
  v.field("jaccard", c.jaccard);
  v.field("batch", c.batch);
  v.field("smooth_nr", c.smooth_nr, R::atLeast(0));
  v.field("smooth_dr", c.smooth_dr, R::atLeast(0));
  v.field("class_weights", c.class_weights, R::atLeast(0), 0);
  v.field("lambda_dice", c.lambda_dice, R::atLeast(0));
  v.field("lambda_ce", c.lambda_ce, R::atLeast(0));
  v.choice("w_type", c.w_type, {"square", "simple", "uniform"});
}

template <class V, class C, IfSection<C, OptimizerConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.choice("name", c.name, {"sgd", "adam", "adamw"});
  v.field("lr", c.lr, R::greaterThan(0));
  v.field("momentum", c.momentum, R::closedOpen(0, 1));
  v.field("nesterov", c.nesterov);
  v.field("weight_decay", c.weight_decay, R::atLeast(0));
  v.field("betas", c.betas, R::closedOpen(0, 1));
  v.field("eps", c.eps, R::greaterThan(0));
}

template <class V, class C, IfSection<C, SchedulerConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.choice("name", c.name, {"poly", "cosine", "constant"});
  v.field("exponent", c.exponent, R::greaterThan(0));
  v.field("warmup_iterations", c.warmup_iterations, R::atLeast(0));
  v.field("min_lr", c.min_lr, R::atLeast(0));
}

template <class V, class C, IfSection<C, TrainSection> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.field("epochs", c.epochs, R::atLeast(1));
  v.field("iterations_per_epoch", c.iterations_per_epoch, R::atLeast(1));
  v.field("batch_size", c.batch_size, R::atLeast(1));
  v.section("optimizer", c.optimizer);
  v.section("scheduler", c.scheduler);
  v.field("grad_clip", c.grad_clip, R::atLeast(0));
  v.field("seed", c.seed);
  v.field("deterministic", c.deterministic);
  v.field("val_every", c.val_every, R::atLeast(0));
  v.field("val_iterations", c.val_iterations, R::atLeast(1));
  v.field("full_val_every", c.full_val_every, R::atLeast(0));
  v.choice("select_by", c.select_by, {"pseudo_dice", "lesion_f1", "lesion_sensitivity"});
  v.field("threads", c.threads, R::atLeast(0));
  v.choice("device", c.device, {"cpu", "cuda", "auto"});
  v.field("init_from", c.init_from);
  v.field("freeze_encoder_epochs", c.freeze_encoder_epochs, R::atLeast(0));
}

template <class V, class C, IfSection<C, AmpConfig> = 0>
void visitFields(V& v, C& c) {
  v.field("enabled", c.enabled);
  v.choice("dtype", c.dtype, {"bfloat16", "float16"});
}

template <class V, class C, IfSection<C, DistConfig> = 0>
void visitFields(V& v, C& c) {
  const NumberRange positive = NumberRange::atLeast(1);  // seconds, megabytes
  v.choice("backend", c.backend, {"auto", "gloo", "nccl"});
  v.field("timeout_s", c.timeout_s, positive);
  v.field("rendezvous_timeout_s", c.rendezvous_timeout_s, positive);
  v.field("bucket_mb", c.bucket_mb, positive);
}

template <class V, class C, IfSection<C, EvalConfig> = 0>
void visitFields(V& v, C& c) {
  using R = NumberRange;
  v.field("overlap", c.overlap, R::closedOpen(0, 1));
  v.field("mirror_tta", c.mirror_tta);
  v.field("tile_batch", c.tile_batch, R::atLeast(1));
  v.field("tile_workers", c.tile_workers, R::atLeast(0));
  v.field("size_bins", c.size_bins, R::atLeast(0), 1);
  v.field("connectivity", c.connectivity, R::any());  // 6, 18 or 26: checked by the loader
  v.choice("empty_rule", c.empty_rule, {"nan", "one", "zero"});
}

template <class V, class C, IfSection<C, OutputConfig> = 0>
void visitFields(V& v, C& c) {
  v.field("dir", c.dir);
  v.field("checkpoint_every_minutes", c.checkpoint_every_minutes, NumberRange::greaterThan(0));
  v.choice("log_level", c.log_level, {"trace", "debug", "info", "warn", "error"});
  v.field("tensorboard", c.tensorboard);
}

// The top level: one section per struct. TrainConfig::source is no key (toYaml writes
// it as a comment).
template <class V, class C, IfSection<C, TrainConfig> = 0>
void visitFields(V& v, C& c) {
  v.section("data", c.data);
  v.section("model", c.model);
  v.section("loss", c.loss);
  v.section("train", c.train);
  v.section("amp", c.amp);
  v.section("dist", c.dist);
  v.section("eval", c.eval);
  v.section("output", c.output);
}

}  // namespace seg
