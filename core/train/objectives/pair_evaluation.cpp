// Base vs tuned preference accuracy on a run's validation pairs (see pair_evaluation.h).
#include "core/train/objectives/pair_evaluation.h"

#include <chrono>
#include <optional>

#include "core/data/batcher.h"
#include "core/data/dataset_config.h"
#include "core/data/prepare.h"
#include "core/eval/evaluator.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/lm_loss.h"
#include "core/train/objectives/preference.h"
#include "core/train/run_config.h"
#include "core/util/error.h"

namespace peft {

using nlohmann::json;

json PairEvalReport::toJson() const {
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(); };
    json r = json::object();
    for (const auto& [side, s] : results)
        r[side] = {{"logp_accuracy", num(s.logpAccuracy)},
                   {"per_token_accuracy", num(s.perTokenAccuracy)},
                   {"mean_logp_margin", num(s.meanLogpMargin)},
                   {"rewards_accuracy", num(s.rewardAccuracy)},
                   {"mean_rewards_margin", num(s.meanRewardMargin)}};
    return {{"objective", objective},    {"pairs", pairs},         {"sides", sides},    {"results", r},
            {"reward_note", rewardNote}, {"cancelled", cancelled}, {"seconds", seconds}};
}

namespace {

// Running sums of one side's per-pair comparisons.
struct SideSums {
    double logpWins = 0, tokenWins = 0, logpMargin = 0, rewardWins = 0, rewardMargin = 0;
    bool rewards = false;
};

// Summed log-probabilities of every sequence of a pair batch (chosen rows, then rejected), [2P] each.
SequenceLogps batchLogps(CausalLMImpl& model, const data::Batch& b, torch::Device device) {
    torch::Tensor ids = b.inputIds.to(device), mask = b.attentionMask.to(device);
    torch::Tensor hidden = model.hiddenStates(ids, mask);  // [2P,T,C]
    SequenceLogps s = sequenceLogps(model, hidden, alignLabels(hidden, b.labels.to(device)));
    return {s.logps.to(torch::kCPU), s.tokens.to(torch::kCPU)};
}

void addComparisons(SideSums& acc, const PairLogps& x, const PreferenceObjective* obj) {
    acc.logpWins += x.chosen.gt(x.rejected).sum().item<double>();
    torch::Tensor a = x.chosen / x.chosenTokens.clamp_min(1.0),
                  b = x.rejected / x.rejectedTokens.clamp_min(1.0);  // [P]
    acc.tokenWins += a.gt(b).sum().item<double>();
    acc.logpMargin += (x.chosen - x.rejected).sum().item<double>();
    if (!obj) return;
    // The objective's own rewards (DPO: against the reference in x; ORPO, SimPO: scaled per-token means).
    PairLoss l = obj->pairLoss(x);
    acc.rewards = true;
    acc.rewardWins += l.rewardsChosen.gt(l.rewardsRejected).sum().item<double>();
    acc.rewardMargin += (l.rewardsChosen - l.rewardsRejected).sum().item<double>();
}

}  // namespace

PairEvalReport evaluatePreferencePairs(const RunConfig& run, const PairEvalOptions& opts) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string where = run.dataset.value("path", std::string("dataset"));
    PairEvalReport rep;
    rep.objective = run.objective.value("type", std::string("sft"));
    const ObjectiveSpec& spec = objectiveSpec(rep.objective);

    // The validation pairs, split as the trainer splits them.
    data::DatasetConfig dc = data::DatasetConfig::fromJson(run.dataset, "run.json: dataset");
    auto tok = Tokenizer::load(run.model);
    data::PrepareOptions po;
    po.seed = run.training.seed;
    po.cancelled = [&opts] { return opts.cancel && opts.cancel->load(); };
    data::PreparedDataset pd;
    try {
        pd = data::prepareDataset(dc, tok.get(), po);
    } catch (const data::Cancelled&) {
        rep.cancelled = true;
        return rep;
    }
    if (pd.format != data::DataFormat::Preference)
        fail(where, "holds " + data::formatName(pd.format) + " rows, not preference pairs",
             "Preference accuracy needs a dataset of prompt, chosen and rejected answers.");
    std::vector<const data::PreparedExample*> pairs;
    for (const auto& e : pd.validation)
        if (e.isPair() && (opts.limit < 0 || static_cast<int64_t>(pairs.size()) < opts.limit)) pairs.push_back(&e);
    if (pairs.empty())
        fail("run.json: dataset", "the run has no validation pairs",
             "Set dataset.validation_split above 0 (e.g. 0.1) or give a validation_path.");

    // The base model, with the run's adapter (switched off for the base side), or two models.
    ModelOptions mo;
    mo.dtype = torch::kFloat32;
    mo.device = opts.device == "auto"
        ? (torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU))
        : torch::Device(opts.device);
    const eval::EvalJob job = eval::jobForRun(run);
    LoadedModel base = loadModel(run.model, mo);
    Adapter adapter;
    if (!job.adapterDir.empty()) adapter = loadAdapter(*base.model, job.adapterDir);
    base.model->to(mo.device);
    base.model->eval();
    LoadedModel tunedModel;
    if (!job.tunedModelDir.empty()) {
        tunedModel = loadModel(job.tunedModelDir, mo);
        tunedModel.model->to(mo.device);
        tunedModel.model->eval();
    }
    const bool hasTuned = !job.adapterDir.empty() || !job.tunedModelDir.empty();
    rep.sides = {"base"};
    if (hasTuned) rep.sides.push_back("tuned");

    std::unique_ptr<Objective> objective;
    const PreferenceObjective* pref = nullptr;
    if (spec.preference) {
        objective = makeObjective(run.objective, false);
        pref = dynamic_cast<const PreferenceObjective*>(objective.get());
    }
    if (!pref)
        rep.rewardNote =
            "The objective " + spec.displayName + " defines no rewards; only the log-probabilities are compared.";
    else if (spec.usesReference)
        rep.rewardNote = spec.displayName +
            "'s rewards are measured against the base model (the reference), so the base "
            "has none; the tuned side's are what training reports as eval_rewards_accuracy.";
    else
        rep.rewardNote =
            spec.displayName + "'s rewards are scaled per-token mean log-probabilities, defined for both sides.";

    torch::NoGradGuard ng;
    SideSums sums[2];
    const int64_t total = static_cast<int64_t>(pairs.size());
    const int64_t bs = std::max<int64_t>(1, opts.batchSize);
    for (int64_t s = 0; s < total; s += bs) {
        if (opts.cancel && opts.cancel->load()) {
            rep.cancelled = true;
            break;
        }
        std::vector<const data::PreparedExample*> rows(pairs.begin() + s, pairs.begin() + std::min(total, s + bs));
        data::Batch b = data::Batcher::collate(rows, pd.padId);
        const int64_t P = b.pairs;
        SequenceLogps baseLp;
        {
            std::optional<AdapterDisabled> off;
            if (!job.adapterDir.empty()) off.emplace(*base.model);
            baseLp = batchLogps(*base.model, b, mo.device);
        }
        PairLogps bx = splitPairs(baseLp, P);
        // The base is the reference of a reference-based objective: its own rewards would be 0 by definition.
        addComparisons(sums[0], bx, spec.usesReference ? nullptr : pref);
        if (hasTuned) {
            SequenceLogps tunedLp =
                batchLogps(job.tunedModelDir.empty() ? *base.model : *tunedModel.model, b, mo.device);
            PairLogps tx = splitPairs(tunedLp, P);
            tx.refChosen = bx.chosen;
            tx.refRejected = bx.rejected;
            addComparisons(sums[1], tx, pref);
        }
        rep.pairs += P;
        if (opts.onProgress) opts.onProgress(rep.pairs, total);
    }
    for (size_t k = 0; k < rep.sides.size(); ++k) {
        if (rep.pairs == 0) break;
        const double n = static_cast<double>(rep.pairs);
        PairSideResult r;
        r.logpAccuracy = sums[k].logpWins / n;
        r.perTokenAccuracy = sums[k].tokenWins / n;
        r.meanLogpMargin = sums[k].logpMargin / n;
        if (sums[k].rewards) {
            r.rewardAccuracy = sums[k].rewardWins / n;
            r.meanRewardMargin = sums[k].rewardMargin / n;
        }
        rep.results[rep.sides[k]] = r;
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace peft
