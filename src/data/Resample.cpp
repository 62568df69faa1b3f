#include "data/Resample.h"

#include <itkImage.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborExtrapolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkOrientImageFilter.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <cmath>

#include "core/Error.h"
#include "data/ItkBridge.h"

namespace seg {

namespace {

template <typename TPixel>
using Image3 = itk::Image<TPixel, 3>;

template <typename TPixel>
typename Image3<TPixel>::Pointer orient(const typename Image3<TPixel>::Pointer& image) {
  auto filter = itk::OrientImageFilter<Image3<TPixel>, Image3<TPixel>>::New();
  // Judge the input's orientation from its direction matrix (not from a code we set).
  filter->UseImageDirectionOn();
  filter->SetDesiredCoordinateOrientation(itk::SpatialOrientation::ITK_COORDINATE_ORIENTATION_RAI);
  filter->SetInput(image);
  try {
    filter->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InternalError(std::string("reorientation failed: ") + e.GetDescription());
  }
  return filter->GetOutput();
}

template <typename TPixel>
typename Image3<TPixel>::Pointer resample(const typename Image3<TPixel>::Pointer& image, const ImageGeometry& target,
                                          bool linear) {
  using ImageType = Image3<TPixel>;
  auto filter = itk::ResampleImageFilter<ImageType, ImageType, double>::New();
  filter->SetInput(image);
  if (linear) {
    filter->SetInterpolator(itk::LinearInterpolateImageFunction<ImageType, double>::New());
    // Output voxels whose centre lies just past the input's outer face (rounding of
    // the size) take the nearest voxel rather than a 0 rim.
    filter->SetExtrapolator(itk::NearestNeighborExtrapolateImageFunction<ImageType, double>::New());
  } else {
    filter->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<ImageType, double>::New());
  }
  filter->SetDefaultPixelValue(0);
  const auto reference = itkbridge::toItk<TPixel>(
      [&] {
        ImageGeometry g = target;
        g.size = {1, 1, 1};  // only the geometry is used
        return g;
      }(),
      nullptr);
  typename ImageType::SizeType size;
  for (unsigned i = 0; i < 3; ++i) size[i] = static_cast<itk::SizeValueType>(target.size[i]);
  filter->SetSize(size);
  filter->SetOutputSpacing(reference->GetSpacing());
  filter->SetOutputOrigin(reference->GetOrigin());
  filter->SetOutputDirection(reference->GetDirection());
  try {
    filter->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InternalError(std::string("resampling failed: ") + e.GetDescription());
  }
  return filter->GetOutput();
}

void checkGrid(const ImageGeometry& g, const char* what) {
  for (int a = 0; a < 3; ++a) {
    if (g.size[a] <= 0 || !(g.spacing[a] > 0)) {
      throw InternalError(std::string(what) + ": empty grid " + g.describeSize());
    }
  }
}

}  // namespace

ImageGeometry canonicalGeometry(const ImageGeometry& g) {
  // The filter decides the permutation and flips from the direction alone; running it
  // on a 1-voxel image with g's direction and spacing gives those, and the origin
  // follows from where g's corner voxels end up.
  ImageGeometry one = g;
  one.size = {1, 1, 1};
  float value = 0;
  const ImageGeometry small = itkbridge::geometryOf(orient<float>(itkbridge::toItk<float>(one, &value)).GetPointer());
  ImageGeometry out = small;
  // Which input axis feeds each output axis: the column of g's direction closest to
  // the output's.
  for (int o = 0; o < 3; ++o) {
    int best = 0;
    double bestDot = -1;
    for (int i = 0; i < 3; ++i) {
      double dot = 0;
      for (int r = 0; r < 3; ++r) dot += small.direction[r * 3 + o] * g.direction[r * 3 + i];
      if (std::abs(dot) > bestDot) bestDot = std::abs(dot), best = i;
    }
    out.size[o] = g.size[best];
  }
  // The new voxel 0 is the input voxel whose index is 0 on non-flipped axes and size-1
  // on flipped ones: the corner with the smallest coordinate along each output axis.
  std::array<double, 3> corner = g.origin;
  for (int i = 0; i < 3; ++i) {
    for (int o = 0; o < 3; ++o) {
      double dot = 0;
      for (int r = 0; r < 3; ++r) dot += small.direction[r * 3 + o] * g.direction[r * 3 + i];
      if (std::abs(dot) > 0.5 && dot < 0) {
        for (int r = 0; r < 3; ++r) corner[r] += g.direction[r * 3 + i] * g.spacing[i] * (g.size[i] - 1);
      }
    }
  }
  for (int r = 0; r < 3; ++r) out.origin[r] = corner[r] + 0.0;
  return out;
}

bool isCanonical(const ImageGeometry& g) {
  const ImageGeometry c = canonicalGeometry(g);
  for (int i = 0; i < 9; ++i) {
    if (std::abs(c.direction[i] - g.direction[i]) > 1e-9) return false;
  }
  return true;
}

Volume orientCanonical(const Volume& volume) {
  checkGrid(volume.geometry, "orientCanonical");
  Volume out;
  out.channels = volume.channels;
  const size_t n = static_cast<size_t>(volume.geometry.numVoxels());
  out.data.resize(volume.data.size());
  for (int64_t c = 0; c < volume.channels; ++c) {
    const auto oriented = orient<float>(itkbridge::toItk<float>(volume.geometry, volume.data.data() + c * n));
    if (c == 0) out.geometry = itkbridge::geometryOf(oriented.GetPointer());
    itkbridge::copyBuffer(oriented.GetPointer(), out.data.data() + c * n);
  }
  return out;
}

LabelVolume orientCanonical(const LabelVolume& labels) {
  checkGrid(labels.geometry, "orientCanonical");
  const auto oriented = orient<uint8_t>(itkbridge::toItk<uint8_t>(labels.geometry, labels.data.data()));
  LabelVolume out;
  out.geometry = itkbridge::geometryOf(oriented.GetPointer());
  out.data.resize(labels.data.size());
  itkbridge::copyBuffer(oriented.GetPointer(), out.data.data());
  return out;
}

ImageGeometry resampledGeometry(const ImageGeometry& g, const std::array<double, 3>& spacing) {
  ImageGeometry out = g;
  std::array<double, 3> shift{};
  for (int a = 0; a < 3; ++a) {
    if (!(spacing[a] > 0)) throw InputError("target spacing must be positive, got " + std::to_string(spacing[a]));
    // nnU-Net: new_shape = round(old_spacing / new_spacing * old_shape).
    out.size[a] = std::max<int64_t>(1, std::llround(static_cast<double>(g.size[a]) * g.spacing[a] / spacing[a]));
    out.spacing[a] = spacing[a];
    shift[a] = (spacing[a] - g.spacing[a]) / 2.0;
  }
  for (int r = 0; r < 3; ++r) {
    double d = 0;
    for (int a = 0; a < 3; ++a) d += g.direction[r * 3 + a] * shift[a];
    out.origin[r] = g.origin[r] + d;
  }
  return out;
}

Volume resampleImage(const Volume& volume, const ImageGeometry& target) {
  checkGrid(volume.geometry, "resampleImage");
  checkGrid(target, "resampleImage target");
  Volume out;
  out.geometry = target;
  out.channels = volume.channels;
  const size_t n = static_cast<size_t>(volume.geometry.numVoxels());
  const size_t m = static_cast<size_t>(target.numVoxels());
  out.data.resize(m * static_cast<size_t>(volume.channels));
  for (int64_t c = 0; c < volume.channels; ++c) {
    const auto result = resample<float>(itkbridge::toItk<float>(volume.geometry, volume.data.data() + c * n), target, true);
    itkbridge::copyBuffer(result.GetPointer(), out.data.data() + c * m);
  }
  return out;
}

LabelVolume resampleLabel(const LabelVolume& labels, const ImageGeometry& target) {
  checkGrid(labels.geometry, "resampleLabel");
  checkGrid(target, "resampleLabel target");
  const auto result = resample<uint8_t>(itkbridge::toItk<uint8_t>(labels.geometry, labels.data.data()), target, false);
  LabelVolume out;
  out.geometry = target;
  out.data.resize(static_cast<size_t>(target.numVoxels()));
  itkbridge::copyBuffer(result.GetPointer(), out.data.data());
  return out;
}

}  // namespace seg
