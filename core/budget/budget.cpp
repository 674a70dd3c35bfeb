// Budget estimates from config.json alone. Every formula below states what it counts; the README
// section (core/budget/README.md) repeats them for users.
#include "core/budget/budget.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/io/architecture.h"
#include "core/model/dnnl_cpu.h"
#include "core/train/loss_chunks.h"
#include "core/peft/module_tree.h"
#include "core/util/error.h"

namespace peft::budget {

namespace {

using u64 = uint64_t;

u64 U(int64_t v) { return v > 0 ? static_cast<u64>(v) : 0; }

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// NF4 storage of one weight tensor of n elements, as bitsandbytes stores it: two 4-bit codes per
// byte, one absmax per block of 64. Plain: fp32 absmax (4 B / 64 elements -> 0.5625 B/param in
// all). Double quantisation: the absmaxes are themselves 8-bit quantised in blocks of 256 with an
// fp32 scale per block, plus one fp32 offset (-> ~0.5159 B/param).
struct Nf4Bytes {
    u64 codes = 0, constants = 0;
};
Nf4Bytes nf4Bytes(u64 n, bool doubleQuant) {
    constexpr u64 kBlock = 64, kBlock2 = 256;
    Nf4Bytes b;
    b.codes = (n + 1) / 2;
    const u64 blocks = (n + kBlock - 1) / kBlock;
    if (!doubleQuant) {
        b.constants = blocks * 4;
    } else {
        b.constants = blocks * 1 + ((blocks + kBlock2 - 1) / kBlock2) * 4 + 4;
    }
    return b;
}

// Which tensor a layer linear reads: the last linear of each block (o_proj / attn.c_proj,
// down_proj / mlp.c_proj) reads the block's inner activation; the others read the block's
// normalised input (q/k/v, c_attn; gate/up, c_fc), which they share.
enum class InputGroup { AttnIn, AttnOut, MlpIn, MlpAct };
std::vector<InputGroup> inputGroups(const ArchTable& a) {
    std::vector<InputGroup> g(a.linears.size());
    for (size_t i = 0; i < a.linears.size(); ++i) {
        const bool attn = a.linears[i].kind == "attention";
        const bool lastOfBlock = i + 1 == a.linears.size() || a.linears[i + 1].kind != a.linears[i].kind;
        g[i] = attn ? (lastOfBlock ? InputGroup::AttnOut : InputGroup::AttnIn)
                    : (lastOfBlock ? InputGroup::MlpAct : InputGroup::MlpIn);
    }
    return g;
}

}  // namespace

Precision parsePrecision(const std::string& s, const std::string& where) {
    const std::string l = lower(s);
    if (l == "fp32" || l == "float32" || l == "f32") return Precision::Fp32;
    if (l == "bf16" || l == "bfloat16") return Precision::Bf16;
    if (l == "fp16" || l == "float16" || l == "f16") return Precision::Fp16;
    fail(where, "precision '" + s + "' is not supported", "Use fp32, bf16 or fp16.");
}
Optimizer parseOptimizer(const std::string& s, const std::string& where) {
    const std::string l = lower(s);
    if (l == "adamw") return Optimizer::AdamW;
    if (l == "adam") return Optimizer::Adam;
    if (l == "sgd") return Optimizer::Sgd;
    if (l == "sgd-momentum" || l == "sgd_momentum") return Optimizer::SgdMomentum;
    fail(where, "optimizer '" + s + "' is not supported", "Use adamw, adam, sgd or sgd-momentum.");
}
BaseQuant parseQuant(const std::string& s, const std::string& where) {
    const std::string l = lower(s);
    if (l == "none" || l.empty()) return BaseQuant::None;
    if (l == "nf4") return BaseQuant::Nf4;
    if (l == "nf4-dq" || l == "nf4_dq" || l == "nf4-double") return BaseQuant::Nf4DoubleQuant;
    fail(where, "quantisation '" + s + "' is not supported", "Use none, nf4 or nf4-dq (double-quantised constants).");
}
Device parseDevice(const std::string& s, const std::string& where) {
    const std::string l = lower(s);
    if (l == "cpu") return Device::Cpu;
    if (l == "cuda" || l.rfind("cuda:", 0) == 0 || l == "gpu") return Device::Cuda;
    fail(where, "device '" + s + "' is not supported", "Use cpu or cuda.");
}
std::string toString(Device d) { return d == Device::Cpu ? "cpu" : "cuda"; }
std::string toString(Precision p) { return p == Precision::Fp32 ? "fp32" : p == Precision::Bf16 ? "bf16" : "fp16"; }
std::string toString(Optimizer o) {
    switch (o) {
        case Optimizer::AdamW: return "adamw";
        case Optimizer::Adam: return "adam";
        case Optimizer::Sgd: return "sgd";
        default: return "sgd-momentum";
    }
}
std::string toString(BaseQuant q) { return q == BaseQuant::None ? "none" : q == BaseQuant::Nf4 ? "nf4" : "nf4-dq"; }
int bytesOf(Precision p) { return p == Precision::Fp32 ? 4 : 2; }

namespace {

// What the weights take (MemoryParts::weights, weightsByDtype, packedWeights).
void addWeights(MemoryParts& m, const ModuleTree& tree, const MethodSpec& spec, int64_t addedParams,
                const BudgetOptions& o) {
    const u64 s = static_cast<u64>(bytesOf(o.precision));
    const std::string sName = toString(o.precision);
    // ---- Weights -------------------------------------------------------------------------------
    // Base parameters in the chosen precision, except (with --quantize) the weights of the decoder
    // layers' linears, stored NF4 (embeddings, head, norms and biases stay in the precision, as
    // bitsandbytes leaves them). Parameters the method adds are fp32 (peft keeps adapter weights
    // in fp32 by default: autocast_adapter_dtype).
    const bool quant = o.quantizeBase != BaseQuant::None;
    for (const auto& mod : tree.modules) {
        if (mod.tiedToEmbedding) continue;
        const u64 w = U(mod.weightParams()), b = U(mod.biasParams());
        if (quant && mod.kind == ModuleKind::Linear) {
            const Nf4Bytes q = nf4Bytes(w, o.quantizeBase == BaseQuant::Nf4DoubleQuant);
            m.weightsByDtype["nf4"] += q.codes;
            m.weightsByDtype["nf4_constants"] += q.constants;
            m.weightsByDtype[sName] += b * s;
        } else {
            m.weightsByDtype[sName] += (w + b) * s;
        }
    }
    m.weightsByDtype["fp32"] += U(addedParams) * 4;
    // CPU bf16 training: each frozen decoder-layer weight gets two oneDNN copies (forward and
    // input-gradient layouts, core/model/linear.h) up to the process-wide cap. Full fine-tuning
    // trains those weights (no copies); NF4 weights are dequantised per step instead.
    if (o.packedWeights && o.device == Device::Cpu && o.precision == Precision::Bf16 && !quant &&
        !spec.replacesBase() && kernels::dnnlAvailable()) {
        u64 packed = 0;
        for (const auto& mod : tree.modules)
            if (mod.kind == ModuleKind::Linear && mod.layer >= 0) packed += 2 * U(mod.weightParams()) * 2;
        m.packedWeights = std::min<u64>(packed, U(kernels::kPackedWeightCapBytes));
    }
    for (auto it = m.weightsByDtype.begin(); it != m.weightsByDtype.end();) {
        if (it->second == 0) it = m.weightsByDtype.erase(it);
        else m.weights += (it++)->second;
    }
}

// Gradients and the optimizer's state (MemoryParts::gradients, optimizerState).
void addGradientsAndOptimizerState(MemoryParts& m, const ParamReport& params, const BudgetOptions& o) {
    const u64 s = static_cast<u64>(bytesOf(o.precision));
    // ---- Gradients and optimizer state ----------------------------------------------------------
    // One gradient per trainable parameter in its own dtype: added (adapter) parameters fp32,
    // trainable base parameters (FULL, BitFit, LoRA bias) in the precision.
    const u64 trainAdded = U(params.trainable - params.trainableBase);
    const u64 trainBase = U(params.trainableBase);
    m.gradients = trainAdded * 4 + trainBase * s;
    // AdamW/Adam: two moments (exp_avg, exp_avg_sq) per trainable parameter, SGD with momentum one
    // buffer, plain SGD none. Adapter parameters are fp32, and so is their state. Base weights
    // that train in a bf16/fp16 run (FULL, BitFit, trainable biases) get an fp32 master copy and
    // fp32 state (core/train/optimizer.cpp, as mixed-precision training keeps them): +4 bytes.
    const u64 master = s == 4 ? 0 : 4;
    switch (o.optimizer) {
        case Optimizer::AdamW:
        case Optimizer::Adam: m.optimizerState = trainAdded * 8 + trainBase * (2 * 4 + master); break;
        case Optimizer::SgdMomentum: m.optimizerState = trainAdded * 4 + trainBase * (4 + master); break;
        case Optimizer::Sgd: m.optimizerState = trainBase * master; break;
    }
}

// What the activation pass leaves for the step's peak and the compute estimate.
struct KeptActivations {
    u64 keptLayers = 0, keptAttention = 0, topKept = 0, lossFreedBeforeLayers = 0, ids = 0, attnTransient = 0;
    std::vector<u64> layerKept;  // bytes kept per layer
    int64_t first = 0;           // the lowest layer a gradient reaches
    bool gradAtTop = false;
    u64 Tk = 0, Dq = 0;
};

// What autograd keeps for backward (MemoryParts::activation*).
KeptActivations addActivations(MemoryParts& m, const ModelConfig& mc, const TrainingFootprint& fp,
                               const ArchTable& arch, TaskHead head, const BudgetOptions& o) {
    const u64 s = static_cast<u64>(bytesOf(o.precision));
    const bool quant = o.quantizeBase != BaseQuant::None;
    // ---- Activations ----------------------------------------------------------------------------
    // What LibTorch's autograd keeps for backward in our models (core/model/*.cpp, core/peft/*),
    // in bytes per token, times B*Tq tokens. Tq = T + prompt-tuning virtual tokens; Tk = Tq +
    // prefix-tuning positions. Autograd saves an op's input only when the gradient needs it: a
    // frozen linear keeps only its weight (no activation), a linear whose weight trains keeps its
    // input. Adapters run in fp32 (peft keeps adapter weights in fp32): what they keep is fp32.
    // Per decoder layer l >= the first layer with something trainable (no gradient flows below):
    //   2 x norm input    RMSNorm (Llama) normalises an fp32 copy of its input and keeps that (4H
    //                     bytes) in a non-fp32 run; LayerNorm does so on CPU in bf16 only when its
    //                     weight or bias trains (layers.h; frozen: the bf16 input + 8 bytes of row
    //                     statistics); otherwise the input itself (H in the precision). RMSNorm weights that
    //                     train (BitFit train_norms) also keep the normalised input (H).
    //   H / Dq / H / I    a linear's input in the precision when its weight trains (q/k/v and gate/up
    //                     share theirs): the attention input, attention output, MLP input, MLP act.
    //   adapters          their own fp32 copy of the input per adapted linear (shared with the base
    //                     input in an fp32 run), LoRA's A output [r] (+ dropout output, DoRA 2*out),
    //                     IA3's scaled output, bottleneck H + 2*b -- see each MethodSpec::footprint.
    //                     Our LoRA (not DoRA) in a bf16/fp16 run runs both products in that dtype:
    //                     it keeps the input itself (shared) and A's output in the precision.
    //   3*Dq              q, and k, v after the GQA repeat (k and v at length Tk), kept by QK^T and
    //                     PV (eager) or by the fused kernel, which also keeps its output and the
    //                     per-head log-sum-exp (fp32)
    //   heads*Tk          eager attention: the softmax output [B,heads,Tq,Tk], fp32 (causal_lm.cpp
    //                     takes softmax in fp32), plus its cast to the precision for PV in a
    //                     non-fp32 run; our CPU model's fused causal softmax (no prefix) keeps
    //                     only its output in the precision; none with fused attention (SDPA)
    //   MLP internals     Llama: gate output (silu's input; an fp32 copy on CPU in bf16), silu
    //                     output and up output (the product's inputs); GPT-2: c_fc output (GELU's
    //                     input; the tanh GELU keeps only it)
    // Dropout is assumed 0 (it is the identity in LibTorch then); p > 0 would add a copy and a mask.
    // Gradient checkpointing keeps only each layer's input and recomputes one layer in backward.
    // Top of the model: the final norm's input. Then the head and the loss:
    //   Chunked (our trainer, lm_loss.cpp): the final hidden states, their labelled rows and the
    //     gradient for them ([N,H] each, precision) live through the backward; the head runs in row
    //     chunks (loss_chunks.h): a frozen head forms one chunk's fp32 logits [n,V] (+ their product
    //     in the precision before the cast) and turns them into the gradient in place; a trainable
    //     head runs autograd per chunk: fp32 logits, log-softmax output and two fp32 gradients.
    //   Eager: logits [B,Tq,V] in the precision (held for the whole step), their fp32 copy when the
    //     precision is not fp32, the fp32 log-softmax output kept by cross-entropy, and in backward
    //     two fp32 [B,Tq,V] gradients; the final norm's output too if the head trains.
    // Token ids and labels (int64) either way. SEQ_CLS heads have num_labels columns instead of V.
    // Peak: kept activations + max(the loss transient; one layer's attention backward: gradients
    // of the probabilities and scores [B,heads,Tq,Tk]).
    const u64 B = U(o.batch);
    const u64 Tq = U(o.seqLen + fp.extraQueryTokens);
    const u64 Tk = Tq + U(fp.extraKeyTokens);
    const u64 N = B * Tq;
    const u64 H = U(mc.hiddenSize), I = U(mc.intermediateSize), Dq = U(mc.numHeads * mc.headDim);
    const u64 heads = U(mc.numHeads);
    const u64 V = head == TaskHead::CausalLm ? U(mc.vocabSize) : U(mc.numLabels);
    const std::vector<InputGroup> groups = inputGroups(arch);
    const bool gatedMlp = arch.traits.gatedMlp;
    const bool rmsNorm = arch.traits.norm != NormKind::LayerNorm;
    // Norms over the hidden size per layer: 2, or 4 with post-norms (Gemma 3). Per-head q/k norms
    // are not counted.
    u64 hiddenNorms = 0;
    for (const auto& n : arch.norms) hiddenNorms += n.path.find('.') == std::string::npos ? 1 : 0;
    const bool fp32Run = s == 4;
    const bool cpu = o.device == Device::Cpu;
    const int64_t L = mc.numLayers;
    const int64_t first = fp.anyTrainable ? std::max<int64_t>(0, fp.firstGradLayer) : L;
    const u64 groupWidth[4] = {H, Dq, H, I};
    // Norm inputs kept, bytes per token: RMSNorm in a non-fp32 run keeps an fp32 copy; our CPU bf16
    // LayerNorm with frozen weight and bias (layers.h) keeps the bf16 input and two floats per row,
    // with a training weight or bias the fp32 copy it normalises.
    const u64 normIn = fp32Run ? s * H
        : rmsNorm              ? 4 * H
        : cpu                  ? ((o.loss == LossImpl::Chunked && !fp.normAffineTrains) ? s * H + 8 : 4 * H)
                               : s * H;
    const u64 normWeight = fp.normWeightsTrain && rmsNorm ? s * H : 0;  // bytes per token
    // Our model on CPU without SDPA (LibTorch < 2.1) runs causal attention over equal-length
    // queries and keys (no prefix; right padding counts as none in training, causal_lm.cpp)
    // through a fused scale+mask+softmax that keeps only its output, in the precision.
    const bool ours = o.loss == LossImpl::Chunked;
    const bool fusedCausalCpu = ours && cpu && !o.fusedAttention && fp.extraKeyTokens == 0;
    const u64 attnEltBytes = o.fusedAttention ? 0
        : fusedCausalCpu                      ? U(o.attentionMatricesKept) * s
                                              : 4 + (fp32Run ? 0 : s) + U(o.attentionMatricesKept - 1) * s;

    u64 maxLayerBytes = 0, keptLayers = 0, keptAttention = 0;
    std::vector<u64> layerKept(static_cast<size_t>(std::max<int64_t>(L, 0)), 0);  // bytes kept per layer
    for (int64_t l = first; l < L; ++l) {
        const auto& lin = fp.linears[static_cast<size_t>(l)];
        bool keep[4] = {false, false, false, false};
        u64 fp32Elems = U(fp.extraPerLayer[static_cast<size_t>(l)]), precElems = 0;
        for (size_t i = 0; i < lin.size(); ++i) {
            const int g = static_cast<int>(groups[i]);
            if (lin[i].inputSaved) keep[g] = true;
            // Our LoRA in a bf16/fp16 run: products in the activations' dtype on the input itself.
            const bool actDtype = ours && !fp32Run && lin[i].actDtypeInLowPrecision;
            if (lin[i].adapterInputFp32) {
                if (fp32Run || actDtype) keep[g] = true;  // x.to(fp32) is x itself / x is used as is
                else fp32Elems += groupWidth[g];          // one fp32 copy per adapted linear
            }
            precElems += U(lin[i].extraSaved);
            (actDtype ? precElems : fp32Elems) += U(lin[i].extraSavedFp32);
        }
        u64 perToken = hiddenNorms * (normIn + normWeight);
        for (int g = 0; g < 4; ++g) perToken += keep[g] ? groupWidth[g] * s : 0;
        perToken += precElems * s + fp32Elems * 4;
        perToken += gatedMlp ? ((cpu && !fp32Run) ? 4 : s) * I + 2 * s * I : s * I;
        if (o.fusedAttention) perToken += Dq * s + heads * 4;  // the kernel's output and log-sum-exp
        const u64 qkv = B * (Tq * Dq + 2 * Tk * Dq) * s;
        const u64 layerHidden = N * perToken + qkv;
        const u64 layerAttn = B * heads * Tq * Tk * attnEltBytes;
        maxLayerBytes = std::max(maxLayerBytes, layerHidden + layerAttn);
        if (o.gradientCheckpointing) {
            keptLayers += N * H * s;  // the checkpointed layer input
            layerKept[static_cast<size_t>(l)] = N * H * s;
        } else {
            keptLayers += layerHidden;
            keptAttention += layerAttn;
            layerKept[static_cast<size_t>(l)] = layerHidden + layerAttn;
        }
    }
    if (o.gradientCheckpointing && first < L) keptLayers += maxLayerBytes;  // one layer recomputed
    const bool gradAtTop = first < L || fp.lmHeadTrains;
    if (gradAtTop) keptLayers += N * (normIn + normWeight);  // the final norm's input
    const u64 ids = N * 8 * 2;
    u64 topKept = 0, lossTransient = 0, lossFreedBeforeLayers = 0;
    if (o.loss == LossImpl::Chunked) {
        // hidden [B,Tq,H], its labelled rows and their gradient live until the layers' backward ends.
        topKept = 3 * N * H * s;
        const u64 n = U(lmLossChunkRows(static_cast<int64_t>(V), static_cast<int64_t>(N), fp32Run, !cpu));
        if (fp.lmHeadTrains) lossTransient = n * V * (16 + (fp32Run ? 0 : s));
        else if (gradAtTop) lossTransient = n * V * (4 + (fp32Run ? 0 : s));
    } else {
        if (gradAtTop && fp.lmHeadTrains) keptLayers += N * H * s;  // the head's input
        const u64 logits = N * V * s;
        const u64 lossKept = N * V * ((fp32Run ? 0 : 4) + 4);  // fp32 copy (if any) + log-softmax output
        topKept = logits + lossKept;
        lossFreedBeforeLayers = lossKept;  // freed once cross-entropy's backward ran
        lossTransient = gradAtTop ? N * V * 8 : 0;
    }
    // One layer's backward transient: eager attention's gradients of the probabilities and scores
    // [B,heads,Tq,Tk] (fp32 softmax: an fp32 and a precision one; the fused causal softmax: both in
    // the precision); or, for GPT-2 on CPU, the tanh-GELU's fused backward (layers.h): the
    // incoming gradient and the result, [N,I] each in the precision.
    u64 attnTransient = first < L && !o.fusedAttention ? B * heads * Tq * Tk *
            (fusedCausalCpu ? 2 * s
                 : fp32Run  ? 8
                            : 2 * s + 4)
                                                       : 0;
    // (Our model's GELU; a plain loop -- LossImpl::Eager, test_budget_measured -- uses the stock one.)
    if (first < L && !gatedMlp && cpu && ours) attnTransient = std::max(attnTransient, N * I * 2 * s);
    m.activationLayers = keptLayers;
    m.activationAttention = keptAttention;
    m.activationLoss = topKept + ids;
    m.activationTransient =
        std::max(lossTransient, attnTransient > lossFreedBeforeLayers ? attnTransient - lossFreedBeforeLayers : 0);
    // An NF4 base dequantises one linear's weight at a time into the precision (the QLoRA linear's
    // custom backward dequantises again rather than keeping it): the largest such matrix is live.
    if (quant) {
        u64 largest = 0;
        for (const auto& l : arch.linears) largest = std::max(largest, U(l.in * l.out));
        m.activationTransient += largest * s;
    }
    m.activations = m.activationLayers + m.activationAttention + m.activationLoss + m.activationTransient;

    return {keptLayers,
            keptAttention,
            topKept,
            lossFreedBeforeLayers,
            ids,
            attnTransient,
            std::move(layerKept),
            first,
            gradAtTop,
            Tk,
            Dq};
}

// The step's peak (MemoryParts::stepPeak, optimizerTransient).
void addStepPeak(MemoryParts& m, const KeptActivations& k, const ParamReport& params, const ModuleTree& tree,
                 const MethodSpec& spec, int64_t L, const BudgetOptions& o) {
    const bool fp32Run = bytesOf(o.precision) == 4;
    const u64 trainable = U(params.trainable);
    const u64 keptLayers = k.keptLayers, keptAttention = k.keptAttention, topKept = k.topKept, ids = k.ids;
    const u64 lossFreedBeforeLayers = k.lossFreedBeforeLayers, attnTransient = k.attnTransient;
    const std::vector<u64>& layerKept = k.layerKept;
    // ---- The step's peak: activations and gradients live together ------------------------------
    // Backward runs from the top layer down: layer l's kept tensors are freed after its backward,
    // and its parameters' gradients appear then. So the live set at layer l is the kept tensors
    // of layers <= l plus the gradients of layers >= l (plus those outside the layers, booked at
    // the start) plus one layer's backward transient. The peak is the largest of:
    // the loss backward (everything kept + the loss transient), each layer's backward, and the
    // optimizer step (every gradient + the step's temporaries: for base weights that train, the
    // largest tensor's sqrt(v) and its quotient in AdamW, or its fp32 copy for the clipping norm
    // in a non-fp32 run). With few trainable parameters this is the activation peak; for full
    // fine-tuning of a small batch the gradients dominate and do not add to the activation peak.
    {
        const double gradPerParam =
            trainable > 0 ? static_cast<double>(m.gradients) / static_cast<double>(trainable) : 0.0;
        auto gradOf = [&](int64_t n) { return static_cast<u64>(static_cast<double>(U(n)) * gradPerParam); };
        // Outside the layers: the head's and final norm's gradients appear first (full fine-tuning;
        // a tied head's gradient is the embedding's), the rest (embeddings, virtual tokens) last.
        u64 gTop = 0, largestBase = 0;
        if (spec.replacesBase())
            for (const auto& mod : tree.modules) {
                if (mod.kind == ModuleKind::Head || (mod.kind == ModuleKind::Norm && mod.layer < 0))
                    gTop +=
                        gradOf(mod.kind == ModuleKind::Head && mod.tiedToEmbedding ? mod.in * mod.out : mod.params());
                largestBase = std::max(largestBase, U(mod.weightParams()));
            }
        const u64 gOut = std::min(gTop, gradOf(params.outsideLayers));
        u64 gAbove = 0;                              // gradients of layers >= l
        u64 keptBelow = keptLayers + keptAttention;  // kept tensors of layers <= l (+ top of model)
        const u64 always = (o.loss == LossImpl::Chunked ? topKept : topKept - lossFreedBeforeLayers) + ids;
        u64 peak = m.activations;  // the loss backward
        for (int64_t l = L - 1; l >= 0; --l) {
            gAbove += gradOf(params.byLayer[static_cast<size_t>(l)]);
            peak = std::max(peak, always + keptBelow + gOut + gAbove + attnTransient);
            keptBelow -= std::min(keptBelow, layerKept[static_cast<size_t>(l)]);
        }
        // AdamW/Adam: sqrt(v) and the denominator (fp32), plus in a bf16/fp16 run the gradient's
        // fp32 copy for the master update; SGD: that copy only.
        const bool sgdFamily = o.optimizer == Optimizer::Sgd || o.optimizer == Optimizer::SgdMomentum;
        m.optimizerTransient = largestBase * (sgdFamily ? (fp32Run ? 0 : 4) : (fp32Run ? 8 : 12));
        peak = std::max(peak, ids + m.gradients + m.optimizerTransient);
        m.stepPeak = peak;
    }
}

// Matmul FLOPs per trained token (Estimate::trainFlopsPerToken).
double trainFlopsPerToken(const ModuleTree& tree, const KeptActivations& k, const ParamReport& params, int64_t L) {
    const u64 Tk = k.Tk, Dq = k.Dq;
    const int64_t first = k.first;
    const bool gradAtTop = k.gradAtTop;
    // ---- Compute --------------------------------------------------------------------------------
    // Matmul FLOPs per token: forward 2*(layer linears + head) + attention 4*Tk*Dq per layer;
    // backward through the layers that pass a gradient the same again; weight gradients
    // 2*trainable; the adapters' own forward 2*added. Full fine-tuning comes to ~6*N.
    double linearParams = 0;
    for (const auto& mod : tree.modules)
        if (mod.kind == ModuleKind::Linear || mod.kind == ModuleKind::Head)
            linearParams += static_cast<double>(mod.weightParams());
    const double attnFlops = 4.0 * static_cast<double>(Tk) * static_cast<double>(Dq) * static_cast<double>(L);
    const double fwd = 2.0 * linearParams + attnFlops;
    const double frac = L > 0 ? static_cast<double>(L - std::min(first, L)) / static_cast<double>(L) : 0.0;
    return fwd + (gradAtTop ? frac * fwd : 0.0) + 2.0 * static_cast<double>(params.trainable) +
        2.0 * static_cast<double>(params.added);
}
}  // namespace

Estimate estimate(const ModelConfig& mcIn, const nlohmann::json& cfg, const BudgetOptions& o) {
    const std::string where = "estimate";
    if (o.batch <= 0 || o.seqLen <= 0) fail(where, "batch size and sequence length must be positive", "");
    ModelConfig mc = mcIn;
    if (o.numLabels > 0) mc.numLabels = o.numLabels;
    const MethodSpec& spec = methodSpec(peftTypeOf(cfg, where));
    if (o.quantizeBase != BaseQuant::None && !spec.supportsQuantizedBase())
        fail(where, spec.displayName() + " trains the base weights, which cannot be stored in NF4",
             "Use --quantize none, or a PEFT method (QLoRA is LoRA over an NF4 base).");

    Estimate e;
    e.peftType = spec.peftType();
    e.displayName = spec.displayName();
    e.options = o;
    e.params = spec.count(mc, cfg);
    const TrainingFootprint fp = spec.footprint(mc, cfg);
    const TaskHead head = cfg.is_object() ? taskHeadFromConfig(cfg, where) : TaskHead::CausalLm;
    const ModuleTree tree = moduleTree(mc, head);
    const ArchTable& arch = tree.arch;
    const u64 s = static_cast<u64>(bytesOf(o.precision));
    MemoryParts& m = e.memory;

    addWeights(m, tree, spec, e.params.added, o);
    addGradientsAndOptimizerState(m, e.params, o);
    const KeptActivations kept = addActivations(m, mc, fp, arch, head, o);
    addStepPeak(m, kept, e.params, tree, spec, mc.numLayers, o);

    const int64_t L = mc.numLayers;
    const u64 B = U(o.batch);
    const u64 V = head == TaskHead::CausalLm ? U(mc.vocabSize) : U(mc.numLabels);
    // ---- Generation -----------------------------------------------------------------------------
    // KV cache: keys and values of every layer, key/value heads only (GQA), in the precision, for
    // batch x (context + prompt/prefix virtual tokens); plus one step's fp32 logits [B, V].
    const u64 ctx =
        U(o.generationContext > 0 ? o.generationContext : o.seqLen) + U(fp.extraQueryTokens + fp.extraKeyTokens);
    m.kvCache = 2 * U(L) * B * ctx * U(mc.kvDim()) * s;
    m.generationTotal = m.weights + m.kvCache + B * V * 4;

    // ---- Files ----------------------------------------------------------------------------------
    // The adapter file is exact (safetensors header + data, fp32 adapter tensors; base-dtype tensors
    // for module copies). The whole-model export is FULL's tensor list in the precision. A training
    // checkpoint adds the optimizer state to the trained tensors.
    e.adapterFileBytes = spec.adapterBytes(mc, cfg, static_cast<int>(s));
    e.fullModelBytes = methodSpec("FULL").adapterBytes(mc, nullptr, static_cast<int>(s));
    e.checkpointBytes = e.adapterFileBytes + m.optimizerState;

    e.trainFlopsPerToken = trainFlopsPerToken(tree, kept, e.params, mc.numLayers);
    return e;
}

double estimateSeconds(double tokensPerSecond, int64_t datasetTokens, double epochs) {
    if (!(tokensPerSecond > 0))
        fail("time estimate", "throughput must be positive (got " + std::to_string(tokensPerSecond) + " tokens/s)",
             "Run a short calibration first, or take tokens_per_s from a past run.");
    if (datasetTokens < 0 || epochs < 0) fail("time estimate", "dataset tokens and epochs must not be negative", "");
    return static_cast<double>(datasetTokens) * epochs / tokensPerSecond;
}

nlohmann::json toJson(const Estimate& e) {
    nlohmann::json j;
    j["method"] = e.displayName;
    j["peft_type"] = e.peftType;
    j["trainable_params"] = e.params.trainable;
    j["total_params"] = e.params.total();
    j["base_params"] = e.params.base;
    j["added_params"] = e.params.added;
    j["trainable_percent"] = e.params.percent();
    j["by_module"] = e.params.byModule;
    j["by_layer"] = e.params.byLayer;
    j["outside_layers"] = e.params.outsideLayers;
    if (!e.params.notes.empty()) j["notes"] = e.params.notes;
    const MemoryParts& m = e.memory;
    j["memory_bytes"] = {{"total", m.trainingTotal()},
                         {"weights", m.weights},
                         {"weights_by_dtype", m.weightsByDtype},
                         {"gradients", m.gradients},
                         {"optimizer_state", m.optimizerState},
                         {"activations", m.activations},
                         {"activation_parts",
                          {{"layers", m.activationLayers},
                           {"attention_matrices", m.activationAttention},
                           {"logits_and_loss", m.activationLoss},
                           {"backward_transient", m.activationTransient}}},
                         {"optimizer_transient", m.optimizerTransient},
                         {"step_peak", m.stepPeak},
                         {"packed_weights", m.packedWeights},
                         {"kv_cache_generation", m.kvCache},
                         {"generation_total", m.generationTotal}};
    j["adapter_file_bytes"] = e.adapterFileBytes;
    j["checkpoint_bytes"] = e.checkpointBytes;
    j["full_model_bytes"] = e.fullModelBytes;
    j["train_flops_per_token"] = e.trainFlopsPerToken;
    j["options"] = {{"batch_size", e.options.batch},
                    {"seq_len", e.options.seqLen},
                    {"precision", toString(e.options.precision)},
                    {"optimizer", toString(e.options.optimizer)},
                    {"quantize_base", toString(e.options.quantizeBase)},
                    {"gradient_checkpointing", e.options.gradientCheckpointing},
                    {"device", toString(e.options.device)},
                    {"attention", e.options.fusedAttention ? "fused" : "eager"},
                    {"loss", e.options.loss == LossImpl::Chunked ? "chunked" : "eager"}};
    return j;
}

std::string humanBytes(uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    if (u == 0) std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(b));
    else std::snprintf(buf, sizeof(buf), "%.2f %s", v, units[u]);
    return buf;
}

std::string humanCount(int64_t n) {
    const double v = static_cast<double>(n);
    char buf[32];
    if (std::llabs(n) >= 1000000000LL) std::snprintf(buf, sizeof(buf), "%.2fB", v / 1e9);
    else if (std::llabs(n) >= 1000000LL) std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
    else if (std::llabs(n) >= 1000LL) std::snprintf(buf, sizeof(buf), "%.1fK", v / 1e3);
    else std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
    return buf;
}

}  // namespace peft::budget
