// (IA)^3's MethodSpec, as HF peft's IA3Config / IA3Model: one learned scaling vector per targeted
// module, ia3_l [out, 1] on its output, or [1, in] on its input for feedforward_modules.
#include "core/peft/method_spec.h"
#include "core/peft/spec_targets.h"
#include "core/peft/spec_util.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

namespace {

class Ia3Spec : public spec::OnePassSpec {
public:
    Ia3Spec() : OnePassSpec({"IA3", "(IA)\u00b3", spec::kMergesIntoBase}) {}

    Plan plan(const ModelConfig& mc, const nlohmann::json& cfg, bool wantSaved) const override {
        const std::string where = configName();
        Plan p = startPlan(mc, cfg, where, wantSaved);
        const ModuleTree& tree = p.tree;
        nlohmann::json ff = spec::getJson(cfg, "feedforward_modules");
        if (ff.is_null() && spec::getJson(cfg, "target_modules").is_null()) ff = spec::defaultFeedforward(mc);
        // peft: feedforward_modules must be a subset of target_modules.
        if (!ff.is_null()) {
            const auto targets = spec::selectTargets(tree, cfg, mc, "IA3", where);
            for (const auto& m : tree.modules) {
                if (m.kind != ModuleKind::Linear || !matchesTarget(ff, m.path)) continue;
                bool targeted = false;
                for (const ModuleEntry* t : targets) targeted = targeted || t == &m;
                if (!targeted)
                    fail(where, "feedforward_modules selects '" + m.path + "', which target_modules does not",
                         "feedforward_modules must be a subset of target_modules.");
            }
        }
        for (const ModuleEntry* m : spec::selectTargets(tree, cfg, mc, "IA3", where)) {
            if (m->kind == ModuleKind::Embedding)
                fail(where, "IA3 cannot target the embedding '" + m->path + "'", "Target linear layers only.");
            const bool isFf = !ff.is_null() && matchesTarget(ff, m->path);
            const int64_t n = isFf ? m->in : m->out;
            const std::string label = spec::moduleTypeLabel(*m);
            p.report.addAdapter(n, label, m->layer);
            if (wantSaved)
                p.saved.push_back({"base_model.model." + m->path + ".ia3_l",
                                   isFf ? std::vector<int64_t>{1, m->in} : std::vector<int64_t>{m->out, 1}});
            if (m->kind == ModuleKind::Head) {
                p.fp.lmHeadTrains = true;
                continue;
            }
            // x * ia3 keeps x cast to fp32 (feedforward: the linear's input, ia3.cpp scales it in
            // fp32); out * ia3 keeps the linear's output in the precision.
            LinearFootprint& f = keptFor(p, *m);
            if (isFf) f.adapterInputFp32 = true;
            else f.extraSaved += m->out;
        }
        finishPlan(p, cfg);
        return p;
    }

    std::vector<MethodCard> cards() const override {
        MethodCard c =
            card("ia3",
                 "Learns one scaling vector per adapted module that rescales keys, values and the feed-forward "
                 "activations. It trains the fewest parameters of all methods here.",
                 CardDiagram::Place::Scales);
        c.usesTargets = true;
        c.defaultPreset = "ia3";
        c.note = "Feed-forward modules (scaled on their input) are set automatically from the chosen targets.";
        return {c};
    }

private:
    std::vector<spec::Field> fields() const override {
        return {
            {"target_modules", nullptr, "list|string|null",
             "Modules whose activations get a learned per-channel scale (list of names, or a regex for the whole "
             "path)."},
            {"feedforward_modules", nullptr, "list|string|null",
             "Targeted modules whose input, not output, is scaled (the feed-forward down projection). Must also be in "
             "target_modules."},
            {"exclude_modules", nullptr, "list|string|null", "Modules never to adapt, written like target_modules."},
            {"fan_in_fan_out", false, "bool",
             "Set when the base layer stores its weight as [in, out] (GPT-2's Conv1D)."},
            spec::modulesToSaveField(),
            {"init_ia3_weights", true, "bool", "Start the scales at 1 so training starts from the base model."}};
    }
};

}  // namespace

const MethodSpec& ia3MethodSpec() { return spec::instance<Ia3Spec>(); }

}  // namespace peft
