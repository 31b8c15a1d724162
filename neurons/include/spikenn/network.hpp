// The network model: neurons, the connections between them and the stimuli that drive
// them, as the engine's Model. Made by NetworkBuilder (network_builder.hpp), which checks
// every parameter; check() makes sure that fields set by hand agree before a run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spikenn/communicator.hpp>
#include <spikenn/simulator.hpp>
#include <spikenn/neuron.hpp>

namespace spikenn {

class BlockBatcher; // neurons/block_batcher.hpp

// How the blocks of a run were computed (neurons/block_batcher.hpp): counts of work, not of
// results, which are the same whichever way they were computed.
struct BatchStats {
    std::uint64_t blocks = 0;        // blocks computed
    std::uint64_t batches = 0;       // the products they were computed in
    std::uint64_t unused = 0;        // blocks of inputs that were then dropped
    std::uint64_t spike_outputs = 0; // spike outputs computed ahead, with a batch
    std::uint64_t spike_unused = 0;  // of those, for inputs that did not make a spike
};

struct Synapse {
    EntityId target = 0;
    Time delay = Time::from_ticks(1); // at least one tick
    float weight = 1.0f;              // scales the delivered output (the block's input)
    float efficacy = 1.0f;            // scales the potential change the input causes
};

// Where a stimulus's tensor comes from at each occurrence.
struct StimulusTensor {
    enum class Kind { random, constant, fixed } kind = Kind::constant;
    std::int32_t rows = 0; // seq_len
    std::int32_t cols = 0; // embed_dim
    float value = 0;       // constant: every element; random: the standard deviation
    Tensor tensor;         // fixed: the tensor (from a .npy file)

    // Each occurrence a fresh draw of N(0, std^2), keyed by the stimulus's name and the
    // occurrence, and with Stimulus::independent by the target's name too (cols: the
    // targets' embed_dim, set by the builder).
    static StimulusTensor random_normal(std::int32_t rows, float std) { return {Kind::random, rows, 0, std, {}}; }
    static StimulusTensor constant(std::int32_t rows, float value) { return {Kind::constant, rows, 0, value, {}}; }
    static StimulusTensor fixed(Tensor t) { return {Kind::fixed, t.rows, t.cols, 0, std::move(t)}; }
};

struct Stimulus {
    std::string name;
    std::vector<EntityId> targets; // sorted, distinct
    // Explicit times (sorted), a schedule every `every` from `from` until (excluding)
    // `until`, or a Poisson process of `rate` occurrences per second from `from` until
    // (excluding) `until`: exponential gaps, each rounded to the nearest tick, drawn from
    // "stimulus-times:NAME" (with `independent`, one process per target: the pair of that
    // entity and "neuron:TARGET", rng.hpp's entity_pair).
    std::vector<Time> at;
    Time every = Time::zero();
    double rate = 0; // per second; > 0 for a Poisson schedule
    Time from = Time::zero();
    Time until = Time::zero();
    StimulusTensor tensor;
    float efficacy = 1.0f; // scales the potential change each of its inputs causes
    // Each target its own random tensor (and, with a rate, its own times), keyed by the
    // target's name: adding a target changes no other target's draws.
    bool independent = false;

    bool poisson() const { return rate > 0; }
    // One schedule per target (independent Poisson times), rather than one for all.
    bool per_target_times() const { return independent && poisson(); }
    // A schedule that only `until` ends, and has none.
    bool endless() const { return (every > Time::zero() || poisson()) && until == Time::max(); }
    // The time of occurrence k (of target `target`'s own process, for per_target_times), or
    // nothing after the last; `seed` is the network's, which Poisson times are drawn from.
    // Poisson times are sums of k + 1 gaps: O(k).
    std::optional<Time> occurrence_time(std::uint64_t k, std::uint64_t seed, const std::string& target = {}) const;
};

class Network final: public Model {
public:
    Network();
    ~Network() override;
    Network(Network&&) noexcept;
    Network& operator=(Network&&) noexcept;

    std::uint64_t seed = 0;
    std::vector<std::string> names;           // one per neuron
    std::vector<TransformerNeuron> neurons;
    std::vector<std::vector<Synapse>> synapses; // outgoing, per neuron
    std::vector<Stimulus> stimuli;
    // The rank this network was built for, of how many (NetworkBuilder's BuilderOptions): it
    // holds the weights of the neurons that rank owns (owner_of) and none of the others'.
    // {0, 1}: every neuron's weights.
    struct Partition {
        int rank = 0;
        int ranks = 1;
    } partition;

    void start(Simulator& sim) override;
    EventResult handle(const Event& e, Simulator& sim) override;
    EventResult cancelled(const Event& e, Simulator& sim) override;
    void save_state(StateWriter& out) const override;
    // Checks every neuron's state and every pending event against the network (the rules
    // of docs/semantics.md, "What a saved state satisfies"); commit_state() then takes it.
    void load_state(StateReader& in, SavedState& saved) override;
    void commit_state() override;

    // Checks that the fields agree with each other (one name, neuron and synapse list per
    // neuron, targets that exist, delays of at least a tick, inputs as wide as their
    // targets, weights of the neurons' shapes): InputError otherwise. NetworkBuilder makes
    // networks that pass; a Simulation checks the network it is given, since these fields
    // can be set by hand.
    void check() const;

    std::size_t size() const { return neurons.size(); }
    // How blocks are computed: on `threads` threads (the event loop's and threads - 1
    // workers), and with batch, the inputs due at one time to neurons with the same weights
    // as one product (neurons/block_batcher.hpp). No result depends on either.
    void set_compute(unsigned threads, bool batch = true);
    void set_threads(unsigned threads) { set_compute(threads, batch_); }
    // Runs as one rank of several (docs/distributed.md): this rank computes the blocks of the
    // neurons it owns and takes the others' results from their owners through `comm`; every
    // rank runs the same events. Null, or a communicator of one rank: alone. A network built
    // for one rank (partition) runs only on that rank of a run of that size (InputError).
    void set_communicator(std::shared_ptr<Communicator> comm);
    const std::shared_ptr<Communicator>& communicator() const { return comm_; }
    // Counts of the blocks computed since the network was built.
    BatchStats batch_stats() const;
    // The tensor stimulus s delivers at occurrence k (to `target`: the draws of an
    // independent stimulus differ between targets).
    Tensor stimulus_tensor(std::size_t s, std::uint64_t k, EntityId target) const;

private:
    // A stimulus's schedules: one for all its targets, or one per target (per_target_times).
    struct Drive {
        std::uint32_t stimulus = 0;
        std::uint32_t target = UINT32_MAX; // its index in the targets, or every target
        std::uint64_t last_k = UINT64_MAX; // Poisson: the last occurrence computed, and its time
        Time last_time;
    };
    void make_drives();
    // The smallest delay of any connection (Time::max() without any): the batcher's window.
    Time smallest_delay() const;
    std::size_t drive_of(std::uint32_t stimulus, EntityId target) const;
    std::optional<Time> drive_time(Drive& d, std::uint64_t k) const;
    void schedule_occurrence(Simulator& sim, std::size_t drive, std::uint64_t k);
    EventResult on_input(EntityId id, const Event& e, Simulator& sim);
    EventResult on_spike(EntityId id, const Event& e, Simulator& sim);
    void update_decay_event(EntityId id, Simulator& sim);
    Event own_event(EntityId id, Time t, EventKind kind, Simulator& sim);

    // Registers a scheduled input with the batcher.
    void prefetch(const Event& e, Simulator& sim);
    BlockBatcher& batcher();

    std::vector<Drive> drives_;
    std::vector<std::size_t> first_drive_;       // per stimulus, into drives_
    std::vector<std::uint64_t> next_occurrence_; // per drive: the first not yet scheduled
    // A state read and checked by load_state(), until commit_state() takes it.
    struct LoadedState {
        std::vector<NeuronState> neurons;
        std::vector<std::uint64_t> next_occurrence;
        std::vector<Event> inputs; // the pending inputs, for the batcher
    };
    std::optional<LoadedState> loaded_;
    // Per neuron: the output of its pending spike, when a batch computed it ahead (a cache,
    // not state: without it the spike computes the same tensor).
    std::vector<std::shared_ptr<const Tensor>> spike_outputs_;
    bool batch_ = true;
    std::shared_ptr<Communicator> comm_;
    // Last, so that its workers stop before the neurons they read are destroyed.
    std::unique_ptr<BlockBatcher> batcher_;
};

} // namespace spikenn
