// The name tables. Tensor names: llama.cpp's LLM_TENSOR_NAMES; keys: its LLM_KV_NAMES.
#include "core/export/gguf_arch.h"

namespace peft::gguf {

namespace {

const std::vector<std::pair<std::string, std::string>> kLlamaGlobal = {
    {"model.embed_tokens", "token_embd"}, {"model.norm", "output_norm"}, {"lm_head", "output"}};
const std::vector<std::pair<std::string, std::string>> kLlamaLayer = {
    {"input_layernorm", "attn_norm"},    {"self_attn.q_proj", "attn_q"},   {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},      {"self_attn.o_proj", "attn_output"},
    {"post_attention_layernorm", "ffn_norm"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"}};

const std::vector<ArchNames>& table() {
    static const std::vector<ArchNames> k = {
        {{"gpt2"}, "gpt2", true, false, QkOrder::AsIs, "transformer.h.",
         {{"transformer.wte", "token_embd"}, {"transformer.wpe", "position_embd"},
          {"transformer.ln_f", "output_norm"}, {"lm_head", "output"}},
         {{"ln_1", "attn_norm"}, {"attn.c_attn", "attn_qkv"}, {"attn.c_proj", "attn_output"},
          {"ln_2", "ffn_norm"}, {"mlp.c_fc", "ffn_up"}, {"mlp.c_proj", "ffn_down"}},
         {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"},
         {}},
        // Mistral is the llama architecture in llama.cpp (its converter maps it there too).
        {{"llama", "mistral"}, "llama", false, true, QkOrder::LlamaPermute, "model.layers.", kLlamaGlobal, kLlamaLayer, {}, {}},
        // Qwen2 uses NEOX RoPE in llama.cpp: rows stay in HF order.
        {{"qwen2"}, "qwen2", false, true, QkOrder::AsIs, "model.layers.", kLlamaGlobal, kLlamaLayer, {}, {}},
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
            if (a.qkOrder == QkOrder::LlamaPermute) {
                r.permuteQ = gg == "attn_q";
                r.permuteK = gg == "attn_k";
            }
            return r;
        }
    return r;
}

}  // namespace peft::gguf
