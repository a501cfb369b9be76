#include "edm/core/rng.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "edm/core/error.h"

namespace edm {

at::Generator seed_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed % (1ull << 32)); }

namespace {

uint64_t parse_uint(const std::string& s, const std::string& whole) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("invalid seed list '" + whole + "': '" + s + "' is not a non-negative integer");
  if (s.size() > 19 || std::stoull(s) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw UsageError("invalid seed list '" + whole + "': " + s + " is out of range");
  return std::stoull(s);
}

}  // namespace

namespace {

constexpr uint64_t kMaxSeeds = 1ull << 26;

using Range = std::pair<uint64_t, uint64_t>;  // first and last seed

// A seed twice would name two images the same and leave one row unwritten.
// Checked on the ranges, not the expanded list: 2^26 seeds sort slowly.
void check_unique(std::vector<Range> ranges, const std::string& text) {
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first <= ranges[i - 1].second)  // the smallest seed given twice
      throw UsageError("invalid seed list '" + text + "': seed " + std::to_string(ranges[i].first) + " appears twice");
    ranges[i].second = std::max(ranges[i].second, ranges[i - 1].second);
  }
}

// "a" or "a-b" (a <= b, fewer than 2^26 seeds).
Range parse_range(const std::string& part, const std::string& text) {
  const size_t dash = part.find('-', 1);
  if (dash == std::string::npos) {
    const uint64_t a = parse_uint(part, text);
    return {a, a};
  }
  const uint64_t a = parse_uint(part.substr(0, dash), text), b = parse_uint(part.substr(dash + 1), text);
  if (b < a) throw UsageError("invalid seed list '" + text + "': range " + part + " is descending");
  if (b - a >= kMaxSeeds) throw UsageError("invalid seed list '" + text + "': range " + part + " is too long");
  return {a, b};
}

}  // namespace

std::vector<uint64_t> parse_seed_list(const std::string& text) {
  if (text.empty()) throw UsageError("empty seed list");
  std::vector<Range> ranges;
  uint64_t count = 0;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    ranges.push_back(
        parse_range(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start), text));
    count += ranges.back().second - ranges.back().first + 1;
    if (count > kMaxSeeds) throw UsageError("invalid seed list '" + text + "': more than 2^26 seeds");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  check_unique(ranges, text);
  std::vector<uint64_t> out;
  out.reserve(count);
  for (const auto& [a, b] : ranges)
    for (uint64_t s = a; s <= b; ++s) out.push_back(s);
  return out;
}

SeedBatch::SeedBatch(const std::vector<uint64_t>& seeds) {
  for (uint64_t s : seeds) gens_.push_back(seed_generator(s));
}

torch::Tensor SeedBatch::randn(at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device) {
  std::vector<torch::Tensor> rows;
  rows.reserve(gens_.size());
  auto opts = torch::TensorOptions().dtype(dtype);
  for (auto& g : gens_) rows.push_back(at::randn(shape, g, opts));
  return torch::stack(rows).to(device);
}

torch::Tensor SeedBatch::randint(int64_t high, torch::Device device) {
  std::vector<torch::Tensor> rows;
  for (auto& g : gens_) rows.push_back(at::randint(high, {}, g, torch::TensorOptions().dtype(torch::kInt64)));
  return torch::stack(rows).to(device);
}

}  // namespace edm
