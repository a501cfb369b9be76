// The safetensors container without any tensor library: header parsing and
// validation, and header building. Kept torch-free so that it can be tested
// under the sanitizers on its own.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace edm::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, U8, BOOL };

const char* dtype_name(DType d);
size_t dtype_size(DType d);
DType parse_dtype(const std::string& name);  // throws edm::Error on unknown

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
  uint64_t numel() const;
};

struct Header {
  std::vector<Entry> entries;  // sorted by begin offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // byte position of the data section in the file
  const Entry* find(const std::string& name) const;
};

// Validates everything: header length, JSON, dtypes, shapes against byte
// counts, offsets inside the data, no overlap, no gaps, no duplicate names.
// `bytes` is the whole file. Throws edm::Error with a one-line message.
Header parse_header(const uint8_t* bytes, uint64_t size);

// Builds the 8-byte length prefix plus the JSON header (padded to 8 bytes) for
// entries whose offsets the caller has laid out back to back.
std::string build_header(const std::vector<Entry>& entries, const std::map<std::string, std::string>& metadata);

}  // namespace edm::safetensors
