// exp, log and cos computed from IEEE-754 additions, multiplications and divisions only (and
// exact scalings by powers of two), in a fixed order, so that they give the same bits on every
// machine, with every C library. The C library's functions do not promise that: their last
// bit may differ between library versions, and between the variants a library picks for a
// CPU (with or without fused multiply-add). The engine's results go through these instead:
// the softmax of the block, exponential decay and normally distributed random numbers.
//
// Accuracy: within a few units in the last place of the exact value (tests/test_rng.cpp
// compares them with the C library's), not correctly rounded.
#pragma once

#include <cstddef>

namespace spikenn {

double portable_exp(double x);
// v[i] = float(portable_exp(double(v[i]))) for i < n, four at a time where the CPU has AVX2:
// the same operations per element, so the same bits as the scalar loop.
void portable_exp_floats(float* v, std::size_t n);
// The natural logarithm; NaN below 0, -infinity at 0.
double portable_log(double x);
// For |x| up to about 1e9; the range reduction loses accuracy beyond.
double portable_cos(double x);

} // namespace spikenn
