// libFuzzer target for checkpoints, read as `spikenn run tests/data/demo_0.2.yaml --resume FILE`
// reads them: the file (read_checkpoint), its sections (CheckpointBody::decode), then
// Simulation::load_checkpoint over the demo's network (the simulator's state, the counts, the
// fingerprint), and then up to 2000 events, so that a state that loads but does not fit the
// model is caught when it is used. InputError, StateError and SimulationError are
// the answers a bad checkpoint may get; a crash or a sanitizer report is a bug.
//
// The file's checksum is xxh3 and anyone can recompute it, so it is no defence: the target
// rewrites the last 8 bytes of every input with the checksum of the bytes before them, and
// mutations reach the decoders instead of stopping at the checksum test. (An input kept from
// a crash therefore replays only through this target, or after fixing its checksum.)
//
// The event-log and output-file sections are read and checked as a resume reads them,
// against the log and the files of a real run of the demo (made once, in a scratch folder):
// their constructors only read, and a resume changes files only after every check passed.
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <spikenn/error.hpp>
#include <spikenn/simulator.hpp>
#include "tests/fuzz/memory_file.hpp"
#include <spikenn/checkpoint.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/outputs.hpp>
#include "tools/run.hpp"
#include <spikenn/scenario.hpp>
#include <spikenn/simulation.hpp>

namespace {

// A finished run of the demo, recorded as `spikenn run tests/data/demo_0.2.yaml --record LOG` from
// the source folder records it, so that the seeds' log hashes match its log.
struct RecordedRun {
    std::filesystem::path dir = [] {
        char name[] = "/tmp/spikenn_fuzz_checkpoint_XXXXXX";
        if (!::mkdtemp(name)) std::abort();
        return std::filesystem::path(name);
    }();
    std::filesystem::path out = dir / "out", log = dir / "run.evlog";
    RecordedRun() {
        spikenn::Scenario sc = spikenn::load_scenario(SPIKENN_SOURCE_DIR "/tests/data/demo_0.2.yaml");
        spikenn::RunSettings rs;
        rs.out_dir = out;
        rs.record = log;
        rs.scenario_arg = "tests/data/demo_0.2.yaml";
        rs.log_level = "off";
        spikenn::run_scenario(sc, rs);
    }
    ~RecordedRun() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

struct Demo {
    spikenn::Scenario sc = spikenn::load_scenario(SPIKENN_SOURCE_DIR "/tests/data/demo_0.2.yaml");
    RecordedRun recorded;
    std::uint64_t hash = sc.text_hash();
    // One simulation of the demo for every input: a checkpoint it accepts replaces its whole
    // state (and its tensor-hash cache), and one it refuses changes nothing, so what an
    // earlier input did cannot reach the next one and a crash replays from its input alone.
    spikenn::Simulation sim = [] {
        spikenn::Scenario copy = spikenn::load_scenario(SPIKENN_SOURCE_DIR "/tests/data/demo_0.2.yaml");
        return spikenn::Simulation(std::move(copy.network), copy.simulation_options());
    }();
};

constexpr std::size_t max_steps = 2000;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace spikenn;
    static Demo demo;
    static fuzz::MemoryFile file("fuzz.ckpt");
    std::vector<std::uint8_t> bytes(data, data + size);
    if (bytes.size() >= 16) {
        const std::uint64_t h = hash_bytes(bytes.data(), bytes.size() - 8);
        std::memcpy(bytes.data() + bytes.size() - 8, &h, 8);
    }
    file.assign(bytes.data(), bytes.size());
    try {
        const Checkpoint c = read_checkpoint(file.path());
        if (c.info.scenario_hash != demo.hash) return 0; // run refuses a checkpoint of another scenario
        const CheckpointBody body = CheckpointBody::decode(c, file.path());
        // The simulator's state, the counts and the fingerprint, as a resume takes them.
        demo.sim.load_checkpoint(c, file.path(), CheckpointUse::inspect);
        // The event-log and output-file sections, read and checked as a resume reads them.
        if (!body.log.empty()) {
            StateReader rl(body.log, body.log_at);
            const EventLogWriter checked(demo.recorded.log, rl, c.version);
        }
        if (!body.files.empty()) {
            StateReader ro(body.files, body.files_at);
            OutputFiles checked(demo.recorded.out, demo.sc.network, demo.sc.output_settings(demo.recorded.out));
            checked.load_state(ro, c.version);
        }
        for (std::size_t i = 0; i < max_steps && demo.sim.step(); ++i) {}
    }
    catch (const InputError&) {
    }
    catch (const StateError&) {
    }
    catch (const SimulationError&) {
    }
    return 0;
}
