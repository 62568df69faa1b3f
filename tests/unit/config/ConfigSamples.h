#pragma once
// Sample configs shared by the config tests.
#include "config/TrainConfig.h"

namespace seg::test {

// Every field away from its default (and valid), so a key that toYaml forgets or
// misspells shows up as a difference or an unknown-key error after the round trip.
// One keeps its default: model.checkpointing (it excludes model.dropout > 0;
// checkpointingInsteadOfDropout() covers it).
inline TrainConfig everyFieldChanged() {
  TrainConfig c;
  c.data.root = "weird: path #1/ünïcode";
  c.data.fold = 3;
  c.data.num_folds = 4;
  c.data.split_seed = 18446744073709551615ull;
  c.data.patch_size = {96, 80, 48};
  c.data.foreground_fraction = 0.1 + 0.2;  // 0.30000000000000004: needs 17 digits
  c.data.normalization = "ct";
  c.data.cases = {{"p: 1", {"a/x_0000.nii.gz", "a/x #1.nii.gz"}, "l/x.nii.gz"}, {"", {"y.nii"}, "ly.nii"}};
  c.data.labels = {"background", "tumour: core"};
  c.data.regions = {{"whole: tumour", {1, 2, 3}}, {"core", {2}}};
  c.data.regions_class_order = {1, 2};
  c.data.ignore_label = 255;
  c.data.split_file = "splits_final.json";
  c.data.cache_dir = "/tmp/cache dir";
  c.data.reorient = false;
  c.data.resample = false;
  c.data.target_spacing = {0.1 + 0.2, 1.5, 5.0};
  c.data.nonzero_mask = true;
  c.data.ct_stats = {{-1000.5, 1e-7}, {2500.0, 0.1}, {40.25, 0.05}, {350.125, 1.0 / 3.0}};
  c.data.num_workers = 7;
  c.data.queue_depth = 9;
  c.data.foreground_sampling = "lesion_uniform";
  c.data.augment = false;
  c.model.name = "resenc_unet";
  c.model.features = {8, 16};
  c.model.convs_per_stage = 3;
  c.model.blocks_per_stage = {1, 2};
  c.model.decoder_convs_per_stage = 2;
  c.model.norm = "group";
  c.model.activation = "relu";
  c.model.dropout = 0.25;
  c.model.kernel_sizes = {{3, 3, 1}, {3, 3, 3}};
  c.model.strides = {{1, 1, 1}, {2, 2, 1}};
  c.model.deep_supervision = true;
  c.loss.name = "gdl";
  c.loss.include_background = false;
  c.loss.activation = "sigmoid";
  c.loss.squared_pred = true;
  c.loss.jaccard = true;
  c.loss.batch = true;
  c.loss.smooth_nr = 0.0;
  c.loss.smooth_dr = 1e-300;
  c.loss.class_weights = {0.5, 2.0, 1.0 / 3.0};
  c.loss.lambda_dice = 0.0;
  c.loss.lambda_ce = 2.5;
  c.loss.w_type = "uniform";
  c.train.epochs = 7;
  c.train.iterations_per_epoch = 11;
  c.train.batch_size = 4;
  c.train.optimizer.name = "adamw";
  c.train.optimizer.lr = 3e-4;
  c.train.optimizer.momentum = 0.0;
  c.train.optimizer.nesterov = false;
  c.train.optimizer.weight_decay = 0.0;
  c.train.optimizer.betas = {0.5, 0.75};
  c.train.optimizer.eps = 1e-6;
  c.train.scheduler.name = "cosine";
  c.train.scheduler.exponent = 2.0;
  c.train.scheduler.warmup_iterations = 100;
  c.train.scheduler.min_lr = 1e-7;
  c.train.grad_clip = 0.0;
  c.train.seed = 7;
  c.train.deterministic = true;
  c.train.val_every = 0;
  c.train.val_iterations = 3;
  c.train.full_val_every = 4;
  c.train.select_by = "lesion_sensitivity";
  c.train.threads = 5;
  c.train.device = "cuda";
  c.train.init_from = "runs/pre: #1/checkpoint_final.pt";
  c.train.freeze_encoder_epochs = 3;
  c.amp.enabled = true;
  c.amp.dtype = "float16";
  c.dist.backend = "gloo";
  c.dist.timeout_s = 60;
  c.dist.rendezvous_timeout_s = 7;
  c.dist.bucket_mb = 4;
  c.eval.overlap = 0.75;
  c.eval.mirror_tta = true;
  c.eval.tile_batch = 8;
  c.eval.tile_workers = 3;
  c.eval.size_bins = {0.5, 1e6};
  c.eval.connectivity = 6;
  c.eval.empty_rule = "one";
  c.output.dir = "yes";  // a YAML 1.1 boolean word: must come back as a string
  c.output.checkpoint_every_minutes = 0.5;
  c.output.log_level = "trace";
  c.output.tensorboard = true;
  return c;
}

// everyFieldChanged() with the one field it must leave at its default set instead.
inline TrainConfig checkpointingInsteadOfDropout() {
  TrainConfig c = everyFieldChanged();
  c.model.dropout = 0.0;
  c.model.checkpointing = true;
  return c;
}

}  // namespace seg::test
