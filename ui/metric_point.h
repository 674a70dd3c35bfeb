// One training step's metrics as the trainer reports them: a metrics.jsonl line, which is also how
// a live step reaches the GUI (StepMetrics::toJson is the one writer, fromJson the one reader).
#pragma once
#include <QMetaType>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>

namespace peft::ui {

struct MetricPoint {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
    int64_t step = 0;
    int64_t totalSteps = 0;  // 0 when unknown
    double epoch = kNone;
    double loss = kNone;
    double gradNorm = kNone;
    double lr = kNone;
    double tokensPerS = kNone;
    double elapsedS = kNone;
    double evalLoss = kNone;
    double evalPerplexity = kNone;
    double evalAccuracy = kNone;
    // training.generation_eval_every: the generation metrics of this step, without the "gen_"
    // prefix (em, contains, rougeL, bleu, chrf, ...); empty on the other steps.
    std::map<std::string, double> generation;
    // The objective's own metrics (preference: rewards_chosen, rewards_accuracy, ..., and after an
    // evaluation eval_rewards_accuracy, ...), by their metrics.jsonl names.
    std::map<std::string, double> objective;
    bool hasEval() const { return !std::isnan(evalLoss); }
    // NaN when the step did not report `name`.
    double objectiveMetric(const std::string& name) const {
        auto it = objective.find(name);
        return it == objective.end() ? kNone : it->second;
    }

    // Reads a metrics.jsonl object; absent fields stay NaN.
    static MetricPoint fromJson(const nlohmann::json& j) {
        MetricPoint p;
        auto num = [&](const char* k) {
            auto it = j.find(k);
            return it != j.end() && it->is_number() ? it->get<double>() : kNone;
        };
        if (j.contains("step") && j["step"].is_number()) p.step = j["step"].get<int64_t>();
        if (j.contains("total_steps") && j["total_steps"].is_number()) p.totalSteps = j["total_steps"].get<int64_t>();
        p.epoch = num("epoch");
        p.loss = num("loss");
        p.gradNorm = num("grad_norm");
        p.lr = num("lr");
        p.tokensPerS = num("tokens_per_s");
        p.elapsedS = num("elapsed_s");
        p.evalLoss = num("eval_loss");
        // Only a language-modelling loss has a perplexity: the trainer leaves it out for preference
        // objectives, and so does this (no exp(loss) of a DPO loss).
        p.evalPerplexity = num("eval_ppl");
        p.evalAccuracy = num("eval_accuracy");
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it.key().rfind("gen_", 0) == 0 && it->is_number()) p.generation[it.key().substr(4)] = it->get<double>();
        // Every other number is the objective's (generation metrics, gen_*, are not).
        static const std::set<std::string> kCommon = {"step",      "total_steps", "epoch",        "loss",
                                                      "grad_norm", "lr",          "tokens_per_s", "elapsed_s",
                                                      "eval_loss", "eval_ppl",    "eval_accuracy"};
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it->is_number() && !kCommon.count(it.key()) && it.key().rfind("gen_", 0) != 0)
                p.objective[it.key()] = it->get<double>();
        return p;
    }
};

}  // namespace peft::ui

Q_DECLARE_METATYPE(peft::ui::MetricPoint)
