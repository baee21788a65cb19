#include <gtest/gtest.h>
#include "ctorch/ctorch.h"
TEST(Smoke, MakesATensor) {
    int64_t s[2] = {2, 3};
    ct_tensor *t = ct_zeros(2, s, CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_NE(t, nullptr) << ct_last_error();
    EXPECT_EQ(ct_numel(t), 6);
    ct_release(t);
}
