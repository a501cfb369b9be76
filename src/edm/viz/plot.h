// Small raster plots written as PNG: line plots (optionally log axes), scatter
// plots and heat maps with curves drawn over them in data coordinates. Enough
// to look at loss curves, FD-vs-NFE curves and toy diffusions without Python.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edm::plot {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  float a = 1;  // opacity, blended over what is drawn already
  Color with_alpha(float alpha) const { return {r, g, b, alpha}; }
};
// A qualitative palette for series: palette(0), palette(1), ...
Color palette(int i);
// Viridis-like colour map, v in [0, 1].
Color colormap(double v);
inline constexpr Color kBlack{0, 0, 0, 1}, kWhite{255, 255, 255, 1}, kGray{128, 128, 128, 1};

// An RGB pixel buffer with the few primitives plots need.
class Canvas {
 public:
  Canvas(int width, int height, Color background = kWhite);
  int width() const { return w_; }
  int height() const { return h_; }

  void blend(int x, int y, Color c);
  void fill_rect(double x0, double y0, double x1, double y1, Color c);
  void disc(double cx, double cy, double radius, Color c);
  void line(double x0, double y0, double x1, double y1, Color c, double width = 1.5);
  // Text from stb_easy_font, scaled up `scale` times; (x, y) is the top left,
  // or the bottom left of the text turned 90 degrees counter-clockwise.
  void text(double x, double y, const std::string& s, Color c, int scale = 2, bool vertical = false);
  static int text_width(const std::string& s, int scale = 2);
  static int text_height(int scale = 2);
  // Copies another canvas with its top left at (x, y).
  void paste(const Canvas& other, int x, int y);

  torch::Tensor hwc() const;  // uint8 [H,W,3]
  void save(const std::string& path) const;

 private:
  int w_, h_;
  std::vector<float> rgb_;  // row-major, 3 floats per pixel
};

// One set of axes: layers in data coordinates, then ticks, labels, legend.
class Plot {
 public:
  Plot& title(std::string t);
  Plot& xlabel(std::string l);
  Plot& ylabel(std::string l);
  Plot& log_x(bool on = true);
  Plot& log_y(bool on = true);
  Plot& xlim(double lo, double hi);
  Plot& ylim(double lo, double hi);
  Plot& size(int width, int height);

  // A polyline; a non-empty name puts it in the legend. width <= 0: markers only.
  Plot& add_series(const std::string& name, const std::vector<double>& xs, const std::vector<double>& ys,
                   std::optional<Color> color = {}, double width = 2, double marker = 0);
  // Points of one colour; a non-empty name puts them in the legend.
  Plot& add_points(const std::string& name, const std::vector<double>& xs, const std::vector<double>& ys,
                   std::optional<Color> color = {}, double radius = 2);
  // values [rows, cols]: row 0 at y = y0 (bottom), column 0 at x = x0; each
  // cell covers an equal share of [x0, x1] x [y0, y1]. Colours span [vmin, vmax]
  // (default: the values' range). Sets the axes' limits when none were set.
  Plot& heatmap(const torch::Tensor& values, double x0, double x1, double y0, double y1,
                std::optional<double> vmin = {}, std::optional<double> vmax = {});

  Canvas render() const;
  void render(Canvas& canvas, int x, int y) const;  // into a region of size width x height
  void save(const std::string& path) const;
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  struct Series {
    std::string name;
    std::vector<double> xs, ys;
    Color color;
    double width, marker;
  };
  struct Heat {
    torch::Tensor values;  // float64 [rows, cols], normalised to [0, 1]
    double x0, x1, y0, y1;
  };
  struct Axes;  // the data range and where it lies on the canvas
  void data_range(double& x0, double& x1, double& y0, double& y1) const;
  Axes layout(int ox, int oy) const;
  Canvas draw_data(const Axes& a) const;
  void draw_heat(Canvas& inner, const Heat& h, const Axes& a) const;
  void draw_frame(Canvas& c, const Axes& a, int ox, int oy) const;
  void draw_legend(Canvas& c, const Axes& a) const;

  std::string title_, xlabel_, ylabel_;
  bool log_x_ = false, log_y_ = false;
  std::optional<std::pair<double, double>> xlim_, ylim_;
  int width_ = 800, height_ = 560;
  std::vector<Series> series_;
  std::vector<Heat> heat_;
  int next_color_ = 0;
};

// Several plots side by side in one PNG.
void save_row(const std::string& path, const std::vector<Plot>& plots);

// Tick positions for an axis: "nice" steps (1, 2, 5 x 10^k), or powers of ten on a log axis.
std::vector<double> ticks(double lo, double hi, bool log, int target = 6);

}  // namespace edm::plot
