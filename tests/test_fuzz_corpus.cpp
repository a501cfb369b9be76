// The fuzz corpus (tests/fuzz/corpus/<target>/) replayed through the fuzz
// targets' entry functions: every input is either accepted or rejected with
// edm::Error, never anything else. scripts/fuzz.sh grows the corpus.
#include <filesystem>
#include <fstream>

#include "fuzz/targets.h"
#include "testing.h"

namespace fs = std::filesystem;

TEST(FuzzCorpus, EveryInputIsAcceptedOrRejectedWithAnError) {
  const fs::path corpus = fs::path(edm::test::source_dir()) / "tests/fuzz/corpus";
  for (const auto& target : edm::fuzz::target_names()) {
    int inputs = 0;
    for (const auto& e : fs::directory_iterator(corpus / target)) {
      std::ifstream in(e.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      try {
        edm::fuzz::run_target(target, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      } catch (const std::exception& ex) {
        ADD_FAILURE() << target << " " << e.path().filename() << ": " << ex.what();
      }
      ++inputs;
    }
    EXPECT_GT(inputs, 0) << "no corpus for " << target;
  }
}
