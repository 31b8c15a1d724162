#include <spikenn/event_log_recorder.hpp>

namespace spikenn {

EventLogRecorder::EventLogRecorder(std::filesystem::path path, LogHeader header): path_(std::move(path)), header_(std::move(header)) {}

EventLogRecorder::~EventLogRecorder() = default;

void EventLogRecorder::start() {
    if (writer_ && resumed_) {
        writer_->resume();
        return;
    }
    SPIKENN_CHECK(!writer_, "the event log was started twice");
    try {
        writer_ = std::make_unique<EventLogWriter>(path_, header_);
    }
    catch (const IoError& e) {
        throw IoError(e.what(), true); // nothing was written or removed yet
    }
}

void EventLogRecorder::record(const RecordedEvent& e) {
    SPIKENN_CHECK(writer_ != nullptr, "an event recorded before the event log was started");
    writer_->add(e.log);
}

void EventLogRecorder::finish(const RunEnd&) {
    if (writer_) writer_->finish();
}

void EventLogRecorder::abandon() {
    if (writer_) writer_->abandon();
}

void EventLogRecorder::save_state(StateWriter& out) {
    SPIKENN_CHECK(writer_ != nullptr, "a checkpoint of an event log that was not started");
    writer_->save_state(out);
}

void EventLogRecorder::load_state(StateReader& in, std::uint32_t checkpoint_version) {
    SPIKENN_CHECK(!writer_, "a checkpoint loaded into an event log already written");
    loaded_ = std::make_unique<EventLogWriter>(path_, in, checkpoint_version);
}

void EventLogRecorder::commit_state() {
    SPIKENN_CHECK(loaded_ != nullptr, "EventLogRecorder::commit_state without a loaded state");
    writer_ = std::move(loaded_);
    resumed_ = true;
}

const Fingerprint& EventLogRecorder::fingerprint() const {
    if (writer_) return writer_->fingerprint();
    if (loaded_) return loaded_->fingerprint();
    return none_;
}

} // namespace spikenn
