// Full fine-tuning's MethodSpec (FULL): every base parameter trains; nothing is added; the export
// is a whole model (model.safetensors with transformers' key names, the tied head saved once).
#include "core/peft/method_spec.h"
#include "core/peft/module_tree.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

namespace {

class FullSpec : public spec::PlannedSpec {
public:
    FullSpec() : PlannedSpec({"FULL", "Full fine-tuning", spec::kReplacesBase}) {}

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

    std::vector<MethodCard> cards() const override {
        return {card("full",
                     "Trains every parameter of the model. It is the reference for quality, and by far the most "
                     "expensive in memory and disk.",
                     CardDiagram::Place::Everything)};
    }

private:
    std::vector<spec::Field> fields() const override {
        return {{"task_type", "CAUSAL_LM", nullptr,
                 "CAUSAL_LM (next-token prediction) or SEQ_CLS (a classification head on the last token)."}};
    }

    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const override {
        auto [head, tree, r] = start(mc, cfg);
        for (const auto& m : tree.modules) {
            if (m.tiedToEmbedding) continue;  // shares the embedding's tensor
            r.trainBase(m.params(), spec::moduleTypeLabel(m), m.layer);
            if (saved) {
                saved->push_back({m.path + ".weight", spec::savedWeightShape(m), true});
                if (m.bias) saved->push_back({m.path + ".bias", {m.out}, true});
            }
        }
        return r;
    }
};

}  // namespace

const MethodSpec& fullMethodSpec() { return spec::instance<FullSpec>(); }

}  // namespace peft
