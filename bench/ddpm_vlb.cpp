// The discrete variational bound (bits/dim) of a DDPM model on the first N
// images of a data set (the Fashion-MNIST test split by default): all T
// terms per image, one noise draw each (ddpm::variational_bound_bpd).
//
//   build/bench/ddpm_vlb --net MODEL [--data fashion-mnist:test] [--images 500] [--batch 100]
//                        [--seed 0] [--threads N] [--device cpu]
#include "edm/eval/ddpm_vlb.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/data/dataset.h"
#include "edm/io/image.h"
#include "edm/model/model_file.h"

using namespace edm;

int main(int argc, char** argv) {
  std::string net_path, data = "fashion-mnist:test", device_name = "cpu";
  int64_t images = 500, batch = 100, threads = 0;
  uint64_t seed = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--net")
      net_path = v;
    else if (k == "--data")
      data = v;
    else if (k == "--images")
      images = std::stoll(v);
    else if (k == "--batch")
      batch = std::stoll(v);
    else if (k == "--seed")
      seed = std::stoull(v);
    else if (k == "--threads")
      threads = std::stoll(v);
    else if (k == "--device")
      device_name = v;
    else
      return std::cerr << "unknown option " << k << "\n", 2;
  }
  if (net_path.empty()) return std::cerr << "--net is required\n", 2;
  try {
    if (threads > 0) torch::set_num_threads(static_cast<int>(threads));
    const torch::Device device(device_name);
    auto net = load_denoiser(net_path, device);
    const auto chain = ddpm::chain_of(*net);
    auto d = load_dataset(data);
    images = std::min(images, d.size());
    double sum = 0, sum_sq = 0, prior = 0, decoder = 0;
    for (int64_t start = 0; start < images; start += batch) {
      const int64_t n = std::min(batch, images - start);
      auto x = from_uint8(d.images.narrow(0, start, n), torch::kFloat64);
      torch::Tensor labels;
      if (net->label_dim() > 0)
        labels = torch::one_hot(d.labels.narrow(0, start, n), net->label_dim()).to(torch::kFloat32);
      auto b = ddpm::variational_bound_bpd(*net, chain, x, labels, seed + static_cast<uint64_t>(start));
      sum += b.total_bpd.sum().item<double>();
      sum_sq += b.total_bpd.square().sum().item<double>();
      prior += b.prior_bpd.sum().item<double>();
      decoder += b.terms_bpd.select(1, 0).sum().item<double>();
      std::fprintf(stderr, "%lld / %lld images: %.4f bits/dim so far\n", static_cast<long long>(start + n),
                   static_cast<long long>(images), sum / static_cast<double>(start + n));
    }
    const double N = static_cast<double>(images), mean = sum / N;
    const double stderr_mean = std::sqrt(std::max(sum_sq / N - mean * mean, 0.0) / N);
    std::printf("VLB %.4f +- %.4f bits/dim over %lld images (T %lld; prior %.5f, decoder L_0 %.4f)\n", mean,
                stderr_mean, static_cast<long long>(images), static_cast<long long>(chain.T()), prior / N, decoder / N);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
