// Causal language modelling (SFT): cross-entropy of each labelled token, averaged over every
// counted label of the whole accumulated batch, as transformers does.
#include "core/train/objectives/causal_lm.h"

#include "core/train/lm_loss.h"
#include "core/util/error.h"

namespace peft {

const ObjectiveSpec& CausalLmObjective::spec() const { return objectiveSpec("sft"); }

void CausalLmObjective::checkData(const std::vector<data::PreparedExample>& train, const std::string& where) const {
    int64_t targets = 0;
    for (const auto& e : train) {
        if (e.isPair())
            fail(
                where, "holds preference pairs, but the objective is SFT",
                "Choose a preference objective (\"objective\": {\"type\": \"dpo\"}), or a dataset of single examples.");
        for (size_t i = 1; i < e.labels.size(); ++i) targets += e.labels[i] != data::kIgnoreIndex;
    }
    if (targets == 0)
        fail(where, "every label is masked: there is nothing to learn",
             "Check the template and 'train_on' (use \"all\" to train on prompts too), or max_length (responses may be "
             "cut off).");
}

int64_t CausalLmObjective::targetCount(const data::Batch& b) const { return countTargetTokens(b.labels); }

torch::Tensor CausalLmObjective::backward(const data::Batch& b, int64_t count, MetricSums&) {
    CausalLMImpl& model = *m_ctx.model;
    torch::Tensor ids = b.inputIds.to(m_ctx.device), mask = b.attentionMask.to(m_ctx.device);
    torch::Tensor hidden = model.hiddenStates(ids, mask);
    torch::Tensor labels = alignLabels(hidden, b.labels.to(m_ctx.device));
    // Head + loss in row chunks, back-propagated as it goes (mean over the whole accumulated
    // batch's labels, as transformers does).
    return lmLossChunked(model, hidden, labels, true, 1.0 / static_cast<double>(std::max<int64_t>(1, count))).sum;
}

EvalResult CausalLmObjective::evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize,
                                       int64_t padId) {
    CausalLMImpl& model = *m_ctx.model;
    double sum = 0;
    int64_t count = 0;
    data::forEachBatch(examples, batchSize, padId, [&](const data::Batch& b, size_t, size_t) {
        torch::Tensor ids = b.inputIds.to(m_ctx.device), mask = b.attentionMask.to(m_ctx.device);
        torch::Tensor hidden = model.hiddenStates(ids, mask);
        LmLoss l = lmLossChunked(model, hidden, alignLabels(hidden, b.labels.to(m_ctx.device)), false);
        sum += l.sum.item<double>();
        count += l.count;
    });
    EvalResult r;
    r.loss = count ? sum / static_cast<double>(count) : std::nan("");
    return r;
}

}  // namespace peft
