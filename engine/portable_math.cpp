#include <spikenn/portable_math.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

// Compiled, like the whole project, with -ffp-contract=off: every a * b + c below is a
// multiplication and an addition, each rounded, never a fused multiply-add.

namespace spikenn {

namespace {

// ln 2 and pi/2 split so that k * hi is exact for the k used here (hi has trailing zero bits).
constexpr double ln2_hi = 6.93147180369123816490e-01;
constexpr double ln2_lo = 1.90821492927058770002e-10;
constexpr double pio2_1 = 1.57079632673412561417e+00;
constexpr double pio2_2 = 6.07710050650619224932e-11;
constexpr double pio2_3 = 2.02226624871116645580e-21;

// exp(r) for |r| <= ln2 / 2: the Taylor series to r^13 (the next term is below 1e-17 of it).
double exp_reduced(double r) {
    constexpr double c[] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
        1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800};
    double p = c[13];
    for (int i = 12; i >= 0; --i) p = p * r + c[i];
    return p;
}

// Taylor coefficients (-1)^i / (2i + first)! for i = 0..10, computed once by the compiler with
// the same rounded operations the code would do.
struct Coefficients {
    double c[11];
};
constexpr Coefficients alternating_inverse_factorials(int first) {
    Coefficients out{};
    double fact = 1;
    for (int i = 1; i <= first; ++i) fact = fact * i;
    for (int i = 0; i < 11; ++i) {
        if (i > 0) fact = fact * (2.0 * i + first - 1) * (2.0 * i + first);
        out.c[i] = (i % 2 ? -1.0 : 1.0) / fact;
    }
    return out;
}
constexpr Coefficients sin_c = alternating_inverse_factorials(1); // 1, -1/3!, 1/5!, ...
constexpr Coefficients cos_c = alternating_inverse_factorials(0); // 1, -1/2!, 1/4!, ...

// sin(r) and cos(r) for |r| <= pi/4: Taylor series to r^21 and r^20.
double sin_reduced(double r) {
    const double s = r * r;
    double p = sin_c.c[10];
    for (int i = 9; i >= 0; --i) p = p * s + sin_c.c[i];
    return r * p;
}
double cos_reduced(double r) {
    const double s = r * r;
    double p = cos_c.c[10];
    for (int i = 9; i >= 0; --i) p = p * s + cos_c.c[i];
    return p;
}

// floor(y) for |y| < 2^62, without a library call on baseline x86-64 (SSE2 has no rounding
// instruction): truncation, then one step down for negative non-integers. Exact.
double floor_of(double y) {
    const auto t = static_cast<double>(static_cast<std::int64_t>(y));
    return t > y ? t - 1 : t;
}

// v * 2^k, exactly as std::ldexp gives it; a multiplication when 2^k is a normal number.
double scale(double v, std::int64_t k) {
    if (k < -1022 || k > 1023) return std::ldexp(v, static_cast<int>(k));
    return v * std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
}

} // namespace

double portable_exp(double x) {
    if (std::isnan(x)) return x;
    if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
    if (x < -745.2) return 0.0;
    const double k = floor_of(x * 1.4426950408889634 + 0.5); // nearest integer to x / ln 2
    const double r = (x - k * ln2_hi) - k * ln2_lo;
    return scale(exp_reduced(r), static_cast<std::int64_t>(k));
}

double portable_log(double x) {
    if (std::isnan(x) || x < 0) return std::numeric_limits<double>::quiet_NaN();
    if (x == 0) return -std::numeric_limits<double>::infinity();
    if (std::isinf(x)) return x;
    // x = m * 2^e with m in [0.5, 1), as std::frexp (exact); from the bits for normal numbers.
    int e = 0;
    double m = 0;
    const auto bits = std::bit_cast<std::uint64_t>(x);
    if (const auto biased = static_cast<int>(bits >> 52); biased > 0) {
        e = biased - 1022;
        m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFull) | (1022ull << 52));
    }
    else {
        m = std::frexp(x, &e);
    }
    if (m < 0.70710678118654752440) {
        m = m * 2;
        e -= 1;
    }
    // log(m) = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), f = (m - 1) / (m + 1), |f| < 0.172.
    const double f = (m - 1) / (m + 1);
    const double s = f * f;
    double p = 1.0 / 23;
    for (int i = 21; i >= 1; i -= 2) p = p * s + 1.0 / i;
    const double log_m = 2 * f * p;
    const double de = e;
    return de * ln2_hi + (de * ln2_lo + log_m);
}

double portable_cos(double x) {
    if (!std::isfinite(x)) return std::numeric_limits<double>::quiet_NaN();
    if (!(std::abs(x) < 1e15)) return std::numeric_limits<double>::quiet_NaN(); // beyond any use here
    const double k = floor_of(x * 0.63661977236758134308 + 0.5); // nearest integer to x / (pi/2)
    const double r = ((x - k * pio2_1) - k * pio2_2) - k * pio2_3;
    const auto quadrant = static_cast<long long>(k) & 3;
    switch (quadrant) {
    case 0: return cos_reduced(r);
    case 1: return -sin_reduced(r);
    case 2: return -cos_reduced(r);
    default: return sin_reduced(r);
    }
}

} // namespace spikenn
