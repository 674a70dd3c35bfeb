// Full fine-tuning (FULL, ours): every model weight trains; saving writes a whole model folder.
#include <filesystem>

#include "core/peft/full/export_model.h"
#include "core/peft/peft_common.h"
#include "core/util/error.h"

namespace peft {

namespace {

class FullMethod : public TensorListMethod {
public:
    std::string peftType() const override { return "FULL"; }

    void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string&) override {
        m_model = &model;
        m_srcDir = cfgString(config, "base_model_name_or_path", "");
        if (!m_srcDir.empty() && !std::filesystem::is_directory(m_srcDir)) m_srcDir.clear();
        for (const auto& [path, lin] : model.linears())
            if (lin->quantized())
                fail("run configuration", "full fine-tuning cannot train NF4-quantised weights",
                     "Load the model without 4-bit quantisation.");
        for (const auto& p : model.named_parameters()) {
            p.value().set_requires_grad(true);
            m_params.emplace_back(p.key(), p.value());
        }
    }
    // The model's own names: the export is a model, not an adapter.
    std::vector<MethodTensor> ownTensors() const override {
        std::vector<MethodTensor> out;
        for (const auto& [n, p] : m_params) out.push_back({n, n, p});
        return out;
    }
    bool savesWholeModel() const override { return true; }
    void saveModelFolder(const std::string& dir) const override { exportModelFolder(*m_model, m_srcDir, dir); }
    void detach() override {
        for (auto& [n, p] : m_params) p.set_requires_grad(false);
        m_params.clear();
    }

private:
    CausalLMImpl* m_model = nullptr;
    std::string m_srcDir;
    NamedTensors m_params;
};

}  // namespace

std::unique_ptr<Method> makeFullMethod() { return std::make_unique<FullMethod>(); }

}  // namespace peft
