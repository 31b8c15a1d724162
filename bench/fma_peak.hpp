// The core's FP32 fused multiply-add peak, measured: a loop of FMAs on registers only, for the
// widest vector ISA the CPU offers. It is the ceiling no product on this core can pass, so the
// block's rate is printed as a fraction of it. Measured rather than computed from a data sheet,
// because a virtual machine's clock, turbo and (on some Intel parts) the AVX-512 frequency
// offset are known only by running.
#pragma once

#include <optional>
#include <string>

namespace spikenn::bench {

struct FmaPeak {
    std::string isa;       // "AVX-512F" or "AVX2+FMA"
    int accumulators = 0;  // independent FMA chains in the loop
    double gflops = 0;     // median over the samples, one thread
};

// Runs the probe 3 x `rounds` times (about 25 ms each: a sample is cheap, and more of them let
// the median pass over the slices another process takes of a shared core) on the calling
// thread; nullopt when the CPU has neither AVX-512F nor AVX2 with FMA (SSE2 has no FMA
// instruction to measure).
std::optional<FmaPeak> fma_peak(int rounds);

} // namespace spikenn::bench
