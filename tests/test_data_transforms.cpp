// Transforms: to float (1/255 scaling), normalize, random horizontal flip, random crop with padding, compose, a
// user transform from a vtable; determinism for a seed and the errors of each.
#include <cmath>
#include <set>

#include "test_data_helpers.h"

namespace {
ct_tensor *apply(ct_transform *t, const ct_tensor *x, uint64_t seed) {
    ct_tensor *y = ct_transform_apply(t, x, seed);
    EXPECT_NE(y, nullptr) << ct_last_error();
    return y;
}
} // namespace

TEST(DataTransforms, ToFloatScalesUint8By1Over255) {
    ct_tensor *x = dt::tensor({0, 1, 128, 254, 255}, {5}, CT_UINT8);
    ct_transform *t = ct_transform_to_float();
    ct_tensor *y = apply(t, x, 0);
    EXPECT_EQ(ct_tensor_dtype(y), CT_FLOAT32);
    std::vector<double> got = dt::values(y), in = {0, 1, 128, 254, 255};
    for (size_t i = 0; i < in.size(); i++) // one rounding to float32: within half an ulp, 2^-24 relative
        EXPECT_LE(std::fabs(got[i] - in[i] / 255.0), std::ldexp(in[i] / 255.0, -24)) << i;
    EXPECT_EQ(got[4], 1.0);
    ct_tensor *f = dt::tensor({2.5}, {1}, CT_FLOAT64), *g = apply(t, f, 0); // floats: converted, not scaled
    EXPECT_EQ(dt::values(g), (std::vector<double>{2.5}));
    ct_tensor *i = dt::tensor({2}, {1}, CT_INT64);
    EXPECT_EQ(ct_transform_apply(t, i, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_DTYPE, "expected a uint8 image or a floating tensor, got int64");
    ct_release(x), ct_release(y), ct_release(f), ct_release(g), ct_release(i);
    ct_transform_release(t);
}

TEST(DataTransforms, NormalizePerChannel) {
    // (C=2, H=1, W=2): channel 0 = [1, 0.5], channel 1 = [3, -1]; mean (0.5, 1), std (0.25, 2)
    ct_tensor *x = dt::tensor({1, 0.5, 3, -1}, {2, 1, 2});
    double mean[] = {0.5, 1}, std_[] = {0.25, 2};
    ct_transform *t = ct_transform_normalize(2, mean, std_);
    ct_tensor *y = apply(t, x, 0);
    EXPECT_EQ(dt::shape(y), (std::vector<int64_t>{2, 1, 2}));
    // (1-0.5)/0.25 = 2, (0.5-0.5)/0.25 = 0, (3-1)/2 = 1, (-1-1)/2 = -1: all exact in float32
    EXPECT_EQ(dt::values(y), (std::vector<double>{2, 0, 1, -1}));
    ct_release(x), ct_release(y);
    // a batch of images (..., C, H, W) and one mean for every channel
    double m1[] = {0.1}, s1[] = {0.3};
    ct_transform *one = ct_transform_normalize(1, m1, s1);
    ct_tensor *b = dt::tensor({0.4, 0.7, 1.0, 0.1}, {2, 2, 1, 1}, CT_FLOAT64), *yb = apply(one, b, 0);
    std::vector<double> got = dt::values(yb), in = {0.4, 0.7, 1.0, 0.1};
    for (size_t i = 0; i < in.size(); i++) EXPECT_NEAR(got[i], (in[i] - 0.1) / 0.3, 4e-16) << i; // float64 rounding
    ct_release(b), ct_release(yb);
    ct_transform_release(t), ct_transform_release(one);
}

TEST(DataTransforms, NormalizeErrors) {
    double mean[] = {0.5, 0.5}, zero[] = {1, 0};
    EXPECT_EQ(ct_transform_normalize(2, mean, zero), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "std evaluated to zero after conversion to float32, leading to division by zero.");
    double std_[] = {1, 1};
    ct_transform *t = ct_transform_normalize(2, mean, std_);
    ct_tensor *u8 = dt::tensor({1, 2, 3, 4}, {1, 2, 2}, CT_UINT8);
    EXPECT_EQ(ct_transform_apply(t, u8, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_DTYPE, "Input tensor should be a float tensor. Got uint8.");
    ct_tensor *flat = dt::tensor({1, 2, 3, 4}, {2, 2});
    EXPECT_EQ(ct_transform_apply(t, flat, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = [2, 2]");
    ct_tensor *three = dt::tensor({1, 2, 3}, {3, 1, 1});
    EXPECT_EQ(ct_transform_apply(t, three, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "The size of tensor a (3) must match the size of tensor b (2)");
    ct_release(u8), ct_release(flat), ct_release(three);
    ct_transform_release(t);
}

TEST(DataTransforms, HorizontalFlipMirrorsTheLastDim) {
    ct_tensor *x = dt::tensor({1, 2, 3, 4, 5, 6}, {1, 2, 3}, CT_UINT8);
    ct_transform *always = ct_transform_random_horizontal_flip(1.0), *never = ct_transform_random_horizontal_flip(0.0);
    ct_tensor *y = apply(always, x, 5), *z = apply(never, x, 5);
    EXPECT_EQ(dt::values(y), (std::vector<double>{3, 2, 1, 6, 5, 4}));
    EXPECT_EQ(dt::values(z), dt::values(x));
    ct_release(y), ct_release(z);
    // p = 0.5: about half of 2000 seeds flip (binomial sd 22; 6 sd bounds), and a seed always decides the same way
    ct_transform *half = ct_transform_random_horizontal_flip(0.5);
    int flipped = 0;
    for (uint64_t seed = 0; seed < 2000; seed++) {
        ct_tensor *a = apply(half, x, seed), *b = apply(half, x, seed);
        EXPECT_EQ(dt::values(a), dt::values(b));
        flipped += dt::values(a)[0] == 3;
        ct_release(a), ct_release(b);
    }
    EXPECT_GT(flipped, 1000 - 134);
    EXPECT_LT(flipped, 1000 + 134);
    EXPECT_EQ(ct_transform_random_horizontal_flip(1.5), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "probability should be in [0, 1]");
    ct_release(x);
    ct_transform_release(always), ct_transform_release(never), ct_transform_release(half);
}

TEST(DataTransforms, RandomCropWithPaddingCutsWindowsOfThePaddedImage) {
    // a 1x3x3 image 1..9 padded by 1 is 5x5; every 3x3 window of it is a possible crop, and all 9 come up
    ct_tensor *x = dt::tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
    std::vector<double> padded(25, 0.0);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) padded[(size_t)((r + 1) * 5 + c + 1)] = 1 + r * 3 + c;
    std::set<std::vector<double>> windows, seen;
    for (int top = 0; top < 3; top++)
        for (int left = 0; left < 3; left++) {
            std::vector<double> w;
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) w.push_back(padded[(size_t)((top + r) * 5 + left + c)]);
            windows.insert(w);
        }
    ct_transform *t = ct_transform_random_crop(3, 3, 1);
    for (uint64_t seed = 0; seed < 200; seed++) {
        ct_tensor *y = apply(t, x, seed);
        EXPECT_EQ(dt::shape(y), (std::vector<int64_t>{1, 3, 3}));
        std::vector<double> v = dt::values(y);
        EXPECT_TRUE(windows.count(v)) << "seed " << seed;
        seen.insert(v);
        ct_release(y);
    }
    EXPECT_EQ(seen.size(), 9u);
    ct_transform *big = ct_transform_random_crop(6, 6, 1);
    EXPECT_EQ(ct_transform_apply(big, x, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "Required crop size (6, 6) is larger than input image size (5, 5)");
    ct_release(x);
    ct_transform_release(t), ct_transform_release(big);
}

TEST(DataTransforms, ComposeChainsAndIsSeeded) {
    ct_transform *to_float = ct_transform_to_float();
    double m[] = {0.5}, s[] = {0.5};
    ct_transform *norm = ct_transform_normalize(1, m, s), *flip = ct_transform_random_horizontal_flip(0.5);
    ct_transform *steps[] = {to_float, norm, flip};
    ct_transform *c = ct_transform_compose(3, steps);
    ct_transform_release(to_float), ct_transform_release(norm), ct_transform_release(flip); // compose holds them
    ct_tensor *x = dt::tensor({0, 51, 255, 102}, {1, 2, 2}, CT_UINT8);
    std::set<std::vector<double>> outcomes;
    for (uint64_t seed = 0; seed < 20; seed++) {
        ct_tensor *y = apply(c, x, seed), *again = apply(c, x, seed);
        EXPECT_EQ(dt::values(y), dt::values(again));
        outcomes.insert(dt::values(y));
        ct_release(y), ct_release(again);
    }
    // (v/255 - 0.5) / 0.5 = 2v/255 - 1: -1, -0.6, 1, -0.2, mirrored or not
    ASSERT_EQ(outcomes.size(), 2u);
    std::vector<double> plain = {-1, -0.6, 1, -0.2}, mirrored = {-0.6, -1, -0.2, 1};
    for (const auto &o : outcomes) {
        const std::vector<double> &want = o[0] == plain[0] ? plain : mirrored;
        for (size_t i = 0; i < 4; i++) EXPECT_NEAR(o[i], want[i], 2e-7); // three float32 roundings of values <= 1
    }
    ct_release(x);
    ct_transform_release(c);
}

namespace {
// A user transform: adds ctx's amount to every element (float32).
ct_tensor *add_apply(void *ctx, const ct_tensor *x, ct_rng *) {
    ct_tensor *y = ct_clone(x);
    if (!y) return nullptr;
    float *p = (float *)ct_data_ptr(y);
    for (int64_t i = 0; i < ct_numel(y); i++) p[i] += *(float *)ctx;
    return y;
}
const ct_transform_vtable add_vt = {"Add", add_apply, nullptr};
} // namespace

TEST(DataTransforms, UserTransformFromAVtable) {
    float amount = 1.5f;
    ct_transform *t = ct_transform_new(&add_vt, &amount);
    ct_tensor *x = dt::tensor({1, 2}, {2}), *y = apply(t, x, 0);
    EXPECT_EQ(dt::values(y), (std::vector<double>{2.5, 3.5}));
    ct_release(x), ct_release(y);
    ct_transform_release(t);
}
