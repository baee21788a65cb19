// The op-test harness (after ggml's tests/test-backend-ops.cpp). Every op family registers cases:
//
//   static const int reg = cth::add_case({
//       "gather", "dim1_int64_index",                      // registered op name, case name
//       {cth::uniform({3, 4}), cth::integers({3, 2}, 0, 4, CT_INT64)},  // how inputs are drawn
//       [](const cth::Inputs &in) { return ct_gather(in[0], 1, in[1]); },  // the op through the C API
//       [](const std::vector<cth::Ref> &in) { ... return cth::Ref{shape, values}; },  // float64 reference
//   });
//
// Each case runs as its own test, once on the CPU against the float64 reference, and once on CUDA against the CPU
// result (skipped with the reason when no GPU is present). Comparison: normalised mean squared error below the
// case's bound; any NaN where the reference has none fails, and so does an infinity of the wrong sign. Every CPU
// storage carries guard bytes during a case, so a kernel writing past an output's end fails the case, and the
// CPU allocator must be back where it started when the case's tensors are released. The gradient mode (numerical
// Jacobians by central differences in float64) is here for the autograd issue's checks.
#ifndef CTORCH_TEST_HARNESS_H
#define CTORCH_TEST_HARNESS_H

#include <functional>
#include <string>
#include <vector>

#include "ctorch/ctorch.h"
#include "ctorch/ops.h"

namespace cth {

enum class Draw { Uniform, Normal, Integers, Arange, Bools, Given };

// How one input is made. Values are drawn on the CPU from a generator seeded per case, so the CPU and CUDA runs of a
// case see the same numbers.
struct InputSpec {
    std::vector<int64_t> shape;
    ct_dtype dtype = CT_FLOAT32;
    Draw draw = Draw::Uniform;
    double lo = -1, hi = 1;            // Uniform: [lo, hi); Integers: [lo, hi); Arange: lo, lo+1, ...
    bool transposed = false;           // made non-contiguous: drawn with the last two dims swapped, then transposed
    std::vector<double> values = {};   // Draw::Given: the values, row-major
};

InputSpec uniform(std::vector<int64_t> shape, ct_dtype dtype = CT_FLOAT32, double lo = -1, double hi = 1);
InputSpec normal(std::vector<int64_t> shape, ct_dtype dtype = CT_FLOAT32);
InputSpec integers(std::vector<int64_t> shape, int64_t lo, int64_t hi, ct_dtype dtype = CT_INT64);
InputSpec arange(std::vector<int64_t> shape, ct_dtype dtype = CT_FLOAT32, double start = 0);
InputSpec bools(std::vector<int64_t> shape);
InputSpec given(std::vector<int64_t> shape, std::vector<double> values, ct_dtype dtype = CT_FLOAT32);
InputSpec transposed(InputSpec spec); // the same input, laid out non-contiguously

using Inputs = std::vector<ct_tensor *>;

// A tensor's values as float64 on the host, row-major.
struct Ref {
    std::vector<int64_t> shape;
    std::vector<double> values;
    int64_t numel() const;
    double at(std::initializer_list<int64_t> index) const;
};

struct OpCase {
    std::string op;   // the registered op name (ops.h registry)
    std::string name; // what this case covers
    std::vector<InputSpec> inputs;
    // Runs the op; returns the result (which the harness releases), or NULL on error. For in-place ops return
    // ct_retain(in[0]) after the call.
    std::function<ct_tensor *(const Inputs &)> run;
    // The expected result in float64 from the inputs' values; may be empty for ops checked only across devices.
    std::function<Ref(const std::vector<Ref> &)> reference;
    double max_nmse = 1e-10;   // float32 results: about 1e-12 relative error squared is the rounding floor
    bool exact_dtype = true;   // the result's dtype must equal expected_dtype when set
    ct_dtype expected_dtype = CT_NUM_DTYPES; // CT_NUM_DTYPES: not checked
};

// Registers a case; returns its index. Call from a static initialiser.
int add_case(OpCase c);
const std::vector<OpCase> &cases();

// A gradient check (the gradient mode): the inputs are made in float64 (floating specs) and those in `wrt` require
// grad; y = run(inputs) is differentiated with ct_backward(y, w) for a random w, and each input's gradient is
// compared with the finite-difference J^T w in float64: |analytic - numeric| <= tol * (1 + |numeric|) everywhere.
// Runs on the CPU, and on CUDA when a GPU is present.
struct GradCase {
    std::string op;   // the registered op name
    std::string name; // what this case covers
    std::vector<InputSpec> inputs;
    std::vector<int> wrt; // indices of the inputs to differentiate (all floating inputs when empty)
    std::function<ct_tensor *(const Inputs &)> run;
    double eps = 1e-6, tol = 1e-5;
};
int add_grad_case(GradCase c);
const std::vector<GradCase> &grad_cases();

// Makes input spec on device, from a generator seeded with seed.
ct_tensor *make_input(const InputSpec &spec, ct_device device, uint64_t seed);
// Copies a tensor's values into a Ref (any dtype, any device).
Ref to_ref(const ct_tensor *t);
// Normalised mean squared error sum((a-b)^2) / sum(b^2) (or the plain sum when b is all zeros). Returns +inf and
// says why in *why for a shape mismatch, a NaN in a where b has none, or an infinity of the other sign.
double nmse(const Ref &a, const Ref &expected, std::string *why);

// Empty when a CUDA device is usable; otherwise why the CUDA cases are skipped.
std::string gpu_skip_reason();

// The numerical Jacobian d f(inputs) / d inputs[which], by central differences in float64: rows are outputs, columns
// the perturbed input's elements (row-major). f must accept float64 inputs. eps is the step. Runs without grad mode
// (so it may perturb leaves that require grad).
std::vector<std::vector<double>> numerical_jacobian(const std::function<ct_tensor *(const Inputs &)> &f,
                                                    const Inputs &inputs, size_t which, double eps = 1e-6);

} // namespace cth

#endif
