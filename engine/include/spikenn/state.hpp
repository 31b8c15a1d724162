// Byte buffers for saving and restoring a simulation's state (checkpoints, stepping back).
//
// The engine writes and reads bytes; it never touches a file. Values are stored
// little-endian as the machine holds them, each at its own size.
#pragma once

#include <spikenn/error.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace spikenn {

class StateWriter {
public:
    template <typename T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        const auto* p = reinterpret_cast<const unsigned char*>(&v);
        bytes_.insert(bytes_.end(), p, p + sizeof(T));
    }
    void put_bytes(const void* data, std::size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        bytes_.insert(bytes_.end(), p, p + n);
    }
    void put_string(const std::string& s) {
        put<std::uint64_t>(s.size());
        put_bytes(s.data(), s.size());
    }
    const std::vector<unsigned char>& bytes() const { return bytes_; }
    std::vector<unsigned char>& bytes() { return bytes_; }
    std::string str() const { return std::string(bytes_.begin(), bytes_.end()); }

private:
    std::vector<unsigned char> bytes_;
};

// Saved state that cannot be restored: cut, malformed, or inconsistent with the model it is
// loaded into. `offset` is where the offending bytes start, counted from the start of the
// file the state came from (StateReader's base), so that a message can point at them.
class StateError: public Error {
public:
    explicit StateError(const std::string& what, std::uint64_t at = 0): Error(what), offset(at) {}
    std::uint64_t offset;
};

// Reads what StateWriter wrote. Nothing read is trusted: a read past the end, or a count
// larger than what is left, throws StateError. `base` is the offset of the first byte in
// the file the bytes came from; offset() adds it, so that errors name a place in the file.
class StateReader {
public:
    explicit StateReader(std::span<const unsigned char> bytes, std::uint64_t base = 0): bytes_(bytes), base_(base) {}
    explicit StateReader(const std::string& bytes, std::uint64_t base = 0):
        bytes_(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), base_(base) {}
    template <typename T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>);
        need(sizeof(T));
        T v;
        std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    void get_bytes(void* out, std::size_t n) {
        need(n);
        if (n) std::memcpy(out, bytes_.data() + pos_, n);
        pos_ += n;
    }
    std::string get_string() {
        const auto n = get<std::uint64_t>();
        need(n);
        std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    // A count of items of at least `item_bytes` each, checked against what is left.
    std::uint64_t get_count(std::size_t item_bytes) {
        const auto n = get<std::uint64_t>();
        if (item_bytes && n > (bytes_.size() - pos_) / item_bytes) throw StateError("a count larger than the data left", offset() - 8);
        return n;
    }
    std::size_t position() const { return pos_; }
    // Where the next read starts, in the file the bytes came from.
    std::uint64_t offset() const { return base_ + pos_; }
    bool at_end() const { return pos_ == bytes_.size(); }

private:
    void need(std::uint64_t n) const {
        if (n > bytes_.size() - pos_) throw StateError("the data ends early", offset());
    }
    std::span<const unsigned char> bytes_;
    std::size_t pos_ = 0;
    std::uint64_t base_ = 0;
};

} // namespace spikenn
