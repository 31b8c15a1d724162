// The debugger's history: every event a session has processed, as the event log writes it,
// kept so that `why`, `print event` and `back` can look at earlier events. It is the
// recorder of a checkpoint's history section (CheckpointSection::history): a debugger
// checkpoint is a run's checkpoint plus this section.
//
// The section (see <spikenn/checkpoint.hpp>): the number of records (u64), then each
// record as put_record writes it, in event order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <spikenn/recorder.hpp>

namespace spikenn {

class HistoryRecorder final: public Recorder {
public:
    // `neurons`: the network's size, which every recorded target must be below.
    explicit HistoryRecorder(std::size_t neurons): neurons_(neurons) {}

    void record(const RecordedEvent& e) override { records_.push_back(e.log); }
    const std::vector<LogRecord>& records() const { return records_; }
    // Keeps the first n records (the session went back to event n).
    void truncate(std::size_t n);

    CheckpointSection section() const override { return CheckpointSection::history; }
    void save_state(StateWriter& out) override;
    // Refuses (StateError at the byte) a record of a kind, outcome or neuron that does not
    // exist, one whose cause is not an earlier event, and one earlier than the record
    // before it: `why` and `print event` follow causes through the history by number.
    void load_state(StateReader& in, std::uint32_t checkpoint_version) override;
    void commit_state() override;
    void discard_state() override {
        staged_.reset();
        staged_length_.reset();
    }

    // A snapshot of the session itself (the debugger's states for `back`) need not copy the
    // history, which the session keeps: while lengths_only is set, save_state writes only
    // the number of records and load_state takes a number no larger than the history's,
    // which commit_state cuts the history back to.
    void set_lengths_only(bool on) { lengths_only_ = on; }

private:
    std::size_t neurons_;
    std::vector<LogRecord> records_;
    std::optional<std::vector<LogRecord>> staged_;
    std::optional<std::uint64_t> staged_length_;
    bool lengths_only_ = false;
};

} // namespace spikenn
