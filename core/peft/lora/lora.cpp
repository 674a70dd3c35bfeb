// LoRA: the per-projection adapter and the Method (attach, save/load, merge). DoRA: dora.cpp.
#include "core/peft/lora/lora.h"

#include <cmath>

#include "core/peft/lora/lora_spec.h"
#include "core/peft/peft_common.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

LoraLinear::LoraLinear(int64_t in, int64_t out, int64_t r, double scaling_, double dropout_, LinearImpl& base,
                       LoraInit init)
    : scaling(scaling_), dropout(dropout_) {
    auto opts = torch::TensorOptions()
                    .dtype(torch::kFloat32)
                    .device(base.bias.defined() ? base.bias.device() : base.weight.device());
    // peft's default init: A Kaiming-uniform with a=sqrt(5) (bound 1/sqrt(in)), B zeros.
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    A = torch::empty({r, in}, opts).uniform_(-bound, bound);
    B = torch::zeros({out, r}, opts);
    // peft's reset_lora_parameters: "gaussian" redraws A with std 1/r; false leaves both as
    // nn.Linear made them, so B is Kaiming-uniform over its r inputs too.
    if (init == LoraInit::Gaussian) A.normal_(0.0, 1.0 / static_cast<double>(r));
    if (init == LoraInit::Random)
        B.uniform_(-1.0 / std::sqrt(static_cast<double>(r)), 1.0 / std::sqrt(static_cast<double>(r)));
    A.set_requires_grad(true);
    B.set_requires_grad(true);
}

torch::Tensor LoraLinear::deltaWeight() const { return torch::mm(B, A) * scaling; }  // [out,r]@[r,in]

torch::Tensor LoraLinear::transformOutput(const torch::Tensor& x, const torch::Tensor& baseOut, LinearImpl& base) {
    if (merged) return baseOut;
    const bool drop = dropout > 0 && base.is_training();
    const torch::Dtype act = x.scalar_type();
    if (!variant && (act == torch::kBFloat16 || act == torch::kHalf)) {
        // Low-precision activations: the two thin products run in the activations' dtype, as
        // under torch.autocast; A and B stay fp32 master weights (their gradients come back
        // through the casts in fp32) and only the optimizer touches the fp32 copies.
        torch::Tensor xin = drop ? torch::dropout(x, dropout, true) : x;
        torch::Tensor lora = torch::nn::functional::linear(torch::nn::functional::linear(xin, A.to(act)), B.to(act),
                                                           Bbias.defined() ? Bbias.to(act) : Bbias);
        return torch::add(baseOut, lora.to(baseOut.scalar_type()), scaling);
    }
    torch::Tensor xin = x.to(A.scalar_type());
    if (drop) xin = torch::dropout(xin, dropout, true);
    torch::Tensor lora =
        torch::nn::functional::linear(torch::nn::functional::linear(xin, A), B, Bbias);  // [..,in]->[..,r]->[..,out]
    if (variant) return variant->forward(*this, xin, lora, baseOut, base, drop);
    return baseOut + (lora * scaling).to(baseOut.scalar_type());
}

torch::Tensor LoraLinear::mergedWeight(const torch::Tensor& weight) {
    torch::NoGradGuard ng;
    torch::Tensor w = weight.to(torch::kFloat32);
    torch::Tensor delta = deltaWeight();
    return (variant ? variant->merge(w, delta) : w + delta).to(weight.scalar_type());
}

torch::Tensor LoraLinear::unmergedWeight(const torch::Tensor& weight) {
    torch::NoGradGuard ng;
    torch::Tensor w = weight.to(torch::kFloat32);
    torch::Tensor delta = deltaWeight();
    return (variant ? variant->unmerge(w, delta) : w - delta).to(weight.scalar_type());
}

namespace {

class LoraMethod : public TensorListMethod {
public:
    std::string peftType() const override { return "LORA"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) override {
        m_model = &model;
        m_name = name;
        const LoraConfig c = LoraConfig::parse(config, "adapter_config.json");
        m_bias = c.bias;
        auto targets = targetedLinears(model, config, "LORA");
        // peft warns (and does the right thing) when fan_in_fan_out disagrees with the layer type;
        // our Linear knows its own storage, so the flag only needs to be consistent.
        for (auto& [path, lin] : targets) {
            const int64_t rank = c.forModule(path).r;
            auto ad = std::make_shared<LoraLinear>(lin->inFeatures(), lin->outFeatures(), rank, c.scaling(path),
                                                   c.dropout, *lin, c.init);
            if (c.dora) ad->variant = makeDoraVariant(*ad, *lin);
            if (c.loraBias) {
                ad->Bbias = torch::zeros({lin->outFeatures()}, ad->B.options()).set_requires_grad(true);
            }
            lin->addAdapter(name, ad);
            m_layers.push_back({path, lin, ad});
        }
        // Biases: "all" trains every bias of the model, "lora_only" those of adapted projections.
        if (m_bias != "none") {
            for (const auto& p : model.named_parameters()) {
                const std::string& n = p.key();
                if (n.size() < 5 || n.compare(n.size() - 5, 5, ".bias") != 0) continue;
                const std::string module = n.substr(0, n.size() - 5);
                bool isTarget = false;
                for (const auto& l : m_layers) isTarget |= (l.path == module);
                if (m_bias == "lora_only" && !isTarget) continue;
                // Saved under the module's own name, as the config side (lora_spec.cpp) lists it.
                p.value().set_requires_grad(true);
                m_biases.emplace_back(kPeftPrefix + n, p.value());
            }
        }
        m_modules.attach(model, config, name);
    }

    std::vector<MethodTensor> ownTensors() const override {
        std::vector<MethodTensor> out;
        for (const auto& l : m_layers) {
            out.push_back(peftTensor(l.path, "lora_A", m_name, "weight", l.ad->A));
            out.push_back(peftTensor(l.path, "lora_B", m_name, "weight", l.ad->B));
            if (l.ad->Bbias.defined()) out.push_back(peftTensor(l.path, "lora_B", m_name, "bias", l.ad->Bbias));
            if (l.ad->variant)
                for (auto& v : l.ad->variant->tensors()) {
                    MethodTensor m = peftTensor(l.path, v.part, m_name, "weight", v.tensor);
                    m.savedKey = kPeftPrefix + l.path + v.savedSuffix;
                    out.push_back(std::move(m));
                }
        }
        for (const auto& [n, b] : m_biases) out.push_back({n, n, b});  // the base's biases (lora bias="all")
        return out;
    }

    bool canMerge() const override { return true; }
    bool merged() const override { return m_merged; }

    void merge() override {
        if (m_merged) return;
        for (auto& l : m_layers) {
            if (l.ad->Bbias.defined() && !l.lin->bias.defined())
                fail(l.path, "lora_bias cannot merge into a projection without a bias", "Keep the adapter unmerged.");
        }
        setMerged(true);
    }
    void unmerge() override {
        if (m_merged) setMerged(false);
    }
    void setMerged(bool merging) {
        foldIntoWeights(m_layers, merging, [](auto& l, bool in) {
            if (!l.ad->Bbias.defined()) return;
            const torch::Tensor b = (l.ad->Bbias.detach() * l.ad->scaling).to(l.lin->bias.scalar_type());
            if (in) l.lin->bias.add_(b);
            else l.lin->bias.sub_(b);
        });
        m_merged = merging;
    }

    void detach() override {
        for (auto& l : m_layers) l.lin->removeAdapter(m_name);
        m_layers.clear();
        for (auto& b : m_biases) b.second.set_requires_grad(false);
        m_biases.clear();
        if (!m_merged) m_modules.detach();
    }

private:
    struct Layer {
        std::string path;
        Linear lin;
        std::shared_ptr<LoraLinear> ad;
    };
    CausalLMImpl* m_model = nullptr;
    std::string m_name;
    std::string m_bias;
    std::vector<Layer> m_layers;
    NamedTensors m_biases;
    bool m_merged = false;
};

}  // namespace

std::unique_ptr<Method> makeLoraMethod() { return std::make_unique<LoraMethod>(); }

}  // namespace peft
