// The name tables. Tensor names: llama.cpp's LLM_TENSOR_NAMES; keys: its LLM_KV_NAMES.
#include "core/export/gguf_arch.h"

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace peft::gguf {

namespace {

const std::vector<std::pair<std::string, std::string>> kLlamaGlobal = {
    {"model.embed_tokens", "token_embd"}, {"model.norm", "output_norm"}, {"lm_head", "output"}};
const std::vector<std::pair<std::string, std::string>> kLlamaLayer = {
    {"input_layernorm", "attn_norm"}, {"self_attn.q_proj", "attn_q"},      {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},   {"self_attn.o_proj", "attn_output"}, {"post_attention_layernorm", "ffn_norm"},
    {"mlp.gate_proj", "ffn_gate"},    {"mlp.up_proj", "ffn_up"},           {"mlp.down_proj", "ffn_down"}};

// Qwen3: the Llama layer plus per-head RMSNorm on q and k (plain x*w, as llama.cpp's).
std::vector<std::pair<std::string, std::string>> qwen3Layer() {
    auto l = kLlamaLayer;
    l.push_back({"self_attn.q_norm", "attn_q_norm"});
    l.push_back({"self_attn.k_norm", "attn_k_norm"});
    return l;
}

// Gemma 3: HF's post_attention_layernorm is llama.cpp's post_attention_norm; its
// pre_feedforward_layernorm the ffn_norm; post_feedforward_layernorm the post_ffw_norm.
const std::vector<std::pair<std::string, std::string>> kGemma3Layer = {
    {"input_layernorm", "attn_norm"},
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"},
    {"self_attn.q_norm", "attn_q_norm"},
    {"self_attn.k_norm", "attn_k_norm"},
    {"post_attention_layernorm", "post_attention_norm"},
    {"pre_feedforward_layernorm", "ffn_norm"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
    {"post_feedforward_layernorm", "post_ffw_norm"}};

// Phi-3: the fused projections keep their layout. llama.cpp's attn_qkv is q, k, v rows as HF's
// qkv_proj; its ffn_up holds HF's gate_up_proj whole (gate rows first), split by its SwiGLU.
const std::vector<std::pair<std::string, std::string>> kPhi3Layer = {
    {"input_layernorm", "attn_norm"},         {"self_attn.qkv_proj", "attn_qkv"}, {"self_attn.o_proj", "attn_output"},
    {"post_attention_layernorm", "ffn_norm"}, {"mlp.gate_up_proj", "ffn_up"},     {"mlp.down_proj", "ffn_down"}};

bool near(double a, double b) { return std::fabs(a - b) <= 1e-6 * std::max(std::fabs(a), std::fabs(b)); }

// llama.cpp's gemma3 fixes what the config could vary: every 6th layer global (il % 6 == 5),
// local layers at RoPE base 1e4 without scaling, and the query scale 1/sqrt(head_dim) (for the
// 62-layer 27B, 1/sqrt(hidden/heads)). A config that differs cannot be expressed, so it is refused.
void gemma3Keys(Writer& w, const ModelConfig& c, const std::string& p, const std::string& where) {
    if (c.slidingWindow <= 0 || c.slidingLayers.empty())
        fail(where + ": sliding_window", "llama.cpp's gemma3 needs local sliding-window layers",
             "Export a Gemma 3 checkpoint with its sliding_window set (every published one has it).");
    for (int64_t i = 0; i < c.numLayers; ++i)
        if (c.slidingLayer(i) != (i % 6 < 5))
            fail(where + ": layer_types",
                 "layer " + std::to_string(i) + " is " + (c.slidingLayer(i) ? "sliding" : "global") +
                     ", but llama.cpp's gemma3 makes every 6th layer (5, 11, ...) global and the others sliding",
                 "Only the published Gemma 3 layer pattern (sliding_window_pattern 6) can be exported to GGUF.");
    if (!near(c.localRope.theta, 10000.0) || c.localRope.type != "default")
        fail(where + ": rope_local_base_freq", "llama.cpp's gemma3 runs the sliding layers at RoPE base 10000 unscaled",
             "Only the published value (10000, no scaling on local layers) can be exported to GGUF.");
    const double llamaScale =
        1.0 / std::sqrt(static_cast<double>(c.numLayers == 62 ? c.hiddenSize / c.numHeads : c.headDim));
    const double ours = c.queryScale > 0 ? c.queryScale : 1.0 / std::sqrt(static_cast<double>(c.headDim));
    if (!near(ours, llamaScale))
        fail(where + ": query_pre_attn_scalar",
             "llama.cpp's gemma3 scales queries by " + std::to_string(llamaScale) +
                 " (1/sqrt(head_dim)), this config by " + std::to_string(ours),
             "Only query_pre_attn_scalar = head_dim (hidden/heads for the 62-layer 27B) can be exported to GGUF.");
    w.setU32(p + "attention.sliding_window", static_cast<uint32_t>(c.slidingWindow));
    // Always written for Gemma 3, as llama.cpp's converter does (head_dim is never hidden/heads there).
    if (!w.hasKey(p + "attention.key_length")) {
        w.setU32(p + "attention.key_length", static_cast<uint32_t>(c.headDim));
        w.setU32(p + "attention.value_length", static_cast<uint32_t>(c.headDim));
    }
}

// llama.cpp's phi3 takes attn_output as [hidden, hidden] and reads the window (0: none) always.
void phi3Keys(Writer& w, const ModelConfig& c, const std::string& p, const std::string& where) {
    if (c.numHeads * c.headDim != c.hiddenSize)
        fail(where + ": head_dim", "llama.cpp's phi3 needs heads x head_dim = hidden_size",
             "This Phi-3 variant cannot be exported to GGUF.");
    w.setU32(p + "attention.sliding_window", static_cast<uint32_t>(std::max<int64_t>(0, c.slidingWindow)));
}

const std::vector<ArchNames>& table() {
    static const std::vector<ArchNames> k = {
        {{"gpt2"},
         "gpt2",
         true,
         false,
         QkOrder::AsIs,
         "transformer.h.",
         {{"transformer.wte", "token_embd"},
          {"transformer.wpe", "position_embd"},
          {"transformer.ln_f", "output_norm"},
          {"lm_head", "output"}},
         {{"ln_1", "attn_norm"},
          {"attn.c_attn", "attn_qkv"},
          {"attn.c_proj", "attn_output"},
          {"ln_2", "ffn_norm"},
          {"mlp.c_fc", "ffn_up"},
          {"mlp.c_proj", "ffn_down"}},
         {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"},
         {}},
        // Mistral is the llama architecture in llama.cpp (its converter maps it there too).
        {{"llama", "mistral"},
         "llama",
         false,
         true,
         QkOrder::LlamaPermute,
         "model.layers.",
         kLlamaGlobal,
         kLlamaLayer,
         {},
         {}},
        // Qwen2 uses NEOX RoPE in llama.cpp: rows stay in HF order.
        {{"qwen2"}, "qwen2", false, true, QkOrder::AsIs, "model.layers.", kLlamaGlobal, kLlamaLayer, {}, {}},
        // Qwen3, Gemma 3 and Phi-3 use NEOX RoPE in llama.cpp too (HF's rotate-half), rows as HF.
        {{"qwen3"}, "qwen3", false, true, QkOrder::AsIs, "model.layers.", kLlamaGlobal, qwen3Layer(), {}, {}},
        {{"gemma3_text"},
         "gemma3",
         false,
         true,
         QkOrder::AsIs,
         "model.layers.",
         kLlamaGlobal,
         kGemma3Layer,
         {},
         {},
         true,
         gemma3Keys},
        {{"phi3"},
         "phi3",
         false,
         true,
         QkOrder::AsIs,
         "model.layers.",
         kLlamaGlobal,
         kPhi3Layer,
         {},
         {},
         false,
         phi3Keys},
    };
    return k;
}

bool endsWith(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

const ArchNames* findArchNames(const std::string& modelType) {
    for (const auto& a : table())
        for (const auto& m : a.modelTypes)
            if (m == modelType) return &a;
    return nullptr;
}

std::string supportedModelTypes() {
    std::string s;
    for (const auto& a : table())
        for (const auto& m : a.modelTypes) s += (s.empty() ? "" : ", ") + m;
    return s;
}

TensorRoute routeTensor(const ArchNames& a, const std::string& hfName) {
    TensorRoute r;
    std::string suffix;
    std::string module;
    for (const char* suf : {".weight", ".bias"})
        if (endsWith(hfName, suf)) {
            suffix = suf;
            module = hfName.substr(0, hfName.size() - suffix.size());
        }
    if (suffix.empty()) return r;
    for (const auto& [hf, gg] : a.global)
        if (module == hf) {
            r.name = gg + suffix;
            r.plusOne = a.normPlusOne && suffix == ".weight" && endsWith(module, "norm");
            return r;
        }
    if (module.compare(0, a.layerPrefix.size(), a.layerPrefix) != 0) return r;
    const std::string rest = module.substr(a.layerPrefix.size());
    const size_t dot = rest.find('.');
    if (dot == std::string::npos || dot == 0) return r;
    const std::string idx = rest.substr(0, dot), rel = rest.substr(dot + 1);
    if (idx.find_first_not_of("0123456789") != std::string::npos) return r;
    for (const auto& [hf, gg] : a.layer)
        if (rel == hf) {
            r.name = "blk." + idx + "." + gg + suffix;
            for (const auto& t : a.transposed)
                if (t == rel && suffix == ".weight") r.transpose = true;
            r.plusOne = a.normPlusOne && suffix == ".weight" && endsWith(rel, "norm");
            if (a.qkOrder == QkOrder::LlamaPermute) {
                r.permuteQ = gg == "attn_q";
                r.permuteK = gg == "attn_k";
            }
            return r;
        }
    return r;
}

}  // namespace peft::gguf
