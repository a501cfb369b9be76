// The paper's sampling experiments as data: a study is a list of cases (a
// sampler with its options, placed on a curve at some x), each measured by
// the Frechet distance of the images it generates from the same seeds.
// Figure 2 / Table 2 (FD against NFE per sampler), the rho sweep, the
// stochastic sampler's S_churn x S_noise x [S_min, S_max] grid (Table 5,
// Figure 14) are grids of cases; run_case measures one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/eval/detector.h"
#include "edm/eval/frechet.h"
#include "edm/sampling/generate.h"

namespace edm {

struct StudyCase {
  std::string series;  // the curve it belongs to (a sampler, an S_noise ...)
  double x = 0;        // its place on the curve (NFE, rho, S_churn)
  GenerateOptions gen;
};

struct StudyResult {
  StudyCase c;
  double nfe = 0;  // denoiser evaluations per image, counted
  double fd = 0;
  double seconds = 0;
};

// FD against NFE: every sampler at every NFE it can make exactly; an NFE a
// sampler cannot make (Heun's odd counts, heun_afs's even ones) is replaced
// by the next count above it. `base` holds the options every case shares.
// Throws edm::UsageError for an unknown sampler.
std::vector<StudyCase> nfe_cases(const std::vector<std::string>& samplers, const std::vector<int64_t>& nfes,
                                 const GenerateOptions& base);
// The EDM time-step exponent rho at a fixed NFE, one series per sampler.
std::vector<StudyCase> rho_cases(const std::vector<std::string>& samplers, const std::vector<double>& rhos, int64_t nfe,
                                 const GenerateOptions& base);
// Algorithm 2's stochasticity: x = S_churn, one series per S_noise and
// [S_min, S_max] range, on the `edm` sampler with base's steps.
struct ChurnRange {
  double S_min = 0, S_max = 0;
};
std::vector<StudyCase> churn_cases(const std::vector<double>& S_churn, const std::vector<double>& S_noise,
                                   const std::vector<ChurnRange>& ranges, const GenerateOptions& base);
// For each of churn_cases' cases, the index of an earlier case that makes the
// very same images, or -1: gamma is capped at sqrt(2) - 1 (S_churn 10 and 320
// are one sampler at 18 steps), and without churn S_noise and the range do
// nothing. A study measures such a case once.
std::vector<int64_t> churn_twins(const std::vector<StudyCase>& cases);

// Generates the images of `seeds` (in batches of at most `batch`, split as
// `edm fid calc` splits them) with the case's options
// and returns their FD to `ref`, with the NFE counted per image and the time.
StudyResult run_case(Detector& det, std::shared_ptr<Denoiser> net, const std::vector<uint64_t>& seeds,
                     const FeatureStats& ref, const StudyCase& c, int64_t batch = 64);

}  // namespace edm
