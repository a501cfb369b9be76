#include "edm/nn/dnnl_conv.h"

#include <atomic>

#include "edm/core/error.h"
#include "edm/core/runtime.h"

#ifdef EDM_HAVE_DNNL
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>
#endif

namespace edm::networks {

namespace {
std::atomic<bool> enabled{true};
}

void set_dnnl_conv_enabled(bool on) { enabled = on; }

#ifndef EDM_HAVE_DNNL

bool dnnl_conv_available() { return false; }

torch::Tensor dnnl_conv2d_bf16(const torch::Tensor&, const torch::Tensor&) {
  throw Error("dnnl_conv2d_bf16: this build has no oneDNN headers (Debian: libdnnl-dev)");
}

#else

namespace {

using dnnl::memory;
using Dims = memory::dims;
using Arg = std::unordered_map<int, memory>;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// One convolution's shape: batch, channels in and out, height, width, kernel.
using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

// A shape's primitives, with the weight layouts they chose.
struct Primitives {
  Dims src, weights, dst, strides{1, 1}, padding;
  memory::desc plain_weights;  // float32 [O, C, k, k], as the parameter
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  dnnl::reorder to_forward_weights;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_data backward_data;
  dnnl::reorder to_data_weights;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_backward_weights backward_weights;
  dnnl::reorder to_plain_gradient;  // empty where oneDNN writes the plain layout itself
};

memory::desc nhwc(const Dims& d) { return {d, memory::data_type::bf16, memory::format_tag::nhwc}; }
memory::desc any(const Dims& d, memory::data_type t) { return {d, t, memory::format_tag::any}; }

std::unique_ptr<Primitives> make_primitives(const Shape& s) {
  const auto [n, c, o, h, w, k] = s;
  auto p = std::make_unique<Primitives>();
  p->src = {n, c, h, w}, p->weights = {o, c, k, k}, p->dst = {n, o, h, w}, p->padding = {k / 2, k / 2};
  p->plain_weights = memory::desc(p->weights, memory::data_type::f32, memory::format_tag::oihw);
  const auto bf16 = memory::data_type::bf16, f32 = memory::data_type::f32;
  const auto direct = dnnl::algorithm::convolution_direct;
  auto& e = engine();
  p->forward_pd = {{dnnl::prop_kind::forward_training, direct, nhwc(p->src), any(p->weights, bf16), nhwc(p->dst),
                    p->strides, p->padding, p->padding},
                   e};
  p->forward = dnnl::convolution_forward(p->forward_pd);
  p->to_forward_weights = dnnl::reorder({e, p->plain_weights, e, p->forward_pd.weights_desc()});
  p->data_pd = {{direct, nhwc(p->src), any(p->weights, bf16), nhwc(p->dst), p->strides, p->padding, p->padding},
                e,
                p->forward_pd};
  p->backward_data = dnnl::convolution_backward_data(p->data_pd);
  p->to_data_weights = dnnl::reorder({e, p->plain_weights, e, p->data_pd.weights_desc()});
  p->weights_pd = {
      {direct, nhwc(p->src), any(p->weights, f32), nhwc(p->dst), p->strides, p->padding, p->padding}, e, p->forward_pd};
  p->backward_weights = dnnl::convolution_backward_weights(p->weights_pd);
  if (p->weights_pd.diff_weights_desc() != p->plain_weights)
    p->to_plain_gradient = dnnl::reorder({e, p->weights_pd.diff_weights_desc(), e, p->plain_weights});
  return p;
}

// The primitives of shape s, made on first use. Refs stay valid: the map
// holds each by pointer and never drops one.
const Primitives& primitives(const Shape& s) {
  static std::mutex mutex;
  static std::map<Shape, std::unique_ptr<Primitives> > made;
  std::lock_guard<std::mutex> lock(mutex);
  auto& p = made[s];
  if (!p) {
    try {
      p = make_primitives(s);
    } catch (const dnnl::error& e) {
      made.erase(s);
      throw Error(std::string("oneDNN has no bfloat16 convolution for this shape: ") + e.what());
    }
  }
  return *p;
}

memory wrap(const memory::desc& d, const torch::Tensor& t) { return memory(d, engine(), t.data_ptr()); }

// A scratch tensor of a layout's size, for oneDNN's own weight layouts.
torch::Tensor buffer(const memory::desc& d) {
  return torch::empty({static_cast<int64_t>(d.get_size())}, torch::TensorOptions().dtype(torch::kUInt8));
}

void run(const dnnl::primitive& prim, const Arg& args) {
  dnnl::stream stream(engine());
  prim.execute(stream, args);
  stream.wait();
}

torch::Tensor channels_last(const torch::Tensor& t) {
  auto b = t.to(torch::kBFloat16);
  return b.is_contiguous(torch::MemoryFormat::ChannelsLast) ? b : b.contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::Tensor empty_nhwc(const Dims& d) {
  return torch::empty({d[0], d[1], d[2], d[3]}, torch::TensorOptions().dtype(torch::kBFloat16),
                      torch::MemoryFormat::ChannelsLast);
}

Shape shape_of(const torch::Tensor& x, const torch::Tensor& weight) {
  return {x.size(0), x.size(1), weight.size(0), x.size(2), x.size(3), weight.size(2)};
}

class DnnlConv : public torch::autograd::Function<DnnlConv> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& weight_in) {
    auto x = channels_last(x_in);
    auto weight = weight_in.contiguous();
    const auto& p = primitives(shape_of(x, weight));
    auto w = buffer(p.forward_pd.weights_desc());
    run(p.to_forward_weights,
        {{DNNL_ARG_FROM, wrap(p.plain_weights, weight)}, {DNNL_ARG_TO, wrap(p.forward_pd.weights_desc(), w)}});
    auto y = empty_nhwc(p.dst);
    run(p.forward, {{DNNL_ARG_SRC, wrap(nhwc(p.src), x)},
                    {DNNL_ARG_WEIGHTS, wrap(p.forward_pd.weights_desc(), w)},
                    {DNNL_ARG_DST, wrap(nhwc(p.dst), y)}});
    ctx->save_for_backward({x, weight});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const auto& p = primitives(shape_of(x, weight));
    auto dy = channels_last(grad[0]);
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      auto w = buffer(p.data_pd.weights_desc());
      run(p.to_data_weights,
          {{DNNL_ARG_FROM, wrap(p.plain_weights, weight)}, {DNNL_ARG_TO, wrap(p.data_pd.weights_desc(), w)}});
      dx = empty_nhwc(p.src);
      run(p.backward_data, {{DNNL_ARG_DIFF_DST, wrap(nhwc(p.dst), dy)},
                            {DNNL_ARG_WEIGHTS, wrap(p.data_pd.weights_desc(), w)},
                            {DNNL_ARG_DIFF_SRC, wrap(nhwc(p.src), dx)}});
    }
    if (ctx->needs_input_grad(1)) {
      dw = torch::empty(weight.sizes(), weight.options());
      const auto& layout = p.weights_pd.diff_weights_desc();
      auto out = p.to_plain_gradient ? buffer(layout) : dw;
      run(p.backward_weights, {{DNNL_ARG_SRC, wrap(nhwc(p.src), x)},
                               {DNNL_ARG_DIFF_DST, wrap(nhwc(p.dst), dy)},
                               {DNNL_ARG_DIFF_WEIGHTS, wrap(layout, out)}});
      if (p.to_plain_gradient)
        run(p.to_plain_gradient, {{DNNL_ARG_FROM, wrap(layout, out)}, {DNNL_ARG_TO, wrap(p.plain_weights, dw)}});
    }
    return {dx, dw};
  }
};

}  // namespace

bool dnnl_conv_available() {
  static const bool cpu = !cpu_bfloat16_isa().empty();
  return cpu && enabled;
}

torch::Tensor dnnl_conv2d_bf16(const torch::Tensor& x, const torch::Tensor& weight) {
  if (!dnnl_conv_available()) throw Error("dnnl_conv2d_bf16 needs a CPU with bfloat16 arithmetic");
  if (!x.device().is_cpu() || x.dim() != 4 || x.scalar_type() != torch::kBFloat16)
    throw Error("dnnl_conv2d_bf16: x must be bfloat16 [N, C, H, W] on the CPU");
  if (!weight.device().is_cpu() || weight.dim() != 4 || weight.scalar_type() != torch::kFloat32 ||
      weight.size(1) != x.size(1) || weight.size(2) != weight.size(3) || weight.size(2) % 2 == 0)
    throw Error("dnnl_conv2d_bf16: weight must be float32 [O, C, k, k] with odd k and C = x's channels");
  return DnnlConv::apply(x, weight);
}

#endif

}  // namespace edm::networks
