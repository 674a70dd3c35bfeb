// Batcher: prepared examples -> padded torch batches (input_ids, labels, attention_mask) in a
// seeded shuffled or fixed order, with a resumable (epoch, index) position for checkpoints.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/data/prepare.h"

namespace peft::data {

struct BatcherOptions {
    int64_t batchSize = 4;
    bool shuffle = true;
    uint64_t seed = 42;
    int64_t padId = 0;
    bool dropLast = false;  // drop a final batch smaller than batchSize
};

// Where the data stream stands: the next batch is made from positions [index, index+B) of
// epoch `epoch`'s order. Saved in checkpoints so a resumed run sees the same batches.
struct DataPosition {
    int64_t epoch = 0;
    int64_t index = 0;
    nlohmann::json toJson() const;
    static DataPosition fromJson(const nlohmann::json& j, const std::string& where = "data_position");
    bool operator==(const DataPosition& o) const { return epoch == o.epoch && index == o.index; }
};

// Preference pairs: 2B rows, the B chosen sequences first, then the B rejected ones in the same
// order (row i and row B+i are one pair); `pairs` = B.
struct Batch {
    torch::Tensor inputIds;       // [B,T] int64, right-padded with padId
    torch::Tensor labels;         // [B,T] int64, -100 on padding (classification: [B] class ids)
    torch::Tensor attentionMask;  // [B,T] int64, 1 for real tokens
    int64_t epoch = 0;            // epoch this batch belongs to
    int64_t numTokens = 0;        // real (non-pad) tokens
    int64_t numLabels = 0;        // labels != -100 (classification: B)
    int64_t pairs = 0;            // preference pairs in the batch (0: not a preference batch)
    torch::Tensor refLogps;       // [2B] fp32 precomputed reference log-probs of the rows, when every pair has them
};

class Batcher {
public:
    // Throws PeftError when examples is empty or batchSize < 1.
    Batcher(std::shared_ptr<const std::vector<PreparedExample>> examples, BatcherOptions opts);

    // The batch at the current position, then advances; the data repeats epoch after epoch.
    // Each epoch's order depends only on (seed, epoch), so setPosition() reproduces it exactly.
    Batch next();

    int64_t batchesPerEpoch() const;
    DataPosition position() const { return m_pos; }
    void setPosition(const DataPosition& p);  // PeftError when out of range for this dataset
    int64_t size() const { return static_cast<int64_t>(m_examples->size()); }

    // The example order of an epoch (identity when shuffle is off).
    std::vector<int64_t> epochOrder(int64_t epoch) const;

    // Pads examples[indices] into one batch (evaluation loops: forEachBatch).
    static Batch collate(const std::vector<const PreparedExample*>& examples, int64_t padId);

private:
    void ensureOrder();

    std::shared_ptr<const std::vector<PreparedExample>> m_examples;
    BatcherOptions m_opts;
    DataPosition m_pos;
    std::vector<int64_t> m_order;
    int64_t m_orderEpoch = -1;
};

// The examples in order, `batchSize` at a time (the last batch may be smaller), each padded into
// one batch: fn(batch, index of its first example, its number of examples). Evaluation and
// precomputation loops; training draws its batches from a Batcher.
void forEachBatch(const std::vector<PreparedExample>& examples, int64_t batchSize, int64_t padId,
                  const std::function<void(const Batch& b, size_t first, size_t count)>& fn);

}  // namespace peft::data
