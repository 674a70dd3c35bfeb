// Model folder loading with every tensor checked against the architecture.
#include "core/model/loader.h"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "core/util/error.h"

namespace peft {

namespace fs = std::filesystem;

torch::Dtype parseDtype(const std::string& n) {
    if (n == "fp32" || n == "float32" || n == "f32") return torch::kFloat32;
    if (n == "bf16" || n == "bfloat16") return torch::kBFloat16;
    if (n == "fp16" || n == "float16" || n == "f16") return torch::kFloat16;
    throw PeftError("unknown precision '" + n + "'; use fp32 or bf16");
}

std::vector<std::string> modelWeightFiles(const std::string& dir) {
    fs::path d(dir);
    if (!fs::is_directory(d)) fail(dir, "not a folder", "Pick a Hugging Face model folder.");
    fs::path single = d / "model.safetensors";
    fs::path index = d / "model.safetensors.index.json";
    if (fs::exists(single)) return {single.string()};
    if (fs::exists(index)) {
        nlohmann::json j = readJsonFile(index.string());
        if (!j.contains("weight_map") || !j["weight_map"].is_object())
            fail(index.string(), "missing key 'weight_map'", "The shard index is corrupt.");
        std::set<std::string> shards;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it->is_string()) fail(index.string(), "weight_map['" + it.key() + "'] is not a file name", "");
            std::string f = it->get<std::string>();
            if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
                fail(index.string(), "shard name '" + f + "' points outside the model folder",
                     "The index is unsafe; refused.");
            shards.insert((d / f).string());
        }
        for (const auto& s : shards)
            if (!fs::exists(s))
                fail(s, "shard listed in model.safetensors.index.json is missing", "Download every shard.");
        return {shards.begin(), shards.end()};
    }
    for (const char* pickle : {"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth"})
        if (fs::exists(d / pickle))
            fail((d / pickle).string(), "refusing a pickle checkpoint (loading it can run arbitrary code)",
                 "Convert it to safetensors once in Python: `from transformers import AutoModelForCausalLM; "
                 "AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)`.");
    fail(dir, "no model.safetensors or model.safetensors.index.json",
         "Pick a Hugging Face model folder with safetensors weights.");
}

namespace {
// Drops the resident pages of a read-only file mapping (they are re-read on a later access).
void releaseFilePages(const void* p, uint64_t bytes) {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
    uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(page - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}
}  // namespace

LoadedModel loadModel(const std::string& dir, const ModelOptions& options) {
    LoadedModel out;
    out.dir = dir;
    ModelConfig cfg = ModelConfig::load(dir);
    out.weightFiles = modelWeightFiles(dir);
    std::map<std::string, std::pair<std::shared_ptr<st::File>, const st::TensorInfo*>> tensors;
    std::vector<std::shared_ptr<st::File>> files;
    for (const auto& f : out.weightFiles) {
        auto file = st::File::open(f);
        out.bytesOnDisk += static_cast<int64_t>(file->fileSize());
        files.push_back(file);
        for (const auto& t : file->tensors()) tensors[t.name] = {file, &t};
    }
    CausalLM model = buildModel(cfg);
    std::set<std::string> used;
    for (auto& p : model->named_parameters()) {
        const std::string& name = p.key();
        auto it = tensors.find(name);
        // Original OpenAI GPT-2 checkpoints omit the "transformer." prefix.
        if (it == tensors.end() && name.rfind("transformer.", 0) == 0) it = tensors.find(name.substr(12));
        if (it == tensors.end()) {
            if (name == "score.weight") continue;  // classification head: created fresh
            fail(out.weightFiles.front(), "tensor '" + name + "' is missing",
                 "The checkpoint does not match its config.json (model_type " + cfg.modelType + ").");
        }
        const auto& [file, info] = it->second;
        used.insert(info->name);
        if (info->shape != p.value().sizes().vec()) {
            auto fmt = [](const std::vector<int64_t>& s) {
                std::string r = "[";
                for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
                return r + "]";
            };
            fail(file->path(),
                 "tensor '" + info->name + "' has shape " + fmt(info->shape) + " but config.json implies " +
                     fmt(p.value().sizes().vec()),
                 "The checkpoint and config.json disagree.");
        }
        torch::Tensor t = tensorFromFile(file, *info);
        const bool copied = t.scalar_type() != options.dtype || options.device != torch::kCPU;
        if (t.scalar_type() != options.dtype) t = t.to(options.dtype);
        if (options.device != torch::kCPU) t = t.to(options.device);
        // The converted copy is what the model keeps: drop the file's pages for this tensor now,
        // so peak memory is not the whole file plus the whole converted model.
        if (copied) releaseFilePages(file->data(*info), info->nbytes());
        torch::NoGradGuard ng;
        p.value().set_data(t);
    }
    size_t unused = 0;
    for (const auto& [n, _] : tensors)
        if (!used.count(n) && n.find("attn.bias") == std::string::npos && n.find("masked_bias") == std::string::npos &&
            n.find("rotary_emb.inv_freq") == std::string::npos)
            ++unused;
    if (unused) spdlog::warn("{}: {} tensors in the checkpoint were not used", dir, unused);
    model->setComputeDtype(options.dtype);
    model->eval();
    out.model = model;
    spdlog::info("loaded {} ({}, {} layers, {:.1f} MB on disk)", dir, cfg.modelType, cfg.numLayers,
                 out.bytesOnDisk / 1e6);
    return out;
}

}  // namespace peft
