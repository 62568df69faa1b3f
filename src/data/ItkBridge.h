#pragma once
// Private to src/data: copies between our (z, y, x) buffers and 3D itk::Image, with
// the geometry. Only .cpp files of src/data include this header (it pulls in ITK).
#include <itkImage.h>

#include <algorithm>

#include "core/Image.h"

namespace seg::itkbridge {

template <typename TPixel>
typename itk::Image<TPixel, 3>::Pointer toItk(const ImageGeometry& g, const TPixel* data) {
  using ImageType = itk::Image<TPixel, 3>;
  auto image = ImageType::New();
  typename ImageType::SizeType size;
  typename ImageType::SpacingType spacing;
  typename ImageType::PointType origin;
  typename ImageType::DirectionType direction;
  for (unsigned i = 0; i < 3; ++i) {
    size[i] = static_cast<itk::SizeValueType>(g.size[i]);
    spacing[i] = g.spacing[i];
    origin[i] = g.origin[i];
    for (unsigned c = 0; c < 3; ++c) direction(i, c) = g.direction[i * 3 + c];
  }
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  if (data != nullptr) std::copy(data, data + g.numVoxels(), image->GetBufferPointer());
  return image;
}

template <typename TImage>
ImageGeometry geometryOf(const TImage* image) {
  ImageGeometry g;
  const auto size = image->GetLargestPossibleRegion().GetSize();
  for (unsigned i = 0; i < 3; ++i) {
    g.size[i] = static_cast<int64_t>(size[i]);
    g.spacing[i] = image->GetSpacing()[i];
    // "+ 0.0" turns -0 into 0 for printing.
    g.origin[i] = image->GetOrigin()[i] + 0.0;
    for (unsigned c = 0; c < 3; ++c) g.direction[i * 3 + c] = image->GetDirection()(i, c) + 0.0;
  }
  return g;
}

template <typename TImage, typename TPixel>
void copyBuffer(const TImage* image, TPixel* out) {
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  std::copy(image->GetBufferPointer(), image->GetBufferPointer() + n, out);
}

}  // namespace seg::itkbridge
