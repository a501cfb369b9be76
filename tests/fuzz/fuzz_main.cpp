// libFuzzer entry: EDM_FUZZ_TARGET names the target of tests/fuzz/targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  edm::fuzz::run_target(EDM_FUZZ_TARGET, data, size);
  return 0;
}
