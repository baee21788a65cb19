// Op cases for the core kernels: copy_ (strided, converting, broadcasting) and fill_.
#include "harness.h"

#include <cmath>

namespace {

cth::Ref identity(const std::vector<cth::Ref> &in) { return in[0]; }

// copy_ into a fresh tensor of `dtype` (what contiguous(), clone(), to(dtype) run on).
std::function<ct_tensor *(const cth::Inputs &)> copy_into(ct_dtype dtype) {
    return [dtype](const cth::Inputs &in) -> ct_tensor * {
        ct_tensor *out = ct_empty(ct_dim(in[0]), ct_shape(in[0]), dtype, ct_tensor_device(in[0]));
        if (out && ct_copy_(out, in[0]) != CT_OK) {
            ct_release(out);
            return nullptr;
        }
        return out;
    };
}

// Rounds each value as a conversion to dtype would (toward zero for integers; bool is != 0).
std::function<cth::Ref(const std::vector<cth::Ref> &)> converted(ct_dtype dtype) {
    return [dtype](const std::vector<cth::Ref> &in) {
        cth::Ref r = in[0];
        for (double &v : r.values) {
            if (dtype == CT_BOOL) v = v != 0;
            else if (dtype == CT_FLOAT32) v = (double)(float)v;
            else if (dtype != CT_FLOAT64) v = std::trunc(v);
        }
        return r;
    };
}

const int cases_registered = [] {
    using namespace cth;
    add_case({"copy_", "contiguous_f32", {uniform({5, 7})}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "transposed_f32", {transposed(uniform({33, 17}))}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "transposed_f64_4d", {transposed(normal({2, 3, 4, 5}, CT_FLOAT64))}, copy_into(CT_FLOAT64),
              identity});
    add_case({"copy_", "large_parallel_f32", {transposed(uniform({300, 257}))}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "f64_to_f32", {normal({4, 6}, CT_FLOAT64)}, copy_into(CT_FLOAT32), converted(CT_FLOAT32)});
    add_case({"copy_", "f32_to_int64_truncates", {uniform({40}, CT_FLOAT32, -50, 50)}, copy_into(CT_INT64),
              converted(CT_INT64)});
    add_case({"copy_", "int64_to_f32", {integers({3, 9}, -1000, 1000)}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "int32_to_int64", {integers({17}, -9, 9, CT_INT32)}, copy_into(CT_INT64), identity});
    add_case({"copy_", "uint8_to_f64", {integers({2, 2, 2}, 0, 256, CT_UINT8)}, copy_into(CT_FLOAT64), identity});
    add_case({"copy_", "f32_to_bool", {given({5}, {0, 1.5, -2, 0, 1e-30})}, copy_into(CT_BOOL), converted(CT_BOOL)});
    add_case({"copy_", "bool_to_int32", {bools({3, 4})}, copy_into(CT_INT32), identity});
    add_case({"copy_", "zero_size", {uniform({0, 4})}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "scalar_0d", {uniform({})}, copy_into(CT_FLOAT64), identity});
    add_case({"copy_", "broadcast_row",
              {uniform({1, 5})},
              [](const Inputs &in) -> ct_tensor * {
                  int64_t shape[2] = {3, 5};
                  ct_tensor *out = ct_empty(2, shape, CT_FLOAT32, ct_tensor_device(in[0]));
                  if (out && ct_copy_(out, in[0]) != CT_OK) ct_release(out), out = nullptr;
                  return out;
              },
              [](const std::vector<Ref> &in) {
                  Ref r{{3, 5}, {}};
                  for (int i = 0; i < 3; i++) r.values.insert(r.values.end(), in[0].values.begin(), in[0].values.end());
                  return r;
              }});
    add_case({"fill_", "f32_strided",
              {transposed(uniform({6, 4}))},
              [](const Inputs &in) -> ct_tensor * {
                  if (ct_fill_(in[0], 2.5) != CT_OK) return nullptr;
                  return ct_retain(in[0]);
              },
              [](const std::vector<Ref> &in) {
                  Ref r = in[0];
                  for (double &v : r.values) v = 2.5;
                  return r;
              }});
    add_case({"fill_", "int32_truncates",
              {integers({7}, 0, 5, CT_INT32)},
              [](const Inputs &in) -> ct_tensor * {
                  if (ct_fill_(in[0], -3.75) != CT_OK) return nullptr;
                  return ct_retain(in[0]);
              },
              [](const std::vector<Ref> &in) {
                  Ref r = in[0];
                  for (double &v : r.values) v = -3;
                  return r;
              }});
    return 0;
}();

} // namespace

// Gradient checks of the core's differentiable op (copy_, through clone/contiguous/to and views on the way).
namespace {
const int grad_cases_registered = [] {
    using namespace cth;
    add_grad_case({"copy_", "clone_of_transposed", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_clone(in[0]); }});
    add_grad_case({"copy_", "into_fresh_with_broadcast", {uniform({1, 4})}, {}, [](const Inputs &in) -> ct_tensor * {
                       ct_tensor *out = ct_zeros(2, std::vector<int64_t>{3, 4}.data(), CT_FLOAT64, ct_tensor_device(in[0]));
                       if (out && ct_copy_(out, in[0]) != CT_OK) return nullptr;
                       return out;
                   }});
    add_grad_case({"copy_", "views_chain", {uniform({2, 3, 4})}, {}, [](const Inputs &in) {
                       ct_tensor *p = ct_permute(in[0], 3, std::vector<int>{2, 0, 1}.data());
                       ct_tensor *s = ct_slice(p, 0, 1, 4, 2);
                       ct_tensor *e = ct_expand(ct_unsqueeze(ct_select(s, 2, 1), 0), 3,
                                                std::vector<int64_t>{3, 2, 2}.data());
                       return ct_contiguous(ct_flatten(e, 0, -1));
                   }});
    return 0;
}();
} // namespace
