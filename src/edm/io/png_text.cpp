#include "edm/io/png_text.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>

#include "edm/core/error.h"

namespace edm {

namespace {

const char kSignature[] = "\x89PNG\r\n\x1a\n";

uint32_t be32(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void put_be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t crc_of(const std::string& s, size_t at, size_t n) {
  return static_cast<uint32_t>(
      crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(s.data() + at), static_cast<uInt>(n)));
}

struct Chunk {
  std::string type, data;
  size_t end;  // offset just past the chunk's CRC
};

// The chunk at `at`, with its length and CRC checked.
Chunk chunk_at(const std::string& png, size_t at, const std::string& where) {
  if (at + 12 > png.size()) throw Error(where + ": truncated PNG");
  const uint32_t len = be32(png, at);
  if (len > png.size() - at - 12) throw Error(where + ": truncated PNG chunk");
  if (be32(png, at + 8 + len) != crc_of(png, at + 4, 4 + len)) throw Error(where + ": PNG chunk with a wrong CRC");
  return {png.substr(at + 4, 4), png.substr(at + 8, len), at + 12 + len};
}

void check_signature(const std::string& png, const std::string& where) {
  if (png.size() < 8 || png.compare(0, 8, kSignature, 8) != 0) throw Error(where + " is not a PNG file");
}

// The text of an iTXt chunk: keyword\0 flag method language\0 translated\0 text.
bool parse_itxt(const std::string& d, std::string& key, std::string& text) {
  const size_t k = d.find('\0');
  if (k == std::string::npos || k + 3 > d.size() || d[k + 1] != 0) return false;  // compressed: not ours
  const size_t lang = d.find('\0', k + 3);
  const size_t trans = lang == std::string::npos ? lang : d.find('\0', lang + 1);
  if (trans == std::string::npos) return false;
  key = d.substr(0, k);
  text = d.substr(trans + 1);
  return true;
}

}  // namespace

std::string png_with_text(const std::string& png, const std::string& keyword, const std::string& text) {
  check_signature(png, "encoded image");
  if (keyword.empty() || keyword.size() > 79) throw Error("PNG text keyword must be 1-79 characters");
  for (unsigned char c : keyword)
    if (c < 32 || (c > 126 && c < 161)) throw Error("PNG text keyword '" + keyword + "' is not printable Latin-1");
  const Chunk header = chunk_at(png, 8, "encoded image");
  std::string body = "iTXt" + keyword + std::string("\0\0\0\0\0", 5) + text;
  std::string chunk;
  put_be32(chunk, static_cast<uint32_t>(body.size() - 4));
  chunk += body;
  put_be32(chunk, crc_of(body, 0, body.size()));
  return png.substr(0, header.end) + chunk + png.substr(header.end);
}

std::map<std::string, std::string> png_text_chunks(const std::string& png, const std::string& where) {
  check_signature(png, where);
  std::map<std::string, std::string> out;
  for (size_t at = 8; at < png.size();) {
    const Chunk c = chunk_at(png, at, where);
    at = c.end;
    if (c.type == "tEXt") {
      const size_t k = c.data.find('\0');
      if (k != std::string::npos) out[c.data.substr(0, k)] = c.data.substr(k + 1);
    } else if (c.type == "iTXt") {
      std::string key, text;
      if (parse_itxt(c.data, key, text)) out[key] = text;
    } else if (c.type == "IEND") {
      return out;
    }
  }
  throw Error(where + ": PNG without an IEND chunk");
}

}  // namespace edm
