// libFuzzer target for the .npy reader (neurons/tensor_io.hpp read_npy): any bytes must give
// an array whose data fills its shape, or an InputError; never a crash, a hang, undefined
// behaviour or an allocation the file does not justify.
#include <cstddef>
#include <cstdint>

#include <spikenn/error.hpp>
#include <spikenn/tensor_io.hpp>
#include "tests/fuzz/memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static spikenn::fuzz::MemoryFile file("fuzz.npy");
    file.assign(data, size);
    try {
        const spikenn::NpyArray a = spikenn::read_npy(file.path());
        // What the reader accepted must be what it claims: callers index data by shape.
        std::uint64_t n = 1;
        for (const std::int64_t d: a.shape) {
            if (d < 0) __builtin_trap();
            n *= static_cast<std::uint64_t>(d);
        }
        if (n != a.data.size()) __builtin_trap();
    }
    catch (const spikenn::InputError&) {
    }
    return 0;
}
