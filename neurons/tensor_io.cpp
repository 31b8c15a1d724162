#include <spikenn/tensor_io.hpp>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <variant>

#include <fmt/format.h>

#include <spikenn/error.hpp>
#include <spikenn/input_file.hpp>

namespace spikenn {

namespace fs = std::filesystem;

std::string shape_string(const std::vector<std::int64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
    throw InputError(fmt::format("{}: {}", path.string(), what));
}

// A header is a few hundred bytes; a length beyond these is damage, refused before it is
// read. (numpy writes .npy headers of at most 10,000 bytes by default; the safetensors
// format allows headers of up to 100 MB.)
constexpr std::uint64_t max_npy_header = 1 << 20;
constexpr std::uint64_t max_safetensors_header = 100'000'000;

void write_all(const fs::path& path, const std::string& header, const char* data, std::size_t bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(fmt::format("{}: cannot be opened for writing: {}", path.string(), std::strerror(errno)));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(data, static_cast<std::streamsize>(bytes));
    out.close();
    if (!out) throw IoError(fmt::format("{}: write failed: {}", path.string(), std::strerror(errno)));
}

// At most 2^40 elements in all, so that counts and byte sizes never overflow.
bool plausible(const std::vector<std::int64_t>& shape) {
    std::uint64_t n = 1;
    for (auto d: shape) {
        if (d < 0 || d > (std::int64_t(1) << 40)) return false;
        if (d != 0 && n > (std::uint64_t(1) << 40) / static_cast<std::uint64_t>(d)) return false;
        n *= static_cast<std::uint64_t>(d);
    }
    return true;
}

std::uint64_t element_count(const std::vector<std::int64_t>& shape) {
    std::uint64_t n = 1;
    for (auto d: shape) n *= static_cast<std::uint64_t>(d);
    return n;
}

// --- the .npy header: a Python dict literal -------------------------------------------

std::string npy_field(const std::string& header, const std::string& key, const fs::path& path) {
    auto at = header.find("'" + key + "'");
    if (at == std::string::npos) fail(path, fmt::format("not a valid .npy file: the header has no '{}'", key));
    auto colon = header.find(':', at);
    if (colon == std::string::npos) fail(path, "not a valid .npy file: malformed header");
    std::size_t i = colon + 1;
    while (i < header.size() && header[i] == ' ') ++i;
    std::size_t j = i;
    if (j < header.size() && header[j] == '(') j = header.find(')', j) + 1;
    else if (j < header.size() && header[j] == '\'') j = header.find('\'', j + 1) + 1;
    else
        while (j < header.size() && header[j] != ',' && header[j] != '}') ++j;
    if (j == 0 || j > header.size()) fail(path, "not a valid .npy file: malformed header");
    return header.substr(i, j - i);
}

// --- a small JSON reader for the safetensors header ----------------------------------

struct Json;
using JsonObject = std::map<std::string, Json>;
using JsonArray = std::vector<Json>;
struct Json {
    std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> v;
};

class JsonParser {
public:
    JsonParser(std::string_view s, const fs::path& path): s_(s), path_(path) {}
    Json parse_document() {
        Json j = parse_value(0);
        skip_ws();
        if (i_ != s_.size()) error("unexpected text after the header object");
        return j;
    }

private:
    [[noreturn]] void error(const std::string& what) {
        fail(path_, fmt::format("not a valid safetensors file: header JSON at byte {}: {}", 8 + i_, what));
    }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    char peek() {
        skip_ws();
        if (i_ >= s_.size()) error("unexpected end");
        return s_[i_];
    }
    void expect(char c) {
        if (peek() != c) error(fmt::format("expected '{}'", c));
        ++i_;
    }
    Json parse_value(int depth) {
        if (depth > 16) error("nested too deeply");
        char c = peek();
        if (c == '{') {
            ++i_;
            JsonObject o;
            if (peek() == '}') { ++i_; return {std::move(o)}; }
            for (;;) {
                std::string k = parse_string();
                expect(':');
                o[k] = parse_value(depth + 1);
                if (peek() == ',') { ++i_; continue; }
                expect('}');
                return {std::move(o)};
            }
        }
        if (c == '[') {
            ++i_;
            JsonArray a;
            if (peek() == ']') { ++i_; return {std::move(a)}; }
            for (;;) {
                a.push_back(parse_value(depth + 1));
                if (peek() == ',') { ++i_; continue; }
                expect(']');
                return {std::move(a)};
            }
        }
        if (c == '"') return {parse_string()};
        if (s_.substr(i_, 4) == "null") { i_ += 4; return {nullptr}; }
        if (s_.substr(i_, 4) == "true") { i_ += 4; return {true}; }
        if (s_.substr(i_, 5) == "false") { i_ += 5; return {false}; }
        return {parse_number()};
    }
    double parse_number() {
        std::size_t j = i_;
        while (j < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[j])) || s_[j] == '-' || s_[j] == '+' ||
                                    s_[j] == '.' || s_[j] == 'e' || s_[j] == 'E'))
            ++j;
        if (j == i_) error("expected a value");
        double d = 0;
        try {
            d = std::stod(std::string(s_.substr(i_, j - i_)));
        }
        catch (const std::exception&) {
            error("bad number");
        }
        i_ = j;
        return d;
    }
    std::string parse_string() {
        if (peek() != '"') error("expected a string");
        ++i_;
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c == '\\') {
                if (i_ >= s_.size()) error("unterminated string");
                char e = s_[i_++];
                switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'u': {
                    unsigned cp = 0;
                    auto hex = s_.substr(i_, 4);
                    auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), cp, 16);
                    if (hex.size() != 4 || ec != std::errc() || ptr != hex.data() + 4) error("bad \\u escape");
                    i_ += 4;
                    // Encode as UTF-8 (surrogate pairs are not needed for tensor names).
                    if (cp < 0x80) out += static_cast<char>(cp);
                    else if (cp < 0x800) {
                        out += static_cast<char>(0xC0 | (cp >> 6));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    }
                    else {
                        out += static_cast<char>(0xE0 | (cp >> 12));
                        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    }
                    break;
                }
                default: out += e;
                }
            }
            else {
                out += c;
            }
        }
        if (i_ >= s_.size()) error("unterminated string");
        ++i_;
        return out;
    }

    std::string_view s_;
    const fs::path& path_;
    std::size_t i_ = 0;
};

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c: s) {
        if (c == '"' || c == '\\') { out += '\\'; out += c; }
        else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else out += c;
    }
    return out;
}

} // namespace

NpyArray read_npy(const fs::path& path) {
    const InputFile file(path);
    const std::uint64_t size = file.size();
    static const char magic[] = "\x93NUMPY";
    const std::string lead = file.read_string(0, static_cast<std::size_t>(std::min<std::uint64_t>(size, 12)));
    if (lead.size() < 10 || std::memcmp(lead.data(), magic, 6) != 0) fail(path, "not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(lead[6]);
    std::uint64_t header_len = 0, header_start = 0;
    if (major == 1) {
        header_len = static_cast<unsigned char>(lead[8]) | static_cast<std::uint64_t>(static_cast<unsigned char>(lead[9])) << 8;
        header_start = 10;
    }
    else if (major == 2 || major == 3) {
        if (lead.size() < 12) fail(path, "truncated .npy header");
        for (int k = 0; k < 4; ++k) header_len |= static_cast<std::uint64_t>(static_cast<unsigned char>(lead[static_cast<std::size_t>(8 + k)])) << (8 * k);
        header_start = 12;
    }
    else {
        fail(path, fmt::format("unsupported .npy format version {}", major));
    }
    if (size < header_start + header_len) fail(path, "truncated .npy header");
    if (header_len > max_npy_header) fail(path, fmt::format("not a valid .npy file: a header of {} bytes (at most {})", header_len, max_npy_header));
    const std::string header = file.read_string(header_start, static_cast<std::size_t>(header_len));
    const std::string descr = npy_field(header, "descr", path);
    if (descr != "'<f4'") {
        fail(path, fmt::format("dtype {} is not supported: expected float32 ('<f4')", descr));
    }
    if (npy_field(header, "fortran_order", path) != "False") fail(path, "Fortran-order arrays are not supported: save in C order");
    std::string shape_text = npy_field(header, "shape", path);
    NpyArray a;
    {
        std::size_t i = 1;
        while (i < shape_text.size()) {
            while (i < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
            if (i >= shape_text.size() || shape_text[i] == ')') break;
            std::size_t j = i;
            while (j < shape_text.size() && std::isdigit(static_cast<unsigned char>(shape_text[j]))) ++j;
            if (j == i) fail(path, fmt::format("not a valid .npy file: bad shape {}", shape_text));
            std::int64_t dim = 0;
            auto [p, ec] = std::from_chars(shape_text.data() + i, shape_text.data() + j, dim);
            if (ec != std::errc() || dim > (std::int64_t(1) << 40)) fail(path, fmt::format("not a valid .npy file: bad shape {}", shape_text));
            a.shape.push_back(dim);
            i = j;
        }
    }
    if (!plausible(a.shape)) fail(path, fmt::format("not a valid .npy file: implausible shape {}", shape_string(a.shape)));
    const std::uint64_t n = element_count(a.shape);
    const std::uint64_t data_start = header_start + header_len;
    // The size the header claims against the file's, before a byte of data is read.
    const std::uint64_t have = size - data_start;
    if (have < n * 4) {
        fail(path, fmt::format("truncated: shape {} needs {} bytes of data, the file has {}", shape_string(a.shape), n * 4, have));
    }
    if (have > n * 4) fail(path, fmt::format("{} bytes of data after the array of shape {}", have - n * 4, shape_string(a.shape)));
    a.data.resize(n);
    if (n > 0) file.read(data_start, a.data.data(), n * 4);
    return a;
}

void write_npy(const fs::path& path, const std::vector<std::int64_t>& shape, const float* data) {
    std::string dims;
    for (auto d: shape) dims += fmt::format("{}, ", d);
    if (shape.size() > 1) dims.resize(dims.size() - 2);
    else if (shape.size() == 1) dims.resize(dims.size() - 1);
    std::string dict = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
    // Version 1.0: magic, version, 2-byte length; the whole header padded to 64 bytes, ending in '\n'.
    std::size_t total = 10 + dict.size() + 1;
    dict.append((64 - total % 64) % 64, ' ');
    dict += '\n';
    std::string header("\x93NUMPY\x01\x00", 8);
    header += static_cast<char>(dict.size() & 0xff);
    header += static_cast<char>((dict.size() >> 8) & 0xff);
    header += dict;
    write_all(path, header, reinterpret_cast<const char*>(data), element_count(shape) * 4);
}

SafetensorsFile::SafetensorsFile(const fs::path& path): path_(path), file_(std::make_shared<const InputFile>(path)) {
    const std::uint64_t size = file_->size();
    if (size < 8) fail(path, fmt::format("not a safetensors file: {} bytes, shorter than its 8-byte header length", size));
    unsigned char len[8];
    file_->read(0, len, 8);
    std::uint64_t n = 0;
    for (int k = 0; k < 8; ++k) n |= static_cast<std::uint64_t>(len[k]) << (8 * k);
    if (n > size - 8) {
        fail(path, fmt::format("truncated or not a safetensors file: the header claims {} bytes, the file has {} after the length", n, size - 8));
    }
    if (n > max_safetensors_header) fail(path, fmt::format("not a valid safetensors file: a header of {} bytes (at most {})", n, max_safetensors_header));
    const std::string header_bytes = file_->read_string(8, static_cast<std::size_t>(n));
    const std::string_view header(header_bytes);
    Json doc = JsonParser(header, path).parse_document();
    auto* top = std::get_if<JsonObject>(&doc.v);
    if (!top) fail(path, "not a valid safetensors file: the header is not a JSON object");
    const std::uint64_t data_size = size - 8 - n;
    data_start_ = 8 + n;
    for (auto& [name, value]: *top) {
        if (name == "__metadata__") {
            if (auto* m = std::get_if<JsonObject>(&value.v)) {
                for (auto& [k, v]: *m) {
                    if (auto* s = std::get_if<std::string>(&v.v)) metadata_[k] = *s;
                }
            }
            continue;
        }
        auto* o = std::get_if<JsonObject>(&value.v);
        if (!o || !o->contains("dtype") || !o->contains("shape") || !o->contains("data_offsets")) {
            fail(path, fmt::format("not a valid safetensors file: tensor '{}' lacks dtype, shape or data_offsets", name));
        }
        SafetensorsEntry e;
        auto* dtype = std::get_if<std::string>(&o->at("dtype").v);
        auto* shape = std::get_if<JsonArray>(&o->at("shape").v);
        auto* offsets = std::get_if<JsonArray>(&o->at("data_offsets").v);
        if (!dtype || !shape || !offsets || offsets->size() != 2) fail(path, fmt::format("not a valid safetensors file: tensor '{}' is malformed", name));
        e.dtype = *dtype;
        for (auto& d: *shape) {
            auto* x = std::get_if<double>(&d.v);
            if (!x || *x < 0 || *x > 0x1p40 || *x != std::floor(*x)) fail(path, fmt::format("not a valid safetensors file: tensor '{}' has a bad shape", name));
            e.shape.push_back(static_cast<std::int64_t>(*x));
        }
        auto* b = std::get_if<double>(&(*offsets)[0].v);
        auto* en = std::get_if<double>(&(*offsets)[1].v);
        if (!plausible(e.shape)) fail(path, fmt::format("not a valid safetensors file: tensor '{}' has an implausible shape", name));
        if (!b || !en || *b < 0 || *en < *b || *en > 0x1p50) fail(path, fmt::format("not a valid safetensors file: tensor '{}' has bad data_offsets", name));
        e.begin = static_cast<std::uint64_t>(*b);
        e.end = static_cast<std::uint64_t>(*en);
        if (e.end > data_size) {
            fail(path, fmt::format("truncated: tensor '{}' ends at data byte {}, the file has {} bytes of data", name, e.end, data_size));
        }
        entries_[name] = e;
    }
}

std::vector<float> SafetensorsFile::get_f32(const std::string& name, const std::vector<std::int64_t>& shape) const {
    check_f32(name, shape);
    const SafetensorsEntry& e = entries_.at(name);
    std::vector<float> out(element_count(shape));
    // Read only now: a state_dict may hold far more than the tensors a scenario takes.
    if (!out.empty()) file_->read(data_start_ + e.begin, out.data(), out.size() * 4);
    return out;
}

void SafetensorsFile::check_f32(const std::string& name, const std::vector<std::int64_t>& shape) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail(path_, fmt::format("has no tensor '{}'", name));
    const SafetensorsEntry& e = it->second;
    if (e.dtype != "F32") fail(path_, fmt::format("tensor '{}' has dtype {}: expected F32 (float32)", name, e.dtype));
    if (e.shape != shape) {
        fail(path_, fmt::format("tensor '{}' has shape {}: expected {}", name, shape_string(e.shape), shape_string(shape)));
    }
    const std::uint64_t n = element_count(shape);
    if (e.end - e.begin != n * 4) {
        fail(path_, fmt::format("tensor '{}' has {} bytes of data: shape {} needs {}", name, e.end - e.begin, shape_string(shape), n * 4));
    }
}

void write_safetensors(const fs::path& path, std::vector<NamedTensor> tensors, const std::map<std::string, std::string>& metadata) {
    std::sort(tensors.begin(), tensors.end(), [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
    std::string json = "{";
    if (!metadata.empty()) {
        json += "\"__metadata__\":{";
        bool first = true;
        for (auto& [k, v]: metadata) {
            json += fmt::format("{}\"{}\":\"{}\"", first ? "" : ",", json_escape(k), json_escape(v));
            first = false;
        }
        json += "}";
        if (!tensors.empty()) json += ",";
    }
    std::uint64_t offset = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto bytes = element_count(tensors[i].shape) * 4;
        json += fmt::format("{}\"{}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", i ? "," : "",
            json_escape(tensors[i].name), fmt::join(tensors[i].shape, ","), offset, offset + bytes);
        offset += bytes;
    }
    json += "}";
    json.append((8 - json.size() % 8) % 8, ' ');
    std::string header(8, '\0');
    for (int k = 0; k < 8; ++k) header[static_cast<std::size_t>(k)] = static_cast<char>((json.size() >> (8 * k)) & 0xff);
    header += json;
    std::vector<char> data;
    data.reserve(offset);
    for (auto& t: tensors) {
        const auto bytes = element_count(t.shape) * 4;
        const char* p = reinterpret_cast<const char*>(t.data);
        data.insert(data.end(), p, p + bytes);
    }
    write_all(path, header, data.data(), data.size());
}

} // namespace spikenn
