// Prefix tuning's MethodSpec, as HF peft's PrefixTuningConfig: per layer P trained key and value
// vectors. Without projection an embedding [P, L*2*token_dim]; with prefix_projection an
// embedding [P, token_dim] and an MLP token_dim -> encoder_hidden_size -> L*2*token_dim (tanh),
// all trainable, while the saved adapter holds only the projected prefix [P, L*2*token_dim].
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/peft/prompt_learning.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

std::unique_ptr<Method> makePrefixTuningMethod();  // the torch side, prefix_tuning/prefix_tuning.cpp

namespace {

class PrefixTuningSpec : public spec::PlannedSpec {
public:
    std::string peftType() const override { return "PREFIX_TUNING"; }
    std::string displayName() const override { return "Prefix tuning"; }
    std::unique_ptr<Method> create() const override { return makePrefixTuningMethod(); }
    bool addsVirtualTokens() const override { return true; }

    nlohmann::json defaults() const override {
        return {{"peft_type", "PREFIX_TUNING"}, {"task_type", "CAUSAL_LM"}, {"num_virtual_tokens", 20},
                {"token_dim", nullptr}, {"num_transformer_submodules", nullptr}, {"num_attention_heads", nullptr},
                {"num_layers", nullptr}, {"encoder_hidden_size", nullptr}, {"prefix_projection", false},
                {"modules_to_save", nullptr}};
    }

    nlohmann::json peftOnlyFields() const override { return {{"init_weights", nullptr}}; }

    nlohmann::json help() const override {
        return {{"num_virtual_tokens", "How many trained key/value positions every attention layer sees before the real tokens."},
                {"token_dim", "Width of each prefix vector; filled in (the key/value width on grouped-query models)."},
                {"num_transformer_submodules", "1 for decoder-only models; filled in."},
                {"num_attention_heads", "Attention heads of the prefix (key/value heads on grouped-query models); filled in."},
                {"num_layers", "The model's decoder layers; filled in."},
                {"prefix_projection", "Produce the prefixes with a small trained MLP instead of training them directly (more parameters while training, same adapter size)."},
                {"encoder_hidden_size", "Hidden width of that MLP (defaults to token_dim)."},
                {"modules_to_save", "Whole modules (for example a classification head) to train in full and store in the adapter."}};
    }

    void validate(const nlohmann::json& cfg, const std::string& where) const override {
        std::vector<spec::FieldRule> rules = spec::promptLearningRules();
        rules.push_back({"encoder_hidden_size", "int|null"});
        rules.push_back({"prefix_projection", "bool"});
        spec::checkFields(cfg, where, rules, spec::keysOf(peftOnlyFields()));
        if (!cfg.contains("num_virtual_tokens")) fail(where, "missing key 'num_virtual_tokens'", "For example 20.");
        spec::requirePositive(cfg, "num_virtual_tokens", where);
        spec::requirePositive(cfg, "encoder_hidden_size", where);
    }

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = startFootprint(mc, cfg);
        f.extraKeyTokens = spec::promptDims(mc, cfg, true, configName()).virtualTokens;
        f.firstGradLayer = 0;  // layer 0's prefix trains: the gradient runs through every layer
        return f;
    }

private:
    std::string configName() const override { return "prefix tuning config"; }

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
            for (int64_t l = 0; l < d.layers; ++l) r.addAdapter(P * 2 * d.tokenDim, "prefix_kv", l < mc.numLayers ? l : -1);
        }
        if (saved) saved->push_back({"prompt_embeddings", {P, width}});
        spec::applyModulesToSave(tree, cfg, head, r, saved, "base_model.");
        return r;
    }
};

}  // namespace

const MethodSpec& prefixTuningMethodSpec() {
    static const PrefixTuningSpec k;
    return k;
}

}  // namespace peft
