// The files of a folder or of a zip archive, read the same way: data sets
// arrive as either (the reference's ImageFolderDataset reads both).
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace edm {

class FileTree {
 public:
  virtual ~FileTree() = default;
  // Every regular file, relative and '/'-separated, sorted as strings.
  virtual std::vector<std::string> names() = 0;
  // The bytes of one of names(); throws edm::Error naming the tree and the file.
  virtual std::string read(const std::string& name) = 0;
  virtual bool has(const std::string& name) = 0;
};

// A directory, or else a zip archive; throws edm::Error naming `path` when it
// is neither.
std::unique_ptr<FileTree> open_file_tree(const std::string& path);

// Whether a file name has an image extension that the image decoder reads.
bool is_image_name(const std::string& name);

}  // namespace edm
