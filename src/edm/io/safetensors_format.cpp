#include "edm/io/safetensors_format.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "edm/core/error.h"

namespace edm::safetensors {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // as the format's own reader

[[noreturn]] void fail(const std::string& what) { throw Error("safetensors: " + what); }

}  // namespace

const char* dtype_name(DType d) {
  switch (d) {
    case DType::F64:
      return "F64";
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::U8:
      return "U8";
    case DType::BOOL:
      return "BOOL";
  }
  return "?";
}

size_t dtype_size(DType d) {
  switch (d) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
      return 2;
    case DType::U8:
    case DType::BOOL:
      return 1;
  }
  return 0;
}

DType parse_dtype(const std::string& name) {
  static const std::map<std::string, DType> table = {{"F64", DType::F64},   {"F32", DType::F32},  {"F16", DType::F16},
                                                     {"BF16", DType::BF16}, {"I64", DType::I64},  {"I32", DType::I32},
                                                     {"U8", DType::U8},     {"BOOL", DType::BOOL}};
  auto it = table.find(name);
  if (it == table.end()) fail("unsupported dtype '" + name + "'");
  return it->second;
}

uint64_t Entry::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

const Entry* Header::find(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

namespace {

// The JSON text after the 8-byte little-endian length, checked against the file size.
std::pair<const char*, uint64_t> header_text(const uint8_t* bytes, uint64_t size) {
  if (size == 0) fail("file is empty");
  if (size < 8) fail("file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeader) fail("header length " + std::to_string(n) + " is implausibly large");
  if (n > size - 8)
    fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) + " bytes)");
  return {reinterpret_cast<const char*>(bytes + 8), n};
}

nlohmann::json parse_json_object(const char* text, uint64_t n) {
  // Duplicate keys are silently merged by JSON parsers; catch them while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      auto key = parsed.get<std::string>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, text + n, cb);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!duplicate.empty()) fail("duplicate tensor name '" + duplicate + "'");
  if (!j.is_object()) fail("header is not a JSON object");
  return j;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& v) {
  if (!v.is_object()) fail("__metadata__ is not an object");
  std::map<std::string, std::string> metadata;
  for (auto m = v.begin(); m != v.end(); ++m) {
    if (!m.value().is_string()) fail("__metadata__ value '" + m.key() + "' is not a string");
    metadata[m.key()] = m.value().get<std::string>();
  }
  return metadata;
}

bool non_negative_integer(const nlohmann::json& d) {
  return d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0);
}

// One tensor's entry; its byte range must lie inside data_size bytes and
// match its shape and dtype.
Entry parse_entry(const std::string& name, const nlohmann::json& v, uint64_t data_size) {
  if (!v.is_object()) fail("entry '" + name + "' is not an object");
  if (!v.contains("dtype") || !v["dtype"].is_string()) fail("entry '" + name + "' has no dtype");
  if (!v.contains("shape") || !v["shape"].is_array()) fail("entry '" + name + "' has no shape");
  if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
    fail("entry '" + name + "' has no data_offsets [begin, end]");
  Entry e;
  e.name = name;
  try {
    e.dtype = parse_dtype(v["dtype"].get<std::string>());
  } catch (const Error&) {
    fail("entry '" + name + "' has unsupported dtype '" + v["dtype"].get<std::string>() + "'");
  }
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : v["shape"]) {
    if (!non_negative_integer(d)) fail("entry '" + name + "' has a shape that is not a list of non-negative integers");
    uint64_t dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim) overflow = true;
    numel *= dim;
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  for (const auto& o : v["data_offsets"])
    if (!non_negative_integer(o)) fail("entry '" + name + "' has data_offsets that are not non-negative integers");
  e.begin = v["data_offsets"][0].get<uint64_t>();
  e.end = v["data_offsets"][1].get<uint64_t>();
  if (e.end < e.begin) fail("entry '" + name + "' has data_offsets with end before begin");
  if (e.end > data_size)
    fail("entry '" + name + "' has data_offsets past the end of the data (" + std::to_string(e.end) + " > " +
         std::to_string(data_size) + ")");
  const uint64_t elem = dtype_size(e.dtype);
  if (overflow || numel > std::numeric_limits<uint64_t>::max() / elem || numel * elem != e.end - e.begin)
    fail("entry '" + name + "' has " + std::to_string(e.end - e.begin) +
         " bytes, which does not match its shape and dtype");
  return e;
}

// Sorts the entries by offset; they must tile the data exactly.
void check_tiling(std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t pos = 0;
  for (const auto& e : entries) {
    if (e.begin < pos) fail("entry '" + e.name + "' overlaps another tensor");
    if (e.begin > pos) fail("gap in the data before entry '" + e.name + "'");
    pos = e.end;
  }
  if (pos != data_size)
    fail("tensors cover " + std::to_string(pos) + " of " + std::to_string(data_size) + " data bytes");
}

}  // namespace

Header parse_header(const uint8_t* bytes, uint64_t size) {
  const auto [text, n] = header_text(bytes, size);
  const nlohmann::json j = parse_json_object(text, n);
  Header h;
  h.data_start = 8 + n;
  const uint64_t data_size = size - h.data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__")
      h.metadata = parse_metadata(it.value());
    else
      h.entries.push_back(parse_entry(it.key(), it.value(), data_size));
  }
  check_tiling(h.entries, data_size);
  return h;
}

std::string build_header(const std::vector<Entry>& entries, const std::map<std::string, std::string>& metadata) {
  nlohmann::json j = nlohmann::json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  for (const auto& e : entries)
    j[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {e.begin, e.end}}};
  std::string text = j.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // keep the data 8-byte aligned
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace edm::safetensors
