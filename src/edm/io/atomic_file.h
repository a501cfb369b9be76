// Files are written to a temporary name beside the target and renamed into
// place, so a crash at any instant leaves either the old file or the new one.
// Only regular files are replaced (a symbolic link is followed); temporaries
// of writers that were killed are removed by the next writer of that file.
#pragma once
#include <cstdio>
#include <string>

namespace edm {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // throws edm::Error if it cannot be created
  ~AtomicFile();                                 // without commit(): the temporary is removed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();  // flush, fsync, rename over the target

 private:
  std::string path_;    // as given, for messages
  std::string target_;  // the file replaced (a symbolic link followed)
  std::string tmp_;
  std::FILE* f_ = nullptr;
};

void write_file_atomic(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);  // throws edm::Error naming the path
// Throws edm::Error unless `path` is a regular file: checked before opening,
// since opening a FIFO for reading waits for a writer forever.
void require_regular_file(const std::string& path);

}  // namespace edm
