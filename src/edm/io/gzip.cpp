#include "edm/io/gzip.h"

#include <zlib.h>

#include "edm/core/error.h"

namespace edm {

std::string read_maybe_gzipped(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files unchanged too
  if (!f) throw Error("cannot open '" + path + "'");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  int err = 0;
  const std::string msg = gzerror(f, &err);  // copied: gzclose frees it
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) throw Error("'" + path + "' is corrupt (" + msg + ")");
  return out;
}

}  // namespace edm
