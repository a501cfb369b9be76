// Whole files that may be gzip-compressed (IDX files, tar archives).
#pragma once
#include <string>

namespace edm {

// The file's bytes, decompressed when it is gzip and as they are otherwise.
// Throws edm::Error naming the path when it cannot be read or is corrupt.
std::string read_maybe_gzipped(const std::string& path);

}  // namespace edm
