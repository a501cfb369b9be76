#include "edm/data/archive.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

class FolderTree : public FileTree {
 public:
  explicit FolderTree(std::string root) : root_(std::move(root)) {}
  std::vector<std::string> names() override {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root_).generic_string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string read(const std::string& name) override { return read_file(root_ + "/" + name); }
  bool has(const std::string& name) override { return fs::is_regular_file(root_ + "/" + name); }

 private:
  std::string root_;
};

constexpr zip_uint64_t kMaxEntryBytes = zip_uint64_t(1) << 30;

class ZipTree : public FileTree {
 public:
  explicit ZipTree(const std::string& path) : path_(path) {
    require_regular_file(path);  // a FIFO would block zip_open forever
    int err = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &err);
    if (!zip_) throw Error(path + ": not a readable zip archive");
    std::error_code ec;
    archive_bytes_ = fs::file_size(path, ec);
  }
  ~ZipTree() override { zip_discard(zip_); }
  std::vector<std::string> names() override {
    std::vector<std::string> out;
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(zip_, i, 0);
      if (name && name[0] && name[std::strlen(name) - 1] != '/') out.emplace_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string read(const std::string& name) override {
    zip_stat_t st;
    if (zip_stat(zip_, name.c_str(), 0, &st) != 0) throw Error(path_ + ": no entry " + name);
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(zip_fopen(zip_, name.c_str(), 0), zip_fclose);
    if (!f) throw Error(path_ + ": cannot read " + name);
    // The declared size is allocated before reading: an entry's compressed
    // bytes lie within the archive, deflate expands them at most 1032:1, and
    // no image or dataset.json of a data set needs a gigabyte.
    const bool ratio_ok = !(st.valid & ZIP_STAT_COMP_SIZE) ||
                          (st.comp_size <= archive_bytes_ && st.size <= 1032 * st.comp_size + 1024);
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > kMaxEntryBytes || !ratio_ok)
      throw Error(path_ + ": entry " + name + " declares an implausible size of " + std::to_string(st.size) + " bytes");
    std::string data(st.size, '\0');
    if (zip_fread(f.get(), data.data(), st.size) != static_cast<zip_int64_t>(st.size))
      throw Error(path_ + ": " + name + " is corrupt");
    return data;
  }
  bool has(const std::string& name) override {
    zip_stat_t st;
    return zip_stat(zip_, name.c_str(), 0, &st) == 0;
  }

 private:
  std::string path_;
  zip_t* zip_ = nullptr;
  zip_uint64_t archive_bytes_ = 0;
};

}  // namespace

std::unique_ptr<FileTree> open_file_tree(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return std::make_unique<FolderTree>(path);
  return std::make_unique<ZipTree>(path);
}

bool is_image_name(const std::string& name) {
  static const std::set<std::string> exts = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pgm", ".ppm", ".pnm"};
  auto ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return exts.count(ext) > 0;
}

}  // namespace edm
