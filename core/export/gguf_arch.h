// The GGUF name tables: per Hugging Face model_type, the llama.cpp architecture name, the
// hyper-parameter keys, and the tensor names, in one place. Adding a family is adding an entry.
// Names follow llama.cpp's loader (src/llama-arch.cpp) and gguf-py's constants.py. No torch.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/io/model_config.h"
#include "core/export/gguf_writer.h"

namespace peft::gguf {

// How the rows of q_proj / k_proj must be reordered for llama.cpp's RoPE. HF Llama checkpoints
// rotate the two halves of a head; llama.cpp's "norm" RoPE rotates interleaved pairs, so its
// converter permutes those rows (and their LoRA B rows and biases).
enum class QkOrder { AsIs, LlamaPermute };

// Writes the keys only one architecture has, after checking that llama.cpp can express the config
// (PeftError naming the key otherwise). `p` is "{arch}.", `where` the config.json for messages.
using ArchKeysFn = void (*)(Writer& w, const ModelConfig& c, const std::string& p, const std::string& where);

// An extra hyper-parameter read from config.json: its key there, its key suffix in GGUF.
struct ExtraKey {
    std::string configKey;
    std::string ggufSuffix;  // "{arch}." is prepended
    ValueType type;          // U32 or F32
};

struct ArchNames {
    std::vector<std::string> modelTypes;  // config.json model_type values served
    std::string arch;                     // general.architecture
    bool layerNorm = false;               // LayerNorm (eps key layer_norm_epsilon) vs RMSNorm
    bool rope = true;                     // writes rope.dimension_count / freq_base
    QkOrder qkOrder = QkOrder::AsIs;
    std::string layerPrefix;  // "model.layers."
    // HF module path (without .weight/.bias) -> GGUF base name; global and per layer.
    std::vector<std::pair<std::string, std::string>> global;
    std::vector<std::pair<std::string, std::string>> layer;
    std::vector<std::string> transposed;  // layer modules stored [in,out] (GPT-2 Conv1D)
    std::vector<ExtraKey> extraKeys;
    // Gemma: HF norms compute x*(1+w), llama.cpp's x*w, so every "*norm.weight" goes out as w+1
    // (as llama.cpp's converter does).
    bool normPlusOne = false;
    ArchKeysFn archKeys = nullptr;
};

// The table entry for a model_type, or nullptr.
const ArchNames* findArchNames(const std::string& modelType);
// Comma-separated model_types that GGUF export supports (for error messages).
std::string supportedModelTypes();

// Where one HF tensor goes. Empty `name` when the tensor has no GGUF counterpart.
struct TensorRoute {
    std::string name;        // "blk.0.attn_q.weight"
    bool transpose = false;  // Conv1D [in,out] -> [out,in]
    bool permuteQ = false;   // Llama row order, q heads
    bool permuteK = false;   // Llama row order, kv heads
    bool plusOne = false;    // Gemma norm: w + 1
};
TensorRoute routeTensor(const ArchNames& a, const std::string& hfName);

}  // namespace peft::gguf
