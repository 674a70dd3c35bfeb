// Prefix tuning: per-layer key/value prefixes that attention reads as past keys (peft's
// PrefixEncoder). The table is [P, L*2*kvDim]; with prefix_projection an MLP
// (Embedding [P,kvDim] -> Linear -> Tanh -> Linear) produces it, and only its output is saved.
#include "core/peft/peft_common.h"
#include "core/util/error.h"

namespace peft {

namespace {

class Prefix : public PrefixProvider {
public:
    int64_t length() const override { return P; }

    // [P, L*2*kvDim]
    torch::Tensor table() {
        if (!projection || !embedding.defined()) return direct;
        torch::Tensor h = torch::tanh(torch::nn::functional::linear(embedding, w1, b1));  // [P,kvDim] -> [P,enc]
        return torch::nn::functional::linear(h, w2, b2);                                  // -> [P, L*2*kvDim]
    }

    std::vector<LayerCache> keyValues(int64_t batch) override {
        // peft: view [B,P,2L,kvH,D] -> permute [2L,B,kvH,P,D] -> split in pairs (k, v) per layer.
        torch::Tensor t = table().view({P, 2 * L, kvH, D}).permute({1, 2, 0, 3});  // [2L,kvH,P,D]
        std::vector<LayerCache> out(static_cast<size_t>(L));
        for (int64_t i = 0; i < L; ++i) {
            out[i].k = t[2 * i].unsqueeze(0).expand({batch, -1, -1, -1});
            out[i].v = t[2 * i + 1].unsqueeze(0).expand({batch, -1, -1, -1});
        }
        return out;
    }

    int64_t P = 0, L = 0, kvH = 0, D = 0;
    bool projection = false;
    torch::Tensor direct;                     // [P, L*2*kvDim] (no projection, or loaded)
    torch::Tensor embedding, w1, b1, w2, b2;  // the MLP while training with projection
};

class PrefixTuningMethod : public Method {
public:
    std::string peftType() const override { return "PREFIX_TUNING"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) override {
        m_model = &model;
        m_name = name;
        const ModelConfig& mc = model.config();
        auto p = std::make_shared<Prefix>();
        p->P = cfgInt(config, "num_virtual_tokens", 0);
        if (p->P <= 0) fail("adapter_config.json", "'num_virtual_tokens' must be a positive integer", "Use e.g. 10.");
        p->L = mc.numLayers;
        p->kvH = mc.numKvHeads;
        p->D = mc.headDim;
        const int64_t kvDim = p->kvH * p->D;
        // peft derives these from the model (grouped-query: the key/value heads); a saved config
        // must agree with this model.
        auto check = [&](const char* key, int64_t want) {
            int64_t got = cfgInt(config, key, want);
            if (got != want)
                fail("adapter_config.json",
                     std::string("'") + key + "' = " + std::to_string(got) + " but this model has " +
                         std::to_string(want),
                     "The adapter was made for a different model.");
        };
        check("num_layers", p->L);
        check("token_dim", kvDim);
        check("num_attention_heads", p->kvH);
        p->projection = cfgBool(config, "prefix_projection", false);
        m_encoderHidden = cfgInt(config, "encoder_hidden_size", kvDim);
        auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(model.embeddingWeight().device());
        const int64_t width = p->L * 2 * kvDim;
        torch::NoGradGuard ng;
        if (p->projection && !cfgBool(config, "inference_mode", false)) {
            p->embedding = torch::randn({p->P, kvDim}, opts).set_requires_grad(true);
            torch::nn::Linear l1(kvDim, m_encoderHidden), l2(m_encoderHidden, width);  // torch's default init
            l1->to(opts.device());
            l2->to(opts.device());
            p->w1 = l1->weight.detach().clone().set_requires_grad(true);
            p->b1 = l1->bias.detach().clone().set_requires_grad(true);
            p->w2 = l2->weight.detach().clone().set_requires_grad(true);
            p->b2 = l2->bias.detach().clone().set_requires_grad(true);
        } else {
            p->direct = torch::randn({p->P, width}, opts).set_requires_grad(true);
        }
        m_prefix = p;
        model.setPrefixProvider(name, p);
        m_modules.attach(model, config, name);
    }

    NamedTensors trainable() const override {
        const std::string base = "prompt_encoder." + m_name + ".";
        NamedTensors out;
        if (m_prefix->embedding.defined())
            out = {{base + "embedding.weight", m_prefix->embedding},
                   {base + "transform.0.weight", m_prefix->w1},
                   {base + "transform.0.bias", m_prefix->b1},
                   {base + "transform.2.weight", m_prefix->w2},
                   {base + "transform.2.bias", m_prefix->b2}};
        else out = {{base + "embedding.weight", m_prefix->direct}};
        for (const auto& m : m_modules.trainable()) out.push_back(m);
        return out;
    }

    // As peft: with a projection, only its output for every virtual token is saved.
    NamedTensors saveState() const override {
        torch::NoGradGuard ng;
        NamedTensors out = {{"prompt_embeddings", m_prefix->table().detach()}};
        for (const auto& m : m_modules.saved()) out.push_back(m);
        return out;
    }

    void loadState(const std::map<std::string, torch::Tensor>& tensors, const std::string& where) override {
        // A loaded prefix is used directly (peft's inference mode), projection or not.
        if (m_prefix->embedding.defined()) {
            m_prefix->embedding = m_prefix->w1 = m_prefix->b1 = m_prefix->w2 = m_prefix->b2 = torch::Tensor();
            m_prefix->direct =
                torch::zeros({m_prefix->P, m_prefix->L * 2 * m_prefix->kvH * m_prefix->D},
                             torch::TensorOptions().dtype(torch::kFloat32).device(m_model->embeddingWeight().device()))
                    .set_requires_grad(true);
        }
        NamedTensors dest = {{"prompt_embeddings", m_prefix->direct}};
        for (const auto& m : m_modules.saved()) dest.push_back(m);
        loadStrict(dest, tensors, where);
    }

    void completeConfig(nlohmann::json& c) const override {
        const ModelConfig& mc = m_model->config();
        c["num_virtual_tokens"] = m_prefix->P;
        c["num_layers"] = mc.numLayers;
        c["token_dim"] = mc.numKvHeads * mc.headDim;
        c["num_attention_heads"] = mc.numKvHeads;
        c["num_transformer_submodules"] = 1;
        c["encoder_hidden_size"] = m_encoderHidden;
        if (!c.contains("prefix_projection")) c["prefix_projection"] = false;
    }
    void detach() override {
        m_model->removeAdapterEverywhere(m_name);
        m_modules.detach();
    }

private:
    CausalLMImpl* m_model = nullptr;
    std::string m_name;
    std::shared_ptr<Prefix> m_prefix;
    int64_t m_encoderHidden = 0;
    ModulesToSave m_modules;
};

}  // namespace

std::unique_ptr<Method> makePrefixTuningMethod() { return std::make_unique<PrefixTuningMethod>(); }

}  // namespace peft
