// Errors the user can act on. Each one is printed as a single line by the CLI.
#pragma once
#include <stdexcept>
#include <string>

namespace edm {

// Bad input data or files (malformed model file, missing dataset...): exit 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Impossible options or values on the command line: exit 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace edm
