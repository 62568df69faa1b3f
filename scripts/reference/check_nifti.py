#!/usr/bin/env python3
"""Independent reading of a NIfTI file with nibabel, for golden checks of segtrain's
ITK-based I/O.

    ~/.venvs/segtrain/bin/python scripts/reference/check_nifti.py FILE
        prints {"shape", "spacing", "affine", "dtype"} as JSON
    ~/.venvs/segtrain/bin/python scripts/reference/check_nifti.py FILE --compare INSPECT.json
        compares with the output of `segdata inspect --json FILE`; exits 1 and lists
        the differences when they disagree

ITK reports geometry in LPS, NIfTI (and nibabel's affine) in RAS, so the expected
affine is diag(-1, -1, 1) @ [direction @ diag(spacing) | origin].

Exit codes: 0 agree / printed, 1 disagree, 3 nibabel missing.
"""
import argparse
import json
import sys

try:
    import nibabel as nib
    import numpy as np
except ImportError as e:  # the integration test turns this into a skip
    print(f"check_nifti.py: {e}", file=sys.stderr)
    sys.exit(3)


def describe(path):
    img = nib.load(path)
    return {
        "shape": [int(s) for s in img.shape],
        "spacing": [float(z) for z in img.header.get_zooms()[:3]],
        "affine": img.affine.tolist(),
        "dtype": str(img.get_data_dtype()),
    }


def compare(ref, seg, tol=1e-4):
    problems = []
    shape = ref["shape"]
    if shape[:3] != seg["size"]:
        problems.append(f"size: nibabel {shape[:3]} vs segdata {seg['size']}")
    channels = shape[3] if len(shape) == 4 else 1
    if channels != seg["channels"]:
        problems.append(f"channels: nibabel {channels} vs segdata {seg['channels']}")
    if not np.allclose(ref["spacing"], seg["spacing"], atol=tol):
        problems.append(f"spacing: nibabel {ref['spacing']} vs segdata {seg['spacing']}")
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    direction = np.array(seg["direction"], dtype=float).reshape(3, 3)
    expected = np.eye(4)
    expected[:3, :3] = lps_to_ras @ direction @ np.diag(seg["spacing"])
    expected[:3, 3] = lps_to_ras @ np.array(seg["origin"], dtype=float)
    if not np.allclose(np.array(ref["affine"]), expected, atol=tol):
        problems.append(f"affine: nibabel {ref['affine']} vs expected from segdata {expected.tolist()}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--compare", metavar="INSPECT_JSON")
    args = parser.parse_args()
    ref = describe(args.file)
    if not args.compare:
        print(json.dumps(ref, indent=2))
        return 0
    with open(args.compare) as f:
        seg = json.load(f)
    problems = compare(ref, seg)
    for p in problems:
        print(f"{args.file}: {p}", file=sys.stderr)
    if not problems:
        print(f"{args.file}: nibabel and segdata agree (shape {ref['shape']}, spacing {ref['spacing']})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
