// Batcher: seeded epoch orders, padding into torch tensors, resumable position.
#include "core/data/batcher.h"

#include <algorithm>

#include <random>

#include "core/util/error.h"

namespace peft::data {

nlohmann::json DataPosition::toJson() const { return {{"epoch", epoch}, {"index", index}}; }

DataPosition DataPosition::fromJson(const nlohmann::json& j, const std::string& where) {
    DataPosition p;
    if (!j.is_object() || !j.contains("epoch") || !j.contains("index") || !j["epoch"].is_number_integer() ||
        !j["index"].is_number_integer())
        fail(where, "expected {\"epoch\": int, \"index\": int}, found " + j.dump(), "The checkpoint is damaged.");
    p.epoch = j["epoch"].get<int64_t>();
    p.index = j["index"].get<int64_t>();
    return p;
}

Batcher::Batcher(std::shared_ptr<const std::vector<PreparedExample>> examples, BatcherOptions opts)
    : m_examples(std::move(examples)), m_opts(opts) {
    if (!m_examples || m_examples->empty()) fail("batcher", "no examples to batch", "Check the dataset report.");
    if (m_opts.batchSize < 1)
        fail("training.batch_size", "must be at least 1, found " + std::to_string(m_opts.batchSize), "");
    if (m_opts.dropLast && size() < m_opts.batchSize)
        fail("training.batch_size",
             "is " + std::to_string(m_opts.batchSize) + " but the dataset has only " + std::to_string(size()) +
                 " examples, so no full batch exists",
             "Lower the batch size.");
}

int64_t Batcher::batchesPerEpoch() const {
    int64_t n = size(), b = m_opts.batchSize;
    return m_opts.dropLast ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> Batcher::epochOrder(int64_t epoch) const {
    std::vector<int64_t> order(static_cast<size_t>(size()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    if (!m_opts.shuffle || order.size() < 2) return order;
    // Seed from (seed, epoch) with a splitmix step so neighbouring epochs are unrelated.
    uint64_t z = m_opts.seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(epoch + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    std::mt19937_64 rng(z);
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[static_cast<size_t>(rng() % (i + 1))]);
    return order;
}

void Batcher::ensureOrder() {
    if (m_orderEpoch != m_pos.epoch) {
        m_order = epochOrder(m_pos.epoch);
        m_orderEpoch = m_pos.epoch;
    }
}

void Batcher::setPosition(const DataPosition& p) {
    if (p.epoch < 0 || p.index < 0 || p.index > size())
        fail("data position",
             "(epoch " + std::to_string(p.epoch) + ", index " + std::to_string(p.index) +
                 ") is outside this dataset of " + std::to_string(size()) + " examples",
             "Resume with the same dataset the checkpoint was made with.");
    m_pos = p;
}

Batch Batcher::next() {
    int64_t n = size();
    bool epochDone = m_pos.index >= n || (m_opts.dropLast && m_pos.index + m_opts.batchSize > n);
    if (epochDone) {
        ++m_pos.epoch;
        m_pos.index = 0;
    }
    ensureOrder();
    int64_t end = std::min(n, m_pos.index + m_opts.batchSize);
    std::vector<const PreparedExample*> picked;
    for (int64_t i = m_pos.index; i < end; ++i)
        picked.push_back(&(*m_examples)[static_cast<size_t>(m_order[static_cast<size_t>(i)])]);
    Batch b = collate(picked, m_opts.padId);
    b.epoch = m_pos.epoch;
    m_pos.index = end;
    return b;
}

void forEachBatch(const std::vector<PreparedExample>& examples, int64_t batchSize, int64_t padId,
                  const std::function<void(const Batch& b, size_t first, size_t count)>& fn) {
    const size_t step = static_cast<size_t>(std::max<int64_t>(1, batchSize));
    for (size_t first = 0; first < examples.size(); first += step) {
        std::vector<const PreparedExample*> rows;
        for (size_t k = first; k < std::min(examples.size(), first + step); ++k) rows.push_back(&examples[k]);
        fn(Batcher::collate(rows, padId), first, rows.size());
    }
}

Batch Batcher::collate(const std::vector<const PreparedExample*>& ex, int64_t padId) {
    Batch b;
    if (ex.empty()) fail("batcher", "cannot collate an empty batch", "");
    // Rows of the batch: each example's sequence, or for pairs chosen rows then rejected rows.
    struct Row {
        const std::vector<int64_t>* ids;
        const std::vector<int64_t>* labels;
    };
    std::vector<Row> rows;
    const bool pairs = ex.front()->isPair();
    bool classification = !pairs;
    for (const auto* e : ex) {
        if (e->isPair() != pairs) fail("batcher", "a batch mixes preference pairs and single sequences", "");
        rows.push_back({&e->inputIds, &e->labels});
        classification = classification && e->classLabel >= 0;
    }
    if (pairs)
        for (const auto* e : ex) rows.push_back({&e->rejectedIds, &e->rejectedLabels});
    const int64_t B = static_cast<int64_t>(rows.size());
    int64_t T = 0;
    for (const auto& r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r.ids->size()));
    auto opts = torch::TensorOptions().dtype(torch::kInt64);
    b.inputIds = torch::full({B, T}, padId, opts);
    b.attentionMask = torch::zeros({B, T}, opts);
    b.labels = classification ? torch::empty({B}, opts) : torch::full({B, T}, kIgnoreIndex, opts);
    b.pairs = pairs ? static_cast<int64_t>(ex.size()) : 0;
    if (pairs && std::all_of(ex.begin(), ex.end(), [](const PreparedExample* e) { return e->refLogps.size() == 2; })) {
        const int64_t P = b.pairs;
        b.refLogps = torch::empty({2 * P}, torch::kFloat32);
        for (int64_t i = 0; i < P; ++i) {
            b.refLogps[i] = ex[static_cast<size_t>(i)]->refLogps[0];
            b.refLogps[P + i] = ex[static_cast<size_t>(i)]->refLogps[1];
        }
    }
    auto ids = b.inputIds.accessor<int64_t, 2>();
    auto mask = b.attentionMask.accessor<int64_t, 2>();
    for (int64_t r = 0; r < B; ++r) {
        const auto& in = *rows[static_cast<size_t>(r)].ids;
        for (size_t t = 0; t < in.size(); ++t) {
            ids[r][static_cast<int64_t>(t)] = in[t];
            mask[r][static_cast<int64_t>(t)] = 1;
        }
        b.numTokens += static_cast<int64_t>(in.size());
    }
    if (classification) {
        auto lab = b.labels.accessor<int64_t, 1>();
        for (int64_t r = 0; r < B; ++r) lab[r] = ex[static_cast<size_t>(r)]->classLabel;
        b.numLabels = B;
    } else {
        auto lab = b.labels.accessor<int64_t, 2>();
        for (int64_t r = 0; r < B; ++r) {
            const auto& in = *rows[static_cast<size_t>(r)].ids;
            const auto& lb = *rows[static_cast<size_t>(r)].labels;
            for (size_t t = 0; t < lb.size() && t < in.size(); ++t) {
                lab[r][static_cast<int64_t>(t)] = lb[t];
                b.numLabels += lb[t] != kIgnoreIndex ? 1 : 0;
            }
        }
    }
    return b;
}

}  // namespace peft::data
