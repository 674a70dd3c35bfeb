// Helpers shared by the method folders: peft key names, target selection, strict state loading,
// and modules_to_save. Methods use these; nothing here knows about a particular method.
#pragma once
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/io/tensor_io.h"  // shapeString
#include "core/model/causal_lm.h"
#include "core/peft/method.h"

namespace peft {

// peft prefixes every key of a wrapped causal LM with this.
inline const std::string kPeftPrefix = "base_model.model.";

// The linear modules `config` targets for `method` ("LORA" or "IA3"), selected exactly as the
// budget's spec::selectTargets does (defaults, all-linear, exclude_modules, layers_to_transform).
// Throws PeftError naming target_modules when none match.
std::vector<std::pair<std::string, Linear>> targetedLinears(const CausalLMImpl& model, const nlohmann::json& config,
                                                            const std::string& method);

// Copies `tensors` into `dest` (saved key -> live tensor). Every key of dest must be present with
// its shape, and no other key may appear; otherwise a PeftError naming the key and `where`.
void loadStrict(const NamedTensors& dest, const std::map<std::string, torch::Tensor>& tensors,
                const std::string& where);

// Typed config reads with errors naming the key.
int64_t cfgInt(const nlohmann::json& c, const std::string& key, int64_t def);
double cfgDouble(const nlohmann::json& c, const std::string& key, double def);
bool cfgBool(const nlohmann::json& c, const std::string& key, bool def);
std::string cfgString(const nlohmann::json& c, const std::string& key, const std::string& def);

// A model parameter (HF name) by name; PeftError naming it when absent.
torch::Tensor modelParameter(CausalLMImpl& model, const std::string& name);

// peft's modules_to_save: whole modules (e.g. the `score` head) trained and saved with the
// adapter as base_model.model.<module>.<param>. The tensors train in place; the base values are
// kept and come back on detach(). (Unlike peft, switching adapters does not swap them.)
class ModulesToSave {
public:
    void attach(CausalLMImpl& model, const nlohmann::json& config,
                const std::string& adapterName);  // reads modules_to_save, task_type
    void detach();
    NamedTensors trainable() const;  // base_model.model.score.modules_to_save.<adapter>.weight
    NamedTensors saved() const;      // base_model.model.score.weight
    bool empty() const { return m_entries.empty(); }

private:
    struct Entry {
        std::string name;  // HF parameter name ("score.weight")
        torch::Tensor param;
        torch::Tensor original;  // base values, restored on detach
    };
    std::vector<Entry> m_entries;
    std::string m_adapter;
};

// One tensor a method owns, under both of peft's names: the in-memory key trainable() lists (with
// the adapter's name, "base_model.model.<m>.lora_A.default.weight") and the key
// adapter_model.safetensors stores ("base_model.model.<m>.lora_A.weight").
struct MethodTensor {
    std::string trainedKey;
    std::string savedKey;
    torch::Tensor tensor;
};

// The usual pair: kPeftPrefix + path + "." + part, then "." + adapter in memory only, then the
// leaf ("weight"; empty for none, as IA3's "ia3_l").
MethodTensor peftTensor(const std::string& path, const std::string& part, const std::string& adapter,
                        const std::string& leaf, torch::Tensor t);

// The save/load bookkeeping most methods share, derived from one list of their tensors:
// trainable() is that list under the trained keys, then modules_to_save's copies; saveState() the
// same under the saved keys; loadState() fills saveState()'s tensors strictly.
class TensorListMethod : public Method {
public:
    NamedTensors trainable() const override;
    NamedTensors saveState() const override;
    void loadState(const std::map<std::string, torch::Tensor>& tensors, const std::string& where) override;

protected:
    virtual std::vector<MethodTensor> ownTensors() const = 0;
    ModulesToSave m_modules;
};

// A TensorListMethod whose modules sit in the model's adapter slots under the adapter's name
// (prompt and prefix tuning, bottleneck adapters): detach() empties those slots everywhere and
// gives modules_to_save back.
class ModelSlotMethod : public TensorListMethod {
public:
    void detach() override {
        m_model->removeAdapterEverywhere(m_name);
        m_modules.detach();
    }

protected:
    // First thing attach() does.
    void bindModel(CausalLMImpl& model, const std::string& name) {
        m_model = &model;
        m_name = name;
    }
    CausalLMImpl* m_model = nullptr;
    std::string m_name;
};

// Folds (merging) or takes back (unmerging) the update of every adapted linear of a method whose
// update lives in the weight (LoRA, (IA)3): each layer `l` has `lin` (the base linear) and `ad`
// (its adapter, with mergedWeight, unmergedWeight and merged). `bias(l, merging)` adjusts the
// base bias where the method's update has one.
template <class Layer, class BiasFn>
void foldIntoWeights(std::vector<Layer>& layers, bool merging, BiasFn bias) {
    torch::NoGradGuard ng;
    for (auto& l : layers) {
        const torch::Tensor w = l.lin->denseWeight();
        l.lin->setDenseWeight(merging ? l.ad->mergedWeight(w) : l.ad->unmergedWeight(w));
        bias(l, merging);
        l.ad->merged = merging;
    }
}

}  // namespace peft
