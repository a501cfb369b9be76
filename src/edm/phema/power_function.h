// Power-function EMA profiles (Karras et al. 2024, "Analyzing and Improving
// the Training Dynamics of Diffusion Models", section 3): an EMA whose weight
// on the training step tau, seen at time t, is proportional to (tau/t)^gamma.
// Its length is the relative standard deviation `std` of that profile; the
// functions below move between the two and fit profiles to each other.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace edm {

// std = sqrt((gamma+1) / ((gamma+2)^2 (gamma+3))).
double exp_to_std(double gamma);
// The inverse: the largest real root of
// gamma^3 + 7 gamma^2 + (16 - std^-2) gamma + 12 - std^-2 (Newton from above).
double std_to_exp(double std);
// The stds a profile can have: 0 < std < 0.289 (gamma > 0 near the upper end).
bool valid_std(double std);

// The EMA decay of one step that keeps the profile: (1 - t_delta/t_next)^(gamma+1).
double power_function_beta(double std, double t_next, double t_delta);

// Inner product of two normalised profiles ending at a_ofs and b_ofs.
double power_function_correlation(double a_ofs, double a_std, double b_ofs, double b_std);

// The discrete profiles ending at ofs[i] over t = 0..len-1, each normalised
// to sum 1: [len, ofs.size()] float64.
torch::Tensor power_function_response(const std::vector<double>& ofs, const std::vector<double>& std, int64_t len);

// The Gram matrices of the least-squares fit of output profiles by input
// profiles: A [in, in] between inputs, B [in, out] inputs against outputs.
torch::Tensor correlation_matrix(const std::vector<double>& a_ofs, const std::vector<double>& a_std,
                                 const std::vector<double>& b_ofs, const std::vector<double>& b_std);

// Coefficients [in, out] (float64) such that sum_i coefs[i,j] * snapshot_i
// has the profile (out_ofs[j], out_std[j]): A^-1 B with each column
// normalised to sum 1. Offsets are broadcast when one is given.
torch::Tensor solve_posthoc_coefficients(const std::vector<double>& in_ofs, const std::vector<double>& in_std,
                                         const std::vector<double>& out_ofs, const std::vector<double>& out_std);

// The training time of a snapshot from its name's kimg (= nimg // 1000),
// assuming batches of a multiple of 1024 images, as the reference's names do.
int64_t kimg_to_nimg(int64_t kimg);

}  // namespace edm
