// Everything that makes one generated image, as the JSON written into its
// PNG: the model (file name and SHA-256), the seed and the seeds sampled in
// the same batch (a network's arithmetic may depend on the batch), the class,
// the sampler with every option, NFE, guidance, precision, device, version.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edm/sampling/generate.h"

namespace edm {

struct GenerationRecord {
  std::string model_name, model_sha256;
  uint64_t seed = 0;
  std::vector<uint64_t> batch_seeds;  // in batch order; includes `seed`
  GenerateOptions gen;                // gen.sampler is the resolved name, never "auto"
  std::optional<double> guidance;
  std::string guide_name, guide_sha256;            // autoguidance: the guiding model file (empty: none)
  std::string guidance_interval;                   // "sigma_lo,sigma_hi" as given (empty: none)
  std::string classifier_name, classifier_sha256;  // classifier guidance (empty: none)
  double classifier_scale = 1;
  std::string upsampler_name, upsampler_sha256;  // cascaded diffusion's second stage (empty: none)
  double cond_aug = 0;                           // its conditioning augmentation level
  std::string precision = "float32";             // the network's arithmetic (the sampler's is float64)
  std::string device = "cpu";
  std::string latents_file;  // set when latents came from --latents (not reproducible from seeds)
  bool grid = false;         // a grid of batch_seeds' images, not one image
  std::string edm_version = EDM_VERSION;
};

// The PNG text keyword the record is stored under.
constexpr const char* kGenerationRecordKey = "edm.generate";

nlohmann::json record_to_json(const GenerationRecord& r);
// Throws edm::Error naming `where` when a field is missing or malformed.
GenerationRecord record_from_json(const nlohmann::json& j, const std::string& where);

// What every image of a run shares: the model file's name and SHA-256, the
// resolved sampler ("auto" made explicit), its options, guidance, device.
GenerationRecord model_record(const std::string& model_name, const std::string& model_sha256,
                              const GenerateOptions& gen, std::optional<double> guidance, torch::Device device);
// The same from the model file (hashed here).
GenerationRecord run_record(const std::string& net_path, const GenerateOptions& gen, std::optional<double> guidance,
                            torch::Device device);
// PNG bytes of one uint8 image [H,W,C] carrying `run` completed by its seed
// and the seeds of its batch, under kGenerationRecordKey.
std::string png_with_record(const torch::Tensor& hwc, GenerationRecord run, uint64_t seed,
                            const std::vector<uint64_t>& batch);

// Seeds as the shortest list parse_seed_list reads back: "0-3,7".
std::string format_seed_list(const std::vector<uint64_t>& seeds);

}  // namespace edm
