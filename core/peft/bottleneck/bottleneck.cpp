// Bottleneck adapters (BOTTLENECK_ADAPTER, ours; peft has none): h + up(act(down(h))) on a
// block's attention output (Houlsby's mh_adapter) and/or feed-forward output (output_adapter),
// before the residual add. Config keys follow AdapterHub; the saved format is in README.md here.
#include <cmath>

#include "core/peft/peft_common.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

namespace {

struct Bottleneck {
    torch::Tensor downW, downB, upW, upB;  // down [m,C],[m]; up [C,m],[C]
};

class BottleneckBlock : public BlockAdapter {
public:
    torch::Tensor afterAttention(const torch::Tensor& a) override { return mh ? apply(*mh, a) : a; }
    torch::Tensor afterMlp(const torch::Tensor& m) override { return out ? apply(*out, m) : m; }

    torch::Tensor apply(const Bottleneck& b, const torch::Tensor& h) {
        torch::Tensor x = h.to(torch::kFloat32);
        torch::Tensor z = torch::nn::functional::linear(x, b.downW, b.downB);  // [B,T,C] -> [B,T,m]
        z = act(z);
        return h + torch::nn::functional::linear(z, b.upW, b.upB).to(h.scalar_type());  // -> [B,T,C]
    }
    torch::Tensor act(const torch::Tensor& z) const {
        if (nonLinearity == "relu") return torch::relu(z);
        if (nonLinearity == "gelu") return torch::gelu(z);
        if (nonLinearity == "gelu_new") return torch::gelu(z, "tanh");
        if (nonLinearity == "silu" || nonLinearity == "swish") return torch::silu(z);
        return torch::tanh(z);
    }

    int64_t layer = 0;
    std::string nonLinearity;
    std::unique_ptr<Bottleneck> mh, out;
};

class BottleneckMethod : public ModelSlotMethod {
public:
    std::string peftType() const override { return "BOTTLENECK_ADAPTER"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) override {
        bindModel(model, name);
        const int64_t C = model.config().hiddenSize;
        // Keys as core/peft/bottleneck/bottleneck_spec.cpp (the config side) defines them.
        const std::string type = cfgString(config, "architecture", "houlsby");
        if (type != "houlsby" && type != "pfeiffer")
            fail("adapter_config.json", "'architecture' = \"" + type + "\"", "Use \"houlsby\" or \"pfeiffer\".");
        const bool mhAdapter = cfgBool(config, "mh_adapter", type == "houlsby");
        const bool outAdapter = cfgBool(config, "output_adapter", true);
        if (!mhAdapter && !outAdapter)
            fail("adapter_config.json", "both 'mh_adapter' and 'output_adapter' are false", "Enable at least one.");
        m_nonLinearity = cfgString(config, "non_linearity", "relu");
        bool knownAct = false;
        for (const char* ok : {"relu", "gelu", "gelu_new", "silu", "swish", "tanh"}) knownAct |= (m_nonLinearity == ok);
        if (!knownAct)
            fail("adapter_config.json", "'non_linearity' = \"" + m_nonLinearity + "\"",
                 "Use relu, gelu, silu (swish) or tanh.");
        const double rf = cfgDouble(config, "reduction_factor", 16);
        m_size = cfgInt(config, "bottleneck_size", 0);
        if (m_size <= 0) {
            if (rf <= 0) fail("adapter_config.json", "'reduction_factor' must be positive", "Use e.g. 16.");
            m_size = static_cast<int64_t>(std::floor(static_cast<double>(C) / rf));
            if (m_size < 1)
                fail("adapter_config.json", "the bottleneck is narrower than 1 unit", "Lower reduction_factor.");
        }
        const double initScale = cfgDouble(config, "init_scale", 0.0);
        const nlohmann::json layers = config.value("layers_to_transform", nlohmann::json());
        auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(model.embeddingWeight().device());
        // Down N(0, 0.02), biases zero, up N(0, init_scale) -- zero by default, so step 0 is exactly the base.
        auto make = [&]() {
            auto b = std::make_unique<Bottleneck>();
            b->downW = (torch::randn({m_size, C}, opts) * 0.02).set_requires_grad(true);
            b->downB = torch::zeros({m_size}, opts).set_requires_grad(true);
            b->upW = (torch::randn({C, m_size}, opts) * initScale).set_requires_grad(true);
            b->upB = torch::zeros({C}, opts).set_requires_grad(true);
            return b;
        };
        const std::string container = model.table().layerPrefix.substr(model.table().layerPrefix.rfind('.') + 1);
        for (int64_t i = 0; i < model.config().numLayers; ++i) {
            if (!layerSelected(layers, config.value("layers_pattern", nlohmann::json()), i, container)) continue;
            auto blk = std::make_shared<BottleneckBlock>();
            blk->layer = i;
            blk->nonLinearity = m_nonLinearity;
            if (mhAdapter) blk->mh = make();
            if (outAdapter) blk->out = make();
            model.setBlockAdapter(i, name, blk);
            m_blocks.push_back(blk);
        }
        if (m_blocks.empty()) fail("adapter_config.json", "layers_to_transform selects no layer of this model", "");
        m_mh = mhAdapter;
        m_out = outAdapter;
        m_modules.attach(model, config, name);
    }

    // "<mh_adapter path>.<adapter>.adapter_down.weight" in memory; saved without the adapter's name.
    std::vector<MethodTensor> ownTensors() const override {
        std::vector<MethodTensor> out;
        for (const auto& blk : m_blocks) {
            auto add = [&](const char* where, const Bottleneck* b) {
                if (!b) return;
                const std::string p = kPeftPrefix + m_model->table().modulePath(blk->layer, where);
                for (const auto& [leaf, t] :
                     {std::pair{".adapter_down.weight", b->downW}, std::pair{".adapter_down.bias", b->downB},
                      std::pair{".adapter_up.weight", b->upW}, std::pair{".adapter_up.bias", b->upB}})
                    out.push_back({p + "." + m_name + leaf, p + leaf, t});
            };
            add("mh_adapter", blk->mh.get());
            add("output_adapter", blk->out.get());
        }
        return out;
    }
    void completeConfig(nlohmann::json& c) const override {
        c["bottleneck_size"] = m_size;
        c["non_linearity"] = m_nonLinearity;
        c["mh_adapter"] = m_mh;
        c["output_adapter"] = m_out;
    }

private:
    std::string m_nonLinearity;
    int64_t m_size = 0;
    bool m_mh = false, m_out = true;
    std::vector<std::shared_ptr<BottleneckBlock>> m_blocks;
};

}  // namespace

std::unique_ptr<Method> makeBottleneckMethod() { return std::make_unique<BottleneckMethod>(); }

}  // namespace peft
