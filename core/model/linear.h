// Linear: a frozen base projection (nn.Linear [out,in] or GPT-2 Conv1D [in,out]) with named
// adapter slots that PEFT methods fill (LoRA, DoRA, (IA)3). The builder picks this module for
// every projection, so methods attach without monkey-patching.
#pragma once
#include <torch/torch.h>

#include "core/model/dnnl_cpu.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace peft {

// Which adapter is active and whether adapters are on; shared by every module of one model.
struct AdapterState {
    std::string active = "default";
    bool enabled = true;
};

class LinearImpl;
struct PackedFrozenWeight;

// CPU bf16 training re-blocks frozen linear weights once for oneDNN's kernels (core/model/
// dnnl_cpu.h): two extra copies of each (forward and input-gradient layouts), ~10% faster steps on
// an AMX Xeon. The copies are capped process-wide (layers past the cap keep LibTorch's products);
// PEFT_PACKED_WEIGHTS=0 turns them off. The budget (core/budget) counts them with the same cap.
using kernels::kPackedWeightCapBytes;
int64_t packedWeightBytesInUse();

// One adapter's effect on one projection.
class LinearAdapter {
public:
    virtual ~LinearAdapter() = default;
    // Scales or edits the input before the base projection ((IA)3 on feed-forward modules).
    virtual torch::Tensor transformInput(const torch::Tensor& x) { return x; }
    // Given the input and the base output, returns the adapted output. [.., in], [.., out] -> [.., out]
    virtual torch::Tensor transformOutput(const torch::Tensor& x, const torch::Tensor& baseOut, LinearImpl& base) = 0;
    // The change this adapter makes to the dense weight [out, in], when it can be merged.
    // `weight` is the current dense weight; returns the new dense weight.
    virtual torch::Tensor mergedWeight(const torch::Tensor& weight) { return torch::Tensor(); }
    virtual torch::Tensor mergedBias(const torch::Tensor& bias) { return bias; }
    // Undo a merge. Returns undefined when it cannot.
    virtual torch::Tensor unmergedWeight(const torch::Tensor& weight) { return torch::Tensor(); }
};

// Optional quantised storage of the frozen weight (QLoRA).
class QuantizedWeight {
public:
    virtual ~QuantizedWeight() = default;
    // The dense weight [out, in] in `dtype`, built on the fly.
    virtual torch::Tensor dequantize(torch::Dtype dtype) const = 0;
    virtual int64_t storageBytes() const = 0;
};

class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(std::string path, int64_t in, int64_t out, bool bias, bool conv1d, std::shared_ptr<AdapterState> state);

    // [.., in] -> [.., out]
    torch::Tensor forward(const torch::Tensor& x);
    // The frozen projection alone, no adapters.
    torch::Tensor baseForward(const torch::Tensor& x);

    // Dense weight as [out, in] (a view for Linear, a transpose view for Conv1D).
    torch::Tensor denseWeight() const;
    // Replaces the dense weight [out, in] in place (merge/unmerge), keeping the storage layout.
    void setDenseWeight(const torch::Tensor& w);

    void addAdapter(const std::string& name, std::shared_ptr<LinearAdapter> a);
    void removeAdapter(const std::string& name);
    std::shared_ptr<LinearAdapter> adapter(const std::string& name) const;
    bool hasAdapter(const std::string& name) const { return m_adapters.count(name) > 0; }

    // QLoRA: replace the dense weight by a quantised one (the dense tensor is released).
    void setQuantized(std::shared_ptr<QuantizedWeight> q);
    bool quantized() const { return static_cast<bool>(m_quant); }
    int64_t weightStorageBytes() const;
    // Frees the oneDNN copies of the frozen weight (the trainer calls this when a run ends).
    void releasePacked();

    const std::string& path() const { return m_path; }
    int64_t inFeatures() const { return m_in; }
    int64_t outFeatures() const { return m_out; }
    bool conv1d() const { return m_conv1d; }

    torch::Tensor weight;  // [out,in] (Linear) or [in,out] (Conv1D); undefined when quantised
    torch::Tensor bias;    // [out] or undefined

private:
    torch::Tensor packedForward(const torch::Tensor& x2);

    std::string m_path;
    int64_t m_in, m_out;
    bool m_conv1d;
    std::shared_ptr<AdapterState> m_state;
    std::map<std::string, std::shared_ptr<LinearAdapter>> m_adapters;
    std::shared_ptr<QuantizedWeight> m_quant;
    std::shared_ptr<PackedFrozenWeight> m_packed;  // CPU bf16: oneDNN copies of the frozen weight
};
TORCH_MODULE(Linear);

}  // namespace peft
