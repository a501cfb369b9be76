// SHA-256 (FIPS 180-4), to name a model file by its contents.
#pragma once
#include <string>

namespace edm {

std::string sha256_hex(const std::string& bytes);
// Of a file, read in pieces; throws edm::Error naming the path.
std::string sha256_file_hex(const std::string& path);

}  // namespace edm
