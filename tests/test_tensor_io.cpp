#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <spikenn/error.hpp>
#include <spikenn/tensor_io.hpp>

using namespace spikenn;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
    fs::path d = fs::temp_directory_path() / "spikenn_test_tensor_io";
    fs::create_directories(d);
    return d;
}
std::string error_of(auto&& f) {
    try {
        f();
    }
    catch (const InputError& e) {
        return e.what();
    }
    return "";
}
void cut(const fs::path& from, const fs::path& to, std::size_t drop) {
    std::ifstream in(from, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(to, std::ios::binary) << s.substr(0, s.size() - drop);
}
} // namespace

TEST_CASE("npy round trip") {
    const fs::path p = temp_dir() / "a.npy";
    std::vector<float> v(30);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 3.0f;
    write_npy(p, {1, 5, 6}, v.data());
    const NpyArray a = read_npy(p);
    CHECK(a.shape == std::vector<std::int64_t>{1, 5, 6});
    CHECK(a.data == v);
    // numpy requires the header to end on a 64-byte boundary.
    CHECK((fs::file_size(p) - v.size() * 4) % 64 == 0);
}

TEST_CASE("npy errors name the file and the problem") {
    const fs::path d = temp_dir();
    std::vector<float> v(8, 1.0f);
    write_npy(d / "ok.npy", {2, 4}, v.data());
    cut(d / "ok.npy", d / "cut.npy", 4);
    CHECK(error_of([&] { read_npy(d / "cut.npy"); }).find("cut.npy: truncated: shape [2, 4] needs 32 bytes of data, the file has 28") != std::string::npos);
    std::ofstream(d / "junk.npy") << "hello";
    CHECK(error_of([&] { read_npy(d / "junk.npy"); }).find("not a .npy file") != std::string::npos);
    CHECK(error_of([&] { read_npy(d / "absent.npy"); }).find("absent.npy: no such file") != std::string::npos);
    CHECK(error_of([&] { read_npy(SPIKENN_SOURCE_DIR "/scenarios/invalid/data/f64.npy"); }).find("dtype '<f8' is not supported") != std::string::npos);
}

TEST_CASE("safetensors round trip with metadata") {
    const fs::path p = temp_dir() / "w.safetensors";
    std::vector<float> a{1, 2, 3, 4, 5, 6}, b{7, 8};
    write_safetensors(p, {{"z.weight", {2, 3}, a.data()}, {"a.bias", {2}, b.data()}}, {{"format", "pt"}, {"note", "quote \" here"}});
    const SafetensorsFile f(p);
    CHECK(f.get_f32("z.weight", {2, 3}) == a);
    CHECK(f.get_f32("a.bias", {2}) == b);
    CHECK(f.metadata().at("format") == "pt");
    CHECK(f.metadata().at("note") == "quote \" here");
    // The JSON header is padded to 8 bytes, as the format's readers expect.
    std::ifstream in(p, std::ios::binary);
    std::uint64_t n = 0;
    in.read(reinterpret_cast<char*>(&n), 8);
    CHECK(n % 8 == 0);
    CHECK(error_of([&] { (void)f.get_f32("z.weight", {3, 2}); }).find("has shape [2, 3]: expected [3, 2]") != std::string::npos);
    CHECK(error_of([&] { (void)f.get_f32("nothing", {1}); }).find("has no tensor 'nothing'") != std::string::npos);
}

TEST_CASE("safetensors errors: cut, empty, bad header") {
    const fs::path d = temp_dir();
    std::vector<float> a(64, 0.25f);
    write_safetensors(d / "ok.safetensors", {{"t", {8, 8}, a.data()}});
    cut(d / "ok.safetensors", d / "cut.safetensors", 10);
    CHECK(error_of([&] { SafetensorsFile f(d / "cut.safetensors"); }).find("truncated: tensor 't' ends at data byte 256") != std::string::npos);
    std::ofstream(d / "empty.safetensors");
    CHECK(error_of([&] { SafetensorsFile f(d / "empty.safetensors"); }).find("not a safetensors file") != std::string::npos);
    {
        std::ofstream o(d / "badjson.safetensors", std::ios::binary);
        std::string h = "{\"t\": [";
        std::uint64_t n = h.size();
        o.write(reinterpret_cast<const char*>(&n), 8);
        o << h;
    }
    CHECK(error_of([&] { SafetensorsFile f(d / "badjson.safetensors"); }).find("header JSON") != std::string::npos);
}

// Hostile headers get an InputError, never a crash or an overflow.
TEST_CASE("implausible shapes and bad escapes are refused") {
    const fs::path d = temp_dir();
    {
        std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 4), }";
        std::string h("\x93NUMPY\x01\x00", 8);
        h += static_cast<char>(dict.size());
        h += '\0';
        std::ofstream(d / "huge.npy", std::ios::binary) << h << dict;
    }
    CHECK(error_of([&] { read_npy(d / "huge.npy"); }).find("bad shape") != std::string::npos);
    {
        std::ofstream o(d / "esc.safetensors", std::ios::binary);
        std::string h = R"({"t\uZZZZ": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
        std::uint64_t n = h.size();
        o.write(reinterpret_cast<const char*>(&n), 8);
        o << h << "abcd";
    }
    CHECK(error_of([&] { SafetensorsFile f(d / "esc.safetensors"); }).find("escape") != std::string::npos);
    {
        std::ofstream o(d / "big.safetensors", std::ios::binary);
        std::string h = R"({"t": {"dtype": "F32", "shape": [1e30, 4], "data_offsets": [0, 1e300]}})";
        std::uint64_t n = h.size();
        o.write(reinterpret_cast<const char*>(&n), 8);
        o << h;
    }
    CHECK(error_of([&] { SafetensorsFile f(d / "big.safetensors"); }).find("bad shape") != std::string::npos);
}

// Regression (issue 10, item 9): a directory gave "basic_filebuf::underflow", /dev/zero was
// read (2.1 GB) until memory ran out, a FIFO blocked for ever. Only regular files are read,
// and without blocking on a FIFO.
TEST_CASE("tensor files that are not regular files are refused") {
    const fs::path d = temp_dir();
    const fs::path fifo = d / "tensor.fifo";
    fs::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const auto& c: std::vector<std::pair<fs::path, std::string>>{
             {d, ": is a directory, not a file"}, {"/dev/zero", ": is a character device, not a regular file"}, {fifo, ": is a FIFO, not a regular file"}}) {
        // Plain references, not a structured binding: clang 14 cannot capture those in lambdas.
        const fs::path& path = c.first;
        const std::string& what = c.second;
        CAPTURE(path);
        CHECK(error_of([&] { read_npy(path); }) == path.string() + what);
        CHECK(error_of([&] { SafetensorsFile f(path); }) == path.string() + what);
        // The place is the file, for programs that read it rather than the message (Python's ScenarioError.file).
        try {
            read_npy(path);
        }
        catch (const InputError& e) {
            CHECK(e.file() == path.string());
            CHECK(e.problem() == what.substr(2));
        }
    }
    fs::remove(fifo);
    try {
        read_npy(d / "no_such.npy");
        FAIL("a missing file was read");
    }
    catch (const InputError& e) {
        CHECK(e.file() == (d / "no_such.npy").string());
        CHECK(e.problem() == "no such file");
    }
}

// What a header claims is checked against the file's size before the data is read: a
// sparse file of a gigabyte behind a small header is refused at once, not read.
TEST_CASE("sizes are checked against the header before reading") {
    const fs::path d = temp_dir();
    const float v[8] = {};
    write_npy(d / "big.npy", {2, 4}, v);
    fs::resize_file(d / "big.npy", std::uintmax_t(1) << 30);
    CHECK(error_of([&] { read_npy(d / "big.npy"); }).find("bytes of data after the array of shape [2, 4]") != std::string::npos);
    // A header length beyond any real header.
    const std::string head("\x93NUMPY\x02\x00\x00\x00\x00\x40", 12); // version 2.0, header length 0x40000000
    std::ofstream(d / "long_header.npy", std::ios::binary) << head;
    fs::resize_file(d / "long_header.npy", (std::uintmax_t(1) << 30) + 64);
    CHECK(error_of([&] { read_npy(d / "long_header.npy"); }).find("a header of 1073741824 bytes") != std::string::npos);
}
