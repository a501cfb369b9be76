// Files are written to a temporary name beside the target and renamed into
// place, so a crash at any instant leaves either the old file or the new one.
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
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

void write_file_atomic(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);  // throws edm::Error naming the path

}  // namespace edm
