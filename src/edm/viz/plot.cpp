#include "edm/viz/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "edm/core/error.h"
#include "edm/io/image.h"

// The font is static functions only; this is its one user.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace edm::plot {

Color palette(int i) {
  static const Color colors[] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return colors[((i % 10) + 10) % 10];
}

Color colormap(double v) {
  static const double stops[][3] = {{68, 1, 84},    {71, 44, 122}, {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
                                    {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}};
  if (!std::isfinite(v)) v = 0;
  double t = std::clamp(v, 0.0, 1.0) * 8;
  int i = std::min(static_cast<int>(t), 7);
  double f = t - i;
  auto mix = [&](int k) { return static_cast<uint8_t>(std::lround(stops[i][k] * (1 - f) + stops[i + 1][k] * f)); };
  return {mix(0), mix(1), mix(2), 1};
}

// ---------------------------------------------------------------- Canvas

Canvas::Canvas(int width, int height, Color bg) : w_(width), h_(height) {
  if (width <= 0 || height <= 0) throw UsageError("plot size must be positive");
  rgb_.resize(static_cast<size_t>(w_) * h_ * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) rgb_[i] = bg.r, rgb_[i + 1] = bg.g, rgb_[i + 2] = bg.b;
}

void Canvas::blend(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_ || c.a <= 0) return;
  float* p = &rgb_[(static_cast<size_t>(y) * w_ + x) * 3];
  float a = std::min(c.a, 1.0f);
  p[0] += a * (c.r - p[0]);
  p[1] += a * (c.g - p[1]);
  p[2] += a * (c.b - p[2]);
}

void Canvas::fill_rect(double x0, double y0, double x1, double y1, Color c) {
  int ix0 = std::max(0, static_cast<int>(std::floor(std::min(x0, x1))));
  int ix1 = std::min(w_, static_cast<int>(std::ceil(std::max(x0, x1))));
  int iy0 = std::max(0, static_cast<int>(std::floor(std::min(y0, y1))));
  int iy1 = std::min(h_, static_cast<int>(std::ceil(std::max(y0, y1))));
  for (int y = iy0; y < iy1; ++y)
    for (int x = ix0; x < ix1; ++x) blend(x, y, c);
}

// Coverage from the distance to the shape gives cheap anti-aliasing.
void Canvas::disc(double cx, double cy, double radius, Color c) {
  if (!std::isfinite(cx) || !std::isfinite(cy)) return;
  int x0 = static_cast<int>(std::floor(cx - radius - 1)), x1 = static_cast<int>(std::ceil(cx + radius + 1));
  int y0 = static_cast<int>(std::floor(cy - radius - 1)), y1 = static_cast<int>(std::ceil(cy + radius + 1));
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, w_ - 1), y1 = std::min(y1, h_ - 1);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
      double cover = std::clamp(radius + 0.5 - d, 0.0, 1.0);
      if (cover > 0) blend(x, y, c.with_alpha(static_cast<float>(c.a * cover)));
    }
}

void Canvas::line(double x0, double y0, double x1, double y1, Color c, double width) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  double r = width / 2, pad = r + 1;
  int bx0 = std::max(0, static_cast<int>(std::floor(std::min(x0, x1) - pad)));
  int bx1 = std::min(w_ - 1, static_cast<int>(std::ceil(std::max(x0, x1) + pad)));
  int by0 = std::max(0, static_cast<int>(std::floor(std::min(y0, y1) - pad)));
  int by1 = std::min(h_ - 1, static_cast<int>(std::ceil(std::max(y0, y1) + pad)));
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = by0; y <= by1; ++y)
    for (int x = bx0; x <= bx1; ++x) {
      double px = x + 0.5 - x0, py = y + 0.5 - y0;
      double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
      double d = std::hypot(px - t * dx, py - t * dy);
      double cover = std::clamp(r + 0.5 - d, 0.0, 1.0);
      if (cover > 0) blend(x, y, c.with_alpha(static_cast<float>(c.a * cover)));
    }
}

namespace {

std::string printable(const std::string& s) {
  std::string out = s;
  for (char& ch : out)
    if (ch < 32 || ch > 126) ch = '?';
  return out;
}

}  // namespace

void Canvas::text(double x, double y, const std::string& s, Color c, int scale, bool vertical) {
  std::string t = printable(s);
  // stb_easy_font silently drops the quads that do not fit the buffer (a slashed
  // "0" takes 6 quads, 384 bytes), so grow it until one quad's room is left over.
  std::vector<char> buffer(t.size() * 384 + 64);
  int quads = 0;
  for (;;) {
    quads = stb_easy_font_print(0, 0, t.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
    if (static_cast<size_t>(quads + 1) * 64 <= buffer.size()) break;
    buffer.resize(buffer.size() * 2);
  }
  for (int q = 0; q < quads; ++q) {
    const float* v = reinterpret_cast<const float*>(buffer.data() + q * 64);
    // Vertices 0 and 2 are opposite corners of the quad (16 bytes per vertex).
    double u0 = v[0] * scale, v0 = v[1] * scale, u1 = v[8] * scale, v1 = v[9] * scale;
    if (vertical)
      fill_rect(x + v0, y - u1, x + v1, y - u0, c);
    else
      fill_rect(x + u0, y + v0, x + u1, y + v1, c);
  }
}

int Canvas::text_width(const std::string& s, int scale) {
  std::string t = printable(s);
  return stb_easy_font_width(t.data()) * scale;
}

int Canvas::text_height(int scale) { return 8 * scale; }

void Canvas::paste(const Canvas& o, int x, int y) {
  for (int j = 0; j < o.h_; ++j)
    for (int i = 0; i < o.w_; ++i) {
      const float* p = &o.rgb_[(static_cast<size_t>(j) * o.w_ + i) * 3];
      int tx = x + i, ty = y + j;
      if (tx < 0 || ty < 0 || tx >= w_ || ty >= h_) continue;
      std::copy(p, p + 3, &rgb_[(static_cast<size_t>(ty) * w_ + tx) * 3]);
    }
}

torch::Tensor Canvas::hwc() const {
  auto out = torch::empty({h_, w_, 3}, torch::kUInt8);
  auto* d = out.data_ptr<uint8_t>();
  for (size_t i = 0; i < rgb_.size(); ++i) d[i] = static_cast<uint8_t>(std::clamp(std::lround(rgb_[i]), 0L, 255L));
  return out;
}

void Canvas::save(const std::string& path) const { write_png(path, hwc()); }

// ---------------------------------------------------------------- ticks

namespace {

double nice_step(double range, int target) {
  double raw = range / std::max(target, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-9) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

std::vector<double> ticks(double lo, double hi, bool log, int target) {
  std::vector<double> out;
  if (!(hi > lo)) return {lo};
  if (log && lo > 0 && hi / lo >= 10) {
    int d0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-9)),
        d1 = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
    int every = std::max(1, (d1 - d0 + target) / target);
    for (int d = d0; d <= d1; d += every) out.push_back(std::pow(10.0, d));
    return out;
  }
  double step = nice_step(hi - lo, target);
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push_back(v);
  return out;
}

// ---------------------------------------------------------------- Plot

Plot& Plot::title(std::string t) { return title_ = std::move(t), *this; }
Plot& Plot::xlabel(std::string l) { return xlabel_ = std::move(l), *this; }
Plot& Plot::ylabel(std::string l) { return ylabel_ = std::move(l), *this; }
Plot& Plot::log_x(bool on) { return log_x_ = on, *this; }
Plot& Plot::log_y(bool on) { return log_y_ = on, *this; }
Plot& Plot::xlim(double lo, double hi) { return xlim_ = std::make_pair(lo, hi), *this; }
Plot& Plot::ylim(double lo, double hi) { return ylim_ = std::make_pair(lo, hi), *this; }
Plot& Plot::size(int width, int height) {
  if (width < 200 || height < 150) throw UsageError("plot size must be at least 200x150");
  width_ = width, height_ = height;
  return *this;
}

Plot& Plot::add_series(const std::string& name, const std::vector<double>& xs, const std::vector<double>& ys,
                       std::optional<Color> color, double width, double marker) {
  if (xs.size() != ys.size()) throw Error("plot series '" + name + "': x and y differ in length");
  series_.push_back({name, xs, ys, color ? *color : palette(next_color_++), width, marker});
  return *this;
}

Plot& Plot::add_points(const std::string& name, const std::vector<double>& xs, const std::vector<double>& ys,
                       std::optional<Color> color, double radius) {
  return add_series(name, xs, ys, color, 0, radius);
}

Plot& Plot::heatmap(const torch::Tensor& values, double x0, double x1, double y0, double y1, std::optional<double> vmin,
                    std::optional<double> vmax) {
  if (values.dim() != 2 || values.numel() == 0) throw Error("heat map values must be a non-empty 2-D tensor");
  auto v = values.to(torch::kCPU, torch::kFloat64).contiguous();
  double lo = vmin ? *vmin : v.min().item<double>(), hi = vmax ? *vmax : v.max().item<double>();
  v = ((v - lo) / (hi > lo ? hi - lo : 1.0)).clamp(0, 1);
  heat_.push_back({v, x0, x1, y0, y1});
  return *this;
}

void Plot::data_range(double& x0, double& x1, double& y0, double& y1) const {
  const double inf = std::numeric_limits<double>::infinity();
  x0 = y0 = inf, x1 = y1 = -inf;
  for (const auto& h : heat_) {
    x0 = std::min(x0, h.x0), x1 = std::max(x1, h.x1), y0 = std::min(y0, h.y0), y1 = std::max(y1, h.y1);
  }
  if (heat_.empty()) {
    for (const auto& s : series_)
      for (size_t i = 0; i < s.xs.size(); ++i) {
        double x = s.xs[i], y = s.ys[i];
        if (!std::isfinite(x) || !std::isfinite(y) || (log_x_ && x <= 0) || (log_y_ && y <= 0)) continue;
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  }
  if (!(x1 >= x0)) x0 = log_x_ ? 1 : 0, x1 = log_x_ ? 10 : 1;
  if (!(y1 >= y0)) y0 = log_y_ ? 1 : 0, y1 = log_y_ ? 10 : 1;
  // A margin around data (not around a heat map, which fills the axes).
  auto pad = [&](double& lo, double& hi, bool log) {
    if (log) {
      double f = hi > lo ? std::pow(hi / lo, 0.04) : 2;
      lo /= f, hi *= f;
    } else {
      double d = hi > lo ? (hi - lo) * 0.04 : std::max(std::abs(lo) * 0.1, 1.0);
      lo -= d, hi += d;
    }
  };
  if (heat_.empty()) pad(x0, x1, log_x_), pad(y0, y1, log_y_);
  if (xlim_) x0 = xlim_->first, x1 = xlim_->second;
  if (ylim_) y0 = ylim_->first, y1 = ylim_->second;
}

namespace {
constexpr int kTextScale = 2;
}  // namespace

// Data coordinates to pixels of the axes' inner area (pw x ph, top left at ax, ay).
struct Plot::Axes {
  double x0, x1, y0, y1;
  bool log_x, log_y;
  int ax, ay, pw, ph;
  double tx(double x) const { return log_x ? std::log10(x) : x; }
  double ty(double y) const { return log_y ? std::log10(y) : y; }
  double px(double x) const { return (tx(x) - tx(x0)) / (tx(x1) - tx(x0)) * pw; }
  double py(double y) const { return ph - (ty(y) - ty(y0)) / (ty(y1) - ty(y0)) * ph; }
  // The data coordinates at the centre of inner pixel column i / row j.
  double x_at(int i) const {
    return log_x ? std::pow(10.0, tx(x0) + (i + 0.5) / pw * (tx(x1) - tx(x0))) : x0 + (i + 0.5) / pw * (x1 - x0);
  }
  double y_at(int j) const {
    return log_y ? std::pow(10.0, ty(y0) + (ph - j - 0.5) / ph * (ty(y1) - ty(y0)))
                 : y0 + (ph - j - 0.5) / ph * (y1 - y0);
  }
  bool usable(double x, double y) const {
    return std::isfinite(x) && std::isfinite(y) && !(log_x && x <= 0) && !(log_y && y <= 0);
  }
};

Plot::Axes Plot::layout(int ox, int oy) const {
  const int th = Canvas::text_height(kTextScale);
  Axes a{};
  data_range(a.x0, a.x1, a.y0, a.y1);
  a.log_x = log_x_, a.log_y = log_y_;
  if ((log_x_ && a.x0 <= 0) || (log_y_ && a.y0 <= 0)) throw UsageError("log axis limits must be positive");
  int label_w = 0;
  for (double v : ticks(a.y0, a.y1, log_y_))
    label_w = std::max(label_w, Canvas::text_width(tick_label(v, a.y1 - a.y0), kTextScale));
  const int left = 14 + label_w + 10 + (ylabel_.empty() ? 0 : th + 8), right = 20;
  const int top = title_.empty() ? 16 : th + 24, bottom = 14 + th + 10 + (xlabel_.empty() ? 0 : th + 10);
  a.pw = width_ - left - right, a.ph = height_ - top - bottom;
  if (a.pw < 20 || a.ph < 20) throw UsageError("plot too small for its labels");
  a.ax = ox + left, a.ay = oy + top;
  return a;
}

void Plot::draw_heat(Canvas& inner, const Heat& h, const Axes& a) const {
  const int rows = h.values.size(0), cols = h.values.size(1);
  auto acc = h.values.accessor<double, 2>();
  for (int j = 0; j < a.ph; ++j) {
    const int r = static_cast<int>(std::floor((a.y_at(j) - h.y0) / (h.y1 - h.y0) * rows));
    if (r < 0 || r >= rows) continue;
    for (int i = 0; i < a.pw; ++i) {
      const int c = static_cast<int>(std::floor((a.x_at(i) - h.x0) / (h.x1 - h.x0) * cols));
      if (c >= 0 && c < cols) inner.blend(i, j, colormap(acc[r][c]));
    }
  }
}

// Data layers go on their own canvas, which clips them to the axes.
Canvas Plot::draw_data(const Axes& a) const {
  Canvas inner(a.pw, a.ph);
  for (const auto& h : heat_) draw_heat(inner, h, a);
  for (const auto& s : series_) {
    for (size_t i = 0; i + 1 < s.xs.size() && s.width > 0; ++i)
      if (a.usable(s.xs[i], s.ys[i]) && a.usable(s.xs[i + 1], s.ys[i + 1]))
        inner.line(a.px(s.xs[i]), a.py(s.ys[i]), a.px(s.xs[i + 1]), a.py(s.ys[i + 1]), s.color, s.width);
    for (size_t i = 0; i < s.xs.size() && s.marker > 0; ++i)
      if (a.usable(s.xs[i], s.ys[i])) inner.disc(a.px(s.xs[i]), a.py(s.ys[i]), s.marker, s.color);
  }
  return inner;
}

// Frame, ticks and labels.
void Plot::draw_frame(Canvas& c, const Axes& a, int ox, int oy) const {
  const int scale = kTextScale, th = Canvas::text_height(scale);
  const int ax = a.ax, ay = a.ay, pw = a.pw, ph = a.ph;
  c.fill_rect(ax - 1, ay - 1, ax + pw + 1, ay, kBlack);
  c.fill_rect(ax - 1, ay + ph, ax + pw + 1, ay + ph + 1, kBlack);
  c.fill_rect(ax - 1, ay - 1, ax, ay + ph + 1, kBlack);
  c.fill_rect(ax + pw, ay - 1, ax + pw + 1, ay + ph + 1, kBlack);
  for (double v : ticks(a.x0, a.x1, log_x_)) {
    double p = ax + a.px(v);
    if (p < ax - 0.5 || p > ax + pw + 0.5) continue;
    c.fill_rect(p - 0.5, ay + ph, p + 0.5, ay + ph + 6, kBlack);
    std::string l = tick_label(v, a.x1 - a.x0);
    c.text(p - Canvas::text_width(l, scale) / 2.0, ay + ph + 10, l, kBlack, scale);
  }
  for (double v : ticks(a.y0, a.y1, log_y_)) {
    double p = ay + a.py(v);
    if (p < ay - 0.5 || p > ay + ph + 0.5) continue;
    c.fill_rect(ax - 6, p - 0.5, ax, p + 0.5, kBlack);
    std::string l = tick_label(v, a.y1 - a.y0);
    c.text(ax - 10 - Canvas::text_width(l, scale), p - th / 2.0, l, kBlack, scale);
  }
  if (!title_.empty()) c.text(ax + pw / 2.0 - Canvas::text_width(title_, scale) / 2.0, oy + 10, title_, kBlack, scale);
  if (!xlabel_.empty())
    c.text(ax + pw / 2.0 - Canvas::text_width(xlabel_, scale) / 2.0, oy + height_ - th - 8, xlabel_, kBlack, scale);
  if (!ylabel_.empty())
    c.text(ox + 8, ay + ph / 2.0 + Canvas::text_width(ylabel_, scale) / 2.0, ylabel_, kBlack, scale, true);
}

// Legend in the top right corner of the axes.
void Plot::draw_legend(Canvas& c, const Axes& a) const {
  const int scale = kTextScale, th = Canvas::text_height(scale);
  std::vector<const Series*> named;
  for (const auto& s : series_)
    if (!s.name.empty()) named.push_back(&s);
  if (named.empty()) return;
  int lw = 0;
  for (auto* s : named) lw = std::max(lw, Canvas::text_width(s->name, scale));
  int row = th + 8, bw = lw + 54, bh = static_cast<int>(named.size()) * row + 10;
  int bx = a.ax + a.pw - bw - 8, by = a.ay + 8;
  c.fill_rect(bx, by, bx + bw, by + bh, kWhite.with_alpha(0.85f));
  for (size_t k = 0; k < named.size(); ++k) {
    const Series& s = *named[k];
    double cy = by + 5 + k * row + row / 2.0;
    // A dark outline keeps light colours visible on the light box.
    if (s.width > 0) {
      double w = std::max(2.0, s.width);
      c.line(bx + 8, cy, bx + 36, cy, kGray, w + 2);
      c.line(bx + 8, cy, bx + 36, cy, s.color.with_alpha(1), w);
    }
    if (s.marker > 0 || s.width <= 0) {
      double rad = std::max(3.0, s.marker);
      c.disc(bx + 22, cy, rad + 1, kGray);
      c.disc(bx + 22, cy, rad, s.color.with_alpha(1));
    }
    c.text(bx + 44, cy - th / 2.0, s.name, kBlack, scale);
  }
}

void Plot::render(Canvas& canvas, int ox, int oy) const {
  const Axes a = layout(ox, oy);
  canvas.paste(draw_data(a), a.ax, a.ay);
  draw_frame(canvas, a, ox, oy);
  draw_legend(canvas, a);
}

Canvas Plot::render() const {
  Canvas canvas(width_, height_);
  render(canvas, 0, 0);
  return canvas;
}

void Plot::save(const std::string& path) const { render().save(path); }

void save_row(const std::string& path, const std::vector<Plot>& plots) {
  if (plots.empty()) throw Error("no plots to save");
  int w = 0, h = 0;
  for (const auto& p : plots) w += p.width(), h = std::max(h, p.height());
  Canvas canvas(w, h);
  int x = 0;
  for (const auto& p : plots) p.render(canvas, x, 0), x += p.width();
  canvas.save(path);
}

}  // namespace edm::plot
