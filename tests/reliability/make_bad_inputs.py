#!/usr/bin/env python3
"""Generates the bad-input corpus for tests/reliability/bad_inputs.sh.

Usage: make_bad_inputs.py BASE_DATASET OUT_DIR

BASE_DATASET is a small, valid `segdata synth` dataset (nnU-Net v2 layout, one channel,
labels {0, 1}). OUT_DIR/files/ receives single broken files; OUT_DIR/ds_<name>/ receives
copies of the base dataset with exactly one defect each. Files are written with nibabel and
numpy (independent of our own writer) or by editing bytes directly.
"""
import gzip
import json
import os
import shutil
import sys

import nibabel as nib
import numpy as np

base, out = sys.argv[1], sys.argv[2]
files = os.path.join(out, "files")
os.makedirs(files, exist_ok=True)

first_image = sorted(os.listdir(os.path.join(base, "imagesTr")))[0]
case0 = first_image[: -len("_0000.nii.gz")]
img0 = nib.load(os.path.join(base, "imagesTr", first_image))
lab0 = nib.load(os.path.join(base, "labelsTr", case0 + ".nii.gz"))
good_bytes = open(os.path.join(base, "imagesTr", first_image), "rb").read()
raw_nii = gzip.decompress(good_bytes)


def write(name, data):
    with open(os.path.join(files, name), "wb") as f:
        f.write(data)


def save(img, name):
    nib.save(img, os.path.join(files, name))


affine = img0.affine
shape = img0.shape
rng = np.random.default_rng(7)

# --- single files -------------------------------------------------------------------------
write("empty.nii.gz", b"")
write("empty.nii", b"")
write("text.nii.gz", b"this is not a NIfTI file, just text\n" * 20)
write("text_gz.nii.gz", gzip.compress(b"plain text inside a valid gzip stream\n" * 40))
write("png.nii", b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 256, 2000, dtype=np.uint8)))
write("truncated.nii.gz", good_bytes[: len(good_bytes) // 2])
write("truncated.nii", raw_nii[: 352 + (len(raw_nii) - 352) // 3])
write("header_only.nii", raw_nii[:200])
corrupt = bytearray(good_bytes)
mid = len(corrupt) // 2
corrupt[mid : mid + 64] = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
write("corrupted.nii.gz", bytes(corrupt))
bad_magic = bytearray(raw_nii)
bad_magic[344:348] = b"zz1\x00"
write("bad_magic.nii", bytes(bad_magic))
# A header promising a huge volume backed by a few bytes: must be refused before allocating.
huge = bytearray(raw_nii[:352 + 64])
np.frombuffer(huge, dtype=np.int16, count=8, offset=40)  # layout check only
huge[40:56] = np.array([3, 32000, 32000, 32000, 1, 1, 1, 1], dtype="<i2").tobytes()
write("huge_dims.nii", bytes(huge))
zero_dim = bytearray(raw_nii)
zero_dim[42:44] = np.array([0], dtype="<i2").tobytes()  # dim[1] = 0
write("zero_dim.nii", bytes(zero_dim))

save(nib.Nifti2Image(img0.get_fdata().astype(np.float32), affine), "nifti2.nii.gz")
save(nib.Nifti1Image(np.zeros((16, 16), np.float32), np.eye(4)), "two_d.nii.gz")
save(nib.Nifti1Image(np.zeros((8, 8, 8, 2, 2), np.float32), np.eye(4)), "five_d.nii.gz")
rgb = np.zeros((8, 8, 8), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
save(nib.Nifti1Image(rgb, np.eye(4)), "rgb.nii.gz")
nan = img0.get_fdata().astype(np.float32)
nan[1, 2, 3] = np.nan
save(nib.Nifti1Image(nan, affine), "nan.nii.gz")
shutil.copy(os.path.join(base, "imagesTr", first_image), os.path.join(files, "good.mha"))
os.makedirs(os.path.join(files, "folder.nii.gz"), exist_ok=True)


# --- dataset variants ----------------------------------------------------------------------
def variant(name):
    d = os.path.join(out, "ds_" + name)
    shutil.copytree(base, d)
    return d


def load_json(d):
    with open(os.path.join(d, "dataset.json")) as f:
        return json.load(f)


def dump_json(d, doc):
    with open(os.path.join(d, "dataset.json"), "w") as f:
        json.dump(doc, f, indent=2)


def image_path(d, case=case0):
    return os.path.join(d, "imagesTr", case + "_0000.nii.gz")


def label_path(d, case=case0):
    return os.path.join(d, "labelsTr", case + ".nii.gz")


img = img0.get_fdata().astype(np.float32)
lab = np.asarray(lab0.dataobj).astype(np.uint8)

d = variant("no_json"); os.remove(os.path.join(d, "dataset.json"))
d = variant("empty_json"); open(os.path.join(d, "dataset.json"), "w").close()
d = variant("bad_json"); open(os.path.join(d, "dataset.json"), "w").write('{"channel_names": {"0": "CT"},')
d = variant("list_json"); open(os.path.join(d, "dataset.json"), "w").write("[1, 2, 3]")
d = variant("no_labels"); doc = load_json(d); del doc["labels"]; dump_json(d, doc)
d = variant("no_background"); doc = load_json(d); doc["labels"] = {"lesion": 1}; dump_json(d, doc)
d = variant("num_training"); doc = load_json(d); doc["numTraining"] = 99; dump_json(d, doc)
d = variant("no_cases")
for sub in ("imagesTr", "labelsTr"):
    shutil.rmtree(os.path.join(d, sub)); os.makedirs(os.path.join(d, sub))
doc = load_json(d); doc["numTraining"] = 0; dump_json(d, doc)
d = variant("missing_label"); os.remove(label_path(d))
d = variant("missing_image"); os.remove(image_path(d))
d = variant("extra_channel"); shutil.copy(image_path(d), os.path.join(d, "imagesTr", case0 + "_0001.nii.gz"))
d = variant("msd_missing")
dump_json(d, {"name": "msd", "modality": {"0": "MRI"}, "labels": {"0": "background", "1": "lesion"},
              "numTraining": 1, "training": [{"image": "./imagesTr/nope.nii.gz", "label": "./labelsTr/nope.nii.gz"}]})
d = variant("msd_twice")
entry = {"image": "./imagesTr/" + first_image, "label": "./labelsTr/" + case0 + ".nii.gz"}
dump_json(d, {"name": "msd", "modality": {"0": "MRI"}, "labels": {"0": "background", "1": "lesion"},
              "numTraining": 2, "training": [entry, entry]})

# Image/label geometry mismatches.
d = variant("label_size")
nib.save(nib.Nifti1Image(lab[:-2], lab0.affine), label_path(d))
d = variant("label_spacing")
a = lab0.affine.copy(); a[0, 0] *= 2.0
nib.save(nib.Nifti1Image(lab, a), label_path(d))
d = variant("label_origin")
a = lab0.affine.copy(); a[:3, 3] += 25.0
nib.save(nib.Nifti1Image(lab, a), label_path(d))
d = variant("label_direction")
a = lab0.affine.copy(); a[:3, :3] = a[:3, :3] @ np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])
nib.save(nib.Nifti1Image(lab, a), label_path(d))

# Label values.
d = variant("label_value")
bad = lab.copy(); bad[0, 0, 0] = 5
nib.save(nib.Nifti1Image(bad, lab0.affine), label_path(d))
d = variant("label_negative")
bad = lab.astype(np.int16); bad[0, 0, 0] = -1
nib.save(nib.Nifti1Image(bad, lab0.affine), label_path(d))
d = variant("label_fraction")
bad = lab.astype(np.float32); bad[0, 0, 0] = 0.5
nib.save(nib.Nifti1Image(bad, lab0.affine), label_path(d))
d = variant("label_corrupted")
lab_bytes = bytearray(open(label_path(d), "rb").read())
m = len(lab_bytes) // 2
lab_bytes[m : m + 32] = bytes(rng.integers(0, 256, 32, dtype=np.uint8))
open(label_path(d), "wb").write(bytes(lab_bytes))
d = variant("label_4d")
nib.save(nib.Nifti1Image(np.stack([lab, lab], axis=-1), lab0.affine), label_path(d))

# Image content.
d = variant("image_nan")
bad = img.copy(); bad[3, 3, 3] = np.nan
nib.save(nib.Nifti1Image(bad, affine), image_path(d))
d = variant("image_inf")
bad = img.copy(); bad[4, 4, 4] = -np.inf
nib.save(nib.Nifti1Image(bad, affine), image_path(d))
d = variant("image_truncated")
open(image_path(d), "wb").write(good_bytes[: len(good_bytes) * 2 // 3])
d = variant("image_corrupted")
open(image_path(d), "wb").write(bytes(corrupt))
d = variant("image_nifti2")
nib.save(nib.Nifti2Image(img, affine), image_path(d))
d = variant("image_text")
open(image_path(d), "wb").write(b"not an image\n")
d = variant("image_2d")
nib.save(nib.Nifti1Image(img[:, :, 0], affine), image_path(d))
# 4D (two channels) where dataset.json declares one channel.
d = variant("image_4d")
nib.save(nib.Nifti1Image(np.stack([img, img], axis=-1), affine), image_path(d))
d = variant("image_empty")
open(image_path(d), "wb").close()

print("corpus written to", out)
