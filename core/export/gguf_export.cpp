// Whole-model and LoRA-only GGUF export: picks each tensor's GGUF name, row order and type,
// writes the hyper-parameters llama.cpp's loader reads, and streams the data tensor by tensor.
#include "core/export/gguf_export.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/export/gguf_arch.h"
#include "core/export/gguf_quant.h"
#include "core/export/ollama_modelfile.h"
#include "core/io/safetensors.h"
#include "core/model/loader.h"
#include "core/peft/full/export_model.h"
#include "core/peft/lora/lora.h"
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::gguf {

namespace fs = std::filesystem;

TensorType parseTensorType(const std::string& name) {
    if (name == "f32") return TensorType::F32;
    if (name == "f16") return TensorType::F16;
    if (name == "bf16") return TensorType::BF16;
    if (name == "q8_0") return TensorType::Q8_0;
    fail("--type", "'" + name + "' is not a GGUF type this export writes", "Use f32, f16, bf16 or q8_0.");
}

namespace {

uint32_t fileTypeCode(TensorType t) {  // llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32
    switch (t) {
        case TensorType::F32: return 0;
        case TensorType::F16: return 1;
        case TensorType::Q8_0: return 7;
        case TensorType::BF16: return 32;
    }
    return 0;
}

const ArchNames& requireArchType(const std::string& modelType, const std::string& dir) {
    const ArchNames* a = findArchNames(modelType);
    if (!a)
        fail((fs::path(dir) / "config.json").string() + ": model_type",
             "'" + modelType + "' cannot be exported to GGUF yet",
             "GGUF export supports " + supportedModelTypes() + ".");
    return *a;
}

const ArchNames& requireArch(const ModelConfig& c, const std::string& dir) { return requireArchType(c.modelType, dir); }

// Reads config.json, refusing an architecture the tables lack before anything else looks at it.
ModelConfig loadExportConfig(const std::string& dir) {
    const fs::path p = fs::path(dir) / "config.json";
    if (!fs::exists(p)) fail(dir, "no config.json", "Pick a Hugging Face model folder.");
    const nlohmann::json raw = readJsonFile(p.string());
    requireArchType(raw.value("model_type", std::string("(missing)")), dir);
    return ModelConfig::load(dir);
}

// ggml's order is innermost first: torch [out, in] is ne {in, out}.
std::vector<int64_t> neOf(const std::vector<int64_t>& shape) { return {shape.rbegin(), shape.rend()}; }

// 1-D tensors and norms stay F32 (llama.cpp expects it); Q8_0 needs rows of whole blocks and
// falls back to F16 otherwise, as llama.cpp's converter does.
TensorType pickType(const std::string& ggufName, const std::vector<int64_t>& shape, TensorType wanted) {
    if (shape.size() <= 1 || ggufName.find("_norm.") != std::string::npos) return TensorType::F32;
    if (wanted == TensorType::Q8_0 && shape.back() % kQ8Block != 0) return TensorType::F16;
    return wanted;
}

// HF Llama q/k rows (two halves of each head) -> llama.cpp's interleaved pairs. [rows, ...]
torch::Tensor permuteRows(const torch::Tensor& t, int64_t heads) {
    std::vector<int64_t> v = {heads, 2, t.size(0) / heads / 2};
    for (int64_t d = 1; d < t.dim(); ++d) v.push_back(t.size(d));
    return t.reshape(v).transpose(1, 2).reshape(t.sizes()).contiguous();
}

// Streams a float tensor as `type`, a batch of rows at a time. [rows, ne0] in memory order.
void streamTensor(const torch::Tensor& t32, TensorType type, const ByteSink& out) {
    const torch::Tensor t = t32.to(torch::kFloat32).contiguous();
    const int64_t ne0 = t.dim() == 0 ? 1 : t.size(-1);
    const int64_t rows = ne0 == 0 ? 0 : t.numel() / ne0;
    const float* p = t.data_ptr<float>();
    const uint64_t rb = rowBytes(type, ne0);
    const int64_t batch = std::max<int64_t>(1, static_cast<int64_t>((1u << 20) / std::max<uint64_t>(rb, 1)));
    std::vector<uint8_t> buf;
    for (int64_t r = 0; r < rows; r += batch) {
        const int64_t nr = std::min(batch, rows - r);
        buf.resize(nr * rb);
        for (int64_t i = 0; i < nr; ++i) convertRow(p + (r + i) * ne0, ne0, type, buf.data() + i * rb);
        out(buf.data(), buf.size());
    }
}

// Llama-3 RoPE as llama.cpp takes it: per-frequency divisors in a rope_freqs tensor [head_dim/2].
std::vector<float> llama3RopeFactors(const ModelConfig& c) {
    const RopeConfig& r = c.rope;
    const double lowWavelen = r.originalMaxPositions / r.lowFreqFactor;
    const double highWavelen = r.originalMaxPositions / r.highFreqFactor;
    std::vector<float> f;
    for (int64_t i = 0; i < c.headDim; i += 2) {
        const double freq = 1.0 / std::pow(r.theta, static_cast<double>(i) / c.headDim);
        const double wavelen = 2 * M_PI / freq;
        if (wavelen < highWavelen) f.push_back(1.0f);
        else if (wavelen > lowWavelen) f.push_back(static_cast<float>(r.factor));
        else {
            const double smooth =
                (r.originalMaxPositions / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
            f.push_back(static_cast<float>(1.0 / ((1 - smooth) / r.factor + smooth)));
        }
    }
    return f;
}

void setModelKeys(Writer& w, const ArchNames& a, const ModelConfig& c, const std::string& name, TensorType type,
                  const std::string& configPath) {
    const std::string p = a.arch + ".";
    w.setString("general.architecture", a.arch);
    w.setString("general.type", "model");
    w.setString("general.name", name);
    w.setU32("general.file_type", fileTypeCode(type));
    w.setU32("general.quantization_version", 2);
    w.setU32(p + "vocab_size", static_cast<uint32_t>(c.vocabSize));
    w.setU32(p + "context_length", static_cast<uint32_t>(c.maxPositions));
    w.setU32(p + "embedding_length", static_cast<uint32_t>(c.hiddenSize));
    w.setU32(p + "block_count", static_cast<uint32_t>(c.numLayers));
    w.setU32(p + "feed_forward_length", static_cast<uint32_t>(c.intermediateSize));
    w.setU32(p + "attention.head_count", static_cast<uint32_t>(c.numHeads));
    w.setU32(p + "attention.head_count_kv", static_cast<uint32_t>(c.numKvHeads));
    if (c.headDim * c.numHeads != c.hiddenSize) {
        w.setU32(p + "attention.key_length", static_cast<uint32_t>(c.headDim));
        w.setU32(p + "attention.value_length", static_cast<uint32_t>(c.headDim));
    }
    w.setF32(p + (a.layerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"),
             static_cast<float>(c.normEps));
    if (a.rope) {
        // Partial rotary (Phi-4-mini): llama.cpp rotates the first dimension_count of each head.
        w.setU32(p + "rope.dimension_count", static_cast<uint32_t>(c.rotaryDim > 0 ? c.rotaryDim : c.headDim));
        w.setF32(p + "rope.freq_base", static_cast<float>(c.rope.theta));
        if (c.rope.type == "linear") {
            w.setString(p + "rope.scaling.type", "linear");
            w.setF32(p + "rope.scaling.factor", static_cast<float>(c.rope.factor));
        } else if (c.rope.type == "longrope") {
            // As llama.cpp's converter for Phi-3: the factors go in rope_factors_long/short tensors
            // (addRopeFreqs); llama.cpp takes the long ones when its context exceeds the original
            // length, and multiplies cos and sin by attn_factor.
            w.setU32(p + "rope.scaling.original_context_length", static_cast<uint32_t>(c.rope.originalMaxPositions));
            w.setF32(p + "rope.scaling.attn_factor", static_cast<float>(c.rope.attentionFactor));
        } else if (c.rope.type != "default" && c.rope.type != "llama3") {
            fail(configPath + ": rope_scaling", "RoPE type '" + c.rope.type + "' cannot be exported to GGUF yet",
                 "Supported: default, linear, llama3, longrope.");
        }
    }
    if (a.archKeys) a.archKeys(w, c, p, configPath);
    for (const auto& e : a.extraKeys) {
        if (!c.raw.contains(e.configKey) || c.raw[e.configKey].is_null()) continue;
        if (e.type == ValueType::F32) w.setF32(p + e.ggufSuffix, c.raw[e.configKey].get<float>());
        else w.setU32(p + e.ggufSuffix, c.raw[e.configKey].get<uint32_t>());
    }
}

// Gives back the memory of a model tensor once it is written: whole pages inside it are dropped
// (MADV_DONTNEED), whether they map the safetensors file or were copied on write by a merge, so
// the export's resident memory stays near one tensor instead of growing to the whole model. The
// tensor's contents are gone afterwards: only for a model that is discarded after the export.
void releasePages(const torch::Tensor& t) {
    if (!t.defined() || !t.is_cpu() || !t.is_contiguous()) return;
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(t.data_ptr());
    const uintptr_t end = begin + t.numel() * t.element_size();
    const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
    if (last > first + 16 * page) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

// One HF tensor routed into the writer; `fetch` is called only while writing.
void addRouted(Writer& w, const ArchNames& a, const ModelConfig& c, const std::string& hfName,
               std::vector<int64_t> shape, TensorType type, std::function<torch::Tensor()> fetch, bool releaseAfter) {
    const TensorRoute r = routeTensor(a, hfName);
    if (r.name.empty()) {
        spdlog::debug("GGUF: {} has no llama.cpp counterpart; skipped", hfName);
        return;
    }
    if (r.transpose && shape.size() == 2) std::swap(shape[0], shape[1]);
    const TensorType tt = pickType(r.name, shape, type);
    const int64_t qHeads = c.numHeads, kHeads = c.numKvHeads;
    w.addTensor(r.name, neOf(shape), tt, [=](const ByteSink& out) {
        torch::NoGradGuard ng;
        const torch::Tensor src = fetch();
        torch::Tensor t = src.to(torch::kFloat32);
        if (r.transpose) t = t.t();
        if (r.permuteQ) t = permuteRows(t, qHeads);
        if (r.permuteK) t = permuteRows(t, kHeads);
        if (r.plusOne) t = t + 1.0f;
        streamTensor(t, tt, out);
        t = torch::Tensor();
        if (releaseAfter) releasePages(src);
    });
}

void addF32Vector(Writer& w, const std::string& name, std::vector<float> values) {
    auto f = std::make_shared<std::vector<float>>(std::move(values));
    w.addTensor(name, {static_cast<int64_t>(f->size())}, TensorType::F32,
                [f](const ByteSink& out) { out(f->data(), f->size() * sizeof(float)); });
}

// Per-frequency RoPE divisors as llama.cpp takes them: Llama-3's in rope_freqs, longrope's short
// and long factors (one per rotary pair) in rope_factors_short / rope_factors_long.
void addRopeFreqs(Writer& w, const ModelConfig& c) {
    if (c.rope.type == "llama3") addF32Vector(w, "rope_freqs.weight", llama3RopeFactors(c));
    if (c.rope.type == "longrope") {
        addF32Vector(w, "rope_factors_long.weight", {c.rope.longFactor.begin(), c.rope.longFactor.end()});
        addF32Vector(w, "rope_factors_short.weight", {c.rope.shortFactor.begin(), c.rope.shortFactor.end()});
    }
}

bool isModelFolder(const std::string& dir) {
    return fs::exists(fs::path(dir) / "config.json") && !fs::exists(fs::path(dir) / "adapter_config.json");
}

std::string folderName(const std::string& dir) {
    fs::path p = fs::path(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

void checkOutput(const std::string& out) {
    if (out.empty()) fail("--out", "no output file given", "Pass --out FILE.gguf.");
    const fs::path dir = fs::absolute(fs::path(out)).parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        fail(out, "the folder " + dir.string() + " does not exist", "Create it first or choose another --out.");
    if (::access(dir.c_str(), W_OK) != 0)
        fail(out, "the folder " + dir.string() + " is not writable", "Choose a folder you can write to.");
}

// Builds the whole-model writer. `tensors` are (HF name, shape, fetch) in file order.
struct Source {
    std::string name;
    std::vector<int64_t> shape;
    std::function<torch::Tensor()> fetch;
};

// llama.cpp's vocabulary loader keys a Phi-3 rule on general.name: when the lowercased name
// contains "phi-3" or "phi3" it looks up "</s>", "<unk>", "<s>" and "<|endoftext|>" by string
// with map::at, so a vocabulary without one of them fails to load ("error loading model
// vocabulary: _Map_base::at"), whatever the architecture. The published Phi-3 vocabularies have
// all four; for any other (a Phi-3 with a byte-level BPE, a folder such as "my-phi3-lora") the
// name is written with the match broken ("phi3" -> "phi 3"), so the file loads, without that
// rule (which only strips spaces after special tokens).
std::string llamaCppLoadableName(const std::string& name, const std::string& tokDir) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (lower.find("phi3") == std::string::npos && lower.find("phi-3") == std::string::npos) return name;
    const nlohmann::json tj = readJsonFile((fs::path(tokDir) / "tokenizer.json").string());
    auto has = [&](const std::string& t) {
        if (tj.contains("model") && tj["model"].contains("vocab") && tj["model"]["vocab"].is_object() &&
            tj["model"]["vocab"].contains(t))
            return true;
        if (tj.contains("added_tokens"))
            for (const auto& at : tj["added_tokens"])
                if (at.value("content", "") == t) return true;
        return false;
    };
    std::vector<std::string> missing;
    for (const char* t : {"</s>", "<unk>", "<s>", "<|endoftext|>"})
        if (!has(t)) missing.push_back(t);
    if (missing.empty()) return name;
    std::string out;
    for (size_t i = 0; i < name.size();) {
        const std::string rest = lower.substr(i);
        if (rest.rfind("phi3", 0) == 0 || rest.rfind("phi-3", 0) == 0) {
            out += name.substr(i, 3) + " 3";
            i += rest.rfind("phi3", 0) == 0 ? 4 : 5;
        } else {
            out += name[i++];
        }
    }
    spdlog::info(
        "GGUF general.name '{}' written as '{}': llama.cpp fails to load a model named like Phi-3 whose "
        "vocabulary lacks '{}'",
        name, out, missing.front());
    return out;
}

TokenizerSummary buildModelWriter(Writer& w, const ModelConfig& c, const std::string& tokDir, const std::string& name,
                                  TensorType type, const std::vector<Source>& tensors, const std::string& where) {
    const ArchNames& a = requireArch(c, where);
    setModelKeys(w, a, c, llamaCppLoadableName(name, tokDir), type, (fs::path(where) / "config.json").string());
    TokenizerSummary tok = addTokenizerMetadata(w, tokDir, c);
    addRopeFreqs(w, c);
    for (const auto& s : tensors) addRouted(w, a, c, s.name, s.shape, type, s.fetch, true);
    return tok;
}

std::vector<Source> headerSources(const std::string& dir) {
    std::vector<Source> out;
    for (const auto& f : modelWeightFiles(dir))
        for (const auto& t : st::readHeader(f)) out.push_back({t.name, t.shape, nullptr});
    return out;
}

// LoRA-only: each adapted projection's A and B (B scaled when modules differ in scale).
ExportResult exportLora(const ExportOptions& o) {
    ModelConfig c = loadExportConfig(o.modelDir);
    const ArchNames& a = requireArch(c, o.modelDir);
    const std::string cfgPath = (fs::path(o.adapterDir) / "adapter_config.json").string();
    if (isModelFolder(o.adapterDir))
        fail(o.adapterDir, "a full fine-tuning run is a whole model, not a LoRA adapter",
             "Export it without --lora-only.");
    const nlohmann::json ac = readJsonFile(cfgPath);
    const std::string type = ac.value("peft_type", std::string());
    const MethodSpec& spec = methodSpec(type);  // an unknown type: an error listing the known ones
    if (!spec.lowRankUpdate()) {
        const bool merges = spec.mergesIntoBase();
        fail(cfgPath + ": peft_type", "'" + type + "' is not LoRA; llama.cpp adapter files carry LoRA weights only",
             merges ? "Export the merged model instead: drop --lora-only."
                    : "Prompt tuning, prefix tuning, bottleneck adapters and BitFit cannot be expressed in llama.cpp; "
                      "export a LoRA run instead.");
    }
    if (ac.value("use_dora", false))
        fail(cfgPath + ": use_dora", "DoRA's magnitude vector has no place in a llama.cpp LoRA adapter",
             "Export the merged model instead: drop --lora-only (the DoRA update is merged exactly).");
    if (ac.value("lora_bias", false))
        fail(cfgPath + ": lora_bias", "llama.cpp LoRA adapters have no bias",
             "Export the merged model instead: drop --lora-only.");
    if (ac.contains("modules_to_save") && ac["modules_to_save"].is_array() && !ac["modules_to_save"].empty())
        fail(cfgPath + ": modules_to_save", "whole trained modules cannot ride in a llama.cpp LoRA adapter",
             "Export the merged model instead: drop --lora-only.");

    auto loaded = loadModel(o.modelDir);
    Adapter ad = loadAdapter(*loaded.model, o.adapterDir);
    struct Item {
        std::string gguf;
        TensorRoute route;
        std::shared_ptr<LoraLinear> lora;
    };
    std::vector<Item> items;
    for (const auto& [path, lin] : loaded.model->linears()) {
        auto l = std::dynamic_pointer_cast<LoraLinear>(lin->adapter(ad.name));
        if (!l) continue;
        TensorRoute r = routeTensor(a, path + ".weight");
        if (r.name.empty()) fail(cfgPath, "module " + path + " has no llama.cpp tensor to adapt");
        items.push_back({r.name, r, l});
    }
    if (items.empty()) fail(cfgPath, "the adapter adapts no projection llama.cpp knows");
    // llama.cpp scales every tensor by adapter.lora.alpha / rank. When all modules share one
    // scale and rank that is exact; otherwise (rsLoRA with rank_pattern, alpha_pattern) the scale
    // is folded into B and alpha is 0, which llama.cpp reads as "scale 1".
    bool uniform = true;
    for (const auto& it : items)
        uniform =
            uniform && it.lora->scaling == items[0].lora->scaling && it.lora->A.size(0) == items[0].lora->A.size(0);
    const float alpha = uniform ? static_cast<float>(items[0].lora->scaling * items[0].lora->A.size(0)) : 0.0f;

    Writer w;
    w.setString("general.architecture", a.arch);
    w.setString("general.type", "adapter");
    w.setString("general.name", folderName(o.adapterDir));
    w.setString("adapter.type", "lora");
    w.setF32("adapter.lora.alpha", alpha);
    const int64_t qHeads = c.numHeads, kHeads = c.numKvHeads;
    for (const auto& it : items) {
        auto l = it.lora;
        const std::vector<int64_t> as = l->A.sizes().vec(), bs = l->B.sizes().vec();  // [r,in], [out,r]
        const TensorType ta = pickType(it.gguf + ".lora_a", as, o.type), tb = pickType(it.gguf + ".lora_b", bs, o.type);
        w.addTensor(it.gguf + ".lora_a", neOf(as), ta, [l, ta](const ByteSink& out) {
            torch::NoGradGuard ng;
            streamTensor(l->A.detach().cpu(), ta, out);
        });
        const TensorRoute r = it.route;
        const double fold = uniform ? 1.0 : l->scaling;
        w.addTensor(it.gguf + ".lora_b", neOf(bs), tb, [=](const ByteSink& out) {
            torch::NoGradGuard ng;
            torch::Tensor b = l->B.detach().cpu().to(torch::kFloat32) * fold;
            if (r.permuteQ) b = permuteRows(b, qHeads);
            if (r.permuteK) b = permuteRows(b, kHeads);
            streamTensor(b, tb, out);
        });
    }
    ExportResult res;
    res.loraScaleNote = uniform
        ? "adapter.lora.alpha = " + std::to_string(alpha) + " (scale alpha/r shared by every module)"
        : "per-module scale folded into lora_b; adapter.lora.alpha = 0 (llama.cpp scale 1)";
    w.write(o.outPath, o.progress, o.cancel);
    res.path = o.outPath;
    res.bytes = w.fileSize();
    return res;
}

}  // namespace

uint64_t expectedGgufBytes(const std::string& modelDir, TensorType type) {
    ModelConfig c = loadExportConfig(modelDir);
    Writer w;
    buildModelWriter(w, c, modelDir, folderName(modelDir), type, headerSources(modelDir), modelDir);
    return w.fileSize();
}

ExportResult exportGguf(const ExportOptions& o) {
    checkOutput(o.outPath);
    ExportResult res;
    if (o.loraOnly) {
        if (o.adapterDir.empty())
            fail("--lora-only", "needs --adapter ADIR", "Name the LoRA adapter folder to export.");
        res = exportLora(o);
        res.tokenizer.model.clear();
    } else {
        // A full fine-tuning run's folder is a model of its own; its tokenizer may live in the base.
        const bool fullRun = !o.adapterDir.empty() && isModelFolder(o.adapterDir);
        const std::string modelDir = fullRun ? o.adapterDir : o.modelDir;
        const std::string tokDir = fs::exists(fs::path(modelDir) / "tokenizer.json") ? modelDir : o.modelDir;
        ModelConfig c = loadExportConfig(modelDir);
        // Check the tokenizer before the (slow) load, so a bad one fails at once.
        {
            Writer probe;
            addTokenizerMetadata(probe, tokDir, c);
        }
        auto loaded = loadModel(modelDir);
        if (!o.adapterDir.empty() && !fullRun) {
            Adapter ad = loadAdapter(*loaded.model, o.adapterDir);
            if (!ad.method->canMerge())
                fail(o.adapterDir,
                     ad.method->peftType() + " cannot be merged into the base weights, so it cannot become a GGUF",
                     methodSpec(ad.method->peftType()).addsVirtualTokens()
                         ? "Its virtual tokens exist only in PEFT; llama.cpp has no place for them. Train LoRA to "
                           "export."
                         : "Only LoRA, rsLoRA, DoRA and (IA)3 merge; full fine-tuning exports its own folder.");
            ad.method->merge();
        }
        auto named = std::make_shared<std::map<std::string, torch::Tensor>>();
        std::vector<Source> sources;
        for (auto& [n, t] : exportTensors(*loaded.model)) {
            (*named)[n] = t;
            sources.push_back({n, t.sizes().vec(), [named, n] {
                                   torch::Tensor x = named->at(n);
                                   named->erase(n);  // the merged copy is freed once written
                                   return x;
                               }});
        }
        Writer w;
        res.tokenizer =
            buildModelWriter(w, loaded.model->config(), tokDir,
                             folderName(o.adapterDir.empty() ? modelDir : o.adapterDir), o.type, sources, modelDir);
        w.write(o.outPath, o.progress, o.cancel);
        res.path = o.outPath;
        res.bytes = w.fileSize();
    }
    if (o.modelfile) {
        ModelfileSpec spec;
        const fs::path outDir = fs::absolute(fs::path(o.outPath)).parent_path();
        if (o.loraOnly) {
            ModelConfig c = ModelConfig::load(o.modelDir);
            Writer probe;
            res.tokenizer = addTokenizerMetadata(probe, o.modelDir, c);
            spec.from =
                o.baseGgufForModelfile.empty() ? "./" + folderName(o.modelDir) + ".gguf" : o.baseGgufForModelfile;
            spec.adapter = "./" + fs::path(o.outPath).filename().string();
        } else {
            spec.from = "./" + fs::path(o.outPath).filename().string();
        }
        spec.chatTemplate = res.tokenizer.chatTemplate;
        spec.stops = res.tokenizer.stopTokens;
        spec.addsBos = res.tokenizer.addBos;
        res.modelfilePath = (outDir / "Modelfile").string();
        writeFileAtomic(res.modelfilePath, modelfileText(spec));
    }
    return res;
}

}  // namespace peft::gguf
