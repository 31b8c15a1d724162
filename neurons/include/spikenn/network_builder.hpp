// Building a network in code: neurons, populations, connections, stimuli and weights, with
// every check a scenario file gets.
//
// The scenario loader (scenario/) is YAML in front of this builder: a network written in
// YAML and the same network built here are the same Network, weights and random draws
// included, so they give the same fingerprint. Random streams are keyed as in the README
// ("Random streams"): a neuron's weights by "neuron:NAME", a shared population's by
// "population:NAME", the pairs of the k-th connect call with pattern random by
// "connections[k]", a random stimulus's tensors by "stimulus:NAME", a Poisson stimulus's
// times by "stimulus-times:NAME" (an independent stimulus's, for each target, by the pair of
// that entity and "neuron:TARGET": entity_pair in rng.hpp).
//
// Each call checks its arguments against what was added before it and throws BuildError,
// which names the item ("neuron 'a'", "connection 3", "stimulus 'drive'") and the parameter,
// and leaves the builder as it was. build() then hands over a Network the engine can trust.
//
//     spikenn::NetworkBuilder b(/*seed=*/7);
//     spikenn::NeuronParams p;
//     p.shape = {64, 4, 256};
//     b.add_population("layer1", 8, p);
//     b.add_neuron("out", p);
//     b.connect("layer1", "out", spikenn::Pattern::all_to_all, {spikenn::Time::from_ms(2)});
//     b.add_stimulus("drive", "layer1", spikenn::Schedule::every(spikenn::Time::from_ms(10), {}, spikenn::Time::from_ms(100)),
//                    spikenn::StimulusTensor::random_normal(10, 1.0f));
//     spikenn::Network net = b.build();
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spikenn/error.hpp>
#include <spikenn/network.hpp>

namespace spikenn {

// An error in a call of the builder: `item` is what the call adds ("neuron 'a'",
// "connection 2", "stimulus 'drive'") and `param` the argument that is wrong ("num_heads",
// "delay"; empty when the call as a whole is), as the scenario file's keys name them.
class BuildError: public InputError {
public:
    BuildError(std::string item, std::string param, const std::string& problem);
    const std::string& item() const { return item_; }
    const std::string& param() const { return param_; }

private:
    std::string item_, param_;
};

// The values a LayerNorm parameter is filled with. A constant is the same number for every
// element. A draw gives each element its own value, from the stream (seed, entity,
// norm_draw_purpose(param)) with the entity of the neuron's weights ("neuron:NAME", or
// "population:NAME" when shared), element j from the stream's j-th draw:
//   normal:  mean + std * z, z standard normal (RandomStream::normal), in double, rounded to float32;
//   uniform: low + (high - low) * u, u uniform in [0, 1) with 24 bits, in double, rounded to float32.
// The builder checks the numbers: finite, std >= 0, low < high, and draws within float32.
struct NormFill {
    enum class Kind { constant, normal, uniform };
    Kind kind = Kind::constant;
    float value = 0;     // constant
    double a = 0, b = 0; // normal: mean and std; uniform: low and high

    NormFill(float v = 0): value(v) {} // NOLINT: a plain number is a constant fill
    static NormFill normal(double mean, double std) { return {Kind::normal, mean, std}; }
    static NormFill uniform(double low, double high) { return {Kind::uniform, low, high}; }

private:
    NormFill(Kind k, double a_, double b_): kind(k), a(a_), b(b_) {}
};

// Where a neuron's or a population's weights come from. By default they are drawn at random
// (each neuron its own, from "neuron:NAME"; a shared population one set, from
// "population:NAME").
struct WeightsSpec {
    bool shared = false; // populations: one set of weights for every member
    // A safetensors state_dict with the seed's parameter names. With `index`, the file holds
    // a whole network's ("neurons.<index + k>." before each name, for member k; the same
    // index for every member when shared); without it, one neuron's.
    std::optional<std::filesystem::path> file;
    std::optional<std::int64_t> index;
    // Weights given in code (for every member), instead of a file or a draw.
    std::shared_ptr<const BlockWeights> given;
    // Fills of the LayerNorms' weight and bias, applied after the weights are drawn or read:
    // one number for every element (`w.norm2.bias = 0.3f`), or a draw per element
    // (`w.norm2.weight = NormFill::normal(1.0, 0.1)`).
    struct Fill {
        std::optional<NormFill> weight, bias;
    };
    Fill norm1, norm2;
    // A linear readout's weight and bias (NeuronParams::readout == Readout::linear): by
    // default they come with the block's weights, drawn with them (PyTorch's nn.Linear
    // default, LinearReadout::random, from the same entity), read from the same file
    // ("readout.weight" [1, embed_dim] and "readout.bias" [1], under the same prefix) or
    // given in `given_readout`; with `readout_random` they are drawn whatever the block's
    // come from (a seed state_dict has no readout).
    bool readout_random = false;
    std::shared_ptr<const LinearReadout> given_readout; // with `given`, for every member
};

// What build() materialises.
enum class WeightsMode {
    build, // draw and read every weight: a network that runs
    check, // read each weights file's header and check every tensor it would give, draw nothing
    none,  // parameters only (for tools that describe a run); such a network cannot run
};

struct BuilderOptions {
    unsigned threads = 1; // for drawing random weights; no weight depends on it
    WeightsMode weights = WeightsMode::build;
    // For rank `rank` of a run on `ranks` (docs/distributed.md): only the neurons that rank
    // owns (owner_of) get their weights, so that a network whose weights do not fit one
    // process runs on several. Everything else, every rank builds whole.
    int rank = 0;
    int ranks = 1;
};

enum class Pattern {
    all_to_all, // every source to every target but itself
    one_to_one, // the k-th source to the k-th target
    random,     // each pair of all_to_all with a probability, drawn from "connections[k]"
    // Each source to `outdegree` distinct targets other than itself, drawn uniformly from
    // "connections[k]" (purpose: the source's place in `from`): a network of a million
    // neurons with a hundred synapses each, which random's one draw per pair cannot make.
    fixed_outdegree,
};

struct Connection {
    Time delay = Time::from_ticks(1); // at least one tick
    float weight = 1.0f;              // scales the delivered output (the target block's input)
    float efficacy = 1.0f;            // scales the potential change each delivery causes
};

// When a stimulus fires: at the given times (when `at` is not empty), every `period`, or at
// the times of a Poisson process of `rate` per second, from `from` until (excluding) `until`.
struct Schedule {
    std::vector<Time> at;
    Time period = Time::zero();
    Time from = Time::zero();
    Time until = Time::max();
    double rate = 0;

    static Schedule times(std::vector<Time> at) { return {std::move(at), Time::zero(), Time::zero(), Time::max(), 0}; }
    static Schedule every(Time period, Time from = Time::zero(), Time until = Time::max()) { return {{}, period, from, until, 0}; }
    static Schedule poisson(double per_second, Time from = Time::zero(), Time until = Time::max()) {
        return {{}, Time::zero(), from, until, per_second};
    }
};

struct StimulusOptions {
    float efficacy = 1.0f;    // scales the potential change each of its inputs causes
    bool independent = false; // each target its own draws (Stimulus::independent)
};

class NetworkBuilder {
public:
    explicit NetworkBuilder(std::uint64_t seed = 0, BuilderOptions options = {});

    std::uint64_t seed() const { return seed_; }

    // One neuron; its ids are returned (one).
    std::vector<EntityId> add_neuron(const std::string& name, const NeuronParams& params, const WeightsSpec& weights = {});
    // `size` neurons named NAME[0] ... NAME[size-1], in that order.
    std::vector<EntityId> add_population(const std::string& name, std::size_t size, const NeuronParams& params,
        const WeightsSpec& weights = {});

    // The neurons a name selects: "all", a neuron's name, a population's name (every
    // member, in order), or a member "pop[3]". BuildError (item "selector") for a name that
    // selects nothing.
    std::vector<EntityId> select(std::string_view name) const;
    // Several names: the union, sorted, each neuron once.
    std::vector<EntityId> select(std::span<const std::string> names) const;
    std::vector<EntityId> select(std::initializer_list<std::string_view> names) const;

    // One connection entry: synapses from `from` to `to` by `pattern` (probability: for
    // Pattern::random only; for Pattern::fixed_outdegree, the out-degree, a whole number).
    // Connected neurons must have the same embed_dim.
    void connect(std::span<const EntityId> from, std::span<const EntityId> to, Pattern pattern, const Connection& c,
        double probability = 1.0);
    void connect(std::string_view from, std::string_view to, Pattern pattern, const Connection& c, double probability = 1.0);
    // One connection entry of explicit (source, target) pairs.
    void connect_pairs(std::span<const std::pair<EntityId, EntityId>> pairs, const Connection& c);

    // A stimulus to `targets` (of one embed_dim). A name is required for a random tensor
    // (its draws are keyed by it); an empty name is "stimulus<k>" for the k-th stimulus.
    // tensor.cols is set to the targets' embed_dim; a fixed tensor must have it already.
    void add_stimulus(const std::string& name, std::span<const EntityId> targets, const Schedule& when, StimulusTensor tensor,
        const StimulusOptions& options = {});
    void add_stimulus(const std::string& name, std::string_view targets, const Schedule& when, StimulusTensor tensor,
        const StimulusOptions& options = {});

    std::size_t size() const { return net_.size(); }
    const std::vector<std::string>& names() const { return net_.names; }
    const NeuronParams& params(EntityId id) const { return net_.neurons.at(id).params; }
    const std::vector<Stimulus>& stimuli() const { return net_.stimuli; }
    // Every file the network read (weights files), as given, in the order first read.
    const std::vector<std::filesystem::path>& files() const { return files_; }
    // True when no stimulus schedule runs for ever: a run of it then ends by itself.
    bool ends() const;

    // The network; the builder is empty afterwards.
    Network build();

private:
    void add_group(const std::string& name, std::size_t size, bool population, const NeuronParams& params, const WeightsSpec& w);
    void load_weights(const std::string& item, const std::string& group, std::size_t first, std::size_t count, bool population,
        const WeightsSpec& w);

    std::uint64_t seed_;
    BuilderOptions options_;
    Network net_;
    std::map<std::string, std::vector<EntityId>, std::less<>> groups_; // selector name -> members
    std::set<std::string, std::less<>> populations_;
    std::set<std::string, std::less<>> stimulus_names_;
    std::size_t connections_ = 0; // connect calls so far
    std::vector<std::filesystem::path> files_;
};

// The checks on neuron parameters the builder makes (BuildError with `item`).
void check_params(const NeuronParams& p, const std::string& item);

} // namespace spikenn
