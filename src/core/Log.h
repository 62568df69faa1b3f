#pragma once
// Named loggers for library code ("data", "train", "dist", "eval"). They share the
// sinks of spdlog's default logger, which only app/ configures.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace seg {

std::shared_ptr<spdlog::logger> logger(const std::string& name);

}  // namespace seg
