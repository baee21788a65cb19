// Printing: the strings PyTorch 2.x prints for the same tensors (checked against torch's repr by hand; the script
// tests/fixtures/print_reference.py prints them with torch).
#include <cmath>
#include <cstdlib>
#include <string>

#include "test_helpers.h"

namespace {
// The repr of t; t and every tensor made for it belong to the scope each test runs in.
std::string repr(ct_tensor *t) {
    char *s = ct_tensor_repr(t);
    std::string r = s ? s : std::string("<error: ") + ct_last_error() + ">";
    std::free(s);
    return r;
}
class Print : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override { ct_scope_end(); }
};
} // namespace

TEST_F(Print, IntegerValuedFloats) {
    EXPECT_EQ(repr(ct_view(ct_arange(0, 4, 1, CT_FLOAT32, CT_DEVICE_CPU), 2, SHAPE(2, 2))),
              "tensor([[0., 1.],\n        [2., 3.]])");
}

TEST_F(Print, FixedPointWithFourDecimals) {
    EXPECT_EQ(repr(tensor_f32({0.5f, -1.25f, 3.f}, {3})), "tensor([ 0.5000, -1.2500,  3.0000])");
}

TEST_F(Print, ScientificWhenMagnitudesSpreadOut) {
    EXPECT_EQ(repr(tensor_f32({1e-5f, 1.f}, {2})), "tensor([1.0000e-05, 1.0000e+00])");
}

TEST_F(Print, IntegersBoolsAndDtypeSuffix) {
    EXPECT_EQ(repr(ct_arange(-2, 2, 1, CT_INT64, CT_DEVICE_CPU)), "tensor([-2, -1,  0,  1])");
    EXPECT_EQ(repr(ct_arange(0, 3, 1, CT_INT32, CT_DEVICE_CPU)), "tensor([0, 1, 2], dtype=torch.int32)");
    EXPECT_EQ(repr(ct_arange(0, 2, 1, CT_FLOAT64, CT_DEVICE_CPU)), "tensor([0., 1.], dtype=torch.float64)");
    bool b[3] = {true, false, true};
    EXPECT_EQ(repr(ct_tensor_from_data(b, 1, SHAPE(3), CT_BOOL, CT_DEVICE_CPU)), "tensor([ True, False,  True])");
}

TEST_F(Print, ScalarsEmptyAndSpecialValues) {
    EXPECT_EQ(repr(ct_full(0, nullptr, 3, CT_FLOAT32, CT_DEVICE_CPU)), "tensor(3.)");
    EXPECT_EQ(repr(ct_zeros(1, SHAPE(0), CT_FLOAT32, CT_DEVICE_CPU)), "tensor([])");
    EXPECT_EQ(repr(ct_zeros(2, SHAPE(0, 3), CT_FLOAT32, CT_DEVICE_CPU)), "tensor([], size=(0, 3))");
    EXPECT_EQ(repr(ct_zeros(1, SHAPE(0), CT_INT64, CT_DEVICE_CPU)), "tensor([], dtype=torch.int64)");
    EXPECT_EQ(repr(tensor_f32({NAN, INFINITY, -INFINITY, 1.f}, {4})), "tensor([nan, inf, -inf, 1.])");
}

TEST_F(Print, RequiresGradSuffix) {
    ct_tensor *t = ct_ones(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU);
    ct_set_requires_grad(t, true);
    EXPECT_EQ(repr(t), "tensor([1., 1.], requires_grad=True)");
}

TEST_F(Print, ThreeDimsSeparateBlocksWithABlankLine) {
    EXPECT_EQ(repr(ct_view(ct_arange(0, 8, 1, CT_INT64, CT_DEVICE_CPU), 3, SHAPE(2, 2, 2))),
              "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])");
}

TEST_F(Print, LargeTensorsAreSummarised) {
    EXPECT_EQ(repr(ct_arange(0, 2000, 1, CT_INT64, CT_DEVICE_CPU)), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
    EXPECT_EQ(repr(ct_view(ct_arange(0, 1100, 1, CT_FLOAT32, CT_DEVICE_CPU), 2, SHAPE(100, 11))),
              "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 8.0000e+00, 9.0000e+00,\n"
              "         1.0000e+01],\n"
              "        [1.1000e+01, 1.2000e+01, 1.3000e+01,  ..., 1.9000e+01, 2.0000e+01,\n"
              "         2.1000e+01],\n"
              "        [2.2000e+01, 2.3000e+01, 2.4000e+01,  ..., 3.0000e+01, 3.1000e+01,\n"
              "         3.2000e+01],\n"
              "        ...,\n"
              "        [1.0670e+03, 1.0680e+03, 1.0690e+03,  ..., 1.0750e+03, 1.0760e+03,\n"
              "         1.0770e+03],\n"
              "        [1.0780e+03, 1.0790e+03, 1.0800e+03,  ..., 1.0860e+03, 1.0870e+03,\n"
              "         1.0880e+03],\n"
              "        [1.0890e+03, 1.0900e+03, 1.0910e+03,  ..., 1.0970e+03, 1.0980e+03,\n"
              "         1.0990e+03]])");
}

TEST_F(Print, LongRowsWrapAtEightyColumns) {
    std::string s = repr(ct_arange(0, 30, 1, CT_FLOAT32, CT_DEVICE_CPU));
    EXPECT_EQ(s.substr(0, s.find('\n')),
              "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,");
    EXPECT_NE(s.find("\n        14., 15.,"), std::string::npos) << s;
}

TEST_F(Print, NullIsAnError) {
    EXPECT_EQ(ct_tensor_repr(nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "is NULL");
    EXPECT_EQ(ct_print(nullptr), CT_ERR_INVALID_ARGUMENT);
    ct_clear_error();
}
