// Model folder export: weights under Hugging Face names, config.json, tokenizer files.
#include "core/peft/full/export_model.h"

#include <filesystem>

#include "core/io/tensor_io.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, torch::Tensor>> exportTensors(const CausalLMImpl& model) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    std::map<std::string, Linear> quantised;
    for (const auto& [path, lin] : model.linears())
        if (lin->quantized()) quantised.emplace(path + ".weight", lin);
    for (const auto& p : model.named_parameters()) {
        const std::string& n = p.key();
        if (n == "score.weight" && !model.classification()) continue;
        torch::Tensor t = p.value().detach();
        auto q = quantised.find(n);
        if (q != quantised.end()) {
            t = q->second->denseWeight();  // [out,in]
            if (q->second->conv1d()) t = t.t();
            t = t.to(model.dtype());
        }
        tensors.emplace_back(n, t.to(torch::kCPU));
    }
    return tensors;
}

void exportModelFolder(const CausalLMImpl& model, const std::string& srcDir, const std::string& outDir) {
    fs::create_directories(outDir);
    const auto tensors = exportTensors(model);
    saveSafetensors((fs::path(outDir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
    nlohmann::json cfg = model.config().raw;
    if (!cfg.is_object()) fail(outDir, "the model has no config.json contents to export", "Load it from a folder.");
    const char* dt = model.dtype() == torch::kBFloat16 ? "bfloat16"
        : model.dtype() == torch::kFloat16             ? "float16"
                                                       : "float32";
    if (cfg.contains("torch_dtype")) cfg["torch_dtype"] = dt;
    cfg["dtype"] = dt;
    writeFileAtomic((fs::path(outDir) / "config.json").string(), cfg.dump(2) + "\n");
    if (srcDir.empty()) return;
    for (const char* f :
         {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "vocab.json",
          "merges.txt", "tokenizer.model", "added_tokens.json", "chat_template.jinja"}) {
        fs::path src = fs::path(srcDir) / f;
        if (fs::exists(src) && fs::absolute(src) != fs::absolute(fs::path(outDir) / f))
            writeFileAtomic((fs::path(outDir) / f).string(), readFile(src.string()));
    }
}

}  // namespace peft
