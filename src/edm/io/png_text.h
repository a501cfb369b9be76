// Text chunks of PNG files: how an image was made travels inside it, as
// stable-diffusion front ends do, readable by any PNG tool.
#pragma once
#include <map>
#include <string>

namespace edm {

// The PNG with an iTXt chunk (UTF-8, uncompressed) `keyword` = `text` right
// after its header. Throws edm::Error when `png` is not a PNG or the keyword
// is not 1-79 printable Latin-1 characters.
std::string png_with_text(const std::string& png, const std::string& keyword, const std::string& text);

// Every tEXt and uncompressed iTXt chunk by keyword. Throws edm::Error naming
// `where` when the bytes are not a well-formed PNG (bad signature, truncated
// chunk, wrong CRC).
std::map<std::string, std::string> png_text_chunks(const std::string& png, const std::string& where);

}  // namespace edm
