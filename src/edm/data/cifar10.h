// CIFAR-10's binary version (cifar-10-binary.tar.gz): five training batches
// of 10000 records, each one label byte then 3x32x32 bytes, channels first.
#pragma once
#include <string>

#include "edm/data/idx.h"

namespace edm {

// The 50000 training images as uint8 [N,3,32,32] and labels int64 [N], in the
// order of data_batch_1.bin ... data_batch_5.bin. Throws edm::Error naming the
// archive and the member that is missing or truncated.
LabelledImages load_cifar10_binary(const std::string& tarball);

}  // namespace edm
