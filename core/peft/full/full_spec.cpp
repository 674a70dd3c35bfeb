// Full fine-tuning's MethodSpec (FULL): every base parameter trains; nothing is added; the export
// is a whole model (model.safetensors with transformers' key names, the tied head saved once).
#include "core/peft/method_spec.h"
#include "core/peft/module_tree.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

namespace {

class FullSpec : public MethodSpec {
public:
    std::string peftType() const override { return "FULL"; }
    std::string displayName() const override { return "Full fine-tuning"; }
    bool replacesBase() const override { return true; }

    nlohmann::json defaults() const override { return {{"peft_type", "FULL"}, {"task_type", "CAUSAL_LM"}}; }
    nlohmann::json help() const override {
        return {{"task_type", "CAUSAL_LM (next-token prediction) or SEQ_CLS (a classification head on the last token)."}};
    }
    void validate(const nlohmann::json& cfg, const std::string& where) const override {
        if (cfg.is_null()) return;
        spec::checkFields(cfg, where, {}, {});
    }

    ParamReport count(const ModelConfig& mc, const nlohmann::json& cfg) const override { return plan(mc, cfg, nullptr); }
    std::vector<SavedTensor> savedTensors(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        std::vector<SavedTensor> s;
        plan(mc, cfg, &s);
        return s;
    }
    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        validate(cfg, "full fine-tuning config");
        TrainingFootprint f = spec::emptyFootprint(mc);
        for (auto& layer : f.linears)
            for (auto& l : layer) l.inputSaved = true;  // every weight trains: every linear keeps its input
        f.normWeightsTrain = true;
        f.normAffineTrains = true;
        f.embeddingTrains = true;
        f.lmHeadTrains = true;
        f.firstGradLayer = 0;
        return f;
    }

private:
    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const {
        const std::string where = "full fine-tuning config";
        validate(cfg, where);
        ModuleTree tree = moduleTree(mc, cfg.is_null() ? TaskHead::CausalLm : taskHeadFromConfig(cfg, where));
        ParamReport r = spec::emptyReport(mc, tree);
        for (const auto& m : tree.modules) {
            if (m.tiedToEmbedding) continue;  // shares the embedding's tensor
            r.trainBase(m.params(), spec::moduleTypeLabel(m), m.layer);
            if (saved) {
                std::vector<int64_t> w;
                if (m.kind == ModuleKind::Norm) w = {m.in};
                else if (m.kind == ModuleKind::Embedding || m.conv1d) w = {m.in, m.out};
                else w = {m.out, m.in};
                saved->push_back({m.path + ".weight", w, true});
                if (m.bias) saved->push_back({m.path + ".bias", {m.out}, true});
            }
        }
        return r;
    }
};

}  // namespace

const MethodSpec& fullMethodSpec() {
    static const FullSpec k;
    return k;
}

}  // namespace peft
