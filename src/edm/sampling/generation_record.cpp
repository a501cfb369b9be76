#include "edm/sampling/generation_record.h"

#include <filesystem>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/io/image.h"
#include "edm/io/png_text.h"
#include "edm/io/sha256.h"
#include "edm/sampling/options_json.h"

namespace edm {

std::string format_seed_list(const std::vector<uint64_t>& seeds) {
  std::string out;
  for (size_t i = 0; i < seeds.size();) {
    size_t j = i;
    while (j + 1 < seeds.size() && seeds[j + 1] == seeds[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(seeds[i]);
    if (j > i) out += "-" + std::to_string(seeds[j]);
    i = j + 1;
  }
  return out;
}

GenerationRecord model_record(const std::string& model_name, const std::string& model_sha256,
                              const GenerateOptions& gen, std::optional<double> guidance, torch::Device device) {
  GenerationRecord r;
  r.model_name = model_name;
  r.model_sha256 = model_sha256;
  r.gen = gen;
  r.gen.sampler = resolve_sampler(gen).name;
  r.guidance = guidance;
  r.device = device.str();
  return r;
}

GenerationRecord run_record(const std::string& net_path, const GenerateOptions& gen, std::optional<double> guidance,
                            torch::Device device) {
  return model_record(std::filesystem::path(net_path).filename().string(), sha256_file_hex(net_path), gen, guidance,
                      device);
}

std::string png_with_record(const torch::Tensor& hwc, GenerationRecord run, uint64_t seed,
                            const std::vector<uint64_t>& batch) {
  run.seed = seed;
  run.batch_seeds = batch;
  return png_with_text(encode_png(hwc), kGenerationRecordKey, record_to_json(run).dump());
}

nlohmann::json record_to_json(const GenerationRecord& r) {
  const SamplerInfo& sampler = resolve_sampler(r.gen);
  nlohmann::json j = {
      {"edm_version", r.edm_version},
      {"model", {{"name", r.model_name}, {"sha256", r.model_sha256}}},
      {"seed", r.seed},
      {"batch_seeds", format_seed_list(r.batch_seeds)},
      {"class", r.gen.class_idx ? nlohmann::json(*r.gen.class_idx) : nlohmann::json()},
      {"sampler", sampler.name},
      {"options", sampler_options_to_json(r.gen.sampler_options)},
      {"nfe", sampler.nfe(r.gen.sampler_options)},
      {"guidance", r.guidance ? nlohmann::json(*r.guidance) : nlohmann::json()},
      {"precision", r.precision},
      {"device", r.device},
  };
  if (!r.guide_name.empty()) j["guide_net"] = {{"name", r.guide_name}, {"sha256", r.guide_sha256}};
  if (!r.guidance_interval.empty()) j["guidance_interval"] = r.guidance_interval;
  if (!r.classifier_name.empty())
    j["classifier"] = {{"name", r.classifier_name}, {"sha256", r.classifier_sha256}, {"scale", r.classifier_scale}};
  if (!r.upsampler_name.empty())
    j["upsampler"] = {{"name", r.upsampler_name}, {"sha256", r.upsampler_sha256}, {"cond_aug", r.cond_aug}};
  if (!r.latents_file.empty()) j["latents"] = r.latents_file;
  if (r.grid) j["grid"] = true;
  return j;
}

GenerationRecord record_from_json(const nlohmann::json& j, const std::string& where) {
  GenerationRecord r;
  try {
    r.edm_version = j.at("edm_version").get<std::string>();
    r.model_name = j.at("model").at("name").get<std::string>();
    r.model_sha256 = j.at("model").at("sha256").get<std::string>();
    r.seed = j.at("seed").get<uint64_t>();
    r.batch_seeds = parse_seed_list(j.at("batch_seeds").get<std::string>());
    if (!j.at("class").is_null()) r.gen.class_idx = j.at("class").get<int64_t>();
    r.gen.sampler = j.at("sampler").get<std::string>();
    sampler_options_from_json(j.at("options"), r.gen.sampler_options);
    if (!j.at("guidance").is_null()) r.guidance = j.at("guidance").get<double>();
    r.precision = j.at("precision").get<std::string>();
    r.device = j.at("device").get<std::string>();
    if (j.contains("guide_net")) {
      r.guide_name = j.at("guide_net").at("name").get<std::string>();
      r.guide_sha256 = j.at("guide_net").at("sha256").get<std::string>();
    }
    r.guidance_interval = j.value("guidance_interval", "");
    if (j.contains("classifier")) {
      const auto& c = j.at("classifier");
      r.classifier_name = c.at("name").get<std::string>();
      r.classifier_sha256 = c.at("sha256").get<std::string>();
      r.classifier_scale = c.at("scale").get<double>();
    }
    if (j.contains("upsampler")) {
      const auto& u = j.at("upsampler");
      r.upsampler_name = u.at("name").get<std::string>();
      r.upsampler_sha256 = u.at("sha256").get<std::string>();
      r.cond_aug = u.at("cond_aug").get<double>();
    }
    r.latents_file = j.value("latents", "");
    r.grid = j.value("grid", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": malformed generation record (" + std::string(e.what()) + ")");
  } catch (const Error& e) {
    throw Error(where + ": malformed generation record (" + std::string(e.what()) + ")");
  }
  return r;
}

}  // namespace edm
