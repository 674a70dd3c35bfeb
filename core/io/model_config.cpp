// config.json parsing with errors that name the key.
#include "core/io/model_config.h"

#include <cmath>
#include <filesystem>
#include <initializer_list>

#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft {

using nlohmann::json;

json readJsonFile(const std::string& path) {
    std::string text = readFile(path);
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // Translate the byte offset into a line number for the user.
        size_t line = 1;
        for (size_t i = 0; i < std::min<size_t>(e.byte, text.size()); ++i)
            if (text[i] == '\n') ++line;
        fail(path + ":" + std::to_string(line), std::string("invalid JSON (") + e.what() + ")",
             "Fix the syntax at that line.");
    } catch (const json::exception& e) {
        // Not a syntax error but a value nlohmann cannot hold, e.g. a number overflowing a double (1e999).
        fail(path, std::string("invalid JSON (") + e.what() + ")", "Fix the value it names.");
    }
}

namespace {

template <typename T>
T getOr(const json& j, const std::string& key, T def, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    try {
        return it->get<T>();
    } catch (const std::exception&) {
        fail(where, "key '" + key + "' has the wrong type (" + it->dump() + ")", "Check config.json.");
    }
}

template <typename T>
T require(const json& j, const std::string& key, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        fail(where, "missing key '" + key + "'", "A Hugging Face config.json for this model type must have it.");
    try {
        return it->get<T>();
    } catch (const std::exception&) {
        fail(where, "key '" + key + "' has the wrong type (" + it->dump() + ")", "Check config.json.");
    }
}

// RoPE settings from one parameter object (transformers 5's rope_parameters, or the legacy
// rope_scaling merged over it) with `thetaDefault` when it names no rope_theta.
void readRopeParams(const json& params, double thetaDefault, RopeConfig& r, const std::string& where) {
    r.theta = getOr<double>(params, "rope_theta", thetaDefault, where);
    std::string type =
        getOr<std::string>(params, "rope_type", getOr<std::string>(params, "type", "default", where), where);
    if (type != "default" && type != "linear" && type != "llama3" && type != "longrope")
        fail(where, "rope type '" + type + "' is not supported",
             "Supported RoPE types: default, linear, llama3, longrope (yarn and dynamic are not implemented).");
    r.type = type;
    r.factor = getOr<double>(params, "factor", 1.0, where);
    r.lowFreqFactor = getOr<double>(params, "low_freq_factor", 1.0, where);
    r.highFreqFactor = getOr<double>(params, "high_freq_factor", 4.0, where);
    r.originalMaxPositions = getOr<int64_t>(params, "original_max_position_embeddings", 8192, where);
    if (type == "longrope") {
        r.shortFactor = require<std::vector<double>>(params, "short_factor", where);
        r.longFactor = require<std::vector<double>>(params, "long_factor", where);
        r.attentionFactor = getOr<double>(params, "attention_factor", 0.0, where);  // 0: derived below
    }
}

void readRope(const json& j, RopeConfig& r, const std::string& where) {
    // transformers 5: rope_parameters {rope_theta, rope_type, ...}; legacy: rope_theta + rope_scaling.
    json params = json::object();
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = j["rope_parameters"];
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object())
        for (auto it = j["rope_scaling"].begin(); it != j["rope_scaling"].end(); ++it) params[it.key()] = *it;
    readRopeParams(params, getOr<double>(j, "rope_theta", 10000.0, where), r, where);
}

// The fields every Llama-like config.json (llama, mistral, qwen2, qwen3, phi3, gemma3_text) shares.
void readLlamaLike(const json& j, ModelConfig& c, const std::string& where, const char* actKey,
                   const char* actDefault) {
    c.vocabSize = require<int64_t>(j, "vocab_size", where);
    c.hiddenSize = require<int64_t>(j, "hidden_size", where);
    c.numLayers = require<int64_t>(j, "num_hidden_layers", where);
    c.numHeads = require<int64_t>(j, "num_attention_heads", where);
    c.numKvHeads = getOr<int64_t>(j, "num_key_value_heads", c.numHeads, where);
    c.intermediateSize = require<int64_t>(j, "intermediate_size", where);
    // Per-layer tables (sliding layers) are sized from this: refuse nonsense before allocating.
    if (c.numLayers <= 0 || c.numLayers > 100000)
        fail(where, "key 'num_hidden_layers' must be between 1 and 100000 (got " + std::to_string(c.numLayers) + ")",
             "Check config.json.");
    c.maxPositions = getOr<int64_t>(j, "max_position_embeddings", 2048, where);
    c.normEps = getOr<double>(j, "rms_norm_eps", 1e-6, where);
    c.activation = getOr<std::string>(j, actKey, actDefault, where);
    c.tieWordEmbeddings = getOr<bool>(j, "tie_word_embeddings", false, where);
    c.mlpBias = getOr<bool>(j, "mlp_bias", false, where);
    readRope(j, c.rope, where);
}

void requireActivation(const ModelConfig& c, std::initializer_list<const char*> ok, const std::string& where) {
    for (const char* a : ok)
        if (c.activation == a) return;
    fail(where, "activation '" + c.activation + "' is not supported for " + c.modelType,
         std::string("Expected '") + *ok.begin() + "'.");
}

void parseGpt2(const json& j, ModelConfig& c, const std::string& where) {
    c.family = Family::Gpt2;
    c.vocabSize = require<int64_t>(j, "vocab_size", where);
    c.hiddenSize = require<int64_t>(j, "n_embd", where);
    c.numLayers = require<int64_t>(j, "n_layer", where);
    c.numHeads = require<int64_t>(j, "n_head", where);
    c.numKvHeads = c.numHeads;
    c.intermediateSize = getOr<int64_t>(j, "n_inner", 4 * c.hiddenSize, where);
    c.maxPositions = require<int64_t>(j, "n_positions", where);
    c.normEps = getOr<double>(j, "layer_norm_epsilon", 1e-5, where);
    c.activation = getOr<std::string>(j, "activation_function", "gelu_new", where);
    c.tieWordEmbeddings = getOr<bool>(j, "tie_word_embeddings", true, where);
    c.attentionBias = true;
    c.mlpBias = true;
    if (getOr<bool>(j, "scale_attn_by_inverse_layer_idx", false, where) ||
        getOr<bool>(j, "reorder_and_upcast_attn", false, where))
        fail(where, "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported",
             "Use a standard GPT-2 checkpoint.");
    if (getOr<bool>(j, "add_cross_attention", false, where))
        fail(where, "add_cross_attention is not supported", "Only decoder-only GPT-2 models are supported.");
}

void parseLlama(const json& j, ModelConfig& c, const std::string& where) {
    c.family = Family::Llama;
    readLlamaLike(j, c, where, "hidden_act", "silu");
    if (c.modelType == "qwen2") {
        c.attentionBias = true;
        c.qkvBiasOnly = true;
    } else {
        c.attentionBias = getOr<bool>(j, "attention_bias", false, where);
    }
    c.slidingWindow = getOr<int64_t>(j, "sliding_window", 0, where);
    requireActivation(c, {"silu", "swish"}, where);
}

void parseQwen3(const json& j, ModelConfig& c, const std::string& where) {
    c.family = Family::Qwen3;
    readLlamaLike(j, c, where, "hidden_act", "silu");
    c.attentionBias = getOr<bool>(j, "attention_bias", false, where);
    if (getOr<bool>(j, "use_sliding_window", false, where))
        fail(where, "key 'use_sliding_window': sliding-window attention is not supported for qwen3",
             "Set use_sliding_window to false (the published Qwen3 checkpoints do).");
    requireActivation(c, {"silu", "swish"}, where);
}

void parsePhi3(const json& j, ModelConfig& c, const std::string& where) {
    c.family = Family::Phi3;
    readLlamaLike(j, c, where, "hidden_act", "silu");
    c.attentionBias = getOr<bool>(j, "attention_bias", false, where);
    if (c.attentionBias)
        fail(where, "key 'attention_bias': a biased qkv_proj is not supported for phi3", "Set it to false.");
    // Phi-3 applies its sliding window to every layer (transformers builds a sliding causal mask).
    c.slidingWindow = getOr<int64_t>(j, "sliding_window", 0, where);
    if (c.slidingWindow > 0) c.slidingLayers.assign(static_cast<size_t>(c.numLayers), true);
    requireActivation(c, {"silu", "swish"}, where);
}

void parseGemma3(const json& j, ModelConfig& c, const std::string& where) {
    c.family = Family::Gemma3;
    readLlamaLike(j, c, where, "hidden_activation", "gelu_pytorch_tanh");
    requireActivation(c, {"gelu_pytorch_tanh"}, where);
    c.tieWordEmbeddings = getOr<bool>(j, "tie_word_embeddings", true, where);
    c.attentionBias = getOr<bool>(j, "attention_bias", false, where);
    c.slidingWindow = getOr<int64_t>(j, "sliding_window", 4096, where);
    const double qpas = getOr<double>(j, "query_pre_attn_scalar", 256.0, where);
    if (!(qpas > 0.0)) fail(where, "key 'query_pre_attn_scalar' must be positive", "Gemma 3 uses head_dim (256).");
    c.queryScale = 1.0 / std::sqrt(qpas);
    for (const char* cap : {"attn_logit_softcapping", "final_logit_softcapping"})
        if (getOr<double>(j, cap, 0.0, where) > 0.0)
            fail(where, std::string("key '") + cap + "': logit soft-capping (Gemma 2) is not supported",
                 "Gemma 3 checkpoints set it to null; use one of those.");
    // Local (sliding) and global layers: layer_types, or every sliding_window_pattern-th layer global.
    c.slidingLayers.assign(static_cast<size_t>(c.numLayers), false);
    if (j.contains("layer_types") && !j["layer_types"].is_null()) {
        const json& lt = j["layer_types"];
        if (!lt.is_array() || static_cast<int64_t>(lt.size()) != c.numLayers)
            fail(where, "key 'layer_types' must list one type per layer (" + std::to_string(c.numLayers) + ")",
                 "Check config.json.");
        for (size_t i = 0; i < lt.size(); ++i) {
            const std::string t = lt[i].is_string() ? lt[i].get<std::string>() : "";
            if (t != "sliding_attention" && t != "full_attention")
                fail(where, "key 'layer_types'[" + std::to_string(i) + "] is " + lt[i].dump(),
                     "Expected \"sliding_attention\" or \"full_attention\".");
            c.slidingLayers[i] = t == "sliding_attention";
        }
    } else {
        const int64_t pattern = getOr<int64_t>(j, "sliding_window_pattern", 6, where);
        if (pattern <= 0) fail(where, "key 'sliding_window_pattern' must be positive", "Gemma 3 uses 6.");
        for (int64_t i = 0; i < c.numLayers; ++i) c.slidingLayers[static_cast<size_t>(i)] = (i + 1) % pattern != 0;
    }
    // RoPE: global layers use rope_theta with the configured scaling, local ones
    // rope_local_base_freq unscaled. transformers 5 nests both under rope_parameters per layer type.
    const json rp = j.value("rope_parameters", json());
    if (rp.is_object() && rp.contains("full_attention")) {
        readRopeParams(rp["full_attention"], 1000000.0, c.rope, where);
        readRopeParams(rp.value("sliding_attention", json::object()), 10000.0, c.localRope, where);
    } else {
        c.localRope.theta = getOr<double>(j, "rope_local_base_freq", 10000.0, where);
    }
}

// Families we know by name but do not run: a clear error naming the missing feature.
void refuseVision(const json&, ModelConfig& c, const std::string& where) {
    fail(where, "model_type '" + c.modelType + "' has a vision tower (vision_config), which is not supported",
         "Use the text-only model: for Gemma 3 a checkpoint with model_type gemma3_text (gemma-3-270m, gemma-3-1b), "
         "or extract the language model's weights and text_config.");
}
void refuseMoe(const json&, ModelConfig& c, const std::string& where) {
    fail(where, "model_type '" + c.modelType + "' is a mixture-of-experts model, which is not supported",
         "Use a dense model of the family (qwen3, phi3, llama, mistral).");
}

using ConfigParser = void (*)(const json&, ModelConfig&, const std::string&);
struct ModelTypeEntry {
    const char* modelType;
    ConfigParser parse;
};
// The registry of config.json model types: adding a family is one line here, its table in
// architecture.cpp and its forward file in core/model.
const ModelTypeEntry kModelTypes[] = {
    {"gpt2", parseGpt2},      {"llama", parseLlama},    {"mistral", parseLlama},      {"qwen2", parseLlama},
    {"qwen3", parseQwen3},    {"phi3", parsePhi3},      {"gemma3_text", parseGemma3}, {"gemma3", refuseVision},
    {"phi3_v", refuseVision}, {"phi4mm", refuseVision}, {"qwen2_vl", refuseVision},   {"qwen2_5_vl", refuseVision},
    {"mllama", refuseVision}, {"llava", refuseVision},  {"qwen3_moe", refuseMoe},     {"qwen2_moe", refuseMoe},
    {"mixtral", refuseMoe},   {"phimoe", refuseMoe},
};

}  // namespace

ModelConfig ModelConfig::fromJson(const json& j, const std::string& where) {
    if (!j.is_object()) fail(where, "config.json is not a JSON object", "");
    ModelConfig c;
    c.raw = j;
    c.modelType = require<std::string>(j, "model_type", where);
    const ModelTypeEntry* entry = nullptr;
    for (const auto& e : kModelTypes)
        if (c.modelType == e.modelType) entry = &e;
    if (!entry)
        fail(where, "model_type '" + c.modelType + "' is not supported",
             "Supported: gpt2, llama, mistral, qwen2, qwen3, phi3, gemma3_text (Llama 2/3, Mistral, Qwen2/2.5, Qwen3, "
             "Phi-3, Phi-4-mini, Gemma 3 text, SmolLM, TinyLlama).");
    if (j.contains("vision_config") && !j["vision_config"].is_null()) refuseVision(j, c, where);
    for (const char* k : {"num_experts", "num_local_experts", "n_routed_experts"})
        if (getOr<int64_t>(j, k, 0, where) > 0) refuseMoe(j, c, where);
    entry->parse(j, c, where);
    if (c.numHeads <= 0 || c.hiddenSize <= 0 || c.numLayers <= 0 || c.vocabSize <= 0)
        fail(where, "sizes must be positive (hidden size, layers, heads, vocabulary)", "Check config.json.");
    c.headDim = getOr<int64_t>(j, "head_dim", c.hiddenSize / c.numHeads, where);
    if (c.family == Family::Gpt2) c.headDim = c.hiddenSize / c.numHeads;
    if (c.numKvHeads <= 0 || c.numHeads % c.numKvHeads != 0)
        fail(where, "num_attention_heads must be a multiple of num_key_value_heads", "Check config.json.");
    if (c.headDim <= 0) fail(where, "head_dim must be positive", "Check config.json.");
    if (c.family != Family::Gpt2) {
        // partial_rotary_factor (Phi-4-mini 0.75): RoPE on the first dimensions of each head only.
        json rp = j.value("rope_parameters", json());
        double prf = getOr<double>(j, "partial_rotary_factor", 1.0, where);
        if (rp.is_object()) prf = getOr<double>(rp, "partial_rotary_factor", prf, where);
        if (!(prf > 0.0 && prf <= 1.0))
            fail(where, "key 'partial_rotary_factor' must be in (0, 1]", "Check config.json.");
        c.rotaryDim = static_cast<int64_t>(static_cast<double>(c.headDim) * prf);
        if (c.rotaryDim % 2 != 0 || c.rotaryDim <= 0)
            fail(where,
                 "head_dim x partial_rotary_factor must be a positive even number (got " + std::to_string(c.rotaryDim) +
                     ")",
                 "Check config.json.");
    }
    if (c.rope.type == "longrope") {
        // As transformers: with original_max_position_embeddings at the top level (Phi-3), the factor
        // is max_position_embeddings over it; the attention factor follows from the factor.
        const size_t pairs = static_cast<size_t>(c.rotaryDim / 2);
        if (c.rope.shortFactor.size() != pairs || c.rope.longFactor.size() != pairs)
            fail(where,
                 "longrope short_factor/long_factor must have " + std::to_string(pairs) + " entries (rotary dims / 2)",
                 "Check rope_scaling in config.json.");
        const int64_t topOriginal = getOr<int64_t>(j, "original_max_position_embeddings", 0, where);
        if (topOriginal > 0) {
            c.rope.originalMaxPositions = topOriginal;
            c.rope.factor = static_cast<double>(c.maxPositions) / static_cast<double>(topOriginal);
        } else {
            c.rope.originalMaxPositions = c.maxPositions;
        }
        if (c.rope.attentionFactor <= 0.0)
            c.rope.attentionFactor = c.rope.factor <= 1.0
                ? 1.0
                : std::sqrt(1.0 + std::log(c.rope.factor) / std::log(static_cast<double>(c.rope.originalMaxPositions)));
    }
    if (c.slidingWindow <= 0) c.slidingLayers.clear();
    c.torchDtype = getOr<std::string>(j, "dtype", getOr<std::string>(j, "torch_dtype", "float32", where), where);
    c.bosTokenId = getOr<int64_t>(j, "bos_token_id", -1, where);
    if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
        c.eosTokenIds = j["eos_token_id"].get<std::vector<int64_t>>();
        if (!c.eosTokenIds.empty()) c.eosTokenId = c.eosTokenIds.front();
    } else {
        c.eosTokenId = getOr<int64_t>(j, "eos_token_id", -1, where);
        if (c.eosTokenId >= 0) c.eosTokenIds = {c.eosTokenId};
    }
    c.padTokenId = getOr<int64_t>(j, "pad_token_id", -1, where);
    if (j.contains("id2label") && j["id2label"].is_object()) c.numLabels = static_cast<int64_t>(j["id2label"].size());
    c.numLabels = getOr<int64_t>(j, "num_labels", c.numLabels, where);
    return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
    namespace fs = std::filesystem;
    fs::path p(path);
    if (fs::is_directory(p)) p /= "config.json";
    if (!fs::exists(p)) fail(p.string(), "no config.json", "Pick a Hugging Face model folder (it holds config.json).");
    return fromJson(readJsonFile(p.string()), p.string());
}

}  // namespace peft
