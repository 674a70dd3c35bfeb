// Prompt tuning: num_virtual_tokens trained embeddings prepended to the input embeddings
// (peft's PromptEmbedding, saved as `prompt_embeddings` [P, C]).
#include "core/peft/prompt_tuning/prompt_tuning.h"

#include "core/peft/peft_common.h"
#include "core/util/error.h"

namespace peft {

nlohmann::json withPromptInitTokens(const nlohmann::json& config, const Tokenizer& tokenizer) {
    nlohmann::json c = config;
    std::string text = cfgString(config, "prompt_tuning_init_text", "");
    if (text.empty()) fail("adapter_config.json", "'prompt_tuning_init_text' is empty", "Give the text to start from.");
    c["prompt_tuning_init_token_ids"] = tokenizer.encode(text, true);
    return c;
}

namespace {

class Prompt : public PromptProvider {
public:
    int64_t numVirtualTokens() const override { return weight.size(0); }
    torch::Tensor embeddings(int64_t batch) override { return weight.unsqueeze(0).expand({batch, -1, -1}); }
    torch::Tensor weight;  // [P, C]
};

class PromptTuningMethod : public ModelSlotMethod {
public:
    std::string peftType() const override { return "PROMPT_TUNING"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) override {
        bindModel(model, name);
        const int64_t P = cfgInt(config, "num_virtual_tokens", 0);
        if (P <= 0) fail("adapter_config.json", "'num_virtual_tokens' must be a positive integer", "Use e.g. 8.");
        const int64_t subs = cfgInt(config, "num_transformer_submodules", 1);
        if (subs != 1)
            fail("adapter_config.json", "'num_transformer_submodules' = " + std::to_string(subs),
                 "Decoder-only models use 1.");
        const int64_t C = model.config().hiddenSize;
        const int64_t tokenDim = cfgInt(config, "token_dim", C);
        if (tokenDim != C)
            fail("adapter_config.json",
                 "'token_dim' = " + std::to_string(tokenDim) + " but the model's hidden size is " + std::to_string(C),
                 "Remove token_dim or set it to the hidden size.");
        const std::string init = cfgString(config, "prompt_tuning_init", "RANDOM");
        torch::Tensor emb = model.embeddingWeight();  // [V, C]
        torch::NoGradGuard ng;
        torch::Tensor w;
        if (init == "RANDOM") {
            w = torch::randn(
                {P, C}, torch::TensorOptions().dtype(torch::kFloat32).device(emb.device()));  // nn.Embedding's init
        } else if (init == "SAMPLE_VOCAB") {
            torch::Tensor ids = torch::randint(model.config().vocabSize, {P},
                                               torch::TensorOptions().dtype(torch::kInt64).device(emb.device()));
            w = emb.index_select(0, ids).to(torch::kFloat32).clone();
        } else if (init == "TEXT") {
            std::vector<int64_t> ids;
            if (config.contains("prompt_tuning_init_token_ids")) {
                ids = config["prompt_tuning_init_token_ids"].get<std::vector<int64_t>>();
            } else {
                // peft: tokenizer(prompt_tuning_init_text) with tokenizer_name_or_path's tokenizer
                // (here defaulting to the base model's folder).
                std::string tokDir =
                    cfgString(config, "tokenizer_name_or_path", cfgString(config, "base_model_name_or_path", ""));
                if (tokDir.empty())
                    fail("adapter_config.json", "prompt_tuning_init is TEXT but no tokenizer is named",
                         "Set tokenizer_name_or_path to the model folder, or call withPromptInitTokens(config, "
                         "tokenizer).");
                ids = withPromptInitTokens(config, *Tokenizer::load(tokDir))["prompt_tuning_init_token_ids"]
                          .get<std::vector<int64_t>>();
            }
            if (ids.empty())
                fail("adapter_config.json", "'prompt_tuning_init_text' gives no tokens", "Use a longer text.");
            // peft: truncate, or repeat the token list until it covers every virtual token.
            std::vector<int64_t> full;
            while (static_cast<int64_t>(full.size()) < P) full.insert(full.end(), ids.begin(), ids.end());
            full.resize(static_cast<size_t>(P));
            torch::Tensor t = torch::tensor(full, torch::kInt64).to(emb.device());
            if (t.max().item<int64_t>() >= emb.size(0))
                fail("prompt_tuning_init_text", "token id outside the vocabulary", "");
            w = emb.index_select(0, t).to(torch::kFloat32).clone();
        } else {
            fail("adapter_config.json", "'prompt_tuning_init' = \"" + init + "\"", "Use RANDOM, SAMPLE_VOCAB or TEXT.");
        }
        m_prompt = std::make_shared<Prompt>();
        m_prompt->weight = w.set_requires_grad(true);
        model.setPromptProvider(name, m_prompt);
        m_P = P;
        m_modules.attach(model, config, name);
    }

    std::vector<MethodTensor> ownTensors() const override {
        return {{"prompt_encoder." + m_name + ".embedding.weight", "prompt_embeddings", m_prompt->weight}};
    }
    void completeConfig(nlohmann::json& c) const override {
        c.erase("prompt_tuning_init_token_ids");
        c["num_virtual_tokens"] = m_P;
        c["token_dim"] = m_model->config().hiddenSize;
        c["num_transformer_submodules"] = 1;
        c["num_attention_heads"] = m_model->config().numHeads;
        c["num_layers"] = m_model->config().numLayers;
        if (!c.contains("prompt_tuning_init")) c["prompt_tuning_init"] = "RANDOM";
    }

private:
    std::shared_ptr<Prompt> m_prompt;
    int64_t m_P = 0;
};

}  // namespace

std::unique_ptr<Method> makePromptTuningMethod() { return std::make_unique<PromptTuningMethod>(); }

}  // namespace peft
