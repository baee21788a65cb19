// Helpers shared by the data module's tests (test_data_*.cpp, test_idx.cpp): tensors from literals and values out,
// error expectations, a temporary directory, and a map-style test dataset whose sample i is {[i, -i], label i}.
#ifndef CTORCH_TEST_DATA_HELPERS_H
#define CTORCH_TEST_DATA_HELPERS_H

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ctorch/ctorch.h"

namespace dt {

// All values of t as doubles, row-major (any dtype or layout).
inline std::vector<double> values(const ct_tensor *t) {
    ct_tensor *d = ct_to_dtype(t, CT_FLOAT64);
    std::vector<double> v((size_t)ct_numel(t));
    EXPECT_EQ(ct_copy_to_buffer(d, v.data(), v.size() * sizeof(double)), CT_OK) << ct_last_error();
    ct_release(d);
    return v;
}

inline std::vector<int64_t> shape(const ct_tensor *t) { return std::vector<int64_t>(ct_shape(t), ct_shape(t) + ct_dim(t)); }

// A CPU tensor of dtype holding values (given as doubles) with the given shape.
inline ct_tensor *tensor(std::vector<double> v, std::vector<int64_t> shape, ct_dtype dtype = CT_FLOAT32) {
    ct_tensor *d = ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *t = ct_to_dtype(d, dtype);
    ct_release(d);
    return t;
}

inline int64_t cpu_bytes() {
    ct_memory_stats s;
    EXPECT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &s), CT_OK);
    return s.allocated;
}

// A directory under the system's temporary directory, removed with everything in it at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ctorch_data_XXXXXX").string();
        path = mkdtemp(tmpl.data()) ? tmpl : "";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string &name) const { return path + "/" + name; }
};

// The test dataset: sample i is {float32 [i, -i], int64 label i (0-d)}. Counts its gets; each get can sleep.
struct Counting {
    int64_t n = 10;
    int sleep_us = 0;
    int64_t fail_at = -1; // get of this index fails
    std::atomic<int64_t> gets{0};
};

inline int64_t counting_len(void *ctx) { return ((Counting *)ctx)->n; }

inline ct_status counting_get(void *ctx, int64_t i, ct_sample *out) {
    Counting *c = (Counting *)ctx;
    c->gets++;
    if (c->sleep_us) std::this_thread::sleep_for(std::chrono::microseconds(c->sleep_us));
    if (i == c->fail_at) {
        ct_tensor *bad = ct_empty(1, std::vector<int64_t>{-1}.data(), CT_FLOAT32, CT_DEVICE_CPU); // a real error
        EXPECT_EQ(bad, nullptr);
        return ct_last_status();
    }
    float x[2] = {(float)i, (float)-i};
    int64_t two = 2, label = i;
    out->n = 2;
    out->field[0] = ct_tensor_from_data(x, 1, &two, CT_FLOAT32, CT_DEVICE_CPU);
    out->field[1] = ct_tensor_from_data(&label, 0, nullptr, CT_INT64, CT_DEVICE_CPU);
    return out->field[0] && out->field[1] ? CT_OK : ct_last_status();
}

inline const ct_dataset_vtable counting_vt = {"Counting", counting_len, counting_get, nullptr, nullptr, nullptr, nullptr};

// A dataset over c (borrowed: c must outlive it).
inline ct_dataset *counting_dataset(Counting *c) { return ct_dataset_new(&counting_vt, c); }

} // namespace dt

// Expects the last call to have failed with status and a message containing words; clears the error.
#define EXPECT_CT_ERROR(status, words)                                                 \
    do {                                                                               \
        EXPECT_EQ(ct_last_status(), (status)) << ct_last_error();                      \
        EXPECT_NE(std::string(ct_last_error()).find(words), std::string::npos)         \
            << "message was: " << ct_last_error();                                     \
        ct_clear_error();                                                              \
    } while (0)

#endif
