// libFuzzer target for the safetensors reader (neurons/tensor_io.hpp SafetensorsFile): any
// bytes must give a file whose every float32 tensor can be read at its stated shape, or an
// InputError; never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>

#include <spikenn/error.hpp>
#include <spikenn/tensor_io.hpp>
#include "tests/fuzz/memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static spikenn::fuzz::MemoryFile file("fuzz.safetensors");
    file.assign(data, size);
    try {
        const spikenn::SafetensorsFile st(file.path());
        for (const auto& [name, e]: st.entries()) {
            try {
                // The loader asks for a tensor by the shape it expects; asking for the stated
                // one reaches the copy whenever the entry is readable at all.
                const std::vector<float> v = st.get_f32(name, e.shape);
                std::uint64_t n = 1;
                for (const std::int64_t d: e.shape) n *= static_cast<std::uint64_t>(d);
                if (n != v.size()) __builtin_trap();
            }
            catch (const spikenn::InputError&) {
            }
        }
        for (const auto& [key, value]: st.metadata()) (void)(key.size() + value.size());
    }
    catch (const spikenn::InputError&) {
    }
    return 0;
}
