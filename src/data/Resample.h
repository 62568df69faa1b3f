#pragma once
// Spatial preprocessing through ITK filters: reorientation to the canonical
// orientation and resampling to another grid. No hand-written interpolation.
//
// Canonical orientation: ITK's identity direction in its LPS physical space (ITK calls
// it "RAI"; in RAS terms, as nibabel prints it, the voxel axes run towards L, P, S).
// itk::OrientImageFilter only permutes and flips axes, so it is exact (no
// interpolation); an oblique image stays oblique, with the permutation and flips that
// bring its direction closest to the identity.
#include <array>

#include "core/Image.h"

namespace seg {

// The geometry (size, spacing, direction, origin) `g` has after reorientation.
ImageGeometry canonicalGeometry(const ImageGeometry& g);

// Already canonical: reorientation would change nothing.
bool isCanonical(const ImageGeometry& g);

// Every channel, resp. the label, reoriented (itk::OrientImageFilter).
Volume orientCanonical(const Volume& volume);
LabelVolume orientCanonical(const LabelVolume& labels);

// The grid of `g` at another spacing: size round(size * spacing / target) (at least 1,
// nnU-Net's rule), same direction, and the outer face of the first voxel kept in
// place (the voxel centres are aligned as skimage.transform.resize, which nnU-Net
// uses, aligns them).
ImageGeometry resampledGeometry(const ImageGeometry& g, const std::array<double, 3>& spacing);

// Resampled onto `target` in physical space (itk::ResampleImageFilter, identity
// transform): images linearly (points past the border take the nearest voxel),
// labels by nearest neighbour (background past the border). `target` may have any
// direction, so this also maps a prediction back onto its input grid.
Volume resampleImage(const Volume& volume, const ImageGeometry& target);
LabelVolume resampleLabel(const LabelVolume& labels, const ImageGeometry& target);

}  // namespace seg
