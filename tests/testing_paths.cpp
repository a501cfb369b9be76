// The build's paths, compiled into this file alone (see testing.h).
#include "testing.h"

namespace edm::test {

std::string reference_dir() { return EDM_REFERENCE_DIR; }
std::string edm_binary() { return EDM_BINARY; }
std::string source_dir() { return EDM_SOURCE_DIR; }

}  // namespace edm::test
