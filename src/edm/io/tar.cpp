#include "edm/io/tar.h"

#include <cstring>

#include "edm/core/error.h"
#include "edm/io/gzip.h"

namespace edm {

namespace {

// A header field of octal digits (ustar), or -1 when it is not one.
int64_t octal(const char* field, size_t width) {
  int64_t v = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  if (i == width || field[i] < '0' || field[i] > '7') return -1;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) v = v * 8 + (field[i] - '0');
  return v;
}

}  // namespace

std::map<std::string, std::string> read_tar(const std::string& path) {
  const std::string b = read_maybe_gzipped(path);
  std::map<std::string, std::string> files;
  size_t pos = 0;
  while (pos + 512 <= b.size()) {
    const char* h = b.data() + pos;
    if (h[0] == '\0') break;  // the two zero blocks at the end
    const int64_t size = octal(h + 124, 12);
    if (size < 0 || pos + 512 + static_cast<size_t>(size) > b.size())
      throw Error("'" + path + "' is not a tar archive");
    std::string name(h, strnlen(h, 100));
    if (std::memcmp(h + 257, "ustar", 5) == 0 && h[345])
      name = std::string(h + 345, strnlen(h + 345, 155)) + "/" + name;
    const char type = h[156];
    if (type == '0' || type == '\0') files[name] = b.substr(pos + 512, size);
    pos += 512 + (size + 511) / 512 * 512;
  }
  if (files.empty()) throw Error("'" + path + "' is not a tar archive or holds no files");
  return files;
}

}  // namespace edm
