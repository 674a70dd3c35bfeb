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

class PrefixTuningSpec : public MethodSpec {
public:
    std::string peftType() const override { return "PREFIX_TUNING"; }
    std::string displayName() const override { return "Prefix tuning"; }

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

    ParamReport count(const ModelConfig& mc, const nlohmann::json& cfg) const override { return plan(mc, cfg, nullptr); }
    std::vector<SavedTensor> savedTensors(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        std::vector<SavedTensor> s;
        plan(mc, cfg, &s);
        return s;
    }
    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        validate(cfg, "prefix tuning config");
        TrainingFootprint f = spec::emptyFootprint(mc);
        f.extraKeyTokens = spec::promptDims(mc, cfg, true, "prefix tuning config").virtualTokens;
        f.firstGradLayer = 0;  // layer 0's prefix trains: the gradient runs through every layer
        f.lmHeadTrains = taskHeadFromConfig(cfg, "prefix tuning config") == TaskHead::SequenceClassification ||
                         !spec::getJson(cfg, "modules_to_save").is_null();
        return f;
    }

private:
    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const {
        const std::string where = "prefix tuning config";
        validate(cfg, where);
        const TaskHead head = taskHeadFromConfig(cfg, where);
        ModuleTree tree = moduleTree(mc, head);
        ParamReport r = spec::emptyReport(mc, tree);
        const spec::PromptDims d = spec::promptDims(mc, cfg, true, "prefix tuning config");
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
