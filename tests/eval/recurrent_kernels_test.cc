// RNN, GRU and LSTM: one step against the formulas of the spec, then properties relating
// directions, sequence lengths and layouts.
#include <cmath>
#include <vector>

#include "eval/heavy_kernel_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::ExpectClose;
using ::halfcast::eval::testing::FloatTensor;
using ::halfcast::eval::testing::Int64Tensor;
using ::halfcast::eval::testing::RandomTensor;
using ::halfcast::eval::testing::RunNode;
using ::halfcast::eval::testing::Values;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Row r of a [rows, cols] matrix times vector v.
double Dot(const std::vector<float>& m, int r, int cols, const std::vector<float>& v) {
  double sum = 0;
  for (int c = 0; c < cols; ++c) sum += double(m[r * cols + c]) * v[c];
  return sum;
}

TEST(LstmTest, OneStepMatchesTheFormulas) {
  const int hidden = 2, input = 3;
  const Tensor x = RandomTensor({1, 1, input}, 1);
  const Tensor w = RandomTensor({1, 4 * hidden, input}, 2);
  const Tensor r = RandomTensor({1, 4 * hidden, hidden}, 3);
  const Tensor b = RandomTensor({1, 8 * hidden}, 4);
  const Tensor h0 = RandomTensor({1, 1, hidden}, 5);
  const Tensor c0 = RandomTensor({1, 1, hidden}, 6);
  const Tensor p = RandomTensor({1, 3 * hidden}, 7);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y, yh, yc = LSTM <hidden_size = 2> (x, w, r, b, , h0, c0, p)", 14,
                               {&x, &w, &r, &b, nullptr, &h0, &c0, &p}));
  const std::vector<float> vx = Values(x), vw = Values(w), vr = Values(r), vb = Values(b),
                           vh = Values(h0), vc = Values(c0), vp = Values(p);
  std::vector<float> h(hidden), c(hidden);
  for (int j = 0; j < hidden; ++j) {
    auto gate = [&](int g) {  // gates in the order i, o, f, c
      const int row = g * hidden + j;
      return Dot(vw, row, input, vx) + Dot(vr, row, hidden, vh) + vb[row] + vb[4 * hidden + row];
    };
    const double i = Sigmoid(gate(0) + vp[j] * vc[j]);
    const double f = Sigmoid(gate(2) + vp[2 * hidden + j] * vc[j]);
    const double cell = f * vc[j] + i * std::tanh(gate(3));
    const double o = Sigmoid(gate(1) + vp[hidden + j] * cell);
    c[j] = static_cast<float>(cell);
    h[j] = static_cast<float>(o * std::tanh(cell));
  }
  ExpectClose(out[0], {1, 1, 1, hidden}, h);
  ExpectClose(out[1], {1, 1, hidden}, h);
  ExpectClose(out[2], {1, 1, hidden}, c);
}

TEST(GruTest, OneStepMatchesTheFormulasWithAndWithoutLinearBeforeReset) {
  const int hidden = 2, input = 3;
  const Tensor x = RandomTensor({1, 1, input}, 11);
  const Tensor w = RandomTensor({1, 3 * hidden, input}, 12);
  const Tensor r = RandomTensor({1, 3 * hidden, hidden}, 13);
  const Tensor b = RandomTensor({1, 6 * hidden}, 14);
  const Tensor h0 = RandomTensor({1, 1, hidden}, 15);
  const std::vector<float> vx = Values(x), vw = Values(w), vr = Values(r), vb = Values(b),
                           vh = Values(h0);
  for (int lbr = 0; lbr <= 1; ++lbr) {
    ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> out,
        RunNode(lbr ? "y, yh = GRU <hidden_size = 2, linear_before_reset = 1> (x, w, r, b, , h0)"
                    : "y, yh = GRU <hidden_size = 2> (x, w, r, b, , h0)",
                7, {&x, &w, &r, &b, nullptr, &h0}));
    std::vector<double> z(hidden), rg(hidden);
    for (int j = 0; j < hidden; ++j) {
      z[j] = Sigmoid(Dot(vw, j, input, vx) + Dot(vr, j, hidden, vh) + vb[j] + vb[3 * hidden + j]);
      const int rr = hidden + j;
      rg[j] = Sigmoid(Dot(vw, rr, input, vx) + Dot(vr, rr, hidden, vh) + vb[rr] +
                      vb[3 * hidden + rr]);
    }
    std::vector<float> reset_h(hidden);
    for (int j = 0; j < hidden; ++j) reset_h[j] = static_cast<float>(rg[j] * vh[j]);
    std::vector<float> expected(hidden);
    for (int j = 0; j < hidden; ++j) {
      const int hrow = 2 * hidden + j;
      const double xh = Dot(vw, hrow, input, vx) + vb[hrow];
      const double rbh = vb[3 * hidden + hrow];
      const double candidate =
          lbr ? std::tanh(xh + rg[j] * (Dot(vr, hrow, hidden, vh) + rbh))
              : std::tanh(xh + Dot(vr, hrow, hidden, reset_h) + rbh);
      expected[j] = static_cast<float>((1 - z[j]) * candidate + z[j] * vh[j]);
    }
    ExpectClose(out[1], {1, 1, hidden}, expected);
  }
}

TEST(RnnTest, ActivationWithAlphaAndClip) {
  // hidden 1, input 1: h1 = LeakyRelu(clip(w * x + r * h0 + wb + rb)).
  const Tensor x = FloatTensor({2, 1, 1}, {-3, 0.5f});
  const Tensor w = FloatTensor({1, 1, 1}, {2});
  const Tensor r = FloatTensor({1, 1, 1}, {1});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y, yh = RNN <hidden_size = 1, activations = [\"LeakyRelu\"], "
              "activation_alpha = [0.5], clip = 4.0> (x, w, r)",
              14, {&x, &w, &r}));
  // Step 1: clip(-6) = -4 -> -2. Step 2: 1 - 2 = -1 -> -0.5.
  ExpectClose(out[0], {2, 1, 1, 1}, {-2, -0.5f});
}

// The reverse direction of a sequence is the forward direction of the reversed sequence.
TEST(RecurrentPropertiesTest, BidirectionalIsForwardPlusReversedForward) {
  const int seq = 4, batch = 2, input = 3, hidden = 5;
  const Tensor x = RandomTensor({seq, batch, input}, 21);
  const Tensor w = RandomTensor({2, 4 * hidden, input}, 22);
  const Tensor r = RandomTensor({2, 4 * hidden, hidden}, 23);
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> both,
      RunNode("y, yh = LSTM <hidden_size = 5, direction = \"bidirectional\"> (x, w, r)", 14,
              {&x, &w, &r}));
  const std::vector<float> vx = Values(x), vw = Values(w), vr = Values(r);
  std::vector<float> reversed(vx.size());
  for (int t = 0; t < seq; ++t) {
    std::copy_n(vx.begin() + t * batch * input, batch * input,
                reversed.begin() + (seq - 1 - t) * batch * input);
  }
  const Tensor xr = FloatTensor({seq, batch, input}, reversed);
  const size_t half_w = vw.size() / 2, half_r = vr.size() / 2;
  const Tensor wb = FloatTensor({1, 4 * hidden, input}, {vw.begin() + half_w, vw.end()});
  const Tensor rb = FloatTensor({1, 4 * hidden, hidden}, {vr.begin() + half_r, vr.end()});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> backward,
                       RunNode("y, yh = LSTM <hidden_size = 5> (x, w, r)", 14, {&xr, &wb, &rb}));
  const std::vector<float> yb = Values(both[0]), yr = Values(backward[0]);
  for (int t = 0; t < seq; ++t) {
    for (int i = 0; i < batch * hidden; ++i) {
      EXPECT_NEAR(yb[(t * 2 + 1) * batch * hidden + i], yr[(seq - 1 - t) * batch * hidden + i],
                  1e-6f);
    }
  }
  const std::vector<float> hb = Values(both[1]), hr = Values(backward[1]);
  for (int i = 0; i < batch * hidden; ++i) EXPECT_NEAR(hb[batch * hidden + i], hr[i], 1e-6f);
}

TEST(RecurrentPropertiesTest, SequenceLengthsStopEarlyAndZeroTheRest) {
  const int seq = 3, input = 2, hidden = 3;
  const Tensor x = RandomTensor({seq, 2, input}, 31);
  const Tensor w = RandomTensor({1, 3 * hidden, input}, 32);
  const Tensor r = RandomTensor({1, 3 * hidden, hidden}, 33);
  const Tensor lens = Int64Tensor({2}, {3, 1});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y, yh = GRU <hidden_size = 3, direction = \"reverse\"> "
                               "(x, w, r, , lens)",
                               14, {&x, &w, &r, nullptr, &lens}));
  // Batch entry 1 alone, with only its first step.
  const std::vector<float> vx = Values(x);
  const Tensor x1 = FloatTensor({1, 1, input}, {vx[input], vx[input + 1]});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> single,
                       RunNode("y, yh = GRU <hidden_size = 3, direction = \"reverse\"> (x, w, r)",
                               14, {&x1, &w, &r}));
  const std::vector<float> y = Values(out[0]), yh = Values(out[1]), ys = Values(single[1]);
  for (int j = 0; j < hidden; ++j) {
    EXPECT_NEAR(y[1 * hidden + j], ys[j], 1e-6f);               // t = 0, batch 1
    EXPECT_EQ(y[(1 * 2 + 1) * hidden + j], 0.0f);               // t = 1, batch 1: padding
    EXPECT_EQ(y[(2 * 2 + 1) * hidden + j], 0.0f);               // t = 2, batch 1: padding
    EXPECT_NEAR(yh[hidden + j], ys[j], 1e-6f);
  }
}

TEST(RecurrentPropertiesTest, BatchMajorLayoutTransposesInputsAndOutputs) {
  const int seq = 3, batch = 2, input = 2, hidden = 2;
  const Tensor x = RandomTensor({seq, batch, input}, 41);
  const Tensor w = RandomTensor({1, hidden, input}, 42);
  const Tensor r = RandomTensor({1, hidden, hidden}, 43);
  const Tensor h0 = RandomTensor({1, batch, hidden}, 44);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> time_major,
                       RunNode("y, yh = RNN <hidden_size = 2> (x, w, r, , , h0)", 14,
                               {&x, &w, &r, nullptr, nullptr, &h0}));
  const std::vector<float> vx = Values(x);
  std::vector<float> xt(vx.size());
  for (int t = 0; t < seq; ++t)
    for (int n = 0; n < batch; ++n)
      for (int i = 0; i < input; ++i) xt[(n * seq + t) * input + i] = vx[(t * batch + n) * input + i];
  const Tensor xb = FloatTensor({batch, seq, input}, xt);
  const Tensor h0b = FloatTensor({batch, 1, hidden}, Values(h0));
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> batch_major,
                       RunNode("y, yh = RNN <hidden_size = 2, layout = 1> (x, w, r, , , h0)", 14,
                               {&xb, &w, &r, nullptr, nullptr, &h0b}));
  const std::vector<float> yt = Values(time_major[0]);
  std::vector<float> expected(yt.size());
  for (int t = 0; t < seq; ++t)
    for (int n = 0; n < batch; ++n)
      for (int j = 0; j < hidden; ++j) expected[(n * seq + t) * hidden + j] = yt[(t * batch + n) * hidden + j];
  ExpectClose(batch_major[0], {batch, seq, 1, hidden}, expected);
  ExpectClose(batch_major[1], {batch, 1, hidden}, Values(time_major[1]));
}

TEST(RecurrentPropertiesTest, BadInputsAreErrors) {
  const Tensor x = RandomTensor({2, 1, 3}, 1);
  const Tensor w = RandomTensor({1, 8, 3}, 2);
  const Tensor r = RandomTensor({1, 8, 2}, 3);
  EXPECT_THAT(RunNode("y = LSTM <hidden_size = 3> (x, w, r)", 14, {&x, &w, &r}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected [1,12,3]")));
  EXPECT_THAT(RunNode("y = LSTM <hidden_size = 2, activations = [\"Foo\", \"Tanh\", \"Tanh\"]>"
                      " (x, w, r)",
                      14, {&x, &w, &r})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown activation")));
}

}  // namespace
}  // namespace halfcast::eval
