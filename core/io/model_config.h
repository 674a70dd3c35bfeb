// ModelConfig: the parts of a Hugging Face config.json the core needs, for GPT-2, the Llama
// family (llama, mistral, qwen2), Qwen3, Phi-3 and Gemma 3 (text). Reads both the transformers 5
// form (`rope_parameters`) and the legacy one (`rope_theta`, `rope_scaling` at the top level).
// No torch: budget/ uses it alone. What a family *is* (its traits) lives in architecture.h.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peft {

// Which forward file builds the model (core/model/<family>.cpp). Callers outside core/model and
// the two tables (model_config.cpp, architecture.cpp) ask ArchTable::traits, never this.
enum class Family { Gpt2, Llama, Qwen3, Phi3, Gemma3 };

struct RopeConfig {
    std::string type = "default";  // default | linear | llama3 | longrope
    double theta = 10000.0;
    double factor = 1.0;
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositions = 8192;
    // longrope (Phi-3 128k, Phi-4-mini): per-frequency divisors, one per rotary pair; the long
    // ones apply once a sequence passes originalMaxPositions. attentionFactor scales cos and sin.
    std::vector<double> shortFactor, longFactor;
    double attentionFactor = 1.0;
};

struct ModelConfig {
    std::string modelType;  // as in config.json: gpt2, llama, mistral, qwen2
    Family family = Family::Llama;
    int64_t vocabSize = 0;
    int64_t hiddenSize = 0;
    int64_t numLayers = 0;
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    int64_t intermediateSize = 0;
    int64_t maxPositions = 0;
    double normEps = 1e-5;
    std::string activation;  // gelu_new | silu | ...
    bool tieWordEmbeddings = false;
    bool attentionBias = false;  // q/k/v (and o for llama's attention_bias) bias
    bool qkvBiasOnly = false;    // qwen2: q/k/v carry a bias, o_proj does not
    bool mlpBias = false;
    RopeConfig rope;
    std::string torchDtype = "float32";
    int64_t bosTokenId = -1;
    int64_t eosTokenId = -1;
    std::vector<int64_t> eosTokenIds;
    int64_t padTokenId = -1;
    int64_t numLabels = 2;  // for sequence classification
    int64_t slidingWindow = 0;
    // Layers that attend within slidingWindow only (Gemma 3's local layers, Phi-3's every layer
    // when sliding_window is set); empty: none. Mistral's window is not applied (see llama.cpp).
    std::vector<bool> slidingLayers;
    RopeConfig localRope;     // RoPE of the sliding layers (Gemma 3: rope_local_base_freq)
    int64_t rotaryDim = 0;    // dimensions of each head that RoPE rotates (partial_rotary_factor)
    double queryScale = 0.0;  // attention scale; 0: 1/sqrt(head_dim)
    nlohmann::json raw;       // the whole file, kept for export

    int64_t kvDim() const { return numKvHeads * headDim; }
    bool slidingLayer(int64_t i) const {
        return i < static_cast<int64_t>(slidingLayers.size()) && slidingLayers[static_cast<size_t>(i)];
    }
    // Parses a config.json object. `where` names the file in error messages.
    static ModelConfig fromJson(const nlohmann::json& j, const std::string& where);
    // Reads `path` (a config.json, or a folder holding one).
    static ModelConfig load(const std::string& path);
};

// Reads a JSON file with an error naming the file and the line on a parse failure.
nlohmann::json readJsonFile(const std::string& path);

}  // namespace peft
