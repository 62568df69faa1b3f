// HD95 and ASSD as MONAI's compute_hausdorff_distance / compute_average_surface_distance
// (monai/metrics/hausdorff_distance.py, surface_distance.py, utils.get_mask_edges and
// get_surface_distance with distance_metric="euclidean"); conventions in the header.
// Distances to a surface come from ITK's exact Euclidean distance transform (Maurer et
// al., PAMI 2003) on the surface mask with image spacing: at a voxel outside the
// surface it is the distance to the nearest surface voxel, at a surface voxel <= 0 and
// clamped to 0.
#include "metrics/SurfaceDistance.h"

#include <itkImage.h>
#include <itkSignedMaurerDistanceMapImageFilter.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/Error.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using MaskImage = itk::Image<uint8_t, 3>;
using DistanceImage = itk::Image<double, 3>;

MaskImage::Pointer toItk(const std::vector<uint8_t>& mask, const ImageGeometry& g) {
  auto image = MaskImage::New();
  MaskImage::RegionType region;
  MaskImage::SizeType size;
  for (int a = 0; a < 3; ++a) size[a] = static_cast<itk::SizeValueType>(g.size[a]);
  region.SetSize(size);
  image->SetRegions(region);
  MaskImage::SpacingType spacing;
  for (int a = 0; a < 3; ++a) spacing[a] = g.spacing[a];
  image->SetSpacing(spacing);
  image->Allocate();
  std::copy(mask.begin(), mask.end(), image->GetBufferPointer());
  return image;
}

// Distance in mm from every voxel to the nearest voxel of `surface` (non-empty).
std::vector<double> distanceToSurface(const std::vector<uint8_t>& surface, const ImageGeometry& g) {
  using Filter = itk::SignedMaurerDistanceMapImageFilter<MaskImage, DistanceImage>;
  auto filter = Filter::New();
  filter->SetInput(toItk(surface, g));
  filter->SetUseImageSpacing(true);
  filter->SetSquaredDistance(false);
  filter->SetInsideIsPositive(false);
  filter->SetBackgroundValue(0);
  filter->Update();
  const double* d = filter->GetOutput()->GetBufferPointer();
  std::vector<double> out(d, d + surface.size());
  for (double& v : out) v = std::max(0.0, v);
  return out;
}

std::vector<double> directed(const std::vector<uint8_t>& from, const std::vector<double>& toDistance) {
  std::vector<double> d;
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i]) d.push_back(toDistance[i]);
  }
  return d;
}

}  // namespace

double percentileLinear(std::vector<double>& values, double q) {
  if (values.empty()) return kNan;
  std::sort(values.begin(), values.end());
  const double pos = q / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  // numpy's lerp: a + (b - a) * t, evaluated from the upper end when t >= 0.5.
  const double a = values[lo], b = values[hi];
  return frac >= 0.5 ? b - (b - a) * (1.0 - frac) : a + (b - a) * frac;
}

std::vector<uint8_t> maskSurface(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& size) {
  const int64_t nx = size[0], ny = size[1], nz = size[2];
  if (static_cast<int64_t>(mask.size()) != nx * ny * nz) {
    throw InputError("maskSurface: buffer holds " + std::to_string(mask.size()) +
                     " voxels but the size needs " + std::to_string(nx * ny * nz));
  }
  std::vector<uint8_t> out(mask.size(), 0);
  auto in = [&](int64_t x, int64_t y, int64_t z) {
    return x >= 0 && y >= 0 && z >= 0 && x < nx && y < ny && z < nz && mask[(z * ny + y) * nx + x];
  };
  for (int64_t z = 0; z < nz; ++z) {
    for (int64_t y = 0; y < ny; ++y) {
      for (int64_t x = 0; x < nx; ++x) {
        if (!mask[(z * ny + y) * nx + x]) continue;
        const bool interior = in(x - 1, y, z) && in(x + 1, y, z) && in(x, y - 1, z) &&
                              in(x, y + 1, z) && in(x, y, z - 1) && in(x, y, z + 1);
        out[(z * ny + y) * nx + x] = interior ? 0 : 1;
      }
    }
  }
  return out;
}

SurfaceDistance surfaceDistance(const std::vector<uint8_t>& predMask,
                                const std::vector<uint8_t>& refMask, const ImageGeometry& geometry,
                                EmptyRule rule) {
  const auto n = static_cast<size_t>(geometry.numVoxels());
  if (predMask.size() != n || refMask.size() != n) {
    throw InputError("surfaceDistance: masks hold " + std::to_string(predMask.size()) + " and " +
                     std::to_string(refMask.size()) + " voxels but size " +
                     geometry.describeSize() + " needs " + std::to_string(n));
  }
  const std::vector<uint8_t> predSurface = maskSurface(predMask, geometry.size);
  const std::vector<uint8_t> refSurface = maskSurface(refMask, geometry.size);
  SurfaceDistance out;
  out.predSurfaceVoxels = std::count(predSurface.begin(), predSurface.end(), 1);
  out.refSurfaceVoxels = std::count(refSurface.begin(), refSurface.end(), 1);
  if (out.predSurfaceVoxels == 0 || out.refSurfaceVoxels == 0) {
    const bool bothEmpty = out.predSurfaceVoxels == 0 && out.refSurfaceVoxels == 0;
    const double v = !bothEmpty ? kInf : rule == EmptyRule::One ? 0.0 : rule == EmptyRule::Zero ? kInf : kNan;
    out.hd95 = out.assd = v;
    return out;
  }
  std::vector<double> predToRef = directed(predSurface, distanceToSurface(refSurface, geometry));
  std::vector<double> refToPred = directed(refSurface, distanceToSurface(predSurface, geometry));
  double sum = 0.0;
  for (double v : predToRef) sum += v;
  for (double v : refToPred) sum += v;
  out.assd = sum / static_cast<double>(predToRef.size() + refToPred.size());
  out.hd95 = std::max(percentileLinear(predToRef, 95.0), percentileLinear(refToPred, 95.0));
  return out;
}

std::vector<SurfaceDistance> surfaceDistancePerClass(const LabelVolume& pred, const LabelVolume& ref,
                                                     int numClasses, EmptyRule rule) {
  if (!pred.geometry.sameGrid(ref.geometry)) {
    throw InputError("surfaceDistancePerClass: prediction " + pred.geometry.describeSize() +
                     " and reference " + ref.geometry.describeSize() + " are not on the same grid");
  }
  std::vector<SurfaceDistance> out;
  std::vector<uint8_t> p(pred.data.size()), r(ref.data.size());
  for (int c = 1; c < numClasses; ++c) {
    for (size_t i = 0; i < p.size(); ++i) p[i] = pred.data[i] == c ? 1 : 0;
    for (size_t i = 0; i < r.size(); ++i) r[i] = ref.data[i] == c ? 1 : 0;
    out.push_back(surfaceDistance(p, r, ref.geometry, rule));
  }
  return out;
}

}  // namespace seg
