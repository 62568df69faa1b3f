#pragma once
// Error types shared by every layer. Library code throws; only app/ turns an
// exception into a message and an exit code (InputError -> 2, anything else -> 1).
#include <stdexcept>
#include <string>

namespace seg {

// Bad usage, configuration or input data: the user can fix it. The message must
// name the file, key or case. Tools exit with code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration problem; the message already carries "file:line:col: key: ...".
class ConfigError : public InputError {
 public:
  using InputError::InputError;
};

// Something that should not happen whatever the input (a bug, an I/O failure we
// cannot attribute to the user). Tools exit with code 1.
class InternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace seg
