// Prefix tuning's MethodSpec, as HF peft's PrefixTuningConfig: per layer P trained key and value
// vectors. Without projection an embedding [P, L*2*token_dim]; with prefix_projection an
// embedding [P, token_dim] and an MLP token_dim -> encoder_hidden_size -> L*2*token_dim (tanh),
// all trainable, while the saved adapter holds only the projected prefix [P, L*2*token_dim].
#include "core/peft/method_spec.h"
#include "core/peft/prompt_learning.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

namespace {

class PrefixTuningSpec : public spec::PlannedSpec {
public:
    PrefixTuningSpec() : PlannedSpec({"PREFIX_TUNING", "Prefix tuning", spec::kAddsVirtualTokens}) {}

    nlohmann::json peftOnlyFields() const override { return {{"init_weights", nullptr}}; }

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = startFootprint(mc, cfg);
        f.extraKeyTokens = spec::promptDims(mc, cfg, true, configName()).virtualTokens;
        f.firstGradLayer = 0;  // layer 0's prefix trains: the gradient runs through every layer
        return f;
    }

    std::vector<MethodCard> cards() const override {
        MethodCard c = card("prefix",
                            "Learns key and value vectors that every attention layer sees as if they came before the "
                            "input. It steers each layer without changing its weights.",
                            CardDiagram::Place::Prefix);
        c.params = {CardParam::integer("num_virtual_tokens", "Prefix length", 1, 512),
                    CardParam::flag("prefix_projection", "Reparameterise with an MLP"),
                    // 0 shows as "auto" and writes null: peft then uses the model's width (token_dim).
                    CardParam::integer("encoder_hidden_size", "MLP hidden size", 0, 65536)};
        return {c};
    }

private:
    std::vector<spec::Field> fields() const override {
        std::vector<spec::Field> f = spec::promptLearningFields(
            "How many trained key/value positions every attention layer sees before the real tokens.",
            "Width of each prefix vector; filled in (the key/value width on grouped-query models).",
            "Attention heads of the prefix (key/value heads on grouped-query models); filled in.");
        f.push_back({"prefix_projection", false, "bool",
                     "Produce the prefixes with a small trained MLP instead of training them directly (more "
                     "parameters while training, same adapter size)."});
        f.push_back({"encoder_hidden_size", nullptr, "int|null", "Hidden width of that MLP (defaults to token_dim)."});
        return f;
    }
    void checkValues(const nlohmann::json& cfg, const std::string& where) const override {
        spec::requireVirtualTokens(cfg, where);
        spec::requirePositive(cfg, "encoder_hidden_size", where);
    }

    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const override {
        auto [head, tree, r] = start(mc, cfg);
        const spec::PromptDims d = spec::promptDims(mc, cfg, true, configName());
        const int64_t P = d.virtualTokens;
        const int64_t width = d.layers * 2 * d.tokenDim;  // keys and values of every layer
        if (spec::getBool(cfg, "prefix_projection", false)) {
            const int64_t e = spec::getInt(cfg, "encoder_hidden_size", d.tokenDim);
            r.addAdapter(P * d.tokenDim, "prefix_embedding", -1);
            r.addAdapter(d.tokenDim * e + e, "prefix_mlp", -1);
            r.addAdapter(e * width + width, "prefix_mlp", -1);
        } else {
            for (int64_t l = 0; l < d.layers; ++l)
                r.addAdapter(P * 2 * d.tokenDim, "prefix_kv", l < mc.numLayers ? l : -1);
        }
        if (saved) saved->push_back({"prompt_embeddings", {P, width}});
        spec::applyModulesToSave(tree, cfg, head, r, saved, "base_model.");
        return r;
    }
};

}  // namespace

const MethodSpec& prefixTuningMethodSpec() { return spec::instance<PrefixTuningSpec>(); }

}  // namespace peft
