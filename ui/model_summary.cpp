// Model folder inspection for the Model page.
#include "ui/model_summary.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "core/io/architecture.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace peft::ui {

namespace fs = std::filesystem;

std::string humanCount(int64_t n) {
    char buf[32];
    const double v = static_cast<double>(n);
    if (n >= 1000000000LL) std::snprintf(buf, sizeof buf, "%.2f B", v / 1e9);
    else if (n >= 1000000LL) std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
    else if (n >= 1000LL) std::snprintf(buf, sizeof buf, "%.1f K", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

std::string humanBytes(uint64_t n) {
    char buf[32];
    const double v = static_cast<double>(n);
    if (n >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GB", v / (1ull << 30));
    else if (n >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MB", v / (1ull << 20));
    else if (n >= (1ull << 10)) std::snprintf(buf, sizeof buf, "%.1f KB", v / (1ull << 10));
    else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
    return buf;
}

ModelSummary inspectModelFolder(const std::string& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        fail(folder, "is not a folder", "Pick the folder that holds config.json and model.safetensors.");
    const fs::path configPath = fs::path(folder) / "config.json";
    if (!fs::exists(configPath, ec))
        fail(configPath.string(), "no config.json in this folder",
             "Pick a Hugging Face model folder (as save_pretrained writes it: config.json, model.safetensors, "
             "tokenizer.json).");
    ModelSummary s;
    s.folder = folder;
    s.config = ModelConfig::load(configPath.string());
    s.familyName = archTable(s.config).traits.displayName;
    s.baseParams = baseParamCount(s.config);

    bool pickle = false;
    for (const auto& e : fs::directory_iterator(folder, ec)) {
        if (!e.is_regular_file(ec)) continue;
        const uint64_t size = e.file_size(ec);
        s.folderBytes += ec ? 0 : size;
        const std::string name = e.path().filename().string();
        const std::string ext = e.path().extension().string();
        if (ext == ".safetensors") {
            s.weightFiles.push_back(name);
            s.weightBytes += size;
        } else if (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt") {
            pickle = true;
        }
        if (name == "tokenizer.json") s.hasTokenizer = true;
    }
    std::sort(s.weightFiles.begin(), s.weightFiles.end());
    if (s.weightFiles.empty()) {
        if (pickle)
            fail(folder, "the weights are pickle files (.bin/.pt), which can run code when loaded",
                 "Convert them to safetensors (e.g. save_pretrained(..., safe_serialization=True)) and pick the "
                 "folder again.");
        fail(folder, "no .safetensors weight file in this folder", "Download or save the model with its weights.");
    }
    std::map<std::string, int64_t> byDtype;
    for (const auto& f : s.weightFiles) {
        for (const auto& t : st::readHeader((fs::path(folder) / f).string())) {
            s.fileParams += t.numel();
            byDtype[st::dtypeName(t.dtype)] += t.numel();
        }
    }
    int64_t best = -1;
    for (const auto& [name, n] : byDtype)
        if (n > best) best = n, s.weightDtype = name;
    if (!s.hasTokenizer) s.warnings.push_back("No tokenizer.json: datasets cannot be tokenised with this folder.");
    // GPT-2 ties lm_head to wte, so the file holds exactly the base count; an untied model's
    // file holds it as well. A mismatch means a head or tensors this build does not know.
    if (s.fileParams != s.baseParams)
        s.warnings.push_back("The weight files hold " + humanCount(s.fileParams) +
                             " parameters but config.json describes " + humanCount(s.baseParams) +
                             "; extra or missing tensors will be reported when the model loads.");
    return s;
}

}  // namespace peft::ui
