// Members of a (gzip-compressed) tar archive, read whole into memory.
#pragma once
#include <map>
#include <string>

namespace edm {

// Regular files by name; throws edm::Error naming `path` when it is not a
// readable tar (plain or gzip).
std::map<std::string, std::string> read_tar(const std::string& path);

}  // namespace edm
