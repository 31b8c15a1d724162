// Recorders that keep what they see in memory, for programs that use the results at once:
// the spikes, the potentials of chosen neurons, and the spikes' output tensors.
#pragma once

#include <cstdint>
#include <vector>

#include <spikenn/recorder.hpp>

namespace spikenn {

struct SpikeRecord {
    Time time;
    EntityId neuron = 0;
};

// Every spike (a spike event delivered), in order: what spikes.csv lists.
class SpikeRecorder final: public Recorder {
public:
    void record(const RecordedEvent& e) override;
    const std::vector<SpikeRecord>& spikes() const { return spikes_; }

private:
    std::vector<SpikeRecord> spikes_;
};

struct PotentialRecord {
    std::uint64_t event = 0; // the event's number
    Time time;
    EntityId neuron = 0;
    double potential = 0; // after the event
};

// The potential of each chosen neuron after every event it is the target of: what
// potentials.csv lists.
class PotentialRecorder final: public Recorder {
public:
    // `neurons`: the ids to record (all neurons when empty).
    explicit PotentialRecorder(std::vector<EntityId> neurons = {});
    void record(const RecordedEvent& e) override;
    const std::vector<PotentialRecord>& potentials() const { return potentials_; }

private:
    std::vector<EntityId> neurons_; // sorted
    std::vector<PotentialRecord> potentials_;
};

struct SpikeOutputRecord {
    Time time;
    EntityId neuron = 0;
    Tensor output; // [seq_len, embed_dim]
};

// Each spike's output tensor: what outputs.safetensors holds.
class SpikeOutputRecorder final: public Recorder {
public:
    void record(const RecordedEvent& e) override;
    const std::vector<SpikeOutputRecord>& outputs() const { return outputs_; }

private:
    std::vector<SpikeOutputRecord> outputs_;
};

} // namespace spikenn
