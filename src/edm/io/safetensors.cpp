#include "edm/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"

namespace edm {

// The file's bytes, read once into memory. Not a memory map: a map turns a
// file truncated by someone else while we run into SIGBUS.
struct TensorFile::Mapping {
  std::unique_ptr<uint8_t[]> bytes;
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

namespace {

// O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
int open_regular(const std::string& path, uint64_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("'" + path + "' is not a regular file");
  }
  size = static_cast<uint64_t>(st.st_size);
  return fd;
}

void read_all(int fd, const std::string& path, uint8_t* out, uint64_t size) {
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      ::close(fd);
      throw Error("cannot read '" + path + "': " + (err ? std::strerror(err) : "file shrank while being read"));
    }
    done += static_cast<uint64_t>(n);
  }
}

}  // namespace

TensorFile::TensorFile(const std::string& path) : path_(path), map_(std::make_shared<Mapping>()) {
  int fd = open_regular(path, map_->size);
  if (map_->size > 0) {
    map_->bytes.reset(new (std::nothrow) uint8_t[map_->size]);
    if (!map_->bytes) {
      ::close(fd);
      throw Error("cannot read '" + path + "': not enough memory for " + std::to_string(map_->size) + " bytes");
    }
    read_all(fd, path, map_->bytes.get(), map_->size);
    map_->data = map_->bytes.get();
  }
  ::close(fd);
  try {
    header_ = safetensors::parse_header(map_->data, map_->size);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

torch::ScalarType to_scalar_type(safetensors::DType d) {
  using safetensors::DType;
  switch (d) {
    case DType::F64:
      return torch::kFloat64;
    case DType::F32:
      return torch::kFloat32;
    case DType::F16:
      return torch::kFloat16;
    case DType::BF16:
      return torch::kBFloat16;
    case DType::I64:
      return torch::kInt64;
    case DType::I32:
      return torch::kInt32;
    case DType::U8:
      return torch::kUInt8;
    case DType::BOOL:
      return torch::kBool;
  }
  throw Error("safetensors: unknown dtype");
}

safetensors::DType to_dtype(torch::ScalarType t) {
  using safetensors::DType;
  switch (t) {
    case torch::kFloat64:
      return DType::F64;
    case torch::kFloat32:
      return DType::F32;
    case torch::kFloat16:
      return DType::F16;
    case torch::kBFloat16:
      return DType::BF16;
    case torch::kInt64:
      return DType::I64;
    case torch::kInt32:
      return DType::I32;
    case torch::kUInt8:
      return DType::U8;
    case torch::kBool:
      return DType::BOOL;
    default:
      throw Error(std::string("safetensors: cannot store dtype ") + c10::toString(t));
  }
}

torch::Tensor TensorFile::get(const std::string& name) const {
  const auto* e = header_.find(name);
  if (!e) throw Error(path_ + ": no tensor named '" + name + "'");
  auto type = to_scalar_type(e->dtype);
  auto opts = torch::TensorOptions().dtype(type);
  const uint8_t* p = map_->data + header_.data_start + e->begin;
  if (e->end == e->begin) return torch::empty(e->shape, opts);
  if (reinterpret_cast<uintptr_t>(p) % safetensors::dtype_size(e->dtype) != 0) {
    auto t = torch::empty(e->shape, opts);
    std::memcpy(t.data_ptr(), p, e->end - e->begin);
    return t;
  }
  auto keep = map_;
  // Shared between the tensors of the file; callers that write must clone() first.
  return torch::from_blob(
      const_cast<uint8_t*>(p), e->shape, [keep](void*) {}, opts);
}

std::vector<std::string> TensorFile::names() const {
  std::vector<std::string> out;
  for (const auto& e : header_.entries) out.push_back(e.name);
  return out;
}

std::map<std::string, torch::Tensor> TensorFile::all() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : header_.entries) out[e.name] = get(e.name);
  return out;
}

std::string TensorFile::metadata(const std::string& key, const std::string& fallback) const {
  auto it = header_.metadata.find(key);
  return it == header_.metadata.end() ? fallback : it->second;
}

void save_tensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<safetensors::Entry> entries;
  std::vector<torch::Tensor> data;
  uint64_t pos = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw Error("safetensors: '__metadata__' is not a tensor name");
    auto c = t.detach().to(torch::kCPU).contiguous();
    safetensors::Entry e;
    e.name = name;
    e.dtype = to_dtype(c.scalar_type());
    e.shape = c.sizes().vec();
    e.begin = pos;
    e.end = pos + c.numel() * c.element_size();
    pos = e.end;
    entries.push_back(e);
    data.push_back(c);
  }
  AtomicFile f(path);
  f.write(safetensors::build_header(entries, metadata));
  for (const auto& c : data) f.write(c.data_ptr(), c.numel() * c.element_size());
  f.commit();
}

}  // namespace edm
