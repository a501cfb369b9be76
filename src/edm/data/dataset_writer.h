// Where `edm dataset` writes: a zip archive (stored, uncompressed entries) or
// a folder. Everything goes to a temporary name beside the destination and is
// renamed into place by commit(), so nothing appears under the final name
// unless the whole data set was written.
#pragma once
#include <memory>
#include <string>

namespace edm {

class DatasetWriter {
 public:
  virtual ~DatasetWriter() = default;                                // without commit(): the temporary is removed
  virtual void add(const std::string& name, std::string bytes) = 0;  // '/'-separated
  virtual void commit() = 0;
};

// A zip when `dest` ends in ".zip" (an existing file is replaced), else a
// folder, which must be empty or absent. Throws edm::Error naming `dest`.
std::unique_ptr<DatasetWriter> open_dataset_writer(const std::string& dest);

}  // namespace edm
