// The safetensors header parser under ASan+UBSan: every reference file, then
// every truncation and many byte flips of a valid file. Any memory error or
// undefined behaviour aborts the process; parse errors must be edm::Error.
#include <dirent.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "edm/core/error.h"
#include "edm/io/safetensors_format.h"

using namespace edm::safetensors;

static std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static int parse(const std::string& bytes) {
  try {
    auto h = parse_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return static_cast<int>(h.entries.size());
  } catch (const edm::Error&) {
    return -1;
  }
}

int main() {
  std::vector<std::string> files;
  if (DIR* d = opendir(EDM_REFERENCE_DIR)) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 12 && n.substr(n.size() - 12) == ".safetensors")
        files.push_back(std::string(EDM_REFERENCE_DIR) + "/" + n);
    }
    closedir(d);
  }
  for (const auto& f : files) {
    if (parse(slurp(f)) <= 0) {
      std::cerr << "failed to parse " << f << "\n";
      return 1;
    }
  }
  std::vector<Entry> entries = {{"a", DType::F32, {2, 2}, 0, 16}, {"b", DType::U8, {3}, 16, 19}};
  std::string valid = build_header(entries, {{"k", "v"}}) + std::string(19, '\1');
  if (parse(valid) != 2) return 1;
  int rejected = 0;
  for (size_t n = 0; n < valid.size(); ++n) rejected += parse(valid.substr(0, n)) < 0;
  std::mt19937 rng(0);
  for (int i = 0; i < 20000; ++i) {
    std::string s = valid;
    int flips = 1 + rng() % 4;
    for (int k = 0; k < flips; ++k) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
    parse(s);
  }
  std::cout << files.size() << " reference files parsed, " << rejected
            << " truncations rejected, 20000 mutations survived\n";
  return rejected == static_cast<int>(valid.size()) ? 0 : 1;
}
