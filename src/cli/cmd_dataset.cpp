// edm dataset: the reference's dataset_tool.py (same sources, options and
// output layout), so that `edm train --data` and the reference's training
// read what it writes.
#include <iostream>

#include "common.h"
#include "edm/data/dataset_tool.h"

namespace edm::cli {

namespace {

struct DatasetArgs {
  DatasetToolOptions o;
  std::string resolution;
  bool quiet = false;
};

void run(DatasetArgs& a) {
  if (!a.resolution.empty()) parse_resolution(a.resolution, a.o.transform);
  a.o.progress = !a.quiet;
  const auto r = make_dataset(a.o);
  std::cout << r.images << " images of " << r.resolution << "x" << r.resolution << "x" << r.channels << ", "
            << (r.labelled ? "labelled" : "unlabelled");
  if (r.skipped) std::cout << ", " << r.skipped << " skipped (too small for --transform center-crop-wide)";
  std::cout << ", in " << a.o.dest << "\n";
}

}  // namespace

void register_dataset(CLI::App& app) {
  auto* sub = app.add_subcommand("dataset", "Make a data set folder or zip (reference dataset_tool.py)");
  auto a = std::make_shared<DatasetArgs>();
  sub->add_option("--source", a->o.source,
                  "A folder or .zip of images (+ dataset.json), *-images-idx3-ubyte[.gz] (MNIST), "
                  "cifar-10-binary.tar.gz, or fashion-mnist (built in; fashion-mnist:test)")
      ->required();
  sub->add_option("--dest", a->o.dest, "Output folder (empty or new) or .zip")->required();
  sub->add_option("--max-images", a->o.max_images, "Maximum number of images to output");
  sub->add_option("--transform", a->o.transform.mode, "Crop and resize mode: center-crop|center-crop-wide");
  sub->add_option("--resolution", a->resolution, "Output resolution WxH, e.g. 64x64 (resized with Lanczos)");
  sub->add_flag("-q,--quiet", a->quiet, "No progress line");
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
