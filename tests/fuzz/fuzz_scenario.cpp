// libFuzzer target for the scenario loader (tools/scenario.hpp): any text must give a
// Scenario or an InputError naming the place; never a crash, a hang or undefined behaviour.
// Weights are not materialised (ScenarioOverrides::weights), so that an input costs the
// parsing and checking, not the drawing of millions of random numbers. Files the text names
// are resolved in scenarios/invalid/, whose data/ folder holds good and bad tensor files.
#include <cstddef>
#include <cstdint>
#include <string>

#include <spikenn/error.hpp>
#include <spikenn/scenario.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    spikenn::ScenarioOverrides ov;
    ov.weights = false;
    try {
        const spikenn::Scenario sc = spikenn::load_scenario_text(SPIKENN_SOURCE_DIR "/scenarios/invalid/fuzz.yaml",
            std::string(reinterpret_cast<const char*>(data), size), ov);
        (void)sc.network.size();
    }
    catch (const spikenn::InputError&) {
    }
    return 0;
}
