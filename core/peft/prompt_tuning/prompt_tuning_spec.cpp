// Prompt tuning's MethodSpec, as HF peft's PromptTuningConfig: num_virtual_tokens trained input
// embeddings [P * num_transformer_submodules, token_dim] prepended to every sequence.
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/peft/prompt_learning.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

std::unique_ptr<Method> makePromptTuningMethod();  // the torch side, prompt_tuning/prompt_tuning.cpp

namespace {

class PromptTuningSpec : public spec::PlannedSpec {
public:
    std::string peftType() const override { return "PROMPT_TUNING"; }
    std::string displayName() const override { return "Prompt tuning"; }
    std::unique_ptr<Method> create() const override { return makePromptTuningMethod(); }
    bool addsVirtualTokens() const override { return true; }

    nlohmann::json defaults() const override {
        return {{"peft_type", "PROMPT_TUNING"}, {"task_type", "CAUSAL_LM"}, {"num_virtual_tokens", 20},
                {"token_dim", nullptr}, {"num_transformer_submodules", nullptr}, {"num_attention_heads", nullptr},
                {"num_layers", nullptr}, {"prompt_tuning_init", "RANDOM"}, {"prompt_tuning_init_text", nullptr},
                {"tokenizer_name_or_path", nullptr}, {"tokenizer_kwargs", nullptr}, {"modules_to_save", nullptr}};
    }

    nlohmann::json help() const override {
        return {{"num_virtual_tokens", "How many trained embedding vectors are put in front of every input."},
                {"token_dim", "Width of each virtual token; filled in from the model's hidden size."},
                {"num_transformer_submodules", "1 for decoder-only models (2 for encoder-decoder); filled in."},
                {"num_attention_heads", "The model's attention heads; filled in."},
                {"num_layers", "The model's decoder layers; filled in."},
                {"prompt_tuning_init", "How the virtual tokens start: RANDOM, TEXT (the embeddings of prompt_tuning_init_text) or SAMPLE_VOCAB."},
                {"prompt_tuning_init_text", "Text whose token embeddings initialise the virtual tokens when prompt_tuning_init is TEXT."},
                {"tokenizer_name_or_path", "Tokenizer for prompt_tuning_init_text (defaults to the model's)."},
                {"tokenizer_kwargs", "Extra options for loading that tokenizer."},
                {"modules_to_save", "Whole modules (for example a classification head) to train in full and store in the adapter."}};
    }

    void validate(const nlohmann::json& cfg, const std::string& where) const override {
        std::vector<spec::FieldRule> rules = spec::promptLearningRules();
        rules.push_back({"prompt_tuning_init", "string"});
        rules.push_back({"prompt_tuning_init_text", "string|null"});
        rules.push_back({"tokenizer_name_or_path", "string|null"});
        rules.push_back({"tokenizer_kwargs", "object|null"});
        spec::checkFields(cfg, where, rules, {});
        if (!cfg.contains("num_virtual_tokens")) fail(where, "missing key 'num_virtual_tokens'", "For example 20.");
        spec::requirePositive(cfg, "num_virtual_tokens", where);
        const std::string init = spec::getString(cfg, "prompt_tuning_init", "RANDOM");
        if (init != "RANDOM" && init != "TEXT" && init != "SAMPLE_VOCAB")
            fail(where, "key 'prompt_tuning_init' must be RANDOM, TEXT or SAMPLE_VOCAB (got " + init + ")", "");
        if (init == "TEXT" && spec::getString(cfg, "prompt_tuning_init_text", "").empty())
            fail(where, "prompt_tuning_init is TEXT but 'prompt_tuning_init_text' is empty", "Give the initial text.");
    }

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = startFootprint(mc, cfg);
        // The virtual tokens run through every layer; the gradient reaches the input.
        f.extraQueryTokens = spec::promptDims(mc, cfg, false, configName()).virtualTokens;
        f.firstGradLayer = 0;
        return f;
    }

private:
    std::string configName() const override { return "prompt tuning config"; }

    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const override {
        auto [head, tree, r] = start(mc, cfg);
        const spec::PromptDims d = spec::promptDims(mc, cfg, false, configName());
        const int64_t rows = d.virtualTokens * d.submodules;
        r.addAdapter(rows * d.tokenDim, "prompt_encoder", -1);
        if (saved) saved->push_back({"prompt_embeddings", {rows, d.tokenDim}});
        spec::applyModulesToSave(tree, cfg, head, r, saved, "base_model.");
        return r;
    }
};

}  // namespace

const MethodSpec& promptTuningMethodSpec() {
    static const PromptTuningSpec k;
    return k;
}

}  // namespace peft
