#include <fstream>

#include "edm/core/error.h"
#include "edm/data/idx.h"
#include "testing.h"

using namespace edm;

TEST(Idx, LoadsFashionMnist) {
  auto test = load_fashion_mnist("t10k");
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(test.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(test.labels.max().item<int64_t>(), 9);
  EXPECT_GT(test.images.to(torch::kFloat).mean().item<double>(), 40.0);  // real pixels, not zeros
}

TEST(Idx, RejectsBadFiles) {
  test::TempDir dir;
  std::ofstream(dir / "a") << "not idx at all";
  EXPECT_THROW(read_idx(dir / "a"), Error);
  std::ofstream(dir / "b", std::ios::binary) << std::string("\0\0\x08\x01\0\0\0\x05xy", 10);
  EXPECT_THROW(read_idx(dir / "b"), Error);
  EXPECT_THROW(read_idx(dir / "missing"), Error);
  EXPECT_THROW(load_fashion_mnist("train", dir.path()), Error);
}
