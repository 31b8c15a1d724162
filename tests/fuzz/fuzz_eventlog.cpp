// libFuzzer target for the event-log reader: any bytes must give records or a LogError,
// never a crash, a hang or undefined behaviour. Built with clang (tools/build.sh --fuzz);
// .ci/run runs it briefly from the seed corpus in tests/fuzz/corpus/eventlog.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <spikenn/eventlog.hpp>

namespace {

template <typename T>
void put(std::vector<unsigned char>& out, T v) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

// Checksums stop almost every mutation at the block's door. Inputs that do not start like a
// log and whose first byte is odd are therefore wrapped as the records of one block with a
// valid header and checksum, so that the record decoder itself meets arbitrary bytes.
std::vector<unsigned char> wrapped(const std::uint8_t* data, std::size_t size) {
    using spikenn::hash_bytes;
    std::vector<unsigned char> log = {'S', 'N', 'N', 'E', 'V', 'L', 'O', 'G'};
    put<std::uint32_t>(log, 1);
    put<std::uint32_t>(log, 0);
    put<std::uint64_t>(log, hash_bytes(log.data(), log.size()));
    const std::size_t block = log.size();
    const unsigned char magic[] = {'S', 'B', 'L', 'K'};
    log.insert(log.end(), magic, magic + 4);
    put<std::uint32_t>(log, size > 1 ? 1u + data[1] % 64u : 1u);
    put<std::uint64_t>(log, 1);
    put<std::int64_t>(log, 0);
    const std::size_t body = size > 2 ? size - 2 : 0;
    put<std::uint32_t>(log, static_cast<std::uint32_t>(body));
    if (body) log.insert(log.end(), data + 2, data + size);
    put<std::uint64_t>(log, hash_bytes(log.data() + block, log.size() - block));
    return log;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* raw, std::size_t raw_size) {
    using namespace spikenn;
    std::vector<unsigned char> wrap;
    const std::uint8_t* data = raw;
    std::size_t size = raw_size;
    const bool looks_like_log = raw_size >= 8 && std::memcmp(raw, "SNNEVLOG", 8) == 0;
    if (!looks_like_log && raw_size > 0 && (raw[0] & 1)) {
        wrap = wrapped(raw, raw_size);
        data = wrap.data();
        size = wrap.size();
    }
    try {
        EventLogReader reader(std::span<const unsigned char>(data, size), "fuzz");
        std::vector<LogRecord> block;
        std::uint64_t events = 0;
        while (reader.next_block(block)) events += block.size();
        if (!reader.footer()) (void)reader.cut_message();
        EventLogReader again(std::span<const unsigned char>(data, size), "fuzz");
        (void)again.find(1);
        (void)again.find(events / 2 + 1);
        (void)again.find(events + 7);
    }
    catch (const LogError&) {
    }
    return 0;
}
