#include <fstream>

#include "edm/core/error.h"
#include "edm/io/image.h"
#include "edm/viz/loss_curve.h"
#include "edm/viz/plot.h"
#include "testing.h"

namespace {

using namespace edm;

// Counts pixels close to a colour in an image [C,H,W].
int64_t count_color(const torch::Tensor& chw, plot::Color c, int tol = 8) {
  auto img = chw.to(torch::kInt32);
  auto ref = torch::tensor({int(c.r), int(c.g), int(c.b)}, torch::kInt32).view({3, 1, 1});
  return ((img - ref).abs().amax(0) <= tol).sum().item<int64_t>();
}

TEST(PlotTest, TicksAreNiceAndCoverTheRange) {
  auto t = plot::ticks(0.0, 1.0, false);
  ASSERT_FALSE(t.empty());
  EXPECT_NEAR(t.front(), 0.0, 1e-12);
  EXPECT_NEAR(t.back(), 1.0, 1e-12);
  for (size_t i = 1; i < t.size(); ++i) EXPECT_NEAR(t[i] - t[i - 1], 0.2, 1e-12);
  auto l = plot::ticks(0.002, 80, true);
  EXPECT_EQ(l, (std::vector<double>{0.01, 0.1, 1, 10}));
  auto n = plot::ticks(-3.3, 7.1, false);
  EXPECT_NEAR(n.front(), -2, 1e-12);
  EXPECT_NEAR(n.back(), 6, 1e-12);
}

TEST(PlotTest, LinePlotDrawsSeriesInTheirColours) {
  test::TempDir dir;
  plot::Plot p;
  plot::Color red{220, 20, 20}, blue{20, 20, 220};
  p.title("loss").xlabel("NFE").ylabel("FD").log_x().log_y();
  p.add_series("a", {1, 10, 100}, {100, 10, 1}, red);
  p.add_series("b", {1, 10, 100}, {1, 10, 100}, blue);
  p.add_series("", {-1, 0}, {1, 1});  // not drawable on log axes: skipped, no error
  p.save(dir / "p.png");
  auto img = read_image(dir / "p.png");
  EXPECT_EQ(img.size(0), 3);
  EXPECT_EQ(img.size(1), p.height());
  EXPECT_EQ(img.size(2), p.width());
  // Two diagonals across the axes: hundreds of pixels each.
  EXPECT_GT(count_color(img, red), 300);
  EXPECT_GT(count_color(img, blue), 300);
  // Text and frame are black.
  EXPECT_GT(count_color(img, plot::kBlack), 500);
}

TEST(PlotTest, HeatMapFillsAxesAndCurvesGoOnTop) {
  test::TempDir dir;
  plot::Plot p;
  auto v = torch::linspace(0, 1, 50).view({50, 1}).expand({50, 80}).contiguous();  // grows with y
  p.heatmap(v, 0, 1, -2, 2).add_series("", {0, 1}, {0, 0}, plot::kWhite, 3);
  auto c = p.render();
  auto img = c.hwc().permute({2, 0, 1});
  // Viridis runs from dark purple (bottom, small values) to yellow (top).
  EXPECT_GT(count_color(img, plot::colormap(0.0), 10), 1000);
  EXPECT_GT(count_color(img, plot::colormap(1.0), 10), 1000);
  EXPECT_GT(count_color(img, plot::kWhite, 2), 0);
  // Top rows of the axes are yellow-ish, bottom rows purple-ish: compare a column.
  int64_t x = p.width() / 2;
  auto col = c.hwc().select(1, x).to(torch::kInt32);  // [H,3]
  int64_t top_green = 0, bottom_green = 0;
  for (int64_t y = 0; y < col.size(0); ++y) {
    int g = col[y][1].item<int>(), r = col[y][0].item<int>(), b = col[y][2].item<int>();
    if (r == 255 && g == 255 && b == 255) continue;
    if (top_green == 0 && !(r == 0 && g == 0 && b == 0)) top_green = g;
  }
  for (int64_t y = col.size(0) - 1; y >= 0; --y) {
    int g = col[y][1].item<int>(), r = col[y][0].item<int>(), b = col[y][2].item<int>();
    if ((r == 255 && g == 255 && b == 255) || (r == 0 && g == 0 && b == 0)) continue;
    if (r < 100 && b > 60) {
      bottom_green = g;
      break;
    }
  }
  EXPECT_GT(top_green, 180);
  EXPECT_LT(bottom_green, 40);
}

TEST(PlotTest, ScatterAndRow) {
  test::TempDir dir;
  plot::Plot a, b;
  a.add_points("data", {0, 1, 2}, {0, 1, 0}, plot::Color{0, 160, 0}, 4);
  b.add_points("samples", {0, 1}, {1, 0}, plot::Color{160, 0, 160}, 4).size(400, 300);
  plot::save_row(dir / "row.png", {a, b});
  auto img = read_image(dir / "row.png");
  EXPECT_EQ(img.size(2), a.width() + b.width());
  EXPECT_EQ(img.size(1), std::max(a.height(), b.height()));
  EXPECT_GT(count_color(img, {0, 160, 0}), 3 * 20);
  EXPECT_GT(count_color(img, {160, 0, 160}), 2 * 20);
}

// Black pixels of a canvas as a bool mask [H,W].
torch::Tensor ink(const plot::Canvas& c) { return c.hwc().to(torch::kInt32).sum(2) < 3 * 128; }

TEST(PlotTest, TextDrawsEveryStrokeOfEveryGlyph) {
  // The slashed "0" of stb_easy_font: its right side is the column x = 3, rows 1-5.
  plot::Canvas zero(8, 10);
  zero.text(0, 0, "0", plot::kBlack, 1);
  auto z = ink(zero);
  for (int y = 1; y <= 5; ++y) EXPECT_TRUE(z[y][3].item<bool>()) << "row " << y << " of the 0 is open on the right";
  EXPECT_EQ(z.slice(1, 4).sum().item<int64_t>(), 0);
  // A string looks like its characters drawn one by one at their advances
  // (each character alone has room for its strokes; a long string must too).
  for (const std::string s : {"20", "0123456789", "1e-05 2.5e+03 X@%#&$WM", "-0.0080"}) {
    const int scale = 2, w = plot::Canvas::text_width(s, scale) + 4, h = plot::Canvas::text_height(scale) + 4;
    plot::Canvas whole(w, h), parts(w, h);
    whole.text(1, 1, s, plot::kBlack, scale);
    for (size_t i = 0; i < s.size(); ++i)
      parts.text(1 + plot::Canvas::text_width(s.substr(0, i), scale), 1, s.substr(i, 1), plot::kBlack, scale);
    EXPECT_TRUE(torch::equal(ink(whole), ink(parts))) << s;
    EXPECT_GT(ink(whole).sum().item<int64_t>(), 0) << s;
  }
}

TEST(PlotTest, BadInputsAreClearErrors) {
  plot::Plot p;
  EXPECT_THROW(p.add_series("x", {1, 2}, {1}), Error);
  EXPECT_THROW(p.heatmap(torch::zeros({3}), 0, 1, 0, 1), Error);
  EXPECT_THROW(p.size(10, 10), UsageError);
}

TEST(PlotTest, LossCurveFromStatsJsonl) {
  test::TempDir dir;
  {
    std::ofstream f(dir / "stats.jsonl");
    for (int i = 0; i < 50; ++i) f << "{\"kimg\": " << i * 0.5 << ", \"loss\": " << 1.0 / (1 + i) << "}\n";
    f << "{\"kimg\": 25, \"lo";  // a run still writing its last line
  }
  auto c = read_loss_curve(dir / "stats.jsonl");
  ASSERT_EQ(c.kimg.size(), 50u);
  EXPECT_DOUBLE_EQ(c.kimg[3], 1.5);
  EXPECT_DOUBLE_EQ(c.loss[1], 0.5);
  plot_loss_curve(dir / "stats.jsonl", dir / "loss.png");
  EXPECT_EQ(read_image(dir / "loss.png").size(0), 3);
  {
    std::ofstream f(dir / "ref.jsonl");
    f << "{\"Progress/kimg\": {\"mean\": 1}, \"Loss/loss\": {\"mean\": 0.3}}\n";
  }
  EXPECT_DOUBLE_EQ(read_loss_curve(dir / "ref.jsonl").loss[0], 0.3);
  {
    std::ofstream f(dir / "bad.jsonl");
    f << "{\"kimg\": 1}\n{\"kimg\": 2, \"loss\": 1}\n";
  }
  EXPECT_THROW(read_loss_curve(dir / "bad.jsonl"), Error);
  EXPECT_THROW(read_loss_curve(dir / "missing.jsonl"), Error);
}

TEST(PlotTest, LossCurveSkipsTicksWithoutAFiniteLoss) {
  // A tick in which every step diverged is logged with a null loss.
  test::TempDir dir;
  {
    std::ofstream f(dir / "stats.jsonl");
    f << "{\"Progress/kimg\": {\"mean\": 1}, \"Loss/loss\": {\"num\": 4, \"mean\": 0.5}}\n"
      << "{\"Progress/kimg\": {\"mean\": 2}, \"Loss/loss\": {\"num\": 0, \"mean\": null}}\n"
      << "{\"kimg\": 3, \"loss\": null}\n"
      << "{\"kimg\": 4, \"loss\": 0.25}\n";
  }
  auto c = read_loss_curve(dir / "stats.jsonl");
  EXPECT_EQ(c.kimg, (std::vector<double>{1, 4}));
  EXPECT_EQ(c.loss, (std::vector<double>{0.5, 0.25}));
  EXPECT_EQ(c.nonfinite, 2);
  plot_loss_curve(dir / "stats.jsonl", dir / "loss.png");
  EXPECT_EQ(read_image(dir / "loss.png").size(0), 3);
  {
    std::ofstream f(dir / "diverged.jsonl");
    f << "{\"kimg\": 1, \"loss\": null}\n";
  }
  try {
    read_loss_curve(dir / "diverged.jsonl");
    ADD_FAILURE() << "a log without a finite loss was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no finite loss"), std::string::npos) << e.what();
  }
}

}  // namespace
