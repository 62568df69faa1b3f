#include "train/Checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/Error.h"
#include "core/IoError.h"

namespace seg {

namespace {

void fsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void writeState(torch::serialize::OutputArchive& archive, const CheckpointState& s) {
  archive.write("epoch", c10::IValue(s.epoch));
  archive.write("iteration", c10::IValue(s.iteration));
  archive.write("ema_dice", c10::IValue(s.emaDice));
  archive.write("best_ema_dice", c10::IValue(s.bestEmaDice));
  archive.write("select_by", c10::IValue(s.selectBy));
  archive.write("best_score", c10::IValue(s.bestScore));
  archive.write("best_epoch", c10::IValue(s.bestEpoch));
  archive.write("in_channels", c10::IValue(s.inChannels));
  archive.write("num_classes", c10::IValue(s.numClasses));
  archive.write("config_yaml", c10::IValue(s.configYaml));
  archive.write("format", c10::IValue(std::string("segtrain-checkpoint-1")));
}

CheckpointState readState(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue v;
  archive.read("format", v);
  if (!v.isString() || v.toStringRef() != "segtrain-checkpoint-1") {
    throw InputError("checkpoint '" + path + "' is not a segtrain checkpoint");
  }
  CheckpointState s;
  archive.read("epoch", v); s.epoch = v.toInt();
  archive.read("iteration", v); s.iteration = v.toInt();
  archive.read("ema_dice", v); s.emaDice = v.toDouble();
  archive.read("best_ema_dice", v); s.bestEmaDice = v.toDouble();
  // Absent in checkpoints from before train.select_by: those chose by the pseudo-Dice EMA.
  s.bestScore = s.bestEmaDice;
  if (archive.try_read("select_by", v)) s.selectBy = v.toStringRef();
  if (archive.try_read("best_score", v)) s.bestScore = v.toDouble();
  if (archive.try_read("best_epoch", v)) s.bestEpoch = v.toInt();
  archive.read("in_channels", v); s.inChannels = v.toInt();
  archive.read("num_classes", v); s.numClasses = v.toInt();
  archive.read("config_yaml", v); s.configYaml = v.toStringRef();
  return s;
}

torch::serialize::InputArchive openArchive(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw InputError("checkpoint not found: " + path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw InputError("checkpoint '" + path + "' cannot be read (truncated or not a checkpoint): " +
                     e.what_without_backtrace());
  }
  return archive;
}

constexpr const char* kTempInfix = ".tmp-";  // <checkpoint path>.tmp-<pid> while it is written

}  // namespace

void saveCheckpoint(const std::string& path, UNet& model, torch::optim::Optimizer* optimizer,
                    const CheckpointState& state, const GradScaler* scaler) {
  torch::serialize::OutputArchive archive;
  writeState(archive, state);
  torch::serialize::OutputArchive modelArchive;
  model->save(modelArchive);
  archive.write("model", modelArchive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizerArchive;
    optimizer->save(optimizerArchive);
    archive.write("optimizer", optimizerArchive);
  }
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  if (scaler) {
    torch::serialize::OutputArchive scalerArchive;
    scaler->save(scalerArchive);
    archive.write("grad_scaler", scalerArchive);
  }

  // Streamed through our own writer rather than save_to(filename): LibTorch 1.13's zip
  // writer throws from its destructor when a write fails (disk full), which terminates the
  // process. The callback never reports a short write to it; it keeps the first error and
  // we raise it once the archive is done.
  const std::string temp = path + kTempInfix + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("cannot write checkpoint '" + path + "': " + std::strerror(errno));
  int writeErrno = 0;
  auto fail = [&](const std::string& reason) {
    std::remove(temp.c_str());
    throw IoError("cannot write checkpoint '" + path + "': " + reason);
  };
  try {
    archive.save_to([&](const void* data, size_t n) -> size_t {
      const char* p = static_cast<const char*>(data);
      size_t left = writeErrno == 0 ? n : 0;
      while (left > 0) {
        const ssize_t w = ::write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          writeErrno = w < 0 ? errno : ENOSPC;
          break;
        }
        p += w;
        left -= static_cast<size_t>(w);
      }
      return n;
    });
  } catch (const c10::Error& e) {
    ::close(fd);
    fail(e.what_without_backtrace());
  }
  if (writeErrno == 0 && ::fsync(fd) != 0) writeErrno = errno;
  if (::close(fd) != 0 && writeErrno == 0) writeErrno = errno;
  if (writeErrno != 0) fail(std::strerror(writeErrno));
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec && !isDeviceError(ec.value())) {
    std::remove(temp.c_str());
    throw InputError("cannot write checkpoint '" + path + "': " + ec.message());
  }
  if (ec) fail(ec.message());
  fsyncPath(std::filesystem::path(path).parent_path().string());
}

void removeStaleCheckpointTemps(const std::string& dir) {
  const std::string infix = std::string(".pt") + kTempInfix;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint_", 0) == 0 && name.find(infix) != std::string::npos) {
      std::error_code ignored;
      std::filesystem::remove(entry.path(), ignored);
    }
  }
}

CheckpointState readCheckpointState(const std::string& path) {
  auto archive = openArchive(path);
  try {
    return readState(archive, path);
  } catch (const c10::Error& e) {
    throw InputError("checkpoint '" + path + "' is incomplete: " + e.what_without_backtrace());
  }
}

CheckpointState loadCheckpoint(const std::string& path, UNet& model, torch::optim::Optimizer* optimizer,
                               GradScaler* scaler) {
  auto archive = openArchive(path);
  try {
    CheckpointState state = readState(archive, path);
    // InputArchive replaces tensors without checking shapes: compare them ourselves so a
    // checkpoint of another topology is refused instead of silently reshaping the model.
    std::vector<std::pair<std::string, std::vector<int64_t>>> before;
    for (const auto& item : model->named_parameters()) before.emplace_back(item.key(), item.value().sizes().vec());
    torch::serialize::InputArchive modelArchive;
    archive.read("model", modelArchive);
    model->load(modelArchive);
    size_t i = 0;
    for (const auto& item : model->named_parameters()) {
      if (item.value().sizes().vec() != before[i].second) {
        throw InputError("checkpoint '" + path + "' was trained with another model: parameter '" +
                         item.key() + "' has shape " + c10::str(item.value().sizes()) +
                         " in the checkpoint but " + c10::str(c10::IntArrayRef(before[i].second)) +
                         " in the configured model");
      }
      ++i;
    }
    if (optimizer) {
      torch::serialize::InputArchive optimizerArchive;
      archive.read("optimizer", optimizerArchive);
      optimizer->load(optimizerArchive);
      torch::Tensor rng;
      archive.read("rng_cpu", rng);
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      generator.set_state(rng);
    }
    if (scaler) {
      // A checkpoint written without a scaler (amp off) leaves the fresh scaler as it is.
      torch::serialize::InputArchive scalerArchive;
      if (archive.try_read("grad_scaler", scalerArchive)) scaler->load(scalerArchive);
    }
    return state;
  } catch (const c10::Error& e) {
    throw InputError("checkpoint '" + path + "' does not match this model or is incomplete: " +
                     e.what_without_backtrace());
  }
}

}  // namespace seg
