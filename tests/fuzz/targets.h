// Fuzz targets: one entry function per parser of untrusted input, shared by
// the libFuzzer binaries (scripts/fuzz.sh) and the ordinary test suite, which
// replays the corpus in tests/fuzz/corpus/<target>/ through them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace edm::fuzz {

// The target names: safetensors, model_file, edm_config, dataset_zip,
// dataset_json, idx, png, seeds.
const std::vector<std::string>& target_names();

// Feeds `data` to the target's parser. Rejections (edm::Error) are the
// expected outcome of bad input and return normally; anything else (another
// exception, a crash, a sanitizer report) is a finding. Throws
// std::invalid_argument for an unknown target.
void run_target(const std::string& target, const uint8_t* data, size_t size);

}  // namespace edm::fuzz
