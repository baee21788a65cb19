// The harness checks itself: its comparison catches what it must, and its numerical Jacobian is right where the
// answer is known exactly.
#include <cmath>

#include "harness.h"
#include "test_helpers.h"

TEST(Harness, NmseCatchesShapeNanAndInfinityMismatches) {
    std::string why;
    cth::Ref a{{2}, {1, 2}}, b{{2}, {1, 2}};
    EXPECT_EQ(cth::nmse(a, b, &why), 0);
    cth::Ref off{{2}, {1, 2.2}};
    EXPECT_NEAR(cth::nmse(off, b, &why), 0.04 / 5, 1e-12);
    cth::Ref other_shape{{1, 2}, {1, 2}};
    EXPECT_TRUE(std::isinf(cth::nmse(other_shape, b, &why)));
    EXPECT_NE(why.find("shape"), std::string::npos);
    cth::Ref nan{{2}, {NAN, 2}};
    EXPECT_TRUE(std::isinf(cth::nmse(nan, b, &why)));
    EXPECT_NE(why.find("NaN"), std::string::npos);
    cth::Ref inf{{2}, {INFINITY, 2}}, minus_inf{{2}, {-INFINITY, 2}};
    EXPECT_TRUE(std::isinf(cth::nmse(inf, minus_inf, &why)));
    EXPECT_EQ(cth::nmse(inf, inf, &why), 0);
}

TEST(Harness, GuardBytesCatchAWritePastTheEnd) {
    int64_t before = ct_debug_guard_violations();
    ct_debug_set_guard_memory(true);
    ct_tensor *t = ct_zeros(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_debug_set_guard_memory(false);
    ((unsigned char *)ct_data_ptr(t))[12] = 0; // one byte past the 3 floats: inside the guard, not past the block
    ct_release(t);
    EXPECT_EQ(ct_debug_guard_violations(), before + 1);
}

TEST(Harness, InputsAreReproducibleAndTransposedOnRequest) {
    ct_tensor *a = cth::make_input(cth::uniform({3, 4}), CT_DEVICE_CPU, 9);
    ct_tensor *b = cth::make_input(cth::transposed(cth::uniform({3, 4})), CT_DEVICE_CPU, 9);
    ct_tensor *c = cth::make_input(cth::uniform({3, 4}), CT_DEVICE_CPU, 9);
    EXPECT_EQ(shape_of(b), (std::vector<int64_t>{3, 4}));
    EXPECT_FALSE(ct_is_contiguous(b));
    EXPECT_EQ(values_of(a), values_of(c));
    for (double v : values_of(a)) {
        EXPECT_GE(v, -1);
        EXPECT_LT(v, 1);
    }
    ct_tensor *g = cth::make_input(cth::transposed(cth::given({2, 2}, {1, 2, 3, 4})), CT_DEVICE_CPU, 0);
    EXPECT_FALSE(ct_is_contiguous(g));
    EXPECT_EQ(values_of(g), (std::vector<double>{1, 2, 3, 4})) << "given values keep their logical order";
    for (auto *t : {a, b, c, g}) ct_release(t);
}

TEST(Harness, NumericalJacobianOfATransposeIsAPermutation) {
    ct_tensor *x = ct_arange(0, 6, 1, CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *x2 = ct_view(x, 2, SHAPE(2, 3));
    auto f = [](const cth::Inputs &in) { return ct_contiguous(ct_t(in[0])); };
    ct_scope_begin();
    auto jac = cth::numerical_jacobian(f, {x2}, 0);
    ct_scope_end();
    ASSERT_EQ(jac.size(), 6u);
    // y = x^T flattened: y[j*2 + i] = x[i*3 + j]
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 6; k++)
                EXPECT_NEAR(jac[(size_t)(j * 2 + i)][(size_t)k], k == i * 3 + j ? 1.0 : 0.0, 1e-8);
    EXPECT_EQ(values_of(x2), (std::vector<double>{0, 1, 2, 3, 4, 5})) << "inputs are restored";
    ct_release(x2), ct_release(x);
}

TEST(Harness, EveryCaseHasARunFunction) {
    for (const auto &c : cth::cases()) EXPECT_TRUE((bool)c.run) << c.op << "/" << c.name;
}
