#include "tools/history.hpp"

#include <fmt/format.h>

namespace spikenn {

void HistoryRecorder::truncate(std::size_t n) {
    if (n < records_.size()) records_.resize(n);
}

void HistoryRecorder::save_state(StateWriter& out) {
    out.put<std::uint64_t>(records_.size());
    if (lengths_only_) return;
    for (const auto& r: records_) put_record(out, r);
}

void HistoryRecorder::load_state(StateReader& in, std::uint32_t) {
    staged_.reset();
    staged_length_.reset();
    if (lengths_only_) {
        const std::uint64_t at = in.offset();
        const auto n = in.get<std::uint64_t>();
        if (n > records_.size()) throw StateError(fmt::format("a snapshot of {} events; the session has {}", n, records_.size()), at);
        if (!in.at_end()) throw StateError("bytes after the end of a section", in.offset());
        staged_length_ = n;
        return;
    }
    std::vector<LogRecord> history;
    const auto n = in.get_count(saved_record_bytes);
    history.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t at = in.offset();
        const LogRecord r = get_record(in, i + 1);
        // The counts a later checkpoint holds index neurons by the target.
        if (r.target >= neurons_) {
            throw StateError(fmt::format("recorded event {} is of neuron {}; the scenario has {}", r.number, r.target, neurons_), at + 10);
        }
        if (r.cause >= r.number || (!history.empty() && r.time < history.back().time)) {
            throw StateError(fmt::format("recorded event {} names a later cause or goes back in time", r.number), at);
        }
        history.push_back(r);
    }
    if (!in.at_end()) throw StateError("bytes after the end of a section", in.offset());
    staged_ = std::move(history);
}

void HistoryRecorder::commit_state() {
    if (staged_length_) {
        truncate(*staged_length_);
        staged_length_.reset();
        return;
    }
    if (!staged_) return;
    records_ = std::move(*staged_);
    staged_.reset();
}

} // namespace spikenn
