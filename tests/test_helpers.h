// Small helpers for the foundation tests: building tensors from literals and reading them back.
#ifndef CTORCH_TEST_HELPERS_H
#define CTORCH_TEST_HELPERS_H

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctorch/ctorch.h"

// Shape and dims arguments inline: the temporary vector lives until the end of the full expression.
#define SHAPE(...) (std::vector<int64_t>{__VA_ARGS__}.data())
#define DIMS(...) (std::vector<int>{__VA_ARGS__}.data())

// A float32 CPU tensor from values and a shape.
inline ct_tensor *tensor_f32(std::vector<float> values, std::vector<int64_t> shape) {
    return ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_FLOAT32, CT_DEVICE_CPU);
}

// All values of t as doubles, row-major (any dtype, any layout, any device).
inline std::vector<double> values_of(const ct_tensor *t) {
    ct_tensor *d = ct_to_dtype(t, CT_FLOAT64);
    std::vector<double> v((size_t)ct_numel(t));
    EXPECT_EQ(ct_copy_to_buffer(d, v.data(), v.size() * sizeof(double)), CT_OK) << ct_last_error();
    ct_release(d);
    return v;
}

inline std::vector<int64_t> shape_of(const ct_tensor *t) {
    return std::vector<int64_t>(ct_shape(t), ct_shape(t) + ct_dim(t));
}

inline std::vector<int64_t> strides_of(const ct_tensor *t) {
    return std::vector<int64_t>(ct_strides(t), ct_strides(t) + ct_dim(t));
}

// Expects the last call to have failed with status and a message containing words.
#define EXPECT_ERROR(status, words)                                                    \
    do {                                                                               \
        EXPECT_EQ(ct_last_status(), (status)) << ct_last_error();                      \
        EXPECT_NE(std::string(ct_last_error()).find(words), std::string::npos)         \
            << "message was: " << ct_last_error();                                     \
        ct_clear_error();                                                              \
    } while (0)

// The CPU allocator's bytes in use.
inline int64_t cpu_allocated() {
    ct_memory_stats s;
    EXPECT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &s), CT_OK);
    return s.allocated;
}

#endif
