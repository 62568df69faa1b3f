#pragma once
// Shared helpers of the tests that compute with tensors: a seeded fixture and a closeness
// check that says where two tensors differ, not only that they do.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <string>

namespace seg::test {

// torch's global generator seeded with 0 before each test, so a test's random draws do not
// depend on the tests that ran before it. TEST_F(SeededTest, Name), or derive a fixture.
class SeededTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

// The same for value-parameterised tests: TEST_P on a fixture deriving from this.
template <typename T>
class SeededParamTest : public SeededTest, public ::testing::WithParamInterface<T> {};

// max |a - b| over all elements, in float64 (inf when a non-finite value meets a finite one,
// NaN when either holds NaN). Shapes must broadcast.
double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b);

// torch::allclose's rule, |actual - expected| <= atol + rtol * |expected| element-wise (equal
// infinities pass, NaN fails), evaluated in float64. The failure message names the shapes, the
// number of elements outside the tolerance, the largest absolute difference and the (first)
// index where it occurs with both values there. Note the argument order: atol, then rtol
// (torch::allclose takes rtol first).
::testing::AssertionResult tensorsClose(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                                        double rtol);

// EXPECT_TRUE(tensorsClose(...)) << what, reported at the caller's line (__builtin_FILE and
// __builtin_LINE, GCC and Clang, stand in for C++20's source_location under C++17). Returns
// whether the tensors were close.
bool expectTensorClose(const torch::Tensor& actual, const torch::Tensor& expected, double atol, double rtol,
                       const std::string& what = "", const char* file = __builtin_FILE(), int line = __builtin_LINE());

}  // namespace seg::test
