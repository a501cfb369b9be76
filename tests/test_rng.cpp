#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/io/safetensors.h"
#include "testing.h"

using namespace edm;

TEST(Rng, ReproducesReferenceBitForBit) {
  TensorFile f(test::reference("rng.safetensors"));
  int checked = 0;
  for (const auto& name : f.names()) {
    ASSERT_EQ(name.rfind("randn.seed", 0), 0u) << name;
    uint64_t seed = std::stoull(name.substr(10));
    auto expected = f.get(name);
    auto got = at::randn(expected.sizes(), seed_generator(seed), torch::TensorOptions().dtype(expected.scalar_type()));
    EXPECT_TRUE(torch::equal(got, expected)) << name;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(Rng, SeedIsReducedModulo2To32) {
  auto a = at::randn({4}, seed_generator(5));
  auto b = at::randn({4}, seed_generator(5 + (1ull << 32)));
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(Rng, SeedBatchIsIndependentOfBatching) {
  SeedBatch all({3, 7, 11});
  SeedBatch one({7});
  auto x = all.randn({2, 4, 4}, torch::kFloat32, torch::kCPU);
  auto y = one.randn({2, 4, 4}, torch::kFloat32, torch::kCPU);
  EXPECT_TRUE(torch::equal(x[1], y[0]));
}

TEST(SeedList, ParsesLikeTheReference) {
  EXPECT_EQ(parse_seed_list("0-3"), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(parse_seed_list("1,2,5-7"), (std::vector<uint64_t>{1, 2, 5, 6, 7}));
  EXPECT_EQ(parse_seed_list("42"), (std::vector<uint64_t>{42}));
}

TEST(SeedList, RejectsMalformed) {
  for (const char* bad : {"", "a", "1,,2", "5-2", "-1", "1-", "1.5", "99999999999999999999", "1,2,"})
    EXPECT_THROW(parse_seed_list(bad), UsageError) << bad;
}

TEST(SeedList, RejectsRepeatedSeedsAndUnboundedLists) {
  EXPECT_THROW(parse_seed_list("0,0,1"), UsageError);
  EXPECT_THROW(parse_seed_list("0-9,5"), UsageError);
  EXPECT_THROW(parse_seed_list("0-67108863,67108864"), UsageError);  // 2^26 + 1 seeds
  std::string many;
  for (int i = 0; i < 3; ++i)
    many += (i ? "," : "") + std::to_string(i << 25) + "-" + std::to_string((i << 25) + 33554431);
  EXPECT_THROW(parse_seed_list(many), UsageError);
  EXPECT_EQ(parse_seed_list("0-33554431,33554432-67108863").size(), 1u << 26);
}
