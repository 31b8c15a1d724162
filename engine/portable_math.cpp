#include <spikenn/portable_math.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <immintrin.h>

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

namespace {

// portable_exp's steps on four doubles, for x in [-700, 700]: the nearest integer k to
// x / ln 2 by the same truncation and step down as floor_of (exact for |y| < 2^31), the same
// reduction and Taylor polynomial (a multiplication and an addition per step, never fused:
// the project is built with -ffp-contract=off, and no fma intrinsic is used here), and the
// same exact scaling by 2^k, k in [-1010, 1010] (a normal power of two, so scale() would
// multiply too). Other lanes, NaNs included, are left to the scalar function.
[[gnu::target("avx2")]] void exp4_to_float(float* v) {
    const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(v));
    const __m256d y = _mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)), _mm256_set1_pd(0.5));
    const __m128i ti = _mm256_cvttpd_epi32(y);
    __m256d k = _mm256_cvtepi32_pd(ti);
    const __m256d above = _mm256_cmp_pd(k, y, _CMP_GT_OQ);
    k = _mm256_sub_pd(k, _mm256_and_pd(above, _mm256_set1_pd(1.0)));
    const __m256d r = _mm256_sub_pd(_mm256_sub_pd(x, _mm256_mul_pd(k, _mm256_set1_pd(ln2_hi))), _mm256_mul_pd(k, _mm256_set1_pd(ln2_lo)));
    constexpr double c[] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
        1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800};
    __m256d p = _mm256_set1_pd(c[13]);
    for (int i = 12; i >= 0; --i) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(c[i]));
    const __m128i ki = _mm256_cvtpd_epi32(k); // k is an integer: exact
    const __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(ki), _mm256_set1_epi64x(1023)), 52);
    const __m256d e = _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
    const __m128 f = _mm256_cvtpd_ps(e);
    // Lanes outside [-700, 700] (NaN included: the comparisons are false) go the scalar way.
    const __m256d ok = _mm256_and_pd(_mm256_cmp_pd(x, _mm256_set1_pd(-700.0), _CMP_GE_OQ), _mm256_cmp_pd(x, _mm256_set1_pd(700.0), _CMP_LE_OQ));
    const int mask = _mm256_movemask_pd(ok);
    float out[4];
    _mm_storeu_ps(out, f);
    for (int l = 0; l < 4; ++l) v[l] = (mask >> l & 1) ? out[l] : static_cast<float>(portable_exp(static_cast<double>(v[l])));
}

bool has_avx2() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    }();
    return yes;
}

} // namespace

void portable_exp_floats(float* v, std::size_t n) {
    std::size_t i = 0;
    if (has_avx2()) {
        for (; i + 4 <= n; i += 4) exp4_to_float(v + i);
    }
    for (; i < n; ++i) v[i] = static_cast<float>(portable_exp(static_cast<double>(v[i])));
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
