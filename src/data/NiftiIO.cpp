#include "data/NiftiIO.h"

#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>
#include <itk_zlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/Error.h"
#include "core/IoError.h"
#include "core/Log.h"
#include "data/ItkBridge.h"
#include "data/NiftiRawHeader.h"

namespace seg {
namespace fs = std::filesystem;
using namespace nifti;

namespace {

// ".nii.gz" or ".nii" (as spelled in `path`), or "" for anything else.
std::string niftiEnding(const std::string& path) {
  if (endsWithNoCase(path, ".nii.gz")) return path.substr(path.size() - 7);
  if (endsWithNoCase(path, ".nii")) return path.substr(path.size() - 4);
  return "";
}

std::string componentName(itk::IOComponentEnum type) {
  switch (type) {
    case itk::IOComponentEnum::UCHAR: return "uint8";
    case itk::IOComponentEnum::CHAR: return "int8";
    case itk::IOComponentEnum::USHORT: return "uint16";
    case itk::IOComponentEnum::SHORT: return "int16";
    case itk::IOComponentEnum::UINT: return "uint32";
    case itk::IOComponentEnum::INT: return "int32";
    case itk::IOComponentEnum::ULONG:
    case itk::IOComponentEnum::ULONGLONG: return "uint64";
    case itk::IOComponentEnum::LONG:
    case itk::IOComponentEnum::LONGLONG: return "int64";
    case itk::IOComponentEnum::FLOAT: return "float32";
    case itk::IOComponentEnum::DOUBLE: return "float64";
    default: return "unknown";
  }
}

// ITK 5.2 asked for x.nii.gz reads a sibling x.nii when one exists (nifticlib
// looks the header up by base name). When a sibling is present we read through a
// symlink in a private folder where the named file is the only candidate.
class ExactPath {
 public:
  explicit ExactPath(const std::string& path) : path_(path) {
    const std::string ending = niftiEnding(path);
    const std::string base = path.substr(0, path.size() - ending.size());
    bool sibling = false;
    for (const char* other : {".nii", ".nii.gz", ".hdr", ".hdr.gz", ".img", ".img.gz", ".NII", ".NII.GZ"}) {
      const std::string candidate = base + other;
      std::error_code ec;
      if (candidate != path && fs::exists(candidate, ec)) sibling = true;
    }
    if (!sibling) return;
    static std::atomic<uint64_t> counter{0};
    dir_ = fs::temp_directory_path() /
           ("segtrain-read-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::error_code ec;
    fs::create_directories(dir_, ec);
    const fs::path link = dir_ / ("image" + ending);
    if (!ec) fs::create_symlink(fs::absolute(path), link, ec);
    if (ec) fs::copy_file(path, link, ec);
    if (ec) throw InputError(path + ": cannot isolate the file from its sibling (" + ec.message() + ")");
    path_ = link.string();
  }
  ~ExactPath() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  ExactPath(const ExactPath&) = delete;
  ExactPath& operator=(const ExactPath&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  fs::path dir_;
};

itk::NiftiImageIO::Pointer makeIO() {
  // Explicit IO object rather than the factory: the factory may pick another
  // reader (or none) and we want NIfTI semantics only.
  return itk::NiftiImageIO::New();
}

ImageInfo readInfoFrom(const std::string& userPath, const std::string& itkPath) {
  auto io = makeIO();
  try {
    io->SetFileName(itkPath);
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(userPath + ": cannot read NIfTI header: " + e.GetDescription());
  }
  ImageInfo info;
  info.path = userPath;
  info.dimensions = static_cast<int>(io->GetNumberOfDimensions());
  info.componentType = componentName(io->GetComponentType());
  if (io->GetNumberOfComponents() != 1) {
    throw InputError(userPath + ": vector pixels (" + std::to_string(io->GetNumberOfComponents()) +
                     " components) are not supported; store channels on the 4th axis");
  }
  if (info.dimensions < 3 || info.dimensions > 4) {
    throw InputError(userPath + ": expected a 3D or 4D image, got " + std::to_string(info.dimensions) + "D");
  }
  for (unsigned i = 0; i < 3; ++i) {
    info.geometry.size[i] = static_cast<int64_t>(io->GetDimensions(i));
    // "+ 0.0" turns the -0 that ITK's LPS flip leaves behind into 0 for printing.
    info.geometry.spacing[i] = io->GetSpacing(i);
    info.geometry.origin[i] = io->GetOrigin(i) + 0.0;
    // GetDirection(c) is the direction cosine of axis c: column c of the matrix.
    const std::vector<double> column = io->GetDirection(i);
    for (unsigned r = 0; r < 3; ++r) info.geometry.direction[r * 3 + i] = column[r] + 0.0;
  }
  info.channels = info.dimensions == 4 ? static_cast<int64_t>(io->GetDimensions(3)) : 1;
  return info;
}

template <typename TPixel, unsigned D>
typename itk::Image<TPixel, D>::Pointer readItk(const std::string& userPath, const std::string& itkPath) {
  using ImageType = itk::Image<TPixel, D>;
  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetImageIO(makeIO());
  reader->SetFileName(itkPath);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(userPath + ": cannot read image data: " + e.GetDescription());
  }
  return reader->GetOutput();
}

template <typename TPixel, unsigned D>
std::vector<TPixel> bufferOf(const typename itk::Image<TPixel, D>::Pointer& image, size_t expected,
                             const std::string& path) {
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  if (n != expected) {
    throw InputError(path + ": read " + std::to_string(n) + " voxels, header promises " + std::to_string(expected));
  }
  const TPixel* p = image->GetBufferPointer();
  return std::vector<TPixel>(p, p + n);
}

RawHeader checkReadable(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError("image file not found: " + path);
  if (fs::is_directory(path, ec)) throw InputError(path + ": is a folder, expected a NIfTI file");
  if (niftiEnding(path).empty()) {
    throw InputError(path + ": unsupported file type (expected .nii or .nii.gz)");
  }
  return readRawHeader(path);
}

// Full pass over float data: truncation and NaN/Inf, which ITK would hide.
void checkFloatData(const std::string& path, const RawHeader& h, const char* what) {
  const RawScan scan = scanRawData(path, h, true);
  const uint64_t dataBytes = h.numValues * static_cast<uint64_t>(h.bytesPerValue);
  if (scan.bytes < dataBytes) throwTruncated(path, h, scan.bytes, scan.corrupt);
  if (scan.nonFinite > 0) {
    throw InputError(path + ": " + std::to_string(scan.nonFinite) + " non-finite values (NaN or Inf) of " +
                     std::to_string(h.numValues) + what);
  }
}

void checkData(const std::string& path, const RawHeader& h, const char* what) {
  if (h.isFloat() && h.numValues > 0) {
    checkFloatData(path, h, what);
  } else {
    checkComplete(path, h);
  }
}

void checkWritable(const ImageGeometry& g, size_t bufferSize, const std::string& path) {
  if (niftiEnding(path).empty()) throw InputError(path + ": output must end in .nii or .nii.gz");
  for (int i = 0; i < 3; ++i) {
    if (g.size[i] <= 0) throw InputError(path + ": cannot write an empty image " + g.describeSize());
    if (!(g.spacing[i] > 0)) throw InputError(path + ": spacing must be positive");
  }
  if (bufferSize < static_cast<size_t>(g.numVoxels())) {
    throw InternalError(path + ": buffer holds " + std::to_string(bufferSize) + " values for a " +
                        g.describeSize() + " image");
  }
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw InputError(path + ": cannot write: folder " + parent.string() + " does not exist");
  }
}

// Temporary name next to the target that keeps the .nii/.nii.gz ending, so ITK
// picks the same compression; hidden (leading dot) so dataset scans skip it.
std::string tempNameFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  const std::string ending = niftiEnding(path);
  const fs::path target(path);
  const std::string file = target.filename().string();
  const std::string stem = file.substr(0, file.size() - ending.size());
  const std::string name = "." + stem + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + ending;
  return (target.parent_path() / name).string();
}

template <typename TPixel>
void writeAtomically(const ImageGeometry& g, const TPixel* data, const std::string& path) {
  const std::string temp = tempNameFor(path);
  auto removeTemp = [&] {
    std::error_code ec;
    fs::remove(temp, ec);
  };
  try {
    auto image = itkbridge::toItk<TPixel>(g, data);
    auto writer = itk::ImageFileWriter<itk::Image<TPixel, 3>>::New();
    writer->SetImageIO(makeIO());
    writer->SetFileName(temp);
    writer->SetInput(image);
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    removeTemp();
    throw InputError(path + ": cannot write NIfTI file: " + e.GetDescription());
  } catch (...) {
    removeTemp();
    throw;
  }
  // nifticlib reports a short write (disk full) only on stderr ("NWAD: wrote only ...") and
  // ITK 5.2 raises no exception for it: check what reached the disk before the rename.
  uint64_t stored = 0, expected = static_cast<uint64_t>(g.numVoxels()) * sizeof(TPixel);
  try {
    const RawHeader h = readRawHeader(temp);
    expected = h.numValues * static_cast<uint64_t>(h.bytesPerValue);
    stored = storedDataBytes(temp, h);
  } catch (const InputError&) {
    stored = 0;
  }
  if (stored < expected) {
    removeTemp();
    throw IoError(path + ": cannot write NIfTI file: only " + std::to_string(stored) + " of " +
                     std::to_string(expected) + " data bytes reached the disk (disk full or I/O error)");
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    removeTemp();
    const std::string message = path + ": cannot move the written file into place: " + ec.message();
    if (isDeviceError(ec.value())) throw IoError(message);
    throw InputError(message);
  }
}

}  // namespace

ImageInfo readImageInfo(const std::string& path) {
  const RawHeader raw = checkReadable(path);
  ExactPath exact(path);
  ImageInfo info = readInfoFrom(path, exact.path());
  checkComplete(path, raw);
  return info;
}

namespace {

// `nonFinite` null: refuse NaN/Inf; otherwise collect their value indices (ITK reads 0 there).
Volume readImageData(const std::string& path, std::vector<uint64_t>* nonFinite) {
  const RawHeader raw = checkReadable(path);
  ExactPath exact(path);
  // Dimensions first: reading a 4D file into a 3D image silently keeps volume 0.
  const ImageInfo info = readInfoFrom(path, exact.path());
  if (nonFinite == nullptr) {
    checkData(path, raw, "");
  } else if (raw.isFloat() && raw.numValues > 0) {
    const RawScan scan = scanRawData(path, raw, true, nonFinite);
    if (scan.bytes < raw.numValues * static_cast<uint64_t>(raw.bytesPerValue)) throwTruncated(path, raw, scan.bytes, scan.corrupt);
  } else {
    checkComplete(path, raw);
  }
  Volume volume;
  volume.geometry = info.geometry;
  volume.channels = info.channels;
  const size_t expected = static_cast<size_t>(info.geometry.numVoxels() * info.channels);
  if (info.dimensions == 3) {
    volume.data = bufferOf<float, 3>(readItk<float, 3>(path, exact.path()), expected, path);
  } else {
    // ITK's 4D buffer is x-fastest with t slowest: exactly (channels, z, y, x).
    volume.data = bufferOf<float, 4>(readItk<float, 4>(path, exact.path()), expected, path);
  }
  if (nonFinite != nullptr) {
    // Also values that overflowed when scaled (scl_slope), once each.
    std::vector<uint64_t> scaled;
    for (size_t i = 0; i < volume.data.size(); ++i) {
      if (!std::isfinite(volume.data[i])) scaled.push_back(i);
    }
    nonFinite->insert(nonFinite->end(), scaled.begin(), scaled.end());
    std::sort(nonFinite->begin(), nonFinite->end());
    nonFinite->erase(std::unique(nonFinite->begin(), nonFinite->end()), nonFinite->end());
    return volume;
  }
  // Integer data scaled by an extreme scl_slope can still overflow float.
  size_t bad = 0;
  for (float v : volume.data) bad += std::isfinite(v) ? 0 : 1;
  if (bad > 0) {
    throw InputError(path + ": " + std::to_string(bad) + " non-finite values (NaN or Inf) of " +
                     std::to_string(volume.data.size()));
  }
  return volume;
}

}  // namespace

Volume readImage(const std::string& path) { return readImageData(path, nullptr); }

Volume readImageCountingNonFinite(const std::string& path, std::vector<uint64_t>& nonFinite) {
  nonFinite.clear();
  return readImageData(path, &nonFinite);
}

LabelVolume readLabel(const std::string& path) {
  const RawHeader raw = checkReadable(path);
  ExactPath exact(path);
  const ImageInfo info = readInfoFrom(path, exact.path());
  if (info.dimensions != 3) {
    throw InputError(path + ": a label map must be 3D, got " + std::to_string(info.dimensions) + "D with " +
                     std::to_string(info.channels) + " volumes");
  }
  checkData(path, raw, " in a label map");
  LabelVolume labels;
  labels.geometry = info.geometry;
  const size_t expected = static_cast<size_t>(info.geometry.numVoxels());
  // uint8 needs no checks (ITK reports a scaled file as float, so this is exact).
  if (info.componentType == "uint8") {
    labels.data = bufferOf<uint8_t, 3>(readItk<uint8_t, 3>(path, exact.path()), expected, path);
    return labels;
  }
  const auto values = bufferOf<double, 3>(readItk<double, 3>(path, exact.path()), expected, path);
  labels.data.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v >= 0 && v <= 255) || v != std::floor(v)) {
      std::ostringstream out;
      out.precision(10);
      out << path << ": label value " << v << " at voxel " << i
          << " is not an integer in [0, 255] (is this an image rather than a label map?)";
      throw InputError(out.str());
    }
    labels.data[i] = static_cast<uint8_t>(v);
  }
  return labels;
}

void writeImage(const Volume& volume, const std::string& path) {
  const ImageGeometry& g = volume.geometry;
  checkWritable(g, volume.data.size(), path);
  if (volume.channels > 1) {
    logger("data")->warn("{}: writing channel 0 of {} (multi-channel output is not supported)", path,
                         volume.channels);
  }
  writeAtomically<float>(g, volume.data.data(), path);
}

void writeLabel(const LabelVolume& labels, const std::string& path) {
  checkWritable(labels.geometry, labels.data.size(), path);
  writeAtomically<uint8_t>(labels.geometry, labels.data.data(), path);
}

}  // namespace seg
