#include <spikenn/network_builder.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include <spikenn/rng.hpp>
#include <spikenn/tensor_io.hpp>

namespace spikenn {

namespace fs = std::filesystem;

BuildError::BuildError(std::string item, std::string param, const std::string& problem):
    InputError(InputPlace{"", 0, 0, param.empty() ? item : item + ": " + param}, problem), item_(std::move(item)), param_(std::move(param)) {}

namespace {

[[noreturn]] void fail(const std::string& item, const std::string& param, const std::string& problem) {
    throw BuildError(item, param, problem);
}

bool valid_name(std::string_view name) {
    return !name.empty() && name != "all" && name.find_first_of("[]:, ") == std::string_view::npos;
}

// The numbers of a LayerNorm fill (NormFill), under the parameter's key ("weights.norm2.bias").
void check_fill(const std::string& item, const std::string& param, const std::optional<NormFill>& f) {
    if (!f) return;
    constexpr double fmax = std::numeric_limits<float>::max();
    switch (f->kind) {
    case NormFill::Kind::constant:
        if (!std::isfinite(f->value)) fail(item, param, "expected a finite number");
        break;
    case NormFill::Kind::normal:
        if (!std::isfinite(f->a)) fail(item, param + ".normal.mean", "expected a finite number");
        if (!std::isfinite(f->b)) fail(item, param + ".normal.std", "expected a finite number");
        if (f->b < 0) fail(item, param + ".normal.std", fmt::format("the standard deviation {} is negative: it must be at least 0", f->b));
        // A standard normal draw is within 5.8 of 0 (RandomStream::normal takes 24-bit uniforms).
        if (std::abs(f->a) + 6 * f->b > fmax) fail(item, param + ".normal", "draws would be out of the range of float32");
        break;
    case NormFill::Kind::uniform:
        if (!std::isfinite(f->a)) fail(item, param + ".uniform.low", "expected a finite number");
        if (!std::isfinite(f->b)) fail(item, param + ".uniform.high", "expected a finite number");
        if (!(f->a < f->b)) fail(item, param + ".uniform", fmt::format("low ({}) must be below high ({})", f->a, f->b));
        if (std::max(std::abs(f->a), std::abs(f->b)) > fmax) fail(item, param + ".uniform", "draws would be out of the range of float32");
        break;
    }
}

// Fills one LayerNorm parameter (NormFill): element j of a draw is the stream's j-th.
void fill_norm(std::vector<float>& v, const NormFill& f, std::uint64_t seed, std::uint64_t entity, Param p) {
    if (f.kind == NormFill::Kind::constant) {
        std::fill(v.begin(), v.end(), f.value);
        return;
    }
    RandomStream rs(seed, entity, norm_draw_purpose(p));
    if (f.kind == NormFill::Kind::normal) {
        for (auto& x: v) x = static_cast<float>(f.a + f.b * static_cast<double>(rs.normal()));
    }
    else {
        for (auto& x: v) x = static_cast<float>(f.a + (f.b - f.a) * static_cast<double>(rs.uniform01()));
    }
}

} // namespace

void check_params(const NeuronParams& p, const std::string& item) {
    const BlockShape& s = p.shape;
    auto in_range = [&](const char* key, std::int64_t v, std::int64_t max) {
        if (v < 1 || v > max) fail(item, key, fmt::format("{} is out of range (expected 1 to {})", v, max));
    };
    in_range("embed_dim", s.embed_dim, 1 << 16);
    in_range("num_heads", s.num_heads, 1 << 16);
    in_range("hidden_dim", s.hidden_dim, 1 << 20);
    if (s.embed_dim % s.num_heads != 0) {
        fail(item, "num_heads", fmt::format("embed_dim {} is not divisible by num_heads {}", s.embed_dim, s.num_heads));
    }
    if (!std::isfinite(p.threshold)) fail(item, "threshold", "expected a finite number");
    if (!std::isfinite(p.reset_potential)) fail(item, "reset_potential", "expected a finite number");
    if (p.refractory_period < Time::zero()) fail(item, "refractory_period", "a duration must be at least 0");
    if (p.decay.kind == DecayKind::linear) {
        if (!(p.decay.rate >= 0) || !std::isfinite(p.decay.rate)) fail(item, "decay", "the rate must be finite and at least 0");
    }
    else if (p.decay.tau <= Time::zero()) {
        fail(item, "decay.exponential", "the time constant must be greater than 0");
    }
}

NetworkBuilder::NetworkBuilder(std::uint64_t seed, BuilderOptions options): seed_(seed), options_(options) { net_.seed = seed; }

std::vector<EntityId> NetworkBuilder::add_neuron(const std::string& name, const NeuronParams& params, const WeightsSpec& weights) {
    add_group(name, 1, false, params, weights);
    return groups_.find(name)->second;
}

std::vector<EntityId> NetworkBuilder::add_population(const std::string& name, std::size_t size, const NeuronParams& params,
    const WeightsSpec& weights) {
    add_group(name, size, true, params, weights);
    return groups_.find(name)->second;
}

void NetworkBuilder::add_group(const std::string& name, std::size_t count, bool population, const NeuronParams& params,
    const WeightsSpec& w) {
    const std::string item = fmt::format("{} '{}'", population ? "population" : "neuron", name);
    const char* name_key = population ? "population" : "name";
    if (!valid_name(name)) fail(item, name_key, fmt::format("'{}' is not a valid name (not 'all', and no brackets, colons, commas or spaces)", name));
    if (groups_.contains(name)) fail(item, name_key, fmt::format("the name '{}' is used twice", name));
    if (population && (count < 1 || count > (1u << 24))) fail(item, "size", fmt::format("{} is out of range (expected 1 to {})", count, 1 << 24));
    const std::size_t first = net_.neurons.size();
    if (first + count > (external_bit - 1)) fail(item, "", "too many neurons");
    check_params(params, item);
    if (w.index && !w.file) fail(item, "weights.index", "'index' selects a neuron in a weights file; give 'file' too");
    if (w.shared && !population) fail(item, "weights.shared", "'shared' is for populations");
    if (w.given && w.file) fail(item, "weights", "weights given in code cannot go with a file");
    check_fill(item, "weights.norm1.weight", w.norm1.weight);
    check_fill(item, "weights.norm1.bias", w.norm1.bias);
    check_fill(item, "weights.norm2.weight", w.norm2.weight);
    check_fill(item, "weights.norm2.bias", w.norm2.bias);
    if (params.readout != Readout::linear && (w.readout_random || w.given_readout)) {
        fail(item, "readout", "readout weights are for a linear readout");
    }
    if (params.readout == Readout::linear) {
        if (w.readout_random && w.given_readout) fail(item, "readout", "give the readout's weights or draw them, not both");
        if (w.given && !w.given_readout && !w.readout_random) {
            fail(item, "readout", "a linear readout of weights given in code needs its weights given too (given_readout), or drawn (readout_random)");
        }
        if (w.given_readout && w.given_readout->weight.size() != static_cast<std::size_t>(params.shape.embed_dim)) {
            fail(item, "readout", fmt::format("the readout weights given have {} values, where embed_dim is {}", w.given_readout->weight.size(), params.shape.embed_dim));
        }
    }
    if (w.given) {
        if (w.given->shape != params.shape) fail(item, "weights", "the weights given are of another shape");
        for (int i = 0; i < param_count; ++i) {
            const auto p = static_cast<Param>(i);
            const std::size_t size = param_size(p, params.shape);
            if ((*w.given)[p].size() != size) {
                fail(item, "weights", fmt::format("the weights given have {} values for {}, which takes {}", (*w.given)[p].size(), param_name(p), size));
            }
        }
    }

    // Added whole or not at all: a failure below leaves the builder as it was.
    struct Undo {
        NetworkBuilder& b;
        std::size_t first;
        const std::string& name;
        bool done = false;
        ~Undo() {
            if (done) return;
            b.net_.neurons.resize(first);
            b.net_.names.resize(first);
            b.net_.synapses.resize(first);
            b.groups_.erase(name);
            b.populations_.erase(name);
        }
    } undo{*this, first, name};
    auto& members = groups_[name];
    if (population) populations_.insert(name);
    for (std::size_t k = 0; k < count; ++k) {
        TransformerNeuron neuron;
        neuron.params = params;
        neuron.state.potential = params.reset_potential; // as the seed
        net_.neurons.push_back(std::move(neuron));
        net_.names.push_back(population ? fmt::format("{}[{}]", name, k) : name);
        net_.synapses.emplace_back();
        members.push_back(static_cast<EntityId>(first + k));
    }
    load_weights(item, name, first, count, population, w);
    undo.done = true;
}

void NetworkBuilder::load_weights(const std::string& item, const std::string& group, std::size_t first, std::size_t count,
    bool population, const WeightsSpec& w) {
    const BlockShape shape = net_.neurons[first].params.shape;
    const bool shared = w.shared;
    const std::size_t file_count = files_.size();
    if (w.file) files_.push_back(*w.file);
    struct UndoFiles {
        std::vector<fs::path>& files;
        std::size_t n;
        bool done = false;
        ~UndoFiles() {
            if (!done) files.resize(n);
        }
    } undo_files{files_, file_count};
    auto key_of = [&](std::size_t k, std::string_view name) {
        // A whole network's state_dict has "neurons.<i>." before each name; one neuron's has none.
        const std::string prefix = w.index ? fmt::format("neurons.{}.", *w.index + static_cast<std::int64_t>(shared ? 0 : k)) : "";
        return prefix + std::string(name);
    };
    const bool linear = net_.neurons[first].params.readout == Readout::linear;
    // A linear readout's weights are read from the file unless drawn or given apart.
    const bool readout_from_file = linear && w.file && !w.readout_random && !w.given_readout;
    const std::vector<std::int64_t> readout_weight_shape{1, shape.embed_dim}, readout_bias_shape{1};
    auto missing = [&](const std::string& key) {
        fail(item, "weights.file", fmt::format("{} has no tensor '{}'{}", w.file->string(), key,
            w.index ? "" : " (for a whole network's state_dict, give 'index')"));
    };
    auto missing_readout = [&](const std::string& key) {
        fail(item, "weights.file", fmt::format("{} has no tensor '{}' for the linear readout (to draw the readout instead, give its init 'random')",
            w.file->string(), key));
    };
    auto file_error = [&](const InputError& e) { fail(item, "weights.file", e.what()); };
    if (options_.weights == WeightsMode::none) {
        undo_files.done = true;
        return;
    }
    if (options_.weights == WeightsMode::check) {
        // Every tensor these neurons would take is checked from the file's header alone.
        if (w.file) {
            try {
                const SafetensorsFile st(*w.file);
                for (std::size_t k = 0; k < (shared ? 1 : count); ++k) {
                    for (int i = 0; i < param_count; ++i) {
                        const auto p = static_cast<Param>(i);
                        const std::string key = key_of(k, param_name(p));
                        if (!st.contains(key)) missing(key);
                        st.check_f32(key, param_shape(p, shape));
                    }
                    if (readout_from_file) {
                        for (auto [name, dims]: {std::pair{"readout.weight", &readout_weight_shape}, std::pair{"readout.bias", &readout_bias_shape}}) {
                            const std::string key = key_of(k, name);
                            if (!st.contains(key)) missing_readout(key);
                            st.check_f32(key, *dims);
                        }
                    }
                }
            }
            catch (const BuildError&) {
                throw;
            }
            catch (const InputError& e) {
                file_error(e);
            }
        }
        undo_files.done = true;
        return;
    }
    // Built for one rank of several, only that rank's neurons get weights (owner_of): the
    // others' are drawn or read by their own ranks.
    auto mine = [&](std::size_t k) { return owner_of(static_cast<EntityId>(first + k), options_.ranks) == options_.rank; };
    const std::optional<NormFill> fills[4] = {w.norm1.weight, w.norm1.bias, w.norm2.weight, w.norm2.bias};
    const Param norm_params[4] = {Param::norm1_weight, Param::norm1_bias, Param::norm2_weight, Param::norm2_bias};
    // The entity of member k's weights, which also keys its LayerNorm draws.
    auto entity_of = [&](std::size_t k) {
        return entity_id(shared ? "population:" + group : "neuron:" + net_.names[first + k]);
    };
    auto apply_fills = [&](BlockWeights& b, std::size_t k) {
        for (int i = 0; i < 4; ++i) {
            if (fills[i]) fill_norm(b[norm_params[i]], *fills[i], seed_, entity_of(k), norm_params[i]);
        }
    };
    // Each member's linear readout (LinearReadout): drawn from the entity of its weights,
    // read from the file, or given; one for all in a shared population.
    auto assign_readouts = [&](const SafetensorsFile* file) {
        if (!linear) return;
        std::shared_ptr<const LinearReadout> one;
        for (std::size_t k = 0; k < count; ++k) {
            auto& target = net_.neurons[first + k].linear;
            if (w.given_readout && !w.readout_random) {
                target = w.given_readout;
                continue;
            }
            if (shared && one) {
                target = one;
                continue;
            }
            LinearReadout r;
            if (file && readout_from_file) {
                const std::string wkey = key_of(k, "readout.weight"), bkey = key_of(k, "readout.bias");
                if (!file->contains(wkey)) missing_readout(wkey);
                if (!file->contains(bkey)) missing_readout(bkey);
                try {
                    r.weight = file->get_f32(wkey, readout_weight_shape);
                    r.bias = file->get_f32(bkey, readout_bias_shape).at(0);
                }
                catch (const InputError& e) {
                    file_error(e);
                }
            }
            else {
                r = LinearReadout::random(shape.embed_dim, seed_, entity_of(k));
            }
            target = std::make_shared<const LinearReadout>(std::move(r));
            if (shared) one = target;
        }
    };
    const bool filled = std::any_of(std::begin(fills), std::end(fills), [](const auto& f) { return f.has_value(); });
    const bool drawn_fill = std::any_of(std::begin(fills), std::end(fills), [](const auto& f) { return f && f->kind != NormFill::Kind::constant; });
    if (w.given) {
        std::shared_ptr<const PackedBlock> ptr;
        for (std::size_t k = 0; k < count; ++k) {
            // One packed copy for all when the fills are the same for every member; a copy
            // each when each member draws its own.
            if (!mine(k)) continue;
            if (!ptr || (filled && drawn_fill && !shared)) {
                BlockWeights copy = *w.given;
                apply_fills(copy, k);
                ptr = std::make_shared<const PackedBlock>(copy);
            }
            net_.neurons[first + k].weights = ptr;
        }
        assign_readouts(nullptr);
        undo_files.done = true;
        return;
    }
    std::optional<SafetensorsFile> st;
    if (w.file) {
        try {
            st.emplace(*w.file);
        }
        catch (const InputError& e) {
            file_error(e);
        }
    }
    // Distinct random weights are drawn up front, on several threads: each neuron's come
    // from its own stream, so the order of drawing does not matter.
    std::vector<BlockWeights> drawn;
    if (!st && !shared) {
        drawn.resize(count);
        const std::size_t workers = std::min<std::size_t>(std::max(1u, options_.threads), count);
        std::atomic<std::size_t> next{0};
        auto draw = [&] {
            for (std::size_t k; (k = next++) < count;) {
                if (mine(k)) drawn[k] = BlockWeights::random(shape, seed_, entity_id("neuron:" + net_.names[first + k]));
            }
        };
        std::vector<std::jthread> pool;
        for (std::size_t i = 1; i < workers; ++i) pool.emplace_back(draw);
        draw();
    }
    std::shared_ptr<const PackedBlock> shared_weights;
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t id = first + k;
        if (!mine(k)) continue;
        if (shared && shared_weights) {
            net_.neurons[id].weights = shared_weights;
            continue;
        }
        BlockWeights b;
        if (st) {
            b.shape = shape;
            for (int i = 0; i < param_count; ++i) {
                const auto p = static_cast<Param>(i);
                const std::string key = key_of(k, param_name(p));
                if (!st->contains(key)) missing(key);
                try {
                    b[p] = st->get_f32(key, param_shape(p, shape));
                }
                catch (const InputError& e) {
                    file_error(e);
                }
            }
        }
        else if (shared) {
            b = BlockWeights::random(shape, seed_, entity_id("population:" + group));
        }
        else {
            b = std::move(drawn[k]);
        }
        apply_fills(b, k);
        // Packed, and the unpacked b freed: a neuron keeps one copy of its weights.
        auto ptr = std::make_shared<const PackedBlock>(b);
        b = BlockWeights{};
        if (shared) shared_weights = ptr;
        net_.neurons[id].weights = std::move(ptr);
    }
    assign_readouts(st ? &*st : nullptr);
    (void)population;
    undo_files.done = true;
}

std::vector<EntityId> NetworkBuilder::select(std::string_view name) const {
    if (name == "all") {
        std::vector<EntityId> out(net_.size());
        for (EntityId i = 0; i < out.size(); ++i) out[i] = i;
        return out;
    }
    const auto it = groups_.find(name);
    if (it != groups_.end()) return it->second;
    const auto open = name.find('[');
    if (open != std::string_view::npos && name.back() == ']') {
        const auto g = groups_.find(name.substr(0, open));
        const std::string_view idx = name.substr(open + 1, name.size() - open - 2);
        std::size_t k = 0;
        auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), k);
        if (g != groups_.end() && ec == std::errc() && p == idx.data() + idx.size() && populations_.contains(g->first)) {
            if (k < g->second.size()) return {g->second[k]};
            fail("selector", "", fmt::format("'{}' is out of range: population '{}' has {} neurons", name, g->first, g->second.size()));
        }
    }
    fail("selector", "", fmt::format("unknown neuron or population '{}'", name));
}

std::vector<EntityId> NetworkBuilder::select(std::span<const std::string> names) const {
    if (names.empty()) fail("selector", "", "the list of neurons is empty");
    std::vector<EntityId> out;
    for (const auto& n: names) {
        const auto ids = select(n);
        out.insert(out.end(), ids.begin(), ids.end());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<EntityId> NetworkBuilder::select(std::initializer_list<std::string_view> names) const {
    const std::vector<std::string> v(names.begin(), names.end());
    return select(std::span<const std::string>(v));
}

namespace {

void check_connection(const std::string& item, const Connection& c) {
    if (c.delay < Time::from_ticks(1)) fail(item, "delay", "a delay must be at least one tick (1ns)");
    if (!std::isfinite(c.weight)) fail(item, "weight", "expected a finite number");
    if (!std::isfinite(c.efficacy)) fail(item, "efficacy", "expected a finite number");
}

} // namespace

void NetworkBuilder::connect_pairs(std::span<const std::pair<EntityId, EntityId>> pairs, const Connection& c) {
    const std::string item = fmt::format("connection {}", connections_);
    check_connection(item, c);
    for (auto [a, b]: pairs) {
        if (a >= net_.size() || b >= net_.size()) fail(item, "pairs", fmt::format("neuron id {} does not exist", std::max(a, b)));
        const auto da = net_.neurons[a].params.shape.embed_dim, db = net_.neurons[b].params.shape.embed_dim;
        if (da != db) {
            fail(item, "", fmt::format("{} (embed_dim {}) cannot feed {} (embed_dim {}): connected neurons must have the same embed_dim",
                net_.names[a], da, net_.names[b], db));
        }
    }
    for (auto [a, b]: pairs) net_.synapses[a].push_back({b, c.delay, c.weight, c.efficacy});
    ++connections_;
}

void NetworkBuilder::connect(std::span<const EntityId> from, std::span<const EntityId> to, Pattern pattern, const Connection& c,
    double probability) {
    const std::string item = fmt::format("connection {}", connections_);
    check_connection(item, c);
    std::vector<std::pair<EntityId, EntityId>> pairs;
    switch (pattern) {
    case Pattern::all_to_all:
        for (EntityId a: from)
            for (EntityId b: to)
                if (a != b) pairs.emplace_back(a, b); // no self-connections
        break;
    case Pattern::random: {
        // Each pair (no self-connections) with the given probability, drawn from the
        // stream of this connection entry: the same pairs whatever else changes.
        if (!(probability >= 0 && probability <= 1)) fail(item, "probability", fmt::format("{} is not a probability (0 to 1)", probability));
        RandomStream rs(seed_, entity_id(fmt::format("connections[{}]", connections_)), 0);
        std::uint64_t draw = 0;
        for (EntityId a: from)
            for (EntityId b: to)
                if (a != b && static_cast<double>(rs.word(draw++) >> 8) * 0x1p-24 < probability) pairs.emplace_back(a, b);
        break;
    }
    case Pattern::fixed_outdegree: {
        // Straight into the synapse lists, each reserved to its size: a list of pairs as
        // large as the network's synapses would double the memory building them takes.
        const double k = probability;
        if (!(k >= 1 && k == std::floor(k) && k <= 1e9)) fail(item, "outdegree", fmt::format("{} is not a whole number of at least 1", k));
        const auto degree = static_cast<std::size_t>(k);
        std::vector<EntityId> targets(to.begin(), to.end());
        std::sort(targets.begin(), targets.end());
        targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
        // Everything is checked before a synapse is made, so that a refused call adds none:
        // the ids, one embed_dim for all (the pairs are not known before they are drawn),
        // and enough targets for every source.
        for (EntityId x: from) {
            if (x >= net_.size()) fail(item, "from", fmt::format("neuron id {} does not exist", x));
        }
        if (!targets.empty() && targets.back() >= net_.size()) fail(item, "to", fmt::format("neuron id {} does not exist", targets.back()));
        if (from.empty() || targets.empty()) break;
        const auto dim = net_.neurons[from[0]].params.shape.embed_dim;
        for (auto list: {std::span<const EntityId>(from), std::span<const EntityId>(targets)}) {
            for (EntityId x: list) {
                if (net_.neurons[x].params.shape.embed_dim != dim) {
                    fail(item, "", fmt::format("{} (embed_dim {}) and {} (embed_dim {}): the neurons of a fixed_outdegree connection must have one embed_dim",
                        net_.names[from[0]], dim, net_.names[x], net_.neurons[x].params.shape.embed_dim));
                }
            }
        }
        for (EntityId a: from) {
            const std::size_t others = targets.size() - (std::binary_search(targets.begin(), targets.end(), a) ? 1 : 0);
            if (degree > others) fail(item, "outdegree", fmt::format("{} has only {} targets other than itself, not {}", net_.names[a], others, degree));
        }
        std::unordered_set<std::uint32_t> picked;
        std::vector<EntityId> chosen;
        for (std::size_t i = 0; i < from.size(); ++i) {
            const EntityId a = from[i];
            // The targets but the source itself, as indices 0..n-1 into `targets` with the
            // source's own place skipped.
            const auto self = std::lower_bound(targets.begin(), targets.end(), a);
            const bool has_self = self != targets.end() && *self == a;
            const auto self_at = static_cast<std::uint32_t>(self - targets.begin());
            const auto n = static_cast<std::uint32_t>(targets.size() - (has_self ? 1 : 0));
            const RandomStream rs(seed_, entity_id(fmt::format("connections[{}]", connections_)), static_cast<std::uint32_t>(i));
            std::uint64_t draw = 0;
            // Uniform over 0..m-1 without bias (Lemire's multiply and reject).
            auto uniform = [&](std::uint32_t m) {
                for (;;) {
                    const std::uint64_t x = static_cast<std::uint64_t>(rs.word(draw++)) * m;
                    if (static_cast<std::uint32_t>(x) >= (0x1'0000'0000ull - m) % m) return static_cast<std::uint32_t>(x >> 32);
                }
            };
            // Floyd's sampling: `degree` distinct indices, every subset equally likely, in
            // `degree` draws whatever the degree.
            picked.clear();
            picked.reserve(degree * 2);
            for (std::uint32_t j = n - static_cast<std::uint32_t>(degree); j < n; ++j) {
                const std::uint32_t r = uniform(j + 1);
                picked.insert(picked.contains(r) ? j : r);
            }
            chosen.clear();
            for (std::uint32_t x: picked) chosen.push_back(targets[has_self && x >= self_at ? x + 1 : x]);
            std::sort(chosen.begin(), chosen.end());
            auto& out = net_.synapses[a];
            out.reserve(out.size() + chosen.size());
            for (EntityId b: chosen) out.push_back({b, c.delay, c.weight, c.efficacy});
        }
        ++connections_;
        return;
    }
    case Pattern::one_to_one:
        if (from.size() != to.size()) {
            fail(item, "pattern", fmt::format("one_to_one needs as many sources as targets ({} and {})", from.size(), to.size()));
        }
        for (std::size_t k = 0; k < from.size(); ++k) pairs.emplace_back(from[k], to[k]);
        break;
    }
    connect_pairs(pairs, c);
}

void NetworkBuilder::connect(std::string_view from, std::string_view to, Pattern pattern, const Connection& c, double probability) {
    connect(select(from), select(to), pattern, c, probability);
}

void NetworkBuilder::add_stimulus(const std::string& given_name, std::span<const EntityId> targets, const Schedule& when,
    StimulusTensor tensor, const StimulusOptions& options) {
    Stimulus st;
    st.name = given_name.empty() ? fmt::format("stimulus{}", net_.stimuli.size()) : given_name;
    const std::string item = fmt::format("stimulus '{}'", st.name);
    if (!stimulus_names_.insert(st.name).second) fail(item, "name", fmt::format("the stimulus name '{}' is used twice", st.name));
    struct UndoName {
        std::set<std::string, std::less<>>& names;
        const std::string& name;
        bool done = false;
        ~UndoName() {
            if (!done) names.erase(name);
        }
    } undo{stimulus_names_, st.name};
    if (targets.empty()) fail(item, "to", "the list of neurons is empty");
    for (EntityId t: targets) {
        if (t >= net_.size()) fail(item, "to", fmt::format("neuron id {} does not exist", t));
    }
    st.targets.assign(targets.begin(), targets.end());
    std::sort(st.targets.begin(), st.targets.end());
    st.targets.erase(std::unique(st.targets.begin(), st.targets.end()), st.targets.end());
    if (!when.at.empty()) {
        if (when.period != Time::zero() || when.rate != 0) fail(item, "", "give either times ('at'), a period ('every') or a rate ('rate'), not two");
        st.at = when.at;
        std::sort(st.at.begin(), st.at.end());
        if (st.at.front() < Time::zero()) fail(item, "at", "times must be at least 0");
    }
    else if (when.rate != 0) {
        if (when.period != Time::zero()) fail(item, "", "give either a period ('every') or a rate ('rate'), not both");
        // More than one occurrence per tick on average cannot be told apart in time.
        const double most = static_cast<double>(Time::ticks_per_second);
        if (!(when.rate > 0 && when.rate <= most)) fail(item, "rate", fmt::format("{}/s is not a rate above 0 and at most one per tick ({}/s)", when.rate, most));
        if (when.from < Time::zero()) fail(item, "from", "times must be at least 0");
        if (when.until < Time::zero()) fail(item, "until", "times must be at least 0");
        st.rate = when.rate;
        st.from = when.from;
        st.until = when.until;
    }
    else {
        if (when.period <= Time::zero()) fail(item, "every", "the period must be greater than 0");
        if (when.from < Time::zero()) fail(item, "from", "times must be at least 0");
        if (when.until < Time::zero()) fail(item, "until", "times must be at least 0");
        st.every = when.period;
        st.from = when.from;
        st.until = when.until;
    }
    // Every target must take the same input width.
    const auto dim = net_.neurons[st.targets.front()].params.shape.embed_dim;
    for (EntityId t: st.targets) {
        if (net_.neurons[t].params.shape.embed_dim != dim) {
            fail(item, "to", fmt::format("the targets have different embed_dim ({} has {}, {} has {})", net_.names[st.targets.front()], dim,
                net_.names[t], net_.neurons[t].params.shape.embed_dim));
        }
    }
    if (tensor.kind == StimulusTensor::Kind::random && given_name.empty()) {
        // Its draws are keyed by its name; a default name would follow its position.
        fail(item, "", "a random stimulus needs a 'name': its random stream is keyed by it");
    }
    if (tensor.kind == StimulusTensor::Kind::fixed) {
        if (tensor.tensor.cols != dim || tensor.tensor.rows < 1 ||
            tensor.tensor.data.size() != static_cast<std::size_t>(tensor.tensor.rows) * static_cast<std::size_t>(dim)) {
            fail(item, "tensor", fmt::format("the tensor has shape [{}, {}]: expected [seq_len, {}] for targets of embed_dim {}", tensor.tensor.rows,
                tensor.tensor.cols, dim, dim));
        }
        tensor.rows = tensor.tensor.rows;
    }
    else {
        if (tensor.rows < 1 || tensor.rows > (1 << 20)) fail(item, "tensor.seq_len", fmt::format("{} is out of range (expected 1 to {})", tensor.rows, 1 << 20));
        if (!std::isfinite(tensor.value)) fail(item, "tensor", "expected a finite number");
    }
    tensor.cols = dim;
    if (!std::isfinite(options.efficacy)) fail(item, "efficacy", "expected a finite number");
    if (options.independent && tensor.kind != StimulusTensor::Kind::random && when.rate == 0) {
        fail(item, "independent", "only a random tensor or a Poisson rate can differ between targets: this stimulus would give each the same");
    }
    st.efficacy = options.efficacy;
    st.independent = options.independent;
    st.tensor = std::move(tensor);
    net_.stimuli.push_back(std::move(st));
    undo.done = true;
}

void NetworkBuilder::add_stimulus(const std::string& name, std::string_view targets, const Schedule& when, StimulusTensor tensor,
    const StimulusOptions& options) {
    add_stimulus(name, select(targets), when, std::move(tensor), options);
}

bool NetworkBuilder::ends() const {
    return std::none_of(net_.stimuli.begin(), net_.stimuli.end(), [](const Stimulus& s) { return s.endless(); });
}

Network NetworkBuilder::build() {
    if (net_.neurons.empty()) fail("network", "neurons", "a network needs at least one neuron");
    Network out = std::move(net_);
    out.partition = {options_.rank, options_.ranks};
    net_ = Network();
    net_.seed = seed_;
    groups_.clear();
    populations_.clear();
    stimulus_names_.clear();
    connections_ = 0;
    files_.clear();
    return out;
}

} // namespace spikenn
