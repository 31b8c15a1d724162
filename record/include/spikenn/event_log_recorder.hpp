// The event log as a recorder (checkpoint section "log"): every event, as docs/eventlog.md
// defines it, and with it the run's fingerprint.
#pragma once

#include <filesystem>
#include <memory>

#include <spikenn/eventlog.hpp>
#include <spikenn/recorder.hpp>

namespace spikenn {

class EventLogRecorder final: public Recorder {
public:
    // Writes nothing yet: start() writes the header (or, after load_state(), continues the
    // interrupted run's log).
    EventLogRecorder(std::filesystem::path path, LogHeader header);
    ~EventLogRecorder() override;

    // IoError with before_start set when the header cannot be written.
    void start() override;
    void record(const RecordedEvent& e) override;
    void finish(const RunEnd&) override;
    void abandon() override;

    CheckpointSection section() const override { return CheckpointSection::log; }
    void save_state(StateWriter& out) override;
    void load_state(StateReader& in, std::uint32_t checkpoint_version) override;
    void commit_state() override;
    void discard_state() override { loaded_.reset(); }

    // The fingerprint of the events logged so far (of the checkpoint's after a load).
    const Fingerprint& fingerprint() const;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    LogHeader header_;
    std::unique_ptr<EventLogWriter> writer_;
    std::unique_ptr<EventLogWriter> loaded_; // read and checked by load_state()
    bool resumed_ = false;
    Fingerprint none_;
};

} // namespace spikenn
