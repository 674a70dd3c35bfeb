// BitFit (BITFIT, ours): only the model's bias terms train, plus LayerNorm/RMSNorm weights with
// "train_norms": true. Saved as base_model.model.<parameter name>.
#include <set>

#include "core/peft/peft_common.h"
#include "core/util/error.h"

namespace peft {

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class BitFitMethod : public TensorListMethod {
public:
    std::string peftType() const override { return "BITFIT"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) override {
        const bool norms = cfgBool(config, "train_norms", false);
        std::set<std::string> normWeights;
        const ArchTable& t = model.table();
        for (int64_t i = 0; i < model.config().numLayers; ++i)
            for (const auto& n : t.norms) normWeights.insert(t.modulePath(i, n.path) + ".weight");
        normWeights.insert(t.finalNormSpec.path + ".weight");
        for (const auto& p : model.named_parameters()) {
            const std::string& n = p.key();
            if (n == "score.weight") continue;  // the head trains through modules_to_save
            if (endsWith(n, ".bias") || (norms && normWeights.count(n))) m_params.emplace_back(n, p.value());
        }
        if (m_params.empty())
            fail("adapter_config.json", "BitFit found no bias terms in this " + model.config().modelType + " model",
                 "Llama-family models have no biases: set \"train_norms\": true to train the norm weights, or pick "
                 "another method.");
        for (auto& [n, p] : m_params) {
            m_original.push_back(p.detach().clone());
            p.set_requires_grad(true);
        }
        m_modules.attach(model, config, name);
    }

    // The tuned values live in the model itself; detaching restores the base values.
    void detach() override {
        torch::NoGradGuard ng;
        for (size_t i = 0; i < m_params.size(); ++i) {
            m_params[i].second.copy_(m_original[i]);
            m_params[i].second.set_requires_grad(false);
        }
        m_params.clear();
        m_modules.detach();
    }

private:
    // The base names in memory and on disk alike.
    std::vector<MethodTensor> ownTensors() const override {
        std::vector<MethodTensor> out;
        for (const auto& [n, p] : m_params) out.push_back({kPeftPrefix + n, kPeftPrefix + n, p});
        return out;
    }
    NamedTensors m_params;
    std::vector<torch::Tensor> m_original;
};

}  // namespace

std::unique_ptr<Method> makeBitFitMethod() { return std::make_unique<BitFitMethod>(); }

}  // namespace peft
