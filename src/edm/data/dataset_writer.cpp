#include "edm/data/dataset_writer.h"

#include <unistd.h>
#include <zip.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

std::string temporary_beside(const std::string& dest) { return dest + ".tmp." + std::to_string(::getpid()); }

class ZipWriter : public DatasetWriter {
 public:
  explicit ZipWriter(std::string dest) : dest_(std::move(dest)), tmp_(temporary_beside(dest_)) {
    int err = 0;
    zip_ = zip_open(tmp_.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!zip_) throw Error("cannot write '" + dest_ + "'");
  }
  ~ZipWriter() override {
    if (zip_) zip_discard(zip_);
    std::remove(tmp_.c_str());
  }
  void add(const std::string& name, std::string bytes) override {
    void* data = std::malloc(bytes.size() ? bytes.size() : 1);  // libzip frees it at close
    std::memcpy(data, bytes.data(), bytes.size());
    zip_source_t* src = zip_source_buffer(zip_, data, bytes.size(), 1);
    if (!src) {
      std::free(data);
      throw Error("cannot write '" + dest_ + "': " + zip_strerror(zip_));
    }
    const zip_int64_t i = zip_file_add(zip_, name.c_str(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (i < 0) {
      zip_source_free(src);
      throw Error("cannot write '" + dest_ + "': " + zip_strerror(zip_));
    }
    zip_set_file_compression(zip_, i, ZIP_CM_STORE, 0);
  }
  void commit() override {
    if (zip_close(zip_) != 0) throw Error("cannot write '" + dest_ + "': " + zip_strerror(zip_));
    zip_ = nullptr;
    if (std::rename(tmp_.c_str(), dest_.c_str()) != 0)
      throw Error("cannot write '" + dest_ + "': " + std::strerror(errno));
  }

 private:
  std::string dest_, tmp_;
  zip_t* zip_ = nullptr;
};

class FolderWriter : public DatasetWriter {
 public:
  explicit FolderWriter(std::string dest) : dest_(std::move(dest)), tmp_(temporary_beside(dest_)) {
    std::error_code ec;
    if (fs::exists(dest_, ec) && !(fs::is_directory(dest_, ec) && fs::is_empty(dest_, ec)))
      throw Error("--dest " + dest_ + " exists and is not an empty folder");
    fs::remove_all(tmp_, ec);
    if (!fs::create_directories(tmp_, ec)) throw Error("cannot write '" + dest_ + "': " + ec.message());
  }
  ~FolderWriter() override {
    std::error_code ec;
    if (!committed_) fs::remove_all(tmp_, ec);
  }
  void add(const std::string& name, std::string bytes) override {
    const fs::path path = fs::path(tmp_) / name;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    write_file_atomic(path.string(), bytes);
  }
  void commit() override {
    std::error_code ec;
    if (fs::is_directory(dest_, ec)) fs::remove(dest_, ec);  // empty, checked above
    fs::rename(tmp_, dest_, ec);
    if (ec) throw Error("cannot write '" + dest_ + "': " + ec.message());
    committed_ = true;
  }

 private:
  std::string dest_, tmp_;
  bool committed_ = false;
};

}  // namespace

std::unique_ptr<DatasetWriter> open_dataset_writer(const std::string& dest) {
  if (dest.empty()) throw UsageError("--dest must not be empty");
  const fs::path parent = fs::path(dest).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (fs::path(dest).extension() == ".zip") return std::make_unique<ZipWriter>(dest);
  return std::make_unique<FolderWriter>(dest);
}

}  // namespace edm
