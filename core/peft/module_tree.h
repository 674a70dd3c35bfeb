// The base model's parameter-holding modules listed from config.json alone (paths as
// transformers' named_modules() gives them), for target matching and parameter counts. No torch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/architecture.h"
#include "core/io/model_config.h"

namespace peft {

enum class ModuleKind { Linear, Embedding, Norm, Head };

struct ModuleEntry {
    std::string path;  // "model.layers.3.self_attn.q_proj", "lm_head", "score"
    std::string name;  // last path component: "q_proj"
    ModuleKind kind = ModuleKind::Linear;
    int64_t layer = -1;    // decoder layer index; -1 outside the layers
    int linearIndex = -1;  // index into ArchTable::linears for per-layer linears
    int64_t in = 0;        // Linear/Head: in features; Embedding: number of rows; Norm: size
    int64_t out = 0;       // Linear/Head: out features; Embedding: embedding dim; Norm: size
    bool bias = false;
    bool conv1d = false;  // GPT-2 Conv1D (weight stored [in, out])
    bool feedforwardOutput = false;
    bool tiedToEmbedding = false;  // GPT-2 / tied lm_head: its weight is the embedding's (counted once)
    int64_t weightParams() const;  // parameters in the weight tensor
    int64_t biasParams() const { return bias ? out : 0; }
    int64_t params() const { return weightParams() + biasParams(); }
};

// The task head decides the top of the model: CAUSAL_LM keeps `lm_head`; SEQ_CLS replaces it by
// `score` [num_labels, hidden] without bias, as transformers' *ForSequenceClassification does.
enum class TaskHead { CausalLm, SequenceClassification };

// Parses adapter_config.json's `task_type` (null/absent/"CAUSAL_LM" -> CausalLm; "SEQ_CLS").
TaskHead taskHeadFromConfig(const nlohmann::json& methodCfg, const std::string& where);

struct ModuleTree {
    ArchTable arch;
    std::vector<ModuleEntry> modules;  // embeddings, every layer's linears and norms, final norm, head
    int64_t baseParams = 0;            // as transformers counts the model for this task (tied once)
    std::string layerContainer;        // "layers" | "h" (for layers_pattern)
};

ModuleTree moduleTree(const ModelConfig& c, TaskHead head = TaskHead::CausalLm);

}  // namespace peft
