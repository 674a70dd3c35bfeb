// The shared part of the preference objectives (see preference.h).
#include "core/train/objectives/preference.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "core/io/tensor_io.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/peft/qlora/nf4.h"
#include "core/train/lm_loss.h"
#include "core/train/run_config.h"
#include "core/util/error.h"

namespace peft {

torch::Tensor smoothedSigmoidLoss(const torch::Tensor& z, double eps) {
    namespace F = torch::nn::functional;
    return -(1.0 - eps) * F::logsigmoid(z) - eps * F::logsigmoid(-z);
}

void PreferenceObjective::bind(const ObjectiveContext& ctx) {
    Objective::bind(ctx);
    if (!spec().usesReference) return;
    const std::string want = m_settings.value("reference", std::string("auto"));
    const bool canDisable = adapterDisableGivesBase(*ctx.model, *ctx.adapter);
    const std::string peftType = ctx.adapter->method->peftType();
    if (want == "adapter_disabled" && !canDisable)
        fail("objective.reference",
             "\"adapter_disabled\" cannot give the reference model under " + peftType +
                 ": the method trains the model's own weights, which stay changed with the adapter off",
             "Use \"auto\" or \"frozen_copy\" (a second, frozen copy of the model).");
    m_referenceKind = want == "auto" ? (canDisable ? "adapter_disabled" : "frozen_copy") : want;
    if (m_referenceKind != "frozen_copy") {
        spdlog::info("{}: the reference is the model with the adapter switched off", spec().displayName);
        return;
    }
    // A second copy of the base weights, frozen, in the run's precision.
    ModelOptions mo;
    mo.dtype = ctx.run->training.precision == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    mo.device = ctx.device;
    m_reference = loadModel(ctx.run->model, mo).model;
    m_reference->setPadRowsUnread(true);
    if (ctx.run->training.quantizeBase) quantizeBaseNf4(*m_reference, true);
    for (auto& p : m_reference->parameters()) p.set_requires_grad(false);
    m_reference->to(ctx.device);
    m_reference->eval();
    spdlog::info("{}: the reference is a frozen copy of {} ({} trains the model's own weights)", spec().displayName,
                 ctx.run->model, peftType);
}

void PreferenceObjective::checkData(const std::vector<data::PreparedExample>& train, const std::string& where) const {
    for (const auto& e : train)
        if (!e.isPair())
            fail(where,
                 "holds single examples, but the objective " + spec().displayName + " trains on preference pairs",
                 "Use a preference dataset (prompt, chosen, rejected), or the objective {\"type\": \"sft\"}.");
}

void PreferenceObjective::prepareData(std::vector<data::PreparedExample>& train,
                                      std::vector<data::PreparedExample>& validation, const std::string& outputDir,
                                      int64_t batchSize, int64_t padId) {
    if (!spec().usesReference || !m_settings.value("precompute_reference", false)) return;
    const std::string path = (std::filesystem::path(outputDir) / "reference_logps.safetensors").string();
    std::vector<std::pair<std::string, std::vector<data::PreparedExample>*>> parts = {{"train", &train},
                                                                                      {"validation", &validation}};
    bool cached = std::filesystem::exists(path);
    std::map<std::string, torch::Tensor> saved;
    if (cached) {
        try {
            saved = loadSafetensors(path);
            for (const auto& [name, v] : parts) {
                auto it = saved.find(name);
                cached = cached && it != saved.end() && it->second.dim() == 2 &&
                    it->second.size(0) == static_cast<int64_t>(v->size()) && it->second.size(1) == 2;
            }
        } catch (const PeftError& e) {
            spdlog::warn("{}: {}; computing the reference log-probs again", path, e.what());
            cached = false;
        }
    }
    NamedTensors out;
    for (auto& [name, v] : parts) {
        torch::Tensor t;  // [n,2] fp32: chosen, rejected
        if (cached) {
            t = saved.at(name).to(torch::kFloat32).contiguous();
        } else {
            t = torch::empty({static_cast<int64_t>(v->size()), 2}, torch::kFloat32);
            data::forEachBatch(*v, batchSize, padId, [&](const data::Batch& b, size_t first, size_t rows) {
                auto [c, r] = referenceLogps(b);
                t.slice(0, static_cast<int64_t>(first), static_cast<int64_t>(first + rows))
                    .copy_(torch::stack({c, r}, 1).cpu());
            });
        }
        auto a = t.accessor<float, 2>();
        for (size_t i = 0; i < v->size(); ++i)
            (*v)[i].refLogps = {a[static_cast<int64_t>(i)][0], a[static_cast<int64_t>(i)][1]};
        out.emplace_back(name, t);
    }
    if (!cached) saveSafetensors(path, out);
    m_reference = nullptr;  // not needed any more
    spdlog::info("{}: reference log-probs of {} + {} pairs {} {}", spec().displayName, train.size(), validation.size(),
                 cached ? "read from" : "computed and written to", path);
}

std::pair<torch::Tensor, torch::Tensor> PreferenceObjective::referenceLogps(const data::Batch& b) {
    torch::NoGradGuard ng;
    const int64_t P = b.pairs;
    torch::Tensor ids = b.inputIds.to(m_ctx.device), mask = b.attentionMask.to(m_ctx.device);
    torch::Tensor labels = b.labels.to(m_ctx.device);
    SequenceLogps s;
    if (m_reference) {
        torch::Tensor hidden = m_reference->hiddenStates(ids, mask);
        s = sequenceLogps(*m_reference, hidden, alignLabels(hidden, labels));
    } else {
        AdapterDisabled off(*m_ctx.model);
        torch::Tensor hidden = m_ctx.model->hiddenStates(ids, mask);
        s = sequenceLogps(*m_ctx.model, hidden, alignLabels(hidden, labels));
    }
    return {s.logps.slice(0, 0, P), s.logps.slice(0, P, 2 * P)};
}

PairLogps splitPairs(const SequenceLogps& s, int64_t P) {
    PairLogps x;
    x.chosen = s.logps.slice(0, 0, P);
    x.rejected = s.logps.slice(0, P, 2 * P);
    x.chosenTokens = s.tokens.slice(0, 0, P);
    x.rejectedTokens = s.tokens.slice(0, P, 2 * P);
    x.chosenNll = -x.chosen.sum() / x.chosenTokens.sum().clamp_min(1.0);
    return x;
}

PairLogps PreferenceObjective::forwardPairs(const data::Batch& b) {
    if (b.pairs <= 0)
        fail("objective", spec().displayName + " needs batches of preference pairs", "Use a preference dataset.");
    const int64_t P = b.pairs;
    torch::Tensor ids = b.inputIds.to(m_ctx.device), mask = b.attentionMask.to(m_ctx.device);
    torch::Tensor hidden = m_ctx.model->hiddenStates(ids, mask);                                            // [2P,T,C]
    SequenceLogps s = sequenceLogps(*m_ctx.model, hidden, alignLabels(hidden, b.labels.to(m_ctx.device)));  // [2P]
    PairLogps x = splitPairs(s, P);
    if (spec().usesReference) {
        if (b.refLogps.defined()) {
            torch::Tensor r = b.refLogps.to(m_ctx.device);  // [2P], precomputed
            x.refChosen = r.slice(0, 0, P);
            x.refRejected = r.slice(0, P, 2 * P);
        } else {
            std::tie(x.refChosen, x.refRejected) = referenceLogps(b);
        }
    }
    return x;
}

namespace {

// Every reported value of a pair, [P] each, detached.
std::map<std::string, torch::Tensor> pairMetrics(const PairLoss& l) {
    std::map<std::string, torch::Tensor> m = {
        {"rewards_chosen", l.rewardsChosen.detach()},
        {"rewards_rejected", l.rewardsRejected.detach()},
        {"rewards_accuracy", l.rewardsChosen.detach().gt(l.rewardsRejected.detach()).to(torch::kFloat32)},
        {"rewards_margin", (l.rewardsChosen - l.rewardsRejected).detach()},
        {"logps_chosen", l.logpsChosen.detach()},
        {"logps_rejected", l.logpsRejected.detach()}};
    for (const auto& [k, v] : l.extra) m[k] = v.detach();
    return m;
}

}  // namespace

torch::Tensor PreferenceObjective::backward(const data::Batch& b, int64_t count, MetricSums& metrics) {
    PairLoss l = pairLoss(forwardPairs(b));
    torch::Tensor sum = l.loss.sum();
    (sum / static_cast<double>(std::max<int64_t>(1, count))).backward();
    for (const auto& [k, v] : pairMetrics(l)) {
        auto it = metrics.find(k);
        if (it == metrics.end()) metrics[k] = v.sum();
        else it->second = it->second + v.sum();
    }
    return sum.detach();
}

EvalResult PreferenceObjective::evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize,
                                         int64_t padId) {
    double lossSum = 0;
    int64_t pairs = 0;
    std::map<std::string, double> sums;
    data::forEachBatch(examples, batchSize, padId, [&](const data::Batch& b, size_t, size_t) {
        PairLoss l = pairLoss(forwardPairs(b));
        lossSum += l.loss.sum().item<double>();
        for (const auto& [k, v] : pairMetrics(l)) sums[k] += v.sum().item<double>();
        pairs += b.pairs;
    });
    EvalResult r;
    if (pairs == 0) return r;
    r.loss = lossSum / static_cast<double>(pairs);
    for (const auto& [k, v] : sums) r.metrics[k] = v / static_cast<double>(pairs);
    r.accuracy = r.metrics["rewards_accuracy"];
    return r;
}

}  // namespace peft
