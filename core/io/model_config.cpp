// config.json parsing with errors that name the key.
#include "core/io/model_config.h"

#include <filesystem>

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

void readRope(const json& j, RopeConfig& r, const std::string& where) {
    // transformers 5: rope_parameters {rope_theta, rope_type, ...}; legacy: rope_theta + rope_scaling.
    json params = json::object();
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = j["rope_parameters"];
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object())
        for (auto it = j["rope_scaling"].begin(); it != j["rope_scaling"].end(); ++it) params[it.key()] = *it;
    r.theta = getOr<double>(params, "rope_theta", getOr<double>(j, "rope_theta", 10000.0, where), where);
    std::string type = getOr<std::string>(params, "rope_type", getOr<std::string>(params, "type", "default", where), where);
    if (type != "default" && type != "linear" && type != "llama3")
        fail(where, "rope type '" + type + "' is not supported", "Supported RoPE types: default, linear, llama3.");
    r.type = type;
    r.factor = getOr<double>(params, "factor", 1.0, where);
    r.lowFreqFactor = getOr<double>(params, "low_freq_factor", 1.0, where);
    r.highFreqFactor = getOr<double>(params, "high_freq_factor", 4.0, where);
    r.originalMaxPositions = getOr<int64_t>(params, "original_max_position_embeddings", 8192, where);
}

}  // namespace

ModelConfig ModelConfig::fromJson(const json& j, const std::string& where) {
    if (!j.is_object()) fail(where, "config.json is not a JSON object", "");
    ModelConfig c;
    c.raw = j;
    c.modelType = require<std::string>(j, "model_type", where);
    if (c.modelType == "gpt2") {
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
    } else if (c.modelType == "llama" || c.modelType == "mistral" || c.modelType == "qwen2") {
        c.family = Family::Llama;
        c.vocabSize = require<int64_t>(j, "vocab_size", where);
        c.hiddenSize = require<int64_t>(j, "hidden_size", where);
        c.numLayers = require<int64_t>(j, "num_hidden_layers", where);
        c.numHeads = require<int64_t>(j, "num_attention_heads", where);
        c.numKvHeads = getOr<int64_t>(j, "num_key_value_heads", c.numHeads, where);
        c.intermediateSize = require<int64_t>(j, "intermediate_size", where);
        c.maxPositions = getOr<int64_t>(j, "max_position_embeddings", 2048, where);
        c.normEps = getOr<double>(j, "rms_norm_eps", 1e-6, where);
        c.activation = getOr<std::string>(j, "hidden_act", "silu", where);
        c.tieWordEmbeddings = getOr<bool>(j, "tie_word_embeddings", c.modelType == "qwen2" ? false : false, where);
        if (c.modelType == "qwen2") {
            c.attentionBias = true;
            c.qkvBiasOnly = true;
        } else {
            c.attentionBias = getOr<bool>(j, "attention_bias", false, where);
        }
        c.mlpBias = getOr<bool>(j, "mlp_bias", false, where);
        c.slidingWindow = getOr<int64_t>(j, "sliding_window", 0, where);
        if (c.activation != "silu" && c.activation != "swish")
            fail(where, "hidden_act '" + c.activation + "' is not supported for " + c.modelType, "Expected 'silu'.");
        readRope(j, c.rope, where);
    } else {
        fail(where, "model_type '" + c.modelType + "' is not supported",
             "Supported: gpt2, llama, mistral, qwen2 (Llama 2/3, Mistral, Qwen2/2.5, SmolLM, TinyLlama).");
    }
    if (c.numHeads <= 0 || c.hiddenSize <= 0 || c.numLayers <= 0 || c.vocabSize <= 0)
        fail(where, "sizes must be positive (hidden size, layers, heads, vocabulary)", "Check config.json.");
    c.headDim = getOr<int64_t>(j, "head_dim", c.hiddenSize / c.numHeads, where);
    if (c.family == Family::Gpt2) c.headDim = c.hiddenSize / c.numHeads;
    if (c.numKvHeads <= 0 || c.numHeads % c.numKvHeads != 0)
        fail(where, "num_attention_heads must be a multiple of num_key_value_heads", "Check config.json.");
    if (c.headDim <= 0) fail(where, "head_dim must be positive", "Check config.json.");
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
