// Best-first module selection under top-k / threshold / exact LoRA budget, and rank allocation.
#include "core/select/selection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/peft/method_spec.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft::select {

nlohmann::json Selection::toJson() const {
    nlohmann::json mods = nlohmann::json::array();
    for (const auto& m : modules)
        mods.push_back({{"path", m.path},
                        {"name", m.name},
                        {"layer", m.layer},
                        {"score", m.score},
                        {"rank", m.rank},
                        {"params", m.params}});
    return {{"modules", mods},
            {"target_modules", targetModules},
            {"rank_pattern", rankPattern},
            {"alpha_pattern", alphaPattern},
            {"trainable_params", trainable},
            {"budget", budget},
            {"adapter_config", adapterConfig}};
}

namespace {

nlohmann::json loraConfig(const std::vector<std::string>& targets, const nlohmann::json& rankPattern,
                          const nlohmann::json& alphaPattern, const SelectionOptions& o, bool conv1d = false) {
    nlohmann::json c = {{"peft_type", "LORA"},       {"task_type", "CAUSAL_LM"},    {"r", o.r},
                        {"lora_alpha", o.alpha},     {"lora_dropout", 0.0},         {"bias", "none"},
                        {"target_modules", targets}, {"rank_pattern", rankPattern}, {"alpha_pattern", alphaPattern}};
    if (conv1d) c["fan_in_fan_out"] = true;  // GPT-2's Conv1D stores [in, out]; peft sets it too
    if (!o.baseModel.empty()) c["base_model_name_or_path"] = o.baseModel;
    return c;
}

int64_t exactCount(const ModelConfig& mc, const std::vector<std::string>& targets, const nlohmann::json& rankPattern,
                   const SelectionOptions& o) {
    if (targets.empty()) return 0;
    return methodSpec("LORA").count(mc, loraConfig(targets, rankPattern, nlohmann::json::object(), o)).trainable;
}

}  // namespace

Selection selectModules(const ImportanceReport& report, const ModelConfig& mc, const SelectionOptions& o) {
    const std::string where = "selection";
    if (report.modules.empty()) fail(where, "the importance report has no modules", "Score the model first.");
    if (o.r < 1) fail(where, "LoRA rank r must be at least 1, got " + std::to_string(o.r), "Use --r 1 or more.");
    if (o.alpha <= 0) fail(where, "lora_alpha must be positive", "Use --alpha with a positive number.");
    if (o.threshold < 0 || o.threshold > 1)
        fail(where, "threshold must be in [0, 1] (a fraction of the best score), got " + std::to_string(o.threshold),
             "Use e.g. --threshold 0.5 to keep modules scoring at least half the best.");
    if (o.topK < 0) fail(where, "top-k must be positive", "Use --top-k 1 or more.");
    if (o.budget < 0) fail(where, "budget must be positive", "Use --budget with a parameter count.");

    const std::vector<size_t> order = report.ranking(o.method);
    const double best = report.modules[order.front()].score(o.method);
    Selection sel;
    sel.budget = o.budget;
    std::vector<size_t> chosen;
    std::vector<std::string> targets;
    int64_t spent = 0;
    for (size_t idx : order) {
        if (o.topK > 0 && static_cast<int64_t>(chosen.size()) >= o.topK) break;
        const ModuleScore& m = report.modules[idx];
        if (o.threshold > 0 && m.score(o.method) < o.threshold * best) continue;
        targets.push_back(m.path);
        if (o.budget > 0) {
            const int64_t n = exactCount(mc, targets, nlohmann::json::object(), o);
            if (n > o.budget) {
                targets.pop_back();  // does not fit; a cheaper, lower-ranked module still may
                continue;
            }
            spent = n;
        }
        chosen.push_back(idx);
    }
    if (chosen.empty()) {
        if (o.budget > 0)
            fail(where,
                 "no module fits in a budget of " + std::to_string(o.budget) +
                     " trainable parameters at r=" + std::to_string(o.r),
                 "Raise --budget or lower --r.");
        fail(where, "no module passes the threshold", "Lower --threshold.");
    }
    const int64_t uniformTotal = o.budget > 0 ? spent : exactCount(mc, targets, nlohmann::json::object(), o);

    // Exact per-module cost at rank 1 (LoRA's count is linear in r: r * (in + out) here).
    std::vector<int64_t> unit(chosen.size());
    for (size_t i = 0; i < chosen.size(); ++i)
        unit[i] = exactCount(mc, {report.modules[chosen[i]].path}, nlohmann::json::object(), [&] {
            SelectionOptions one = o;
            one.r = 1;
            return one;
        }());

    std::vector<int64_t> ranks(chosen.size(), o.r);
    if (o.allocateRanks && chosen.size() > 1) {
        const int64_t total = o.budget > 0 ? o.budget : uniformTotal;
        double weighted = 0;
        for (size_t i = 0; i < chosen.size(); ++i)
            weighted += std::max(0.0, report.modules[chosen[i]].score(o.method)) * static_cast<double>(unit[i]);
        std::vector<double> ideal(chosen.size());
        std::vector<int64_t> cap(chosen.size());
        int64_t used = 0;
        for (size_t i = 0; i < chosen.size(); ++i) {
            const ModuleScore& m = report.modules[chosen[i]];
            cap[i] = std::max<int64_t>(1, std::min(m.in, m.out));
            ideal[i] = weighted > 0 ? std::max(0.0, m.score(o.method)) * static_cast<double>(total) / weighted
                                    : static_cast<double>(o.r);
            ranks[i] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ideal[i])), 1, cap[i]);
            used += ranks[i] * unit[i];
        }
        // The minimum of 1 can overshoot: take back from the most over-served modules first.
        while (used > total) {
            size_t pick = chosen.size();
            double worst = -1;
            for (size_t i = 0; i < chosen.size(); ++i) {
                if (ranks[i] <= 1) continue;
                const double over = static_cast<double>(ranks[i]) / std::max(ideal[i], 1e-12);
                if (over > worst) worst = over, pick = i;
            }
            if (pick == chosen.size()) break;  // all at 1: fits, since r >= 1 fitted
            --ranks[pick];
            used -= unit[pick];
        }
        // Top up: the module furthest below its ideal rank gets +1 while anything still fits.
        for (;;) {
            size_t pick = chosen.size();
            double deficit = -1e300;
            for (size_t i = 0; i < chosen.size(); ++i) {
                if (ranks[i] >= cap[i] || used + unit[i] > total) continue;
                const double d = ideal[i] - static_cast<double>(ranks[i]);
                if (d > deficit) deficit = d, pick = i;
            }
            if (pick == chosen.size() || deficit <= 0) break;
            ++ranks[pick];
            used += unit[pick];
        }
    }

    for (size_t i = 0; i < chosen.size(); ++i) {
        const ModuleScore& m = report.modules[chosen[i]];
        SelectedModule s;
        s.path = m.path;
        s.name = m.name;
        s.layer = m.layer;
        s.score = m.score(o.method);
        s.rank = ranks[i];
        s.params = ranks[i] * unit[i];
        sel.modules.push_back(s);
        sel.targetModules.push_back(m.path);
        if (ranks[i] != o.r) {
            sel.rankPattern[m.path] = ranks[i];
            // Keep peft's scale alpha / r the same as at rank r.
            sel.alphaPattern[m.path] = o.alpha * static_cast<double>(ranks[i]) / static_cast<double>(o.r);
        }
    }
    // peft reads a pattern key as the regex (.*\.)?(key): make sure each key names only its module.
    for (auto it = sel.rankPattern.begin(); it != sel.rankPattern.end(); ++it) {
        int hits = 0;
        for (const auto& m : report.modules) hits += patternKeyMatches(it.key(), m.path) ? 1 : 0;
        if (hits != 1)
            fail(where, "rank_pattern key '" + it.key() + "' would match " + std::to_string(hits) + " modules",
                 "Report this model's module names; allocate ranks off (--r only) meanwhile.");
    }
    bool conv1d = false;
    for (size_t i : chosen) conv1d |= report.modules[i].conv1d;
    sel.adapterConfig =
        methodSpec("LORA").withDefaults(loraConfig(sel.targetModules, sel.rankPattern, sel.alphaPattern, o, conv1d));
    sel.trainable = methodSpec("LORA").count(mc, sel.adapterConfig).trainable;
    if (o.budget > 0 && sel.trainable > o.budget)  // cannot happen: every step above was checked
        fail(where,
             "internal: selection uses " + std::to_string(sel.trainable) + " > budget " + std::to_string(o.budget),
             "Report this as a bug.");
    return sel;
}

}  // namespace peft::select
