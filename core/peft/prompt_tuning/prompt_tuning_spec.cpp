// Prompt tuning's MethodSpec, as HF peft's PromptTuningConfig: num_virtual_tokens trained input
// embeddings [P * num_transformer_submodules, token_dim] prepended to every sequence.
#include "core/peft/method_spec.h"
#include "core/peft/prompt_learning.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft {

namespace {

class PromptTuningSpec : public spec::PlannedSpec {
public:
    PromptTuningSpec() : PlannedSpec({"PROMPT_TUNING", "Prompt tuning", spec::kAddsVirtualTokens}) {}

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = startFootprint(mc, cfg);
        // The virtual tokens run through every layer; the gradient reaches the input.
        f.extraQueryTokens = spec::promptDims(mc, cfg, false, configName()).virtualTokens;
        f.firstGradLayer = 0;
        return f;
    }

    std::vector<MethodCard> cards() const override {
        MethodCard c =
            card("prompt",
                 "Learns a few virtual token embeddings that are put in front of every input. The model itself "
                 "is untouched; only those vectors are trained.",
                 CardDiagram::Place::Prompt);
        c.params = {CardParam::integer("num_virtual_tokens", "Virtual tokens", 1, 512),
                    CardParam::choice("prompt_tuning_init", "Initialisation", {"RANDOM", "TEXT"}),
                    CardParam::text("prompt_tuning_init_text", "Init text")};
        return {c};
    }

private:
    std::vector<spec::Field> fields() const override {
        std::vector<spec::Field> f =
            spec::promptLearningFields("How many trained embedding vectors are put in front of every input.",
                                       "Width of each virtual token; filled in from the model's hidden size.",
                                       "The model's attention heads; filled in.");
        f.push_back({"prompt_tuning_init", "RANDOM", "string",
                     "How the virtual tokens start: RANDOM, TEXT (the embeddings of prompt_tuning_init_text) or "
                     "SAMPLE_VOCAB."});
        f.push_back({"prompt_tuning_init_text", nullptr, "string|null",
                     "Text whose token embeddings initialise the virtual tokens when prompt_tuning_init is TEXT."});
        f.push_back({"tokenizer_name_or_path", nullptr, "string|null",
                     "Tokenizer for prompt_tuning_init_text (defaults to the model's)."});
        f.push_back({"tokenizer_kwargs", nullptr, "object|null", "Extra options for loading that tokenizer."});
        return f;
    }
    void checkValues(const nlohmann::json& cfg, const std::string& where) const override {
        spec::requireVirtualTokens(cfg, where);
        const std::string init = spec::getString(cfg, "prompt_tuning_init", "RANDOM");
        if (init != "RANDOM" && init != "TEXT" && init != "SAMPLE_VOCAB")
            fail(where, "key 'prompt_tuning_init' must be RANDOM, TEXT or SAMPLE_VOCAB (got " + init + ")", "");
        if (init == "TEXT" && spec::getString(cfg, "prompt_tuning_init_text", "").empty())
            fail(where, "prompt_tuning_init is TEXT but 'prompt_tuning_init_text' is empty", "Give the initial text.");
    }

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

const MethodSpec& promptTuningMethodSpec() { return spec::instance<PromptTuningSpec>(); }

}  // namespace peft
