#include "edm/eval/detector_train.h"

#include <cstdio>

#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/core/rng.h"
#include "edm/data/idx.h"
#include "edm/eval/fmnist_cnn.h"

namespace edm {

double classifier_accuracy(FashionCnnImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                           torch::Device device) {
  torch::NoGradGuard no_grad;
  net.eval();
  int64_t correct = 0, n = images.size(0);
  for (int64_t i = 0; i < n; i += 1000) {
    auto x = fashion_cnn_input(images.slice(0, i, std::min(n, i + 1000))).to(device);
    auto pred = net.forward(x).argmax(1).cpu();
    correct += (pred == labels.slice(0, i, std::min(n, i + 1000))).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / std::max<int64_t>(n, 1);
}

double train_fashion_detector(const std::string& dest, const DetectorTrainOptions& o, torch::Device device) {
  if (o.epochs < 1 || o.batch < 1 || !(o.lr > 0)) throw UsageError("epochs, batch and lr must be positive");
  if (o.epochs > 10000) throw UsageError("--epochs must be at most 10000");
  auto train = o.data_dir.empty() ? load_fashion_mnist("train") : load_fashion_mnist("train", o.data_dir);
  auto test = o.data_dir.empty() ? load_fashion_mnist("t10k") : load_fashion_mnist("t10k", o.data_dir);
  torch::manual_seed(o.seed);
  auto gen = seed_generator(o.seed);
  FashionCnn net;
  net->to(device);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o.lr));
  int64_t n = train.images.size(0), steps_per_epoch = (n + o.batch - 1) / o.batch;
  Progress progress("train detector", o.epochs * steps_per_epoch);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    net->train();
    // Halve the step size for the last epoch: a cheap anneal that adds accuracy.
    if (epoch == o.epochs - 1 && o.epochs > 1)
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(o.lr / 3);
    auto order = torch::randperm(n, gen, torch::kInt64);
    double loss_sum = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      auto idx = order.slice(0, s * o.batch, std::min(n, (s + 1) * o.batch));
      auto x = fashion_cnn_input(train.images.index_select(0, idx)).to(device);
      auto y = train.labels.index_select(0, idx).to(device);
      auto loss = torch::cross_entropy_loss(net->forward(x), y);
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
      char extra[64];
      std::snprintf(extra, sizeof extra, "epoch %d loss %.4f", epoch + 1, loss_sum / (s + 1));
      progress.update(epoch * steps_per_epoch + s + 1, extra);
    }
  }
  double acc = classifier_accuracy(*net, test.images, test.labels, device);
  char extra[64];
  std::snprintf(extra, sizeof extra, "test accuracy %.4f", acc);
  progress.finish(extra);
  net->to(torch::kCPU);
  save_fashion_cnn(dest, net, acc);
  return acc;
}

}  // namespace edm
