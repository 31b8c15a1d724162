// Single-thread OpenBLAS sgemm on an n x n x n product: what a tuned, register-blocked GEMM
// reaches on this core, the practical ceiling for the block's products (the FMA peak being the
// theoretical one). OpenBLAS is linked into this benchmark only, as the machine's reference;
// the library never uses it (its products have a fixed order of their own, neurons/matmul.hpp).
#pragma once

#include <optional>
#include <string>

namespace spikenn::bench {

struct BlasRate {
    std::string config;  // openblas_get_config(): version, build options and the core it picked
    std::string threads; // how it was held to one thread
    double gflops = 0;   // median over the rounds
};

// Times C = A B on n x n row-major float matrices `rounds` times after one untimed product;
// nullopt when the benchmark was built without OpenBLAS.
std::optional<BlasRate> openblas_sgemm_rate(int n, int rounds);

} // namespace spikenn::bench
