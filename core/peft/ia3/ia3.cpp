// (IA)3: learned per-feature scales. Output scaling [out,1] on attention-like modules, input
// scaling [1,in] on feed-forward modules (feedforward_modules), initialised to ones.
#include "core/peft/peft_common.h"
#include "core/peft/spec_targets.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

namespace {

class Ia3Linear : public LinearAdapter {
public:
    Ia3Linear(int64_t in, int64_t out, bool ff, const torch::Device& dev) : feedforward(ff) {
        l = torch::ones(ff ? std::vector<int64_t>{1, in} : std::vector<int64_t>{out, 1},
                        torch::TensorOptions().dtype(torch::kFloat32).device(dev))
                .set_requires_grad(true);
    }
    torch::Tensor transformInput(const torch::Tensor& x) override {
        if (merged || !feedforward) return x;
        return (x.to(l.scalar_type()) * l.flatten()).to(x.scalar_type());  // [..,in] * [in]
    }
    torch::Tensor transformOutput(const torch::Tensor&, const torch::Tensor& baseOut, LinearImpl&) override {
        if (merged || feedforward) return baseOut;
        return baseOut * l.flatten().to(baseOut.scalar_type());  // [..,out] * [out]
    }
    torch::Tensor mergedWeight(const torch::Tensor& w) override {
        // [out,in] * [out,1] scales rows; * [1,in] scales columns.
        return (w.to(torch::kFloat32) * l.detach()).to(w.scalar_type());
    }
    torch::Tensor unmergedWeight(const torch::Tensor& w) override {
        return (w.to(torch::kFloat32) / (l.detach() + 1e-8)).to(w.scalar_type());
    }
    torch::Tensor l;
    bool feedforward;
    bool merged = false;
};

class Ia3Method : public TensorListMethod {
public:
    std::string peftType() const override { return "IA3"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) override {
        m_name = name;
        nlohmann::json ff = config.value("feedforward_modules", nlohmann::json());
        if (ff.is_null() && (!config.contains("target_modules") || config["target_modules"].is_null()))
            ff = spec::defaultFeedforward(model.config());  // peft's defaults come as a pair
        for (auto& [path, lin] : targetedLinears(model, config, "IA3")) {
            std::string shortName = path.substr(path.rfind('.') + 1);
            const bool isFf = !ff.is_null() && matchesTarget(ff, path, shortName);
            auto dev = lin->bias.defined() ? lin->bias.device() : lin->weight.device();
            auto ad = std::make_shared<Ia3Linear>(lin->inFeatures(), lin->outFeatures(), isFf, dev);
            lin->addAdapter(name, ad);
            m_layers.push_back({path, lin, ad});
        }
        // peft requires feedforward_modules to be a subset of target_modules.
        if (ff.is_array())
            for (const auto& f : ff) {
                bool found = false;
                for (const auto& l : m_layers)
                    found |= matchesTarget(nlohmann::json::array({f}), l.path, l.path.substr(l.path.rfind('.') + 1));
                if (!found)
                    fail("adapter_config.json",
                         "feedforward_modules entry " + f.dump() + " is not among target_modules",
                         "feedforward_modules must be a subset of target_modules.");
            }
        m_modules.attach(model, config, name);
    }

    std::vector<MethodTensor> ownTensors() const override {
        std::vector<MethodTensor> out;
        for (const auto& l : m_layers) out.push_back(peftTensor(l.path, "ia3_l", m_name, "", l.ad->l));
        return out;
    }

    bool canMerge() const override { return true; }
    bool merged() const override { return m_merged; }
    void merge() override {
        if (!m_merged) setMerged(true);
    }
    void unmerge() override {
        if (m_merged) setMerged(false);
    }
    void setMerged(bool merging) {
        // peft scales the bias too for output scaling.
        foldIntoWeights(m_layers, merging, [](auto& l, bool in) {
            if (l.ad->feedforward || !l.lin->bias.defined()) return;
            const torch::Tensor s = l.ad->l.detach().flatten().to(l.lin->bias.scalar_type());
            if (in) l.lin->bias.mul_(s);
            else l.lin->bias.div_(s + 1e-8);
        });
        m_merged = merging;
    }
    void detach() override {
        for (auto& l : m_layers) l.lin->removeAdapter(m_name);
        m_layers.clear();
        if (!m_merged) m_modules.detach();
    }

private:
    struct Layer {
        std::string path;
        Linear lin;
        std::shared_ptr<Ia3Linear> ad;
    };
    std::string m_name;
    std::vector<Layer> m_layers;
    bool m_merged = false;
};

}  // namespace

std::unique_ptr<Method> makeIa3Method() { return std::make_unique<Ia3Method>(); }

}  // namespace peft
