#include "png_record.h"

#include <filesystem>
#include <iostream>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"
#include "edm/io/png_text.h"
#include "edm/io/sha256.h"

namespace edm::cli {

namespace fs = std::filesystem;

namespace {

// The record's names of the network's arithmetic, and back.
const std::vector<std::pair<torch::ScalarType, std::string>> kPrecisionNames = {
    {torch::kFloat32, "float32"}, {torch::kBFloat16, "bfloat16"}, {torch::kFloat16, "float16"}};

}  // namespace

GenerationRecord run_record(const std::string& net_path, const SamplerArgs& s, torch::Device device,
                            torch::ScalarType precision, const std::string& latents_path) {
  GenerationRecord r = edm::run_record(net_path, s.gen, s.guidance, device);
  for (const auto& [dtype, name] : kPrecisionNames)
    if (dtype == precision) r.precision = name;
  if (!latents_path.empty()) r.latents_file = fs::path(latents_path).filename().string();
  if (!s.guide_net.empty()) {
    r.guide_name = fs::path(s.guide_net).filename().string();
    r.guide_sha256 = sha256_file_hex(s.guide_net);
  }
  r.guidance_interval = s.guidance_interval;
  if (!s.classifier.empty()) {
    r.classifier_name = fs::path(s.classifier).filename().string();
    r.classifier_sha256 = sha256_file_hex(s.classifier);
    r.classifier_scale = s.classifier_scale.value_or(1.0);
  }
  if (!s.upsampler.empty()) {
    r.upsampler_name = fs::path(s.upsampler).filename().string();
    r.upsampler_sha256 = sha256_file_hex(s.upsampler);
    r.cond_aug = s.cond_aug;
  }
  return r;
}

namespace {

std::string find_model(const std::string& png_path, const std::string& name) {
  for (const fs::path& p : {fs::path(name), fs::path(png_path).parent_path() / name})
    if (fs::is_regular_file(p)) return p.string();
  throw UsageError(png_path + " was made by model '" + name + "', which is not here: give --net");
}

// The file of a model named in the record, checked against its hash.
std::string find_checked(const std::string& png_path, const std::string& given, const std::string& name,
                         const std::string& sha256) {
  const std::string path = given.empty() ? find_model(png_path, name) : given;
  const std::string sha = sha256_file_hex(path);
  if (sha != sha256)
    throw Error(path + " (sha256 " + sha.substr(0, 12) + "...) is not the model that made " + png_path + " (" + name +
                ", sha256 " + sha256.substr(0, 12) + "...)");
  return path;
}

}  // namespace

FromPng read_from_png(const std::string& png_path, const std::string& net, SamplerArgs& s) {
  const auto chunks = png_text_chunks(read_file(png_path), png_path);
  auto it = chunks.find(kGenerationRecordKey);
  if (it == chunks.end()) throw Error(png_path + " carries no edm generation parameters");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception&) {
    throw Error(png_path + ": its edm generation parameters are not valid JSON");
  }
  const GenerationRecord r = record_from_json(j, png_path);
  if (!r.latents_file.empty())
    throw Error(png_path + " was made from given latents (" + r.latents_file +
                "); run edm generate with --latents and the options it records");
  if (r.grid) throw Error(png_path + " is a grid; make one of its images with --from-png on the image itself");
  // Remade in the recorded arithmetic, whatever the model file says now.
  if (r.precision == "float32")
    s.precision = {false, true};
  else if (r.precision == "bfloat16")
    s.precision = {true, false};
  else
    throw Error(png_path + ": precision '" + r.precision + "' is not supported by --from-png");
  FromPng f;
  f.net = find_checked(png_path, net, r.model_name, r.model_sha256);
  // The guiding model is looked for as the main one is (no option names it here).
  s.guide_net = r.guide_name.empty() ? "" : find_checked(png_path, "", r.guide_name, r.guide_sha256);
  s.guidance_interval = r.guidance_interval;
  s.classifier = r.classifier_name.empty() ? "" : find_checked(png_path, "", r.classifier_name, r.classifier_sha256);
  s.classifier_scale = r.classifier_name.empty() ? std::nullopt : std::optional<double>(r.classifier_scale);
  s.upsampler = r.upsampler_name.empty() ? "" : find_checked(png_path, "", r.upsampler_name, r.upsampler_sha256);
  s.cond_aug = r.cond_aug;
  if (r.edm_version != EDM_VERSION)
    std::cerr << "edm: warning: " << png_path << " was made by edm " << r.edm_version << ", this is " << EDM_VERSION
              << "\n";
  s.gen = r.gen;
  s.guidance = r.guidance;
  f.seeds = format_seed_list(r.batch_seeds);
  f.batch = static_cast<int64_t>(r.batch_seeds.size());
  f.only = {r.seed};
  f.device = r.device;
  return f;
}

}  // namespace edm::cli
