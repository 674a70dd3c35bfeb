// The torch side of a PEFT method: build its modules on a loaded model, list what trains, save
// and load its tensors under Hugging Face PEFT's key names, merge where possible. The config
// side (defaults, validation, parameter counts from config.json alone) is MethodSpec.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model/causal_lm.h"

namespace peft {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class Method {
public:
    virtual ~Method() = default;
    virtual std::string peftType() const = 0;

    // Builds the method's modules on `model` from adapter_config.json fields, initialised as
    // peft initialises them (step 0 equals the base model where peft's does). Only the method's
    // parameters require grad. Throws PeftError naming the key for a bad config, and when
    // target_modules match nothing.
    virtual void attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& adapterName) = 0;

    // Trainable tensors under peft's in-memory names
    // ("base_model.model.<module>.lora_A.<adapter>.weight"), in a stable order.
    virtual NamedTensors trainable() const = 0;

    // Tensors as adapter_model.safetensors stores them ("base_model.model.<module>.lora_A.weight").
    virtual NamedTensors saveState() const = 0;
    // Copies saved tensors in. Every expected key must be present with its shape; an unexpected
    // or missing key, or a shape mismatch, is a PeftError naming the key and `where`.
    virtual void loadState(const std::map<std::string, torch::Tensor>& tensors, const std::string& where) = 0;

    virtual bool canMerge() const { return false; }
    virtual void merge() {}
    virtual void unmerge() {}
    virtual bool merged() const { return false; }

    // Adds the fields peft derives from the model at attach time (prompt learning: num_layers,
    // token_dim, num_attention_heads, ...) so the saved adapter_config.json is complete.
    virtual void completeConfig(nlohmann::json& config) const {}
    // Removes the method's modules from the model (after merge(), this is merge-and-unload).
    virtual void detach() {}
    // FULL fine-tuning writes a whole model folder (config.json, model.safetensors, tokenizer
    // files) instead of adapter files.
    virtual bool savesWholeModel() const { return false; }
    virtual void saveModelFolder(const std::string& dir) const {}
};

std::unique_ptr<Method> createMethod(const std::string& peftType);

// An adapter attached to a model under a name.
struct Adapter {
    std::string name = "default";
    nlohmann::json config;  // the full adapter_config.json
    std::unique_ptr<Method> method;
};

// Attaches a new adapter from a config (peft_type inside it selects the method).
Adapter attachAdapter(CausalLMImpl& model, const nlohmann::json& config, const std::string& name = "default");
// Loads <dir>/adapter_config.json + adapter_model.safetensors onto `model`.
Adapter loadAdapter(CausalLMImpl& model, const std::string& dir, const std::string& name = "default");
// Writes adapter_config.json + adapter_model.safetensors atomically into `dir` (FULL: a whole
// model folder, config.json + model.safetensors; `model` and the config's
// base_model_name_or_path supply the weights and the tokenizer files).
void saveAdapter(const Adapter& adapter, const std::string& dir);

// Switches the model's adapters off for a scope (the base model's output, as peft's
// `with model.disable_adapter():`), and back to what they were when it ends.
class AdapterDisabled {
public:
    explicit AdapterDisabled(CausalLMImpl& model) : m_state(model.adapterState()), m_was(m_state->enabled) {
        m_state->enabled = false;
    }
    ~AdapterDisabled() { m_state->enabled = m_was; }
    AdapterDisabled(const AdapterDisabled&) = delete;
    AdapterDisabled& operator=(const AdapterDisabled&) = delete;

private:
    std::shared_ptr<AdapterState> m_state;
    bool m_was;
};

// True when switching the adapter off gives back the base model: the method trains only tensors
// of its own. False when it trains the model's own weights in place (FULL, BitFit, LoRA's bias,
// modules_to_save), which a disabled adapter would still carry.
bool adapterDisableGivesBase(CausalLMImpl& model, const Adapter& adapter);

// Every registered peft_type, in registry order.
std::vector<std::string> methodTypes();

}  // namespace peft
