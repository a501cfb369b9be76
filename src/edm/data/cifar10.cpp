#include "edm/data/cifar10.h"

#include <cstring>

#include "edm/core/error.h"
#include "edm/io/tar.h"

namespace edm {

LabelledImages load_cifar10_binary(const std::string& tarball) {
  const auto files = read_tar(tarball);
  constexpr int64_t kRecord = 1 + 3 * 32 * 32, kPerBatch = 10000;
  auto images = torch::empty({5 * kPerBatch, 3, 32, 32}, torch::kUInt8);
  auto labels = torch::empty({5 * kPerBatch}, torch::kInt64);
  auto* img = images.data_ptr<uint8_t>();
  auto* lab = labels.data_ptr<int64_t>();
  for (int batch = 1; batch <= 5; ++batch) {
    const std::string member = "cifar-10-batches-bin/data_batch_" + std::to_string(batch) + ".bin";
    auto it = files.find(member);
    if (it == files.end()) throw Error(tarball + ": no member " + member + " (is it cifar-10-binary.tar.gz?)");
    if (static_cast<int64_t>(it->second.size()) != kRecord * kPerBatch)
      throw Error(tarball + ": " + member + " holds " + std::to_string(it->second.size()) + " bytes, expected " +
                  std::to_string(kRecord * kPerBatch));
    const auto* p = reinterpret_cast<const uint8_t*>(it->second.data());
    for (int64_t i = 0; i < kPerBatch; ++i, p += kRecord) {
      if (p[0] > 9) throw Error(tarball + ": " + member + " has label " + std::to_string(p[0]) + " (0-9)");
      *lab++ = p[0];
      std::memcpy(img, p + 1, kRecord - 1);
      img += kRecord - 1;
    }
  }
  return {images, labels};
}

}  // namespace edm
