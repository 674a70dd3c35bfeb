// BitFit's MethodSpec (our BITFIT type): only the base model's bias terms train (LayerNorm biases
// included), and the norm weights too when train_norms is set. Nothing is added; the
// adapter file holds those tensors under their base names.
#include "core/peft/method_spec.h"
#include "core/peft/module_tree.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

namespace {

class BitFitSpec : public spec::PlannedSpec {
public:
    BitFitSpec() : PlannedSpec({"BITFIT", "BitFit"}) {}

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = startFootprint(mc, cfg);
        // Bias gradients need no saved inputs, but the gradient runs down to layer 0.
        f.normWeightsTrain = spec::getBool(cfg, "train_norms", false);
        // Every bias trains: LayerNorm biases too (GPT-2).
        f.normAffineTrains = f.normWeightsTrain;
        for (const auto& m : moduleTree(mc, taskHeadFromConfig(cfg, configName())).modules)
            if (m.kind == ModuleKind::Norm && m.bias) f.normAffineTrains = true;
        f.firstGradLayer = 0;
        f.anyTrainable = count(mc, cfg).trainable > 0;
        return f;
    }

    std::vector<MethodCard> cards() const override {
        return {card("bitfit",
                     "Trains only the bias vectors of the model and freezes every weight matrix. It is tiny and "
                     "simple, but needs a model that has biases (GPT-2 does, Llama does not).",
                     CardDiagram::Place::Biases)};
    }

private:
    std::vector<spec::Field> fields() const override {
        return {
            {"train_norms", false, "bool",
             "Also train the LayerNorm/RMSNorm scale vectors (needed on models without bias terms, such as Llama)."},
            spec::modulesToSaveField()};
    }

    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const override {
        auto [head, tree, r] = start(mc, cfg);
        const bool norms = spec::getBool(cfg, "train_norms", false);
        for (const auto& m : tree.modules) {
            if (m.tiedToEmbedding) continue;
            const std::string label = spec::moduleTypeLabel(m);
            if (m.bias) {
                r.trainBase(m.biasParams(), label + ".bias", m.layer);
                if (saved) saved->push_back({"base_model.model." + m.path + ".bias", {m.out}, true});
            }
            if (norms && m.kind == ModuleKind::Norm) {
                r.trainBase(m.weightParams(), label + ".weight", m.layer);
                if (saved) saved->push_back({"base_model.model." + m.path + ".weight", {m.in}, true});
            }
        }
        if (r.trainable == 0)
            r.notes.push_back("this " + mc.modelType +
                              " model has no bias terms; set train_norms to train the norm scales");
        spec::applyModulesToSave(tree, cfg, head, r, saved);
        return r;
    }
};

}  // namespace

const MethodSpec& bitfitMethodSpec() { return spec::instance<BitFitSpec>(); }

}  // namespace peft
