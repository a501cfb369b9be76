// Errors the user can act on. Each one is printed as a single line by the CLI.
#pragma once
#include <cstdlib>
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

// A usage error that was already printed (by rank 0 of an --nproc job): exit
// 2 without a second line.
class ReportedUsageError : public UsageError {
 public:
  ReportedUsageError() : UsageError("") {}
};

// Whether this process is a rank other than 0 of an --nproc job (RANK set):
// such a rank leaves usage errors, the same on every rank, to rank 0.
inline bool is_secondary_rank() {
  const char* rank = std::getenv("RANK");
  return rank && std::string(rank) != "0";
}

}  // namespace edm
