// Sequence classification: cross-entropy of the score head at each row's last real token,
// averaged over the rows of the whole accumulated batch; evaluation also reports accuracy.
#include "core/train/objectives/causal_lm.h"

#include "core/util/error.h"

namespace peft {

const ObjectiveSpec& ClassificationObjective::spec() const { return objectiveSpec("sft"); }

void ClassificationObjective::checkData(const std::vector<data::PreparedExample>& train,
                                        const std::string& where) const {
    const data::PreparedExample* largest = nullptr;
    for (const auto& e : train) {
        if (e.classLabel < 0)
            fail(where, "has rows without a class label, but the method's task_type is SEQ_CLS",
                 "Use a classification dataset (text + label), or task_type CAUSAL_LM.");
        if (!largest || e.classLabel > largest->classLabel) largest = &e;
    }
    // The score head has num_labels rows: a larger class id would index past it.
    const int64_t heads = m_ctx.model && m_ctx.model->classification() ? m_ctx.model->scoreWeight().size(0) : -1;
    if (largest && heads > 0 && largest->classLabel >= heads)
        fail(where + ":" + std::to_string(largest->line),
             "class " + std::to_string(largest->classLabel) + " is outside the score head's " + std::to_string(heads) +
                 " labels (the model's num_labels, from its config.json; classes 0.." + std::to_string(heads - 1) + ")",
             "Set \"num_labels\": " + std::to_string(largest->classLabel + 1) +
                 " (or an id2label with that many entries) in the model folder's config.json, as transformers' "
                 "AutoModelForSequenceClassification(num_labels=...) would, or merge the extra classes.");
}

torch::Tensor ClassificationObjective::backward(const data::Batch& b, int64_t count, MetricSums&) {
    torch::Tensor ids = b.inputIds.to(m_ctx.device), mask = b.attentionMask.to(m_ctx.device);
    torch::Tensor logits = m_ctx.model->classify(ids, mask).to(torch::kFloat32);  // [B, labels]
    torch::Tensor sum = torch::nn::functional::cross_entropy(
        logits, b.labels.to(m_ctx.device), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    // Mean over every counted label of the whole (accumulated) batch, as transformers does.
    torch::Tensor loss = sum / static_cast<double>(std::max<int64_t>(1, count));
    loss.backward();
    return sum.detach();
}

EvalResult ClassificationObjective::evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize,
                                             int64_t padId) {
    double sum = 0;
    int64_t count = 0, correct = 0;
    data::forEachBatch(examples, batchSize, padId, [&](const data::Batch& b, size_t, size_t rows) {
        torch::Tensor ids = b.inputIds.to(m_ctx.device), mask = b.attentionMask.to(m_ctx.device);
        torch::Tensor logits = m_ctx.model->classify(ids, mask).to(torch::kFloat32);
        torch::Tensor y = b.labels.to(m_ctx.device);
        sum += torch::nn::functional::cross_entropy(
                   logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .item<double>();
        correct += logits.argmax(-1).eq(y).sum().item<int64_t>();
        count += static_cast<int64_t>(rows);
    });
    EvalResult r;
    r.loss = count ? sum / static_cast<double>(count) : std::nan("");
    if (count) r.accuracy = static_cast<double>(correct) / static_cast<double>(count);
    return r;
}

}  // namespace peft
