// CausalLM: the decoder-only transformer shared by every family. A family file (gpt2.cpp,
// llama.cpp, qwen3.cpp, phi3.cpp, gemma3.cpp) builds its blocks under Hugging Face's module names, so named_parameters() gives
// the checkpoint keys. PEFT methods attach through the adapter slots declared here.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/model/linear.h"

namespace peft {

// Keys and values of one layer, without the grouped-query repeat. [B, kvH, T, D]
struct LayerCache {
    torch::Tensor k, v;
};

struct KVCache {
    std::vector<LayerCache> layers;
    torch::Tensor keyMask;  // [B, Tk] 1 = attend, for every key so far (prefix and virtual tokens included)
    int64_t length() const { return keyMask.defined() ? keyMask.size(1) : 0; }
};

// Bottleneck adapters and the like: edits a block's sublayer outputs before the residual add.
class BlockAdapter {
public:
    virtual ~BlockAdapter() = default;
    virtual torch::Tensor afterAttention(const torch::Tensor& a) { return a; }  // [B,T,C]
    virtual torch::Tensor afterMlp(const torch::Tensor& m) { return m; }        // [B,T,C]
};

// Prompt tuning: virtual token embeddings prepended to the input embeddings.
class PromptProvider {
public:
    virtual ~PromptProvider() = default;
    virtual int64_t numVirtualTokens() const = 0;
    virtual torch::Tensor embeddings(int64_t batch) = 0;  // [B, P, C]
};

// Prefix tuning: per-layer key/value prefixes, seen by attention as past keys.
class PrefixProvider {
public:
    virtual ~PrefixProvider() = default;
    virtual int64_t length() const = 0;
    virtual std::vector<LayerCache> keyValues(int64_t batch) = 0;  // per layer [B, kvH, P, D]
};

// What every decoder layer of one forward pass shares.
struct LayerContext {
    torch::Tensor mask;                // additive [B,1,T,Tk], or undefined for a plain causal mask
    torch::Tensor slidingMask;         // the same within the sliding window, for sliding layers;
                                       // undefined when the window covers every key
    torch::Tensor cos, sin;            // RoPE tables [T, rotaryDim] (rotary families)
    torch::Tensor localCos, localSin;  // RoPE of the sliding layers when they have their own base
};

struct ModelOptions {
    torch::Dtype dtype = torch::kFloat32;  // compute and storage dtype of the frozen weights
    torch::Device device = torch::kCPU;
};

class CausalLMImpl : public torch::nn::Module {
public:
    CausalLMImpl(ModelConfig config);
    ~CausalLMImpl() override = default;

    const ModelConfig& config() const { return m_config; }
    const ArchTable& table() const { return m_table; }
    std::shared_ptr<AdapterState> adapterState() const { return m_state; }

    // Final hidden states. ids [B,T] int64; attentionMask [B,T] (1 = token, 0 = padding) for the
    // new tokens, or undefined for all ones. With a cache, keys/values are appended to it.
    torch::Tensor hiddenStates(const torch::Tensor& ids, const torch::Tensor& attentionMask = {},
                               KVCache* cache = nullptr);
    // Same, starting from input embeddings [B,T,C] instead of ids.
    torch::Tensor hiddenStatesFromEmbeddings(torch::Tensor embeds, torch::Tensor attentionMask, KVCache* cache);
    // [B,T,C] -> [B,T,V]
    torch::Tensor lmHead(const torch::Tensor& hidden);
    virtual torch::Tensor lmHeadWeight() = 0;  // [V, C]
    // Logits [B,T(+virtual),V].
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attentionMask = {}, KVCache* cache = nullptr);

    // Sequence classification (transformers' *ForSequenceClassification): a `score` head
    // [numLabels, C] read at each row's last non-padding token.
    void enableClassification(int64_t numLabels);
    bool classification() const { return m_score.defined(); }
    torch::Tensor classify(const torch::Tensor& ids, const torch::Tensor& attentionMask = {});  // [B, numLabels]
    torch::Tensor& scoreWeight() { return m_score; }
    // Padding id the classifier uses to find each row's last token (config.json may lack it).
    void setPadTokenId(int64_t id) { m_config.padTokenId = id; }

    // Adapter slots.
    std::vector<std::pair<std::string, Linear>> linears() const;  // (HF module path, module)
    Linear linear(const std::string& path) const;
    void setBlockAdapter(int64_t layer, const std::string& name, std::shared_ptr<BlockAdapter> a);
    void setPromptProvider(const std::string& name, std::shared_ptr<PromptProvider> p);
    void setPrefixProvider(const std::string& name, std::shared_ptr<PrefixProvider> p);
    void removeAdapterEverywhere(const std::string& name);
    std::shared_ptr<PromptProvider> activePrompt() const;
    std::shared_ptr<PrefixProvider> activePrefix() const;

    // Input token embeddings [V, C] (prompt-tuning text init reads it).
    virtual torch::Tensor embeddingWeight() = 0;
    torch::Dtype dtype() const { return m_dtype; }
    void setComputeDtype(torch::Dtype d) { m_dtype = d; }
    // For callers that never read the outputs at padding positions (training and evaluation:
    // their labels are -100, and the classifier reads each row's last real token): a right-padded
    // batch then runs as plain causal attention. A real query never sees a later padding key,
    // so its result is unchanged, and the fused kernels apply (no [B,1,T,Tk] mask is built).
    void setPadRowsUnread(bool on) { m_padRowsUnread = on; }

protected:
    virtual torch::Tensor embedTokens(const torch::Tensor& ids) = 0;                        // [B,T] -> [B,T,C]
    virtual torch::Tensor addPositions(const torch::Tensor& h, int64_t past) { return h; }  // GPT-2's wpe
    // One decoder layer [B,T,C] -> [B,T,C].
    virtual torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const LayerContext& ctx,
                                       LayerCache& cache) = 0;
    virtual torch::Tensor finalNorm(const torch::Tensor& h) = 0;
    // Fills ctx's RoPE tables for absolute positions [T] (rotary families; GPT-2 has none).
    virtual void rope(const torch::Tensor& positions, LayerContext& ctx) {}
    // The mask layer i attends with: the sliding one for a sliding-window layer.
    const torch::Tensor& layerMask(int64_t i, const LayerContext& ctx) const {
        return m_config.slidingLayer(i) && ctx.slidingMask.defined() ? ctx.slidingMask : ctx.mask;
    }

    Linear makeLinear(const std::string& path, const LinearSpec& spec);
    // Additive attention mask [B,1,T,Tk] in the compute dtype from key mask [B,Tk] (1 = attend);
    // window > 0: a query also sees only the `window` latest keys (itself included).
    torch::Tensor additiveMask(const torch::Tensor& keyMask, int64_t past, int64_t T, const torch::TensorOptions& opts,
                               int64_t window = 0) const;
    BlockAdapter* blockAdapter(int64_t layer) const;

    ModelConfig m_config;
    ArchTable m_table;
    std::shared_ptr<AdapterState> m_state;
    torch::Dtype m_dtype = torch::kFloat32;
    bool m_padRowsUnread = false;
    std::map<std::string, Linear> m_linears;
    std::vector<std::map<std::string, std::shared_ptr<BlockAdapter>>> m_blockAdapters;
    std::map<std::string, std::shared_ptr<PromptProvider>> m_prompts;
    std::map<std::string, std::shared_ptr<PrefixProvider>> m_prefixes;
    torch::Tensor m_score;
    std::shared_ptr<torch::nn::Module> m_scoreModule;
};

using CausalLM = std::shared_ptr<CausalLMImpl>;

// Builds an uninitialised model of the config's family (weights empty until loaded).
CausalLM buildModel(const ModelConfig& config);

// The "minus infinity" of additive masks in a dtype (finite, as transformers uses).
double maskValue(torch::Dtype dtype);

// attention() runs a fused kernel (at::scaled_dot_product_attention, LibTorch >= 2.1) that keeps
// no [B,heads,T,Tk] matrix for backward; false: the eager softmax path (the budget models both).
bool fusedAttentionAvailable();

// Attention over [B,H,T,D] queries and [B,kvH,Tk,D] keys/values; mask additive [B|1,1,T,Tk],
// or undefined for a plain causal mask (T == Tk, no padding).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, double scale);

}  // namespace peft
