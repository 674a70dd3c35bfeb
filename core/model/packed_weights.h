// Per-run switch for the oneDNN copies of frozen CPU bf16 weights (core/model/linear.h): a run
// config's training.packed_weights. The copies make CPU bf16 steps ~10% faster and cost two extra
// bf16 copies of the frozen layer weights; a user short of RAM turns them off. No LibTorch here.
#pragma once

namespace peft {

// While a scope lives, training steps on this thread use packed copies only if `allowed` (and the
// build, the CPU and PEFT_PACKED_WEIGHTS allow them). CPU autograd runs backward on the thread
// that calls it, so a trainer's scope covers both passes. Scopes nest; the default is allowed.
class PackedWeightsScope {
public:
    explicit PackedWeightsScope(bool allowed);
    ~PackedWeightsScope();
    PackedWeightsScope(const PackedWeightsScope&) = delete;
    PackedWeightsScope& operator=(const PackedWeightsScope&) = delete;

private:
    bool m_previous;
};

// This thread's current setting (true outside any scope).
bool packedWeightsAllowedOnThisThread();

}  // namespace peft
