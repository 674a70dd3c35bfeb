// Full fine-tuning's MethodSpec (FULL): every base parameter trains; nothing is added; the export
// is a whole model (model.safetensors with transformers' key names, the tied head saved once).
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/peft/module_tree.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

std::unique_ptr<Method> makeFullMethod();  // the torch side, full/full.cpp

namespace {

class FullSpec : public spec::PlannedSpec {
public:
    std::string peftType() const override { return "FULL"; }
    std::string displayName() const override { return "Full fine-tuning"; }
    std::unique_ptr<Method> create() const override { return makeFullMethod(); }
    bool replacesBase() const override { return true; }

    nlohmann::json defaults() const override { return {{"peft_type", "FULL"}, {"task_type", "CAUSAL_LM"}}; }
    nlohmann::json help() const override {
        return {{"task_type", "CAUSAL_LM (next-token prediction) or SEQ_CLS (a classification head on the last token)."}};
    }
    void validate(const nlohmann::json& cfg, const std::string& where) const override {
        if (cfg.is_null()) return;
        spec::checkFields(cfg, where, {}, {});
    }

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = startFootprint(mc, cfg);
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
    std::string configName() const override { return "full fine-tuning config"; }

    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const override {
        auto [head, tree, r] = start(mc, cfg);
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
