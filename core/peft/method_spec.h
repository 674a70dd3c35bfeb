// MethodSpec: a PEFT method before any tensor exists — its adapter_config.json fields with
// defaults and help text, validation, and what it trains, adds, saves and keeps for backward,
// computed from config.json alone. No torch: budget/ and the GUI use it; the torch side of each
// method (core/peft/<method>/) reuses its config handling.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/peft/method_card.h"

namespace peft {

class Method;  // the torch side (core/peft/method.h)

// The peft release whose adapter_config.json layout PEFT Studio writes (its `peft_version` field).
inline constexpr const char* kPeftVersion = "0.21.0";

// Parameter counts as HF peft's get_nb_trainable_parameters() reports them.
struct ParamReport {
    int64_t trainable = 0;      // parameters with requires_grad
    int64_t added = 0;          // parameters the method adds to the model (adapter tensors, module copies)
    int64_t base = 0;           // base model for the task (tied embeddings once; SEQ_CLS has a score head)
    int64_t trainableBase = 0;  // the part of `trainable` that is base parameters (FULL, BitFit, LoRA bias)
    int64_t total() const { return base + added; }  // peft's "all params"
    double percent() const {
        return total() > 0 ? 100.0 * static_cast<double>(trainable) / static_cast<double>(total()) : 0.0;
    }
    std::map<std::string, int64_t> byModule;  // trainable per module type: "q_proj", "lm_head", "prompt_encoder"
    std::vector<int64_t> byLayer;             // trainable per decoder layer
    int64_t outsideLayers = 0;                // trainable outside the decoder layers
    std::vector<std::string> notes;           // e.g. "this model has no bias terms"

    // Book `n` new trainable (or frozen, when !trainable) parameters added by the method.
    void addAdapter(int64_t n, const std::string& moduleType, int64_t layer, bool trainable = true);
    // Book `n` base parameters that become trainable.
    void trainBase(int64_t n, const std::string& moduleType, int64_t layer);
};

// One tensor of the saved adapter file (adapter_model.safetensors, or model.safetensors for FULL).
struct SavedTensor {
    std::string key;  // "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    std::vector<int64_t> shape;
    bool baseDtype = false;  // saved in the base model's dtype (module copies, FULL); else F32
};

// What the method makes autograd keep, per decoder layer, used by budget/ for activation memory.
// Adapters compute in fp32 whatever the base precision (peft keeps adapter weights in fp32): what
// they keep is counted apart from what the base keeps in the precision.
struct LinearFootprint {
    bool inputSaved = false;              // the linear's input is kept in the precision (its weight trains)
    bool adapterInputFp32 = false;        // an adapter keeps its own fp32 copy of the input (LoRA's A, IA3 on
                                          // the input); in fp32 runs that is the base input itself, shared
    int64_t extraSaved = 0;               // other elements per token kept in the precision (IA3's pre-scale output)
    int64_t extraSavedFp32 = 0;           // other fp32 elements per token (LoRA's A output [r], DoRA's two [out])
    bool actDtypeInLowPrecision = false;  // our model, non-fp32 run: the adapter's products run in the
                                          // activations' dtype (LoRA without DoRA, lora.cpp), so it keeps
                                          // the base input itself and extraSavedFp32 in the precision
};
struct TrainingFootprint {
    std::vector<std::vector<LinearFootprint>> linears;  // [layer][ArchTable::linears index]
    std::vector<int64_t> extraPerLayer;  // fp32 elements per token kept by modules the method inserts (bottleneck)
    bool normWeightsTrain = false;       // norm weights train: the pre-weight normalised input is kept
    bool normAffineTrains = false;       // a norm's weight or bias trains (our CPU bf16 LayerNorm then
                                         // keeps an fp32 copy of its input, not the bf16 input)
    bool embeddingTrains = false;
    bool lmHeadTrains = false;     // the head's input (final norm output) is kept
    int64_t extraQueryTokens = 0;  // prompt tuning: virtual tokens run through every layer
    int64_t extraKeyTokens = 0;    // prefix tuning: extra key/value positions in attention
    int64_t firstGradLayer = 0;    // layers below it keep nothing for backward
    bool anyTrainable = true;
};

class MethodSpec {
public:
    virtual ~MethodSpec() = default;
    // LORA, IA3, PROMPT_TUNING, PREFIX_TUNING, BOTTLENECK_ADAPTER, BITFIT, FULL
    virtual std::string peftType() const = 0;
    virtual std::string displayName() const = 0;
    // adapter_config.json fields this method reads, with their defaults.
    virtual nlohmann::json defaults() const = 0;
    // field -> one-line help (GUI tooltips, CLI help).
    virtual nlohmann::json help() const = 0;
    // Throws PeftError naming `where` and the key for a wrong type or value, or a field peft does
    // not know. Fields peft knows but this method ignores are accepted.
    virtual void validate(const nlohmann::json& cfg, const std::string& where) const = 0;
    // Parameters trained and added for this model; `cfg` is validated first.
    virtual ParamReport count(const ModelConfig& mc, const nlohmann::json& cfg) const = 0;
    // The tensors the method's save writes, with keys as peft writes them.
    virtual std::vector<SavedTensor> savedTensors(const ModelConfig& mc, const nlohmann::json& cfg) const = 0;
    // What autograd keeps because of this method (activation memory).
    virtual TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const = 0;
    // The method trains the base weights themselves (FULL): they cannot be quantised and the export
    // is a whole model.
    virtual bool replacesBase() const { return false; }
    // The update is a low-rank pair per projection (LoRA and its variants): what a llama.cpp LoRA
    // adapter file holds.
    virtual bool lowRankUpdate() const { return false; }
    // The trained update folds into the base weights (LoRA, (IA)3): merge and a merged export work.
    virtual bool mergesIntoBase() const { return false; }
    // The method adds virtual tokens in front of the input or the keys (prompt and prefix tuning):
    // nothing a merged weight or a llama.cpp LoRA can hold.
    virtual bool addsVirtualTokens() const { return false; }
    // The frozen base linears may be stored in 4-bit NF4 (QLoRA-style) under this method.
    virtual bool supportsQuantizedBase() const { return !replacesBase(); }
    // The Method page's cards for this method (LoRA has four: LoRA, rsLoRA, DoRA, QLoRA). The GUI
    // builds its catalog from these alone: a method is one folder and one line in the registry.
    virtual std::vector<MethodCard> cards() const = 0;
    // Fields peft writes for this method that PEFT Studio accepts without reading, with the values
    // peft writes by default (LoRA's loftq_config, megatron_core, ...). validate() accepts them and
    // savedConfig() writes them, so a saved config has peft's whole key set.
    virtual nlohmann::json peftOnlyFields() const { return nlohmann::json::object(); }

    // On-disk size of the saved tensors file: safetensors header (exact, as safetensors writes it)
    // + data. `baseDtypeBytes` is the element size of tensors saved in the base dtype.
    uint64_t adapterBytes(const ModelConfig& mc, const nlohmann::json& cfg, int baseDtypeBytes = 4) const;
    // `defaults()` overlaid with `cfg` (what adapter_config.json would hold after saving).
    nlohmann::json withDefaults(const nlohmann::json& cfg) const;
    // The adapter_config.json a save writes: every field peft writes for this method (the common
    // ones, peftOnlyFields(), defaults()) overlaid with `cfg`, whose other keys survive unchanged;
    // inference_mode true and peft_version kPeftVersion, as peft's save_pretrained sets them.
    nlohmann::json savedConfig(const nlohmann::json& cfg) const;
};

// The registry (core/peft/spec_registry.cpp): one line per method pairs its spec with its torch
// side, as peft's register_peft_method(name, config_cls, model_cls). Throws PeftError listing the
// known types.
const MethodSpec& methodSpec(const std::string& peftType);
// The torch side registered beside the spec: a new, unattached Method (core/peft/<method>/
// <method>.cpp). createMethod() (method.h) calls it. Throws as methodSpec() does.
using MethodFactory = std::unique_ptr<Method> (*)();
MethodFactory methodFactory(const std::string& peftType);
// The same lookup without the throw: nullptr for a type no spec registers.
const MethodSpec* findMethodSpec(const std::string& peftType);
const std::vector<const MethodSpec*>& allMethodSpecs();
// `cfg["peft_type"]`, or "FULL" when cfg is null or has no peft_type.
std::string peftTypeOf(const nlohmann::json& cfg, const std::string& where);

// Size of a safetensors file holding `tensors` (F32, or `baseDtypeBytes` for base-dtype ones).
uint64_t safetensorsFileBytes(const std::vector<SavedTensor>& tensors, int baseDtypeBytes);

}  // namespace peft
