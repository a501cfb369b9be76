// Classifier guidance on Fashion-MNIST: an unconditional model guided by a
// noise-aware classifier towards each class in turn; the built-in detector's
// classifier (an independent network) judges which class every sample shows.
// Prints, per scale s, the rate at which samples are assigned the requested
// class, and writes a grid per scale (one row per class).
//
//   build/bench/classifier_guidance --net UNCOND.safetensors --classifier CLF.safetensors
//       [--scales 0,1,2,4] [--num 1000] [--steps 18] [--batch 100] [--grid-dir DIR] [--threads N]
#include "edm/sampling/classifier_guidance.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/eval/detector.h"
#include "edm/eval/fmnist_cnn.h"
#include "edm/io/image.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"

using namespace edm;

namespace {

struct Args {
  std::string net, classifier, grid_dir;
  std::vector<double> scales{0, 1, 2, 4};
  int64_t num = 1000, steps = 18, batch = 100, threads = 0;
};

std::vector<double> parse_scales(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(std::stod(item));
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--net")
      a.net = v;
    else if (k == "--classifier")
      a.classifier = v;
    else if (k == "--scales")
      a.scales = parse_scales(v);
    else if (k == "--num")
      a.num = std::stoll(v);
    else if (k == "--steps")
      a.steps = std::stoll(v);
    else if (k == "--batch")
      a.batch = std::stoll(v);
    else if (k == "--grid-dir")
      a.grid_dir = v;
    else if (k == "--threads")
      a.threads = std::stoll(v);
    else
      throw UsageError("unknown option " + k);
  }
  if (a.net.empty() || a.classifier.empty()) throw UsageError("give --net and --classifier");
  return a;
}

// Samples of class `cls` for seeds [first, first + n), classified by `judge`:
// returns how many were judged `cls`, and keeps the first 10 images for the grid.
int64_t count_hits(Denoiser& guided, FashionCnn& judge, int64_t cls, uint64_t first, int64_t n, int64_t steps,
                   torch::Tensor& row) {
  GenerateOptions o;
  o.class_idx = cls;
  o.sampler_options.num_steps = steps;
  std::vector<uint64_t> seeds(n);
  for (int64_t i = 0; i < n; ++i) seeds[i] = first + i;
  auto images = generate_batch(guided, seeds, o);
  auto u8 = to_uint8_nhwc(images).permute({0, 3, 1, 2});
  if (!row.defined()) row = u8.narrow(0, 0, std::min<int64_t>(10, n));
  torch::NoGradGuard no_grad;
  auto predicted = judge->forward(fashion_cnn_input(u8)).argmax(1);
  return (predicted == cls).sum().item<int64_t>();
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  edm::retain_freed_memory();  // as edm does
  init_threads(a.threads);
  auto net = load_denoiser(a.net, torch::kCPU);
  auto classifier = load_classifier(a.classifier, torch::kCPU);
  auto judge = load_fashion_cnn(default_detector_path());
  judge->eval();
  const int64_t classes = classifier->num_classes(), per_class = a.num / classes;
  std::printf("%-8s %-10s %s\n", "scale", "samples", "assigned the requested class (built-in detector)");
  for (double s : a.scales) {
    ClassifierGuidedDenoiser guided(net, classifier, s);
    int64_t hits = 0;
    std::vector<torch::Tensor> rows;
    for (int64_t c = 0; c < classes; ++c) {
      torch::Tensor row;
      for (int64_t done = 0; done < per_class; done += a.batch)
        hits += count_hits(guided, judge, c, uint64_t(c * per_class + done), std::min(a.batch, per_class - done),
                           a.steps, row);
      rows.push_back(row);
    }
    std::printf("%-8g %-10lld %.3f\n", s, static_cast<long long>(per_class * classes),
                double(hits) / double(per_class * classes));
    std::fflush(stdout);
    if (!a.grid_dir.empty()) {
      char name[64];
      std::snprintf(name, sizeof name, "/classifier_guidance_s%g.png", s);
      write_png(a.grid_dir + name, make_grid(torch::cat(rows), 10));
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "classifier_guidance: " << e.what() << "\n";
  return 1;
}
