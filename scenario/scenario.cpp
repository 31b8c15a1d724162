#include <spikenn/scenario.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <spikenn/error.hpp>
#include <spikenn/eventlog.hpp>
#include <spikenn/version.hpp>
#include <spikenn/rng.hpp>
#include <spikenn/input_file.hpp>
#include <spikenn/network_builder.hpp>
#include <spikenn/tensor_io.hpp>

namespace spikenn {

namespace fs = std::filesystem;

namespace {

// The bytes of s are UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), or
// the offset of the first byte that is not.
std::optional<std::size_t> invalid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0, min = 0;
        if (b < 0x80) len = 1, cp = b;
        else if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1Fu, min = 0x80;
        else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0Fu, min = 0x800;
        else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07u, min = 0x10000;
        else return i;
        if (s.size() - i < len) return i;
        for (std::size_t k = 1; k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return i;
            cp = cp << 6 | (c & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return std::nullopt;
}

// What yaml-cpp's nodes cannot show, checked on the parser's events before the nodes are
// built. A key given twice in one mapping: the nodes keep both, but lookups find only the
// first, so the second would be ignored without a word. Text that is not UTF-8: yaml-cpp
// passes the bytes through, and names and descriptions reach JSON files (summary.json,
// the exports, safetensors headers) that must be UTF-8. Events see an alias once, where it
// is written, so a document of aliases of aliases costs no more than its size.
// A place in the scenario file, for InputError (line and column from 1; none for a null mark).
InputPlace place_of(const fs::path& file, const YAML::Mark& m, const std::string& path) {
    if (m.is_null()) return {file.string(), 0, 0, path};
    return {file.string(), m.line + 1, m.column + 1, path};
}

class DocumentCheck: public YAML::EventHandler {
public:
    explicit DocumentCheck(const fs::path& file): file_(file) {}

    void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
    void OnDocumentEnd() override {}
    // Where the document starts, and whether it holds more than nothing.
    YAML::Mark start = YAML::Mark::null_mark();
    bool content = false;

    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, "~", false); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, {}, false); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string& value) override { leaf(mark, value, true); }
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { open(false); }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { open(true); }
    void OnMapEnd() override { close(); }

private:
    struct Level {
        bool map = false;
        bool is_key = false;  // a mapping or list used as a key (YAML allows it; nothing here names one)
        bool want_key = true; // in a mapping: the next event is a key
        std::size_t index = 0; // in a list: the next item's index
        std::string key;       // in a mapping: the key of the value being read
        std::string path;
        std::map<std::string, YAML::Mark> keys; // each key of the mapping and where it is
    };

    std::string where(const YAML::Mark& m) const { return fmt::format("{}:{}:{}", file_.string(), m.line + 1, m.column + 1); }
    static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
    bool at_key() const { return !stack_.empty() && stack_.back().map && stack_.back().want_key; }
    // The key path of the value that comes next.
    std::string value_path() const {
        if (stack_.empty()) return {};
        const Level& l = stack_.back();
        return l.map ? join(l.path, l.key) : fmt::format("{}[{}]", l.path, l.index);
    }
    void value_done() {
        if (stack_.empty()) return;
        Level& l = stack_.back();
        if (l.map) l.want_key = true;
        else ++l.index;
    }

    void leaf(const YAML::Mark& mark, const std::string& text, bool scalar) {
        content |= scalar || !stack_.empty();
        const bool key = at_key();
        const std::string path = key ? join(stack_.back().path, text) : value_path();
        if (scalar) {
            if (const auto bad = invalid_utf8(text)) {
                const std::string problem = fmt::format("the text is not valid UTF-8 (byte 0x{:02x} at offset {} of the {}); names and texts must be UTF-8",
                    static_cast<unsigned char>(text[*bad]), *bad, key ? "key" : "value");
                throw InputError(place_of(file_, mark, path), problem, fmt::format("{}: {}: {}", where(mark), path.empty() ? "(top level)" : path, problem));
            }
        }
        if (!key) {
            value_done();
            return;
        }
        Level& l = stack_.back();
        if (scalar || text == "~") {
            const auto [it, fresh] = l.keys.emplace(text, mark);
            if (!fresh) {
                const std::string problem = fmt::format("the key '{}' is given twice in one mapping (first at {}); give each key once", text, where(it->second));
                throw InputError(place_of(file_, mark, path), problem, fmt::format("{}: {}: {}", where(mark), path, problem));
            }
        }
        l.key = text.empty() ? "*" : text;
        l.want_key = false;
    }
    void open(bool map) {
        content = true;
        Level l;
        l.map = map;
        l.is_key = at_key();
        l.path = l.is_key ? join(stack_.back().path, "?") : value_path();
        stack_.push_back(std::move(l));
    }
    void close() {
        const bool was_key = stack_.back().is_key;
        stack_.pop_back();
        if (!was_key) {
            value_done();
            return;
        }
        stack_.back().key = "?";
        stack_.back().want_key = false;
    }

    const fs::path& file_;
    std::vector<Level> stack_;
};

// Where a value is: its node (for line and column) and its key path ("neurons[2].decay").
struct At {
    YAML::Node node;
    std::string path;

    At child(const std::string& key) const { return {node[key], path.empty() ? key : path + "." + key}; }
    At item(std::size_t i) const { return {node[i], fmt::format("{}[{}]", path, i)}; }
    bool has(const std::string& key) const {
        return node.IsDefined() && node.IsMap() && node[key].IsDefined() && !node[key].IsNull();
    }
};

// What a run of the scenario would hold in memory at once, estimated from the scenario
// alone before anything is built, so that a scenario too large for the machine is refused
// in a moment with the numbers, not after minutes ending in std::bad_alloc. Each part is
// the largest allocations it stands for (the sizes of the structures are this build's own):
// the neurons and their state, their weights, the synapses (all_to_all makes |from| x |to|,
// random its expected count) with the list they are built from and a spike in flight on
// each, the stimuli's tensors with an input in flight to each target, a spike output in
// flight from each neuron, and the workspace of the blocks computed at once (attention
// takes seq_len x seq_len per block). Doubles, so that nothing overflows: the figures are
// estimates.
struct MemoryEstimate {
    double neurons = 0, weights = 0, synapses = 0, stimuli = 0, blocks = 0;
    double total() const { return neurons + weights + synapses + stimuli + blocks; }
};

// A scenario refused for its size (an InputError like any other, told apart from the
// errors a first look at the scenario leaves to the full pass).
struct MemoryRefused: InputError {
    using InputError::InputError;
};

std::string bytes_text(double b) {
    if (b >= 1024.0 * 1024 * 1024 * 1024) return fmt::format("{:.1f} TiB", b / (1024.0 * 1024 * 1024 * 1024));
    if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", b / (1024.0 * 1024 * 1024));
    if (b >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
    if (b >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
    return fmt::format("{:.0f} bytes", b);
}

// Half of the machine's memory: the run shares it with everything else the machine does.
std::uint64_t default_memory_limit() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return std::uint64_t(4) << 30; // unknown: 4 GiB
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 2;
}

class Loader {
public:
    Loader(fs::path file, std::string text): file_(std::move(file)), text_(std::move(text)) {}

    Scenario load(const ScenarioOverrides& ov);

private:
    const ScenarioOverrides* given_ = nullptr; // its given_weights and given_tensors
    std::set<std::string> used_weights_, used_tensors_;
    std::string message(const At& at, const std::string& what) const {
        const YAML::Mark m = at.node.Mark();
        const std::string where = m.is_null() ? file_.string() : fmt::format("{}:{}:{}", file_.string(), m.line + 1, m.column + 1);
        return fmt::format("{}: {}: {}", where, at.path.empty() ? "(top level)" : at.path, what);
    }
    InputPlace place(const At& at) const { return place_of(file_, at.node.Mark(), at.path); }
    [[noreturn]] void error(const At& at, const std::string& what) const { throw InputError(place(at), what, message(at, what)); }
    [[noreturn]] void error_in(const At& parent, const std::string& key, const std::string& what) const {
        // A missing key has no position of its own: point at the mapping that lacks it.
        error({parent.node, parent.path.empty() ? key : parent.path + "." + key}, what);
    }

    void expect_map(const At& at) const {
        if (!at.node.IsMap()) error(at, fmt::format("expected a mapping, got {}", describe(at.node)));
    }
    void expect_seq(const At& at) const {
        if (!at.node.IsSequence()) error(at, fmt::format("expected a list, got {}", describe(at.node)));
    }
    static std::string describe(const YAML::Node& n) {
        if (n.IsMap()) return "a mapping";
        if (n.IsSequence()) return "a list";
        if (n.IsNull()) return "nothing";
        return fmt::format("'{}'", n.Scalar());
    }
    void check_keys(const At& at, std::initializer_list<std::string_view> allowed) const {
        expect_map(at);
        for (auto it = at.node.begin(); it != at.node.end(); ++it) {
            const std::string key = it->first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                At bad{it->first, at.path.empty() ? key : at.path + "." + key};
                error(bad, fmt::format("unknown key '{}' (expected one of: {})", key, fmt::join(allowed, ", ")));
            }
        }
    }
    At required(const At& parent, const std::string& key) const {
        if (!parent.has(key)) error_in(parent, key, "missing (required)");
        return parent.child(key);
    }
    std::string scalar(const At& at, const char* what) const {
        // A key that is not there gives a node yaml-cpp throws on when asked its type.
        if (!at.node.IsDefined()) error(at, fmt::format("missing: expected {}", what));
        if (!at.node.IsScalar()) error(at, fmt::format("expected {}, got {}", what, describe(at.node)));
        return at.node.Scalar();
    }
    std::int64_t integer(const At& at, std::int64_t min, std::int64_t max) const {
        const std::string s = scalar(at, "an integer");
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size()) error(at, fmt::format("expected an integer, got '{}'", s));
        if (v < min || v > max) error(at, fmt::format("{} is out of range (expected {} to {})", v, min, max));
        return v;
    }
    double number(const At& at) const {
        const std::string s = scalar(at, "a number");
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size()) error(at, fmt::format("expected a number, got '{}'", s));
        if (!std::isfinite(v)) error(at, fmt::format("expected a finite number, got '{}'", s));
        return v;
    }
    float float32(const At& at) const {
        const double v = number(at);
        if (std::abs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
            error(at, fmt::format("{} is out of the range of float32", at.node.Scalar()));
        }
        return static_cast<float>(v);
    }
    bool boolean(const At& at) const {
        const std::string s = scalar(at, "true or false");
        if (s == "true") return true;
        if (s == "false") return false;
        error(at, fmt::format("expected true or false, got '{}'", s));
    }
    Time time(const At& at, bool allow_negative = false) const {
        const std::string s = scalar(at, "a time such as 1.5s or 250ms");
        Time t;
        try {
            t = parse_time(s);
        }
        catch (const std::invalid_argument& e) {
            error(at, e.what());
        }
        if (!allow_negative && t < Time::zero()) error(at, fmt::format("'{}' is negative: times and durations must be at least 0", s));
        return t;
    }
    double rate(const At& at) const {
        const std::string s = scalar(at, "a rate such as 0.02/s");
        try {
            const double r = parse_rate(s);
            if (r < 0 || !std::isfinite(r)) error(at, fmt::format("'{}' must be a finite rate of at least 0", s));
            return r;
        }
        catch (const std::invalid_argument& e) {
            error(at, e.what());
        }
    }
    // A stimulus's rate: per unit of time (20/s, 0.5/ms) or in hertz (20Hz, 1.5kHz).
    double stimulus_rate(const At& at) const {
        const std::string s = scalar(at, "a rate such as 20/s or 20Hz");
        double r = 0;
        const bool hz = s.ends_with("Hz");
        if (hz) {
            const bool k = s.ends_with("kHz");
            const std::string_view digits(s.data(), s.size() - (k ? 3 : 2));
            auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), r);
            if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty()) {
                error(at, fmt::format("'{}' is not a valid rate: '{}' is not a number", s, digits));
            }
            if (k) r *= 1e3;
        }
        else {
            try {
                r = parse_rate(s);
            }
            catch (const std::invalid_argument& e) {
                error(at, fmt::format("{}; a rate in hertz, such as 20Hz, is read too", e.what()));
            }
        }
        if (!(r > 0) || !std::isfinite(r)) error(at, fmt::format("'{}' must be a finite rate above 0", s));
        return r;
    }
    fs::path relative_file(const At& at) const {
        const fs::path p = scalar(at, "a file name");
        const fs::path resolved = (p.is_absolute() ? p : file_.parent_path() / p).lexically_normal();
        files_.push_back(resolved.string());
        return resolved;
    }
    // Runs f and turns a file error (InputError naming the file) into one that also says
    // where in the scenario the file was named.
    template <typename F>
    auto with_file(const At& at, F&& f) const {
        try {
            return f();
        }
        catch (const InputError& e) {
            error(at, e.what());
        }
    }

    // Runs a call of the builder and turns its BuildError into one at the place in the file
    // where the parameter it names was written (the entry itself when it was not).
    template <typename F>
    auto built(const At& at, F&& f) const {
        try {
            return f();
        }
        catch (const BuildError& e) {
            At where = at;
            std::string_view param = e.param();
            while (!param.empty()) {
                const auto dot = param.find('.');
                const std::string key(param.substr(0, dot));
                if (!where.has(key)) break;
                where = where.child(key);
                param = dot == std::string_view::npos ? std::string_view() : param.substr(dot + 1);
            }
            error(where, e.problem());
        }
    }

    void load_run(const At& at, Scenario& sc);
    void load_log(const At& at, Scenario& sc) const;
    void load_neurons(const At& at, Scenario& sc);
    NeuronParams load_params(const At& at) const;
    WeightsSpec load_weights(const At& at, bool population) const;
    NormFill norm_fill(const At& at) const;
    void load_readout_init(const At& neuron, WeightsSpec& w) const;
    std::vector<EntityId> select(const At& at) const;
    std::vector<EntityId> select_one(const At& at, const std::string& name) const;
    void load_connections(const At& at, Scenario& sc);
    void load_stimuli(const At& at, Scenario& sc);
    void load_record(const At& at, Scenario& sc) const;
    std::uint64_t size_bytes(const At& at) const;
    std::uint64_t memory_size(const At& at) const;
    void charge_run(const At& at);
    void prescan(const At& top);

    fs::path file_;
    unsigned threads_ = 1;
    bool weights_ = true;
    bool check_weights_ = false; // weights_ false: check the files and the memory, build nothing
    int rank_ = 0, ranks_ = 1;   // the rank the weights are built for, of how many
    int weight_ranks_ = 1;       // the ranks this one's weights are a share of (1: all of them)
    bool estimate() const { return weights_ || check_weights_; }
    std::string text_;
    // The network as it is built, with every check on it (neurons/network_builder.hpp).
    std::optional<NetworkBuilder> builder_;
    mutable std::vector<std::string> files_;
    // The memory budget (MemoryEstimate).
    void charge(const At& at, double MemoryEstimate::*part, double bytes, const char* advice);
    std::uint64_t memory_limit_ = 0;
    bool memory_limit_given_ = false; // by the caller (ScenarioOverrides::memory_limit)
    bool memory_limit_key_ = false;   // by run.memory_limit
    MemoryEstimate memory_;
    std::int64_t max_seq_len_ = 0;      // of every stimulus: a block's input is a stimulus's or a spike output of the same length
    std::int64_t max_embed_dim_ = 0, max_hidden_dim_ = 0;
    double embed_dims_ = 0;             // summed over the neurons
};

void Loader::load_run(const At& at, Scenario& sc) {
    check_keys(at, {"seed", "until", "max_events", "memory_limit"});
    if (at.has("memory_limit")) {
        const std::uint64_t limit = memory_size(at.child("memory_limit"));
        if (!memory_limit_given_) memory_limit_ = limit; // an override wins
        memory_limit_key_ = true;
    }
    if (at.has("seed")) sc.seed = static_cast<std::uint64_t>(integer(at.child("seed"), 0, INT64_MAX));
    if (at.has("until")) sc.end = time(at.child("until"));
    if (at.has("max_events")) sc.max_events = static_cast<std::uint64_t>(integer(at.child("max_events"), 1, INT64_MAX));
}

std::uint64_t Loader::memory_size(const At& at) const {
    const std::uint64_t bytes = size_bytes(at);
    if (bytes < (std::uint64_t(1) << 20)) error(at, fmt::format("'{}' is too small for a run (at least 1MiB)", at.node.Scalar()));
    return bytes;
}

void Loader::charge(const At& at, double MemoryEstimate::*part, double bytes, const char* advice) {
    memory_.*part += bytes;
    const double total = memory_.total();
    if (total <= static_cast<double>(memory_limit_)) return;
    std::string parts;
    auto add = [&](const char* name, double b) {
        if (b > 0 && b >= total / 100) parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", name, bytes_text(b));
    };
    add("neurons", memory_.neurons);
    add("weights", memory_.weights);
    add("synapses", memory_.synapses);
    add("stimuli", memory_.stimuli);
    add("block workspace and spikes in flight", memory_.blocks);
    const std::string problem = fmt::format("the run would need about {} of memory ({}), more than its limit of {} ({}); {}", bytes_text(total), parts,
        bytes_text(static_cast<double>(memory_limit_)),
        memory_limit_given_ ? "set by the program reading the scenario"
        : memory_limit_key_ ? "run.memory_limit"
                            : "by default half of this machine's memory; run.memory_limit sets it",
        advice);
    throw MemoryRefused(place(at), problem, message(at, problem));
}

// With every stimulus known: the blocks' workspace and the tensors in flight, which depend
// on the longest input.
void Loader::charge_run(const At& at) {
    if (!estimate() || max_seq_len_ == 0) return; // nothing will run
    const double n = static_cast<double>(max_seq_len_), d = static_cast<double>(max_embed_dim_), h = static_cast<double>(max_hidden_dim_);
    // Per thread (each may compute a batch of its own at once): a batch of up to 1024 rows
    // (neurons/block_batcher.cpp; at least one input), seven rows x embed_dim and one
    // rows x hidden_dim matrices of workspace (block_forward.cpp) and the outputs' rows x
    // embed_dim, and attention's scores (n x n) and a head's keys and values.
    const double rows = std::max(1024.0, n);
    double bytes = (4 * rows * (8 * d + h) + 4 * (n * n + 2 * n * d)) * std::max(1u, threads_);
    bytes += 4 * n * embed_dims_; // a spike output in flight from every neuron
    memory_.blocks = 0; // recomputed with the longest input so far
    charge(at, &MemoryEstimate::blocks, bytes, "use a shorter seq_len, fewer connections or fewer --threads");
}

std::uint64_t Loader::size_bytes(const At& at) const {
    const std::string s = scalar(at, "a size such as 10MB");
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    std::string unit = s.substr(i);
    unit.erase(0, unit.find_first_not_of(' '));
    static const std::map<std::string, double> units = {{"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
    auto u = units.find(unit);
    if (ec != std::errc() || i == 0 || u == units.end()) error(at, fmt::format("expected a size such as 10MB or 512KiB, got '{}'", s));
    const double bytes = v * u->second;
    if (bytes > 1e15) error(at, fmt::format("'{}' is too large", s));
    return static_cast<std::uint64_t>(bytes);
}

void Loader::load_log(const At& at, Scenario& sc) const {
    check_keys(at, {"level", "file", "rotate", "keep"});
    if (at.has("level")) {
        static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
        const std::string l = scalar(at.child("level"), "a log level");
        if (!levels.contains(l)) error(at.child("level"), fmt::format("unknown log level '{}' (expected trace, debug, info, warn, error or off)", l));
        sc.log.level = l;
    }
    if (at.has("file")) {
        const std::string f = scalar(at.child("file"), "a file name");
        if (f.empty() || fs::path(f).is_absolute() || f.find("..") != std::string::npos) {
            error(at.child("file"), "the log file is a plain name inside the output directory");
        }
        sc.log.file = f;
    }
    if (at.has("rotate")) {
        sc.log.rotate_bytes = size_bytes(at.child("rotate"));
        if (sc.log.rotate_bytes < 1024) error(at.child("rotate"), fmt::format("'{}' is too small for a log file (at least 1KiB)", at.child("rotate").node.Scalar()));
    }
    if (at.has("keep")) sc.log.keep = static_cast<std::uint32_t>(integer(at.child("keep"), 0, 1000));
}

NeuronParams Loader::load_params(const At& at) const {
    NeuronParams p;
    // The ranges the builder allows, read as such (the builder checks them again, and that
    // num_heads divides embed_dim).
    auto dim = [&](const char* key, std::int64_t max) { return static_cast<std::int32_t>(integer(required(at, key), 1, max)); };
    p.shape.embed_dim = dim("embed_dim", 1 << 16);
    p.shape.num_heads = dim("num_heads", 1 << 16);
    p.shape.hidden_dim = dim("hidden_dim", 1 << 20);
    if (at.has("threshold")) p.threshold = number(at.child("threshold"));
    if (at.has("reset_potential")) p.reset_potential = number(at.child("reset_potential"));
    if (at.has("refractory_period")) p.refractory_period = time(at.child("refractory_period"));
    if (at.has("decay")) {
        const At d = at.child("decay");
        if (d.node.IsScalar()) {
            p.decay = {DecayKind::linear, rate(d), Time::zero()};
        }
        else {
            check_keys(d, {"linear", "exponential"});
            if (d.has("linear") == d.has("exponential")) error(d, "give exactly one of 'linear: RATE' or 'exponential: TAU'");
            if (d.has("linear")) p.decay = {DecayKind::linear, rate(d.child("linear")), Time::zero()};
            else {
                p.decay = {DecayKind::exponential, 0.0, time(d.child("exponential"))};
            }
        }
    }
    if (at.has("readout")) {
        const At r = at.child("readout");
        if (r.node.IsMap()) {
            // `{ linear: { init: random } }`; the init is the weights' (load_readout_init).
            check_keys(r, {"linear"});
            const At l = required(r, "linear");
            check_keys(l, {"init"});
            p.readout = Readout::linear;
        }
        else {
            const std::string name = scalar(r, "a readout");
            if (name == "mean") p.readout = Readout::mean;
            else if (name == "sum") p.readout = Readout::sum;
            else if (name == "max") p.readout = Readout::max;
            else if (name == "linear") p.readout = Readout::linear;
            else error(r, fmt::format("unknown readout '{}' (expected mean, sum, max, linear or {{ linear: {{ init: random }} }})", name));
        }
    }
    return p;
}

// Where a linear readout's weights come from: `init: random` draws them whatever the block's
// weights come from; `init: file` (or no init, with a weights file) reads them from the file.
void Loader::load_readout_init(const At& neuron, WeightsSpec& w) const {
    if (!neuron.has("readout") || !neuron.child("readout").node.IsMap()) return;
    const At l = neuron.child("readout").child("linear");
    if (!l.has("init")) return;
    const At init = l.child("init");
    const std::string v = scalar(init, "'random' or 'file'");
    if (v == "random") w.readout_random = true;
    else if (v == "file") {
        if (!w.file && !w.given) error(init, "init 'file' reads readout.weight and readout.bias from the weights file: give weights.file, or init 'random'");
    }
    else {
        error(init, fmt::format("unknown init '{}' (expected random or file)", v));
    }
}

WeightsSpec Loader::load_weights(const At& at, bool population) const {
    WeightsSpec w;
    if (!at.node.IsDefined() || at.node.IsNull()) return w;
    check_keys(at, {"init", "file", "index", "shared", "norm1", "norm2"});
    if (at.has("init")) {
        const std::string init = scalar(at.child("init"), "'random' or 'file'");
        if (init != "random" && init != "file") error(at.child("init"), fmt::format("unknown init '{}' (expected random or file)", init));
        if (init == "file" && !at.has("file")) error_in(at, "file", "missing: init 'file' needs a file");
        if (init == "random" && at.has("file")) error(at.child("init"), "init 'random' cannot go with a file");
    }
    if (at.has("file")) w.file = relative_file(at.child("file"));
    if (at.has("index")) w.index = integer(at.child("index"), 0, 1 << 30);
    if (at.has("shared")) w.shared = boolean(at.child("shared"));
    (void)population;
    WeightsSpec::Fill* fills[2] = {&w.norm1, &w.norm2};
    const char* norms[2] = {"norm1", "norm2"};
    for (int k = 0; k < 2; ++k) {
        if (!at.has(norms[k])) continue;
        const At n = at.child(norms[k]);
        check_keys(n, {"weight", "bias"});
        if (n.has("weight")) fills[k]->weight = norm_fill(n.child("weight"));
        if (n.has("bias")) fills[k]->bias = norm_fill(n.child("bias"));
    }
    return w;
}

// A LayerNorm fill: a number, `{ normal: { mean: M, std: S } }` or `{ uniform: { low: L,
// high: H } }`. The numbers are checked by the builder (finite, std >= 0, low < high).
NormFill Loader::norm_fill(const At& at) const {
    if (!at.node.IsMap()) return float32(at);
    check_keys(at, {"normal", "uniform"});
    if (at.has("normal") == at.has("uniform")) error(at, "give a number, or exactly one of 'normal: { mean, std }' or 'uniform: { low, high }'");
    if (at.has("normal")) {
        const At d = at.child("normal");
        check_keys(d, {"mean", "std"});
        return NormFill::normal(number(required(d, "mean")), number(required(d, "std")));
    }
    const At d = at.child("uniform");
    check_keys(d, {"low", "high"});
    return NormFill::uniform(number(required(d, "low")), number(required(d, "high")));
}

void Loader::load_neurons(const At& at, Scenario& sc) {
    (void)sc;
    expect_seq(at);
    if (at.node.size() == 0) error(at, "a scenario needs at least one neuron");
    for (std::size_t i = 0; i < at.node.size(); ++i) {
        const At n = at.item(i);
        check_keys(n, {"name", "population", "size", "embed_dim", "num_heads", "hidden_dim", "threshold",
                          "reset_potential", "refractory_period", "decay", "readout", "weights"});
        const bool population = n.has("population");
        if (population == n.has("name")) error(n, "give either 'name' (one neuron) or 'population' with 'size'");
        const std::string name = scalar(n.child(population ? "population" : "name"), "a name");
        std::size_t count = 1;
        if (population) count = static_cast<std::size_t>(integer(required(n, "size"), 1, 1 << 24));
        else if (n.has("size")) error(n.child("size"), "'size' is for populations");
        const NeuronParams params = load_params(n);
        WeightsSpec weights = load_weights(n.child("weights"), population);
        if (const auto g = given_->given_weights.find(name); g != given_->given_weights.end()) {
            if (weights.file) error(n.child("weights").child("file"), "weights are given in memory for this entry: it cannot name a file too");
            weights.given = g->second.block;
            weights.given_readout = g->second.readout;
            used_weights_.insert(name);
        }
        load_readout_init(n, weights);
        built(n, [&] {
            if (population) builder_->add_population(name, count, params, weights);
            else builder_->add_neuron(name, params, weights);
            return 0;
        });
    }
}

// The memory the neurons and connections will take, from the sizes the scenario gives,
// before any of them is built: building 16 million neurons alone takes seconds and
// gigabytes, and their all_to_all connections would never fit. An entry this pass cannot
// make sense of is skipped: the full pass that follows reports it, in its order.
void Loader::prescan(const At& top) {
    if (!top.has("neurons") || !top.child("neurons").node.IsSequence()) return;
    const At ns = top.child("neurons");
    std::map<std::string, double> sizes; // selector name -> neurons
    double total = 0;
    for (std::size_t i = 0; i < ns.node.size(); ++i) {
        const At n = ns.item(i);
        try {
            const bool population = n.has("population");
            const std::string name = scalar(required(n, population ? "population" : "name"), "a name");
            const double count = population ? static_cast<double>(integer(required(n, "size"), 1, 1 << 24)) : 1;
            const double d = static_cast<double>(integer(required(n, "embed_dim"), 1, 1 << 16));
            const double h = static_cast<double>(integer(required(n, "hidden_dim"), 1, 1 << 20));
            sizes[name] = count;
            total += count;
            // Each neuron: itself, its name (a population member's on the heap), its list
            // of synapses, its id in its group, its spike output slot, its own pending
            // events (decay, refractory end) and the run's counters and outputs for it.
            const double name_heap = population && name.size() + 10 > 15 ? static_cast<double>(name.size()) + 11 : 0;
            const double each = sizeof(TransformerNeuron) + sizeof(std::string) + name_heap + sizeof(std::vector<Synapse>) + sizeof(EntityId) +
                                sizeof(std::shared_ptr<const Tensor>) + 2 * sizeof(Event) + 64;
            charge(n, &MemoryEstimate::neurons, each * count, "use fewer neurons");
            if (estimate()) {
                const At w = n.child("weights");
                const bool shared = w.has("shared") && w.child("shared").node.IsScalar() && w.child("shared").node.Scalar() == "true";
                const At r = n.child("readout");
                const bool linear = r.node.IsDefined() && (r.node.IsMap() || (r.node.IsScalar() && r.node.Scalar() == "linear"));
                const double floats = 4 * d * d + 2 * d * h + h + 9 * d + (linear ? d + 1 : 0); // a linear readout: w and b
                // On one rank of several, its own neurons' weights (owner_of deals them out in
                // turn: at most one more than an even share).
                // Weights given in memory are held once for every member, unless LayerNorm fills
                // make each member's its own copy (a fill drawn per element differs between them).
                const bool given_once = given_->given_weights.contains(name) && !w.has("norm1") && !w.has("norm2");
                const double here = shared || given_once ? 1 : (weight_ranks_ > 1 ? std::ceil(count / weight_ranks_) : count);
                charge(n, &MemoryEstimate::weights, 4 * floats * here,
                    "share the weights ('weights: { shared: true }'), use fewer or smaller neurons, or run on more ranks (mpirun)");
            }
            max_embed_dim_ = std::max(max_embed_dim_, static_cast<std::int64_t>(d));
            max_hidden_dim_ = std::max(max_hidden_dim_, static_cast<std::int64_t>(h));
            embed_dims_ += d * count;
        }
        catch (const MemoryRefused&) {
            throw;
        }
        catch (const InputError&) {
        }
    }
    if (!top.has("connections") || !top.child("connections").node.IsSequence()) return;
    const At cs = top.child("connections");
    // How many neurons a selector names (names given twice counted once), or nothing.
    auto count_of = [&](const At& sel) -> std::optional<double> {
        std::set<std::string> names;
        if (sel.node.IsScalar()) names.insert(sel.node.Scalar());
        else if (sel.node.IsSequence()) {
            for (const auto& item: sel.node) {
                if (!item.IsScalar()) return std::nullopt;
                names.insert(item.Scalar());
            }
        }
        else return std::nullopt;
        double n = 0;
        for (const auto& name: names) {
            if (name == "all") return total;
            const auto it = sizes.find(name);
            if (it != sizes.end()) n += it->second;
            else if (name.find('[') != std::string::npos) n += 1; // a member
            else return std::nullopt;
        }
        return n;
    };
    for (std::size_t i = 0; i < cs.node.size(); ++i) {
        const At c = cs.item(i);
        if (!c.node.IsMap()) continue;
        try {
            double made = 0;
            const char* advice = "use fewer neurons, or pattern: random with a small probability, or one_to_one";
            if (c.has("pairs")) {
                if (!c.child("pairs").node.IsSequence()) continue;
                made = static_cast<double>(c.child("pairs").node.size());
                advice = "use fewer pairs";
            }
            else {
                if (!c.has("from") || !c.has("to")) continue;
                const auto from = count_of(c.child("from")), to = count_of(c.child("to"));
                if (!from || !to) continue;
                const std::string pattern = c.has("pattern") ? scalar(c.child("pattern"), "a pattern") : "all_to_all";
                // all_to_all is |from| x |to| synapses, random as many times its probability.
                if (pattern == "all_to_all") made = *from * *to;
                else if (pattern == "random" && c.has("probability")) made = *from * *to * std::clamp(number(c.child("probability")), 0.0, 1.0);
                else if (pattern == "one_to_one") made = *from;
                else if (pattern == "fixed_outdegree" && c.has("outdegree")) {
                    // Stored exactly (each list reserved), with no list of pairs.
                    made = *from * number(c.child("outdegree"));
                    charge(c, &MemoryEstimate::synapses, made * static_cast<double>(sizeof(Synapse) + sizeof(Event)), "use fewer neurons or a smaller outdegree");
                    continue;
                }
                else continue;
            }
            // Each synapse is stored (a vector grown by doubling), listed while it is made,
            // and may carry a spike in flight.
            charge(c, &MemoryEstimate::synapses, made * (2 * sizeof(Synapse) + sizeof(std::pair<EntityId, EntityId>) + sizeof(Event)), advice);
        }
        catch (const MemoryRefused&) {
            throw;
        }
        catch (const InputError&) {
        }
    }
}

std::vector<EntityId> Loader::select_one(const At& at, const std::string& name) const {
    return built(at, [&] { return builder_->select(name); });
}

// A selector: "all", a name, "pop[3]", or a list of those. The result is sorted and distinct.
std::vector<EntityId> Loader::select(const At& at) const {
    std::vector<EntityId> out;
    if (at.node.IsSequence()) {
        if (at.node.size() == 0) error(at, "the list of neurons is empty");
        for (std::size_t i = 0; i < at.node.size(); ++i) {
            const At item = at.item(i);
            auto ids = select_one(item, scalar(item, "a neuron or population name"));
            out.insert(out.end(), ids.begin(), ids.end());
        }
    }
    else {
        out = select_one(at, scalar(at, "a neuron or population name, a list of them, or 'all'"));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void Loader::load_connections(const At& at, Scenario& sc) {
    (void)sc;
    expect_seq(at);
    for (std::size_t i = 0; i < at.node.size(); ++i) {
        const At c = at.item(i);
        check_keys(c, {"from", "to", "pattern", "probability", "outdegree", "pairs", "delay", "weight", "efficacy"});
        Connection conn;
        conn.delay = time(required(c, "delay"));
        if (c.has("weight")) conn.weight = float32(c.child("weight"));
        if (c.has("efficacy")) conn.efficacy = float32(c.child("efficacy"));
        if (c.has("pairs")) {
            if (c.has("from") || c.has("to") || c.has("pattern")) error(c.child("pairs"), "'pairs' replaces 'from', 'to' and 'pattern'");
            const At ps = c.child("pairs");
            expect_seq(ps);
            std::vector<std::pair<EntityId, EntityId>> pairs;
            for (std::size_t k = 0; k < ps.node.size(); ++k) {
                const At pr = ps.item(k);
                if (!pr.node.IsSequence() || pr.node.size() != 2) error(pr, "expected a pair [from, to]");
                auto a = select_one(pr.item(0), scalar(pr.item(0), "a neuron name"));
                auto b = select_one(pr.item(1), scalar(pr.item(1), "a neuron name"));
                if (a.size() != 1 || b.size() != 1) error(pr, "a pair names two single neurons");
                pairs.emplace_back(a[0], b[0]);
            }
            built(c, [&] {
                builder_->connect_pairs(pairs, conn);
                return 0;
            });
            continue;
        }
        const auto from = select(required(c, "from"));
        const auto to = select(required(c, "to"));
        Pattern pattern = Pattern::all_to_all;
        if (c.has("pattern")) {
            const std::string name = scalar(c.child("pattern"), "a pattern");
            if (name == "all_to_all") pattern = Pattern::all_to_all;
            else if (name == "one_to_one") pattern = Pattern::one_to_one;
            else if (name == "random") pattern = Pattern::random;
            else if (name == "fixed_outdegree") pattern = Pattern::fixed_outdegree;
            else error(c.child("pattern"), fmt::format("unknown pattern '{}' (expected all_to_all, one_to_one, random or fixed_outdegree)", name));
        }
        if (c.has("probability") && pattern != Pattern::random) error(c.child("probability"), "'probability' goes with pattern: random");
        if (c.has("outdegree") && pattern != Pattern::fixed_outdegree) error(c.child("outdegree"), "'outdegree' goes with pattern: fixed_outdegree");
        const double prob = pattern == Pattern::random ? number(required(c, "probability"))
            : pattern == Pattern::fixed_outdegree  ? static_cast<double>(integer(required(c, "outdegree"), 1, 1'000'000'000))
                                                   : 1.0;
        built(c, [&] {
            builder_->connect(from, to, pattern, conn, prob);
            return 0;
        });
    }
}

void Loader::load_stimuli(const At& at, Scenario& sc) {
    expect_seq(at);
    for (std::size_t i = 0; i < at.node.size(); ++i) {
        const At s = at.item(i);
        check_keys(s, {"name", "to", "at", "every", "rate", "from", "until", "tensor", "efficacy", "independent"});
        const std::string name = s.has("name") ? scalar(s.child("name"), "a name") : "";
        const auto targets = select(required(s, "to"));
        Schedule when;
        if (int(s.has("at")) + int(s.has("every")) + int(s.has("rate")) != 1) {
            error(s, "give one of 'at: [times]', a schedule 'every: T' or a Poisson 'rate: R' (the last two with 'from' and 'until')");
        }
        StimulusOptions options;
        if (s.has("efficacy")) options.efficacy = float32(s.child("efficacy"));
        if (s.has("independent")) options.independent = boolean(s.child("independent"));
        if (s.has("rate")) {
            when.rate = stimulus_rate(s.child("rate"));
            if (s.has("from")) when.from = time(s.child("from"));
            when.until = s.has("until") ? time(s.child("until")) : Time::max();
            if (when.until == Time::max() && sc.end == Time::max()) {
                error(s.child("rate"), "this schedule never ends: give 'until' here or 'run.until'");
            }
        }
        else if (s.has("at")) {
            if (s.has("from") || s.has("until")) error(s, "'from' and 'until' go with 'every', not with 'at'");
            const At a = s.child("at");
            if (a.node.IsSequence()) {
                if (a.node.size() == 0) error(a, "the list of times is empty");
                for (std::size_t k = 0; k < a.node.size(); ++k) when.at.push_back(time(a.item(k)));
            }
            else {
                when.at.push_back(time(a));
            }
        }
        else {
            when.period = time(s.child("every"));
            if (s.has("from")) when.from = time(s.child("from"));
            when.until = s.has("until") ? time(s.child("until")) : Time::max();
            if (when.until == Time::max() && sc.end == Time::max()) {
                error(s.child("every"), "this schedule never ends: give 'until' here or 'run.until'");
            }
        }
        // The targets' width; the builder checks that they agree.
        const auto dim = builder_->params(targets.front()).shape.embed_dim;
        const auto given = given_->given_tensors.find(name);
        const bool in_memory = !name.empty() && given != given_->given_tensors.end();
        if (in_memory && s.has("tensor")) error(s.child("tensor"), "a tensor is given in memory for this stimulus: it cannot have a 'tensor' key too");
        const At ten = in_memory ? s : required(s, "tensor");
        if (!in_memory) {
            check_keys(ten, {"random", "constant", "npy"});
            if (ten.node.size() != 1) error(ten, "give exactly one of random, constant or npy");
        }
        StimulusTensor src;
        // Each occurrence makes a tensor of the stimulus (one per target when independent),
        // and an input in flight to each target.
        const double in_flight = static_cast<double>(targets.size()) * (sizeof(EntityId) + sizeof(Event));
        const double tensors = options.independent ? static_cast<double>(targets.size()) : 1.0;
        At tensor_at = ten;
        if (in_memory) {
            const Tensor& t = given->second;
            if (t.rows < 1 || t.cols != dim || t.data.size() != static_cast<std::size_t>(t.rows) * static_cast<std::size_t>(t.cols)) {
                error(s, fmt::format("the tensor given in memory is [{}, {}]: expected [seq_len, {}] for targets of embed_dim {}", t.rows, t.cols, dim, dim));
            }
            if (estimate()) charge(s, &MemoryEstimate::stimuli, 8.0 * static_cast<double>(t.data.size()) + in_flight, "use a smaller tensor");
            src = StimulusTensor::fixed(t);
            max_seq_len_ = std::max<std::int64_t>(max_seq_len_, t.rows);
            charge_run(s);
            used_tensors_.insert(name);
        }
        else if (ten.has("npy")) {
            const At f = ten.child("npy");
            tensor_at = f;
            const fs::path path = relative_file(f);
            {
                // The file's size bounds its array: charged before it is read (held, and
                // copied for each occurrence).
                std::error_code ec;
                const auto bytes = fs::file_size(path, ec);
                if (!ec && estimate()) charge(f, &MemoryEstimate::stimuli, 2 * static_cast<double>(bytes) + in_flight, "use a smaller .npy file");
            }
            NpyArray a = with_file(f, [&] { return read_npy(path); });
            const auto& sh = a.shape;
            const bool ok = (sh.size() == 2 || (sh.size() == 3 && sh[0] == 1)) && sh.back() == dim && sh[sh.size() - 2] > 0;
            if (!ok) {
                error(f, fmt::format("{} has shape {}: expected [seq_len, {}] or [1, seq_len, {}] (float32) for targets of embed_dim {}",
                    path.string(), shape_string(sh), dim, dim, dim));
            }
            const auto rows = static_cast<std::int32_t>(sh[sh.size() - 2]);
            src = StimulusTensor::fixed(Tensor(rows, dim, std::move(a.data)));
            max_seq_len_ = std::max<std::int64_t>(max_seq_len_, rows);
            charge_run(f);
        }
        else {
            const bool random = ten.has("random");
            const At r = ten.child(random ? "random" : "constant");
            if (random) check_keys(r, {"seq_len", "std"});
            else check_keys(r, {"seq_len", "value"});
            const At seq_at = required(r, "seq_len");
            tensor_at = seq_at;
            const auto rows = static_cast<std::int32_t>(integer(seq_at, 1, 1 << 20));
            if (estimate()) charge(seq_at, &MemoryEstimate::stimuli, 4.0 * rows * dim * tensors + in_flight, "use a shorter seq_len");
            max_seq_len_ = std::max<std::int64_t>(max_seq_len_, rows);
            charge_run(seq_at);
            src = random ? StimulusTensor::random_normal(rows, r.has("std") ? float32(r.child("std")) : 1.0f)
                         : StimulusTensor::constant(rows, float32(required(r, "value")));
        }
        try {
            builder_->add_stimulus(name, targets, when, std::move(src), options);
        }
        catch (const BuildError& e) {
            // The tensor's parameters are under "tensor.<kind>"; the rest are the entry's keys.
            if (e.param().starts_with("tensor")) error(tensor_at, e.problem());
            built(s, [&]() -> int { throw; });
        }
    }
}

void Loader::load_record(const At& at, Scenario& sc) const {
    check_keys(at, {"potentials", "outputs", "weights", "stimuli"});
    if (at.has("potentials")) {
        const At p = at.child("potentials");
        if (p.node.IsScalar() && p.node.Scalar() == "none") sc.record.potentials.clear();
        else sc.record.potentials = select(p);
    }
    if (at.has("outputs")) sc.record.outputs = boolean(at.child("outputs"));
    if (at.has("stimuli")) sc.record.stimuli = boolean(at.child("stimuli"));
    if (at.has("weights")) sc.record.weights = boolean(at.child("weights"));
}

Scenario Loader::load(const ScenarioOverrides& ov) {
    given_ = &ov;
    threads_ = ov.threads;
    weights_ = ov.weights;
    rank_ = ov.rank;
    ranks_ = ov.ranks < 1 ? 1 : ov.ranks;
    check_weights_ = !ov.weights && ov.check_weights;
    memory_limit_ = ov.memory_limit ? *ov.memory_limit : default_memory_limit();
    memory_limit_given_ = ov.memory_limit.has_value();
    Scenario sc;
    sc.path = file_;
    sc.text = text_;
    YAML::Node root;
    try {
        // The first document, as YAML::Load reads it.
        std::istringstream in(text_);
        YAML::Parser parser(in);
        DocumentCheck check(file_);
        parser.HandleNextDocument(check);
        // YAML::Load reads the first document only: anything after a '---' would be ignored.
        DocumentCheck rest(file_);
        if (parser.HandleNextDocument(rest) && rest.content) {
            throw InputError(InputPlace{file_.string(), rest.start.line + 1, rest.start.column + 1, ""},
                "a second YAML document ('---'): a scenario is one document, and this one would be ignored");
        }
        root = YAML::Load(text_);
    }
    catch (const YAML::ParserException& e) {
        throw InputError(InputPlace{file_.string(), e.mark.line + 1, e.mark.column + 1, ""}, "YAML syntax error: " + e.msg);
    }
    const At top{root, ""};
    if (!root.IsMap()) throw InputError(InputPlace{file_.string(), 0, 0, ""}, "expected a mapping with 'neurons' at the top level");
    check_keys(top, {"description", "run", "log", "record", "neurons", "connections", "stimuli", "expect"});
    if (top.has("description")) sc.description = scalar(top.child("description"), "a text");
    if (top.has("run")) load_run(top.child("run"), sc);
    if (ov.seed) sc.seed = *ov.seed;
    if (ov.end) sc.end = *ov.end;
    if (ov.max_events) sc.max_events = *ov.max_events;
    BuilderOptions bo;
    bo.threads = threads_;
    bo.weights = weights_ ? WeightsMode::build : check_weights_ ? WeightsMode::check : WeightsMode::none;
    bo.rank = rank_;
    bo.ranks = ranks_;
    if (rank_ == 0 && top.has("record") && top.child("record").has("weights") && top.child("record").child("weights").node.IsScalar() &&
        top.child("record").child("weights").node.as<bool>(false)) {
        bo.ranks = 1; // it writes weights.safetensors
    }
    weight_ranks_ = bo.ranks;
    builder_.emplace(sc.seed, bo);
    if (top.has("log")) load_log(top.child("log"), sc);
    prescan(top);
    load_neurons(required(top, "neurons"), sc);
    if (top.has("connections")) load_connections(top.child("connections"), sc);
    if (top.has("stimuli")) load_stimuli(top.child("stimuli"), sc);
    if (top.has("record")) load_record(top.child("record"), sc);
    if (top.has("expect")) {
        const At e = top.child("expect");
        check_keys(e, {"fingerprint"});
        if (e.has("fingerprint")) {
            const At f = e.child("fingerprint");
            const std::string text = scalar(f, "a fingerprint such as 0x0123456789abcdef");
            std::uint64_t v = 0;
            const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
            auto [p, ec] = std::from_chars(text.data() + (hex ? 2 : 0), text.data() + text.size(), v, 16);
            if (!hex || ec != std::errc() || p != text.data() + text.size()) {
                error(f, fmt::format("expected a fingerprint such as 0x0123456789abcdef, got '{}'", text));
            }
            sc.expect_fingerprint = v;
        }
    }
    for (const auto& [name, w]: ov.given_weights) {
        if (!used_weights_.contains(name)) throw InputError(InputPlace{file_.string(), 0, 0, "neurons"}, fmt::format("weights are given for '{}', which no entry defines", name));
    }
    for (const auto& [name, t]: ov.given_tensors) {
        if (!used_tensors_.contains(name)) throw InputError(InputPlace{file_.string(), 0, 0, "stimuli"}, fmt::format("a tensor is given for '{}', which no stimulus is named", name));
    }
    sc.network = builder_->build();
    sc.files = files_;
    return sc;
}

} // namespace

Scenario load_scenario(const fs::path& path, const ScenarioOverrides& overrides) {
    // Scenarios are written by hand or by small scripts: a few kilobytes. The bound keeps a
    // wrong argument (a log, an image) from being read into memory whole.
    constexpr std::uint64_t max_scenario_bytes = 64 << 20;
    const InputFile file(path);
    return Loader(path, file.read_all(max_scenario_bytes, "scenario file")).load(overrides);
}

Scenario load_scenario_text(const fs::path& path, std::string text, const ScenarioOverrides& overrides) {
    try {
        return Loader(path, std::move(text)).load(overrides);
    }
    catch (const YAML::Exception& e) {
        // Every key is looked up through checks that name its place; this is the net under
        // them, so that a lookup one of them missed is still the user's error, not ours.
        throw InputError(fmt::format("{}: the scenario cannot be read: {}", path.string(), e.what()));
    }
}

std::uint64_t Scenario::text_hash() const { return hash_bytes(text.data(), text.size()); }

SimulationOptions Scenario::simulation_options(unsigned threads) const {
    SimulationOptions o;
    o.until = end;
    o.max_events = max_events;
    o.threads = threads;
    o.source_hash = text_hash();
    return o;
}

OutputSettings Scenario::output_settings(const fs::path& out_dir) const {
    OutputSettings o;
    o.record = record;
    o.scenario_name = path.filename().string();
    o.stale = log_file_names(out_dir, log.file, log.keep);
    return o;
}

ScenarioOverrides recorded_overrides(const LogHeader& h) {
    ScenarioOverrides ov;
    ov.seed = h.seed;
    ov.end = Time::from_ticks(h.end_ticks);
    ov.max_events = h.max_events;
    return ov;
}

LogHeader make_log_header(const Scenario& sc, const std::string& scenario_arg) {
    LogHeader h;
    h.engine_version = SPIKENN_VERSION;
    h.scenario_path = fs::path(scenario_arg).lexically_normal().string(); // "./a.yaml" and "a.yaml" record alike
    h.scenario_text = sc.text;
    h.scenario_hash = sc.text_hash();
    h.seed = sc.seed;
    h.end_ticks = sc.end.ticks();
    h.max_events = sc.max_events;
    for (const auto& f: sc.files) h.files.push_back({f, hash_file(f)});
    h.neuron_names = sc.network.names;
    for (const auto& s: sc.network.stimuli) h.stimulus_names.push_back(s.name);
    return h;
}

} // namespace spikenn
