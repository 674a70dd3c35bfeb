// Attaching, loading and saving adapters in peft's folder layout (adapter_config.json +
// adapter_model.safetensors), for any registered method.
#include <filesystem>
#include <set>

#include "core/io/model_config.h"
#include "core/io/tensor_io.h"
#include "core/peft/adapter_base.h"
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/peft/peft_common.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft {

namespace fs = std::filesystem;

bool adapterDisableGivesBase(CausalLMImpl& model, const Adapter& adapter) {
    std::set<const void*> own;
    for (const auto& p : model.parameters()) own.insert(p.unsafeGetTensorImpl());
    for (const auto& [name, t] : adapter.method->trainable())
        if (own.count(t.unsafeGetTensorImpl())) return false;
    return true;
}

Adapter attachAdapter(CausalLMImpl& model, const nlohmann::json& config, const std::string& name) {
    if (!config.is_object()) fail("adapter_config.json", "expected a JSON object", "");
    if (!config.contains("peft_type") || !config["peft_type"].is_string())
        fail("adapter_config.json", "'peft_type' is missing", "Add e.g. \"peft_type\": \"LORA\".");
    const std::string type = config["peft_type"].get<std::string>();
    Adapter a;
    a.name = name;
    a.config = config;
    a.method = createMethod(type);
    // The config side (MethodSpec) checks every field's type and value first.
    nlohmann::json checked = config;
    checked.erase("prompt_tuning_init_token_ids");  // ours, filled in from the tokenizer
    methodSpec(type).validate(checked, "adapter_config.json");
    // Sequence classification needs the `score` head before modules_to_save can find it. peft's
    // config has no label count: config.json's num_labels, unless enableClassification(n) ran first.
    if (cfgString(config, "task_type", "CAUSAL_LM") == "SEQ_CLS" && !model.classification())
        model.enableClassification(model.config().numLabels);
    a.method->attach(model, config, name);
    a.method->completeConfig(a.config);
    model.adapterState()->active = name;
    return a;
}

Adapter loadAdapter(CausalLMImpl& model, const std::string& dir, const std::string& name) {
    fs::path d(dir);
    fs::path cfgPath = d / "adapter_config.json";
    fs::path stPath = d / "adapter_model.safetensors";
    if (!fs::exists(cfgPath))
        fail(dir, "no adapter_config.json", "Pick a folder written by PeftModel.save_pretrained or by PEFT Studio.");
    if (!fs::exists(stPath)) {
        if (fs::exists(d / "adapter_model.bin"))
            fail((d / "adapter_model.bin").string(), "refusing a pickle adapter (loading it can run arbitrary code)",
                 "Convert it once in Python with safetensors' save_file.");
        fail(dir, "no adapter_model.safetensors", "The adapter folder is incomplete.");
    }
    nlohmann::json config = readJsonFile(cfgPath.string());
    auto tensors = loadSafetensors(stPath.string());
    // A classification adapter carries its head; its rows give the number of labels.
    if (cfgString(config, "task_type", "CAUSAL_LM") == "SEQ_CLS" && !model.classification()) {
        auto it = tensors.find(kPeftPrefix + "score.weight");
        if (it != tensors.end() && it->second.dim() == 2) model.enableClassification(it->second.size(0));
    }
    Adapter a;
    try {
        a = attachAdapter(model, config, name);
    } catch (const PeftError& e) {
        throw PeftError(cfgPath.string() + ": " + e.what());
    }
    try {
        a.method->loadState(tensors, stPath.string());
    } catch (...) {
        a.method->detach();
        throw;
    }
    a.config = config;
    a.method->completeConfig(a.config);
    return a;
}

std::string adapterBaseModel(const std::string& dir) {
    const fs::path cfgPath = fs::path(dir) / "adapter_config.json";
    if (!fs::exists(cfgPath))
        fail(dir, "no adapter_config.json", "Pick a folder written by PeftModel.save_pretrained or by PEFT Studio.");
    const nlohmann::json cfg = readJsonFile(cfgPath.string());
    const std::string base = cfgString(cfg, "base_model_name_or_path", "");
    if (base.empty())
        fail(cfgPath.string(), "key 'base_model_name_or_path' is missing or empty, so the base model is unknown",
             "Name the base model folder explicitly (--model DIR), or add the key to the file.");
    // peft reads the string from the working directory (or as a Hub repo id); a relative path that
    // does not exist there is tried beside the adapter, where a moved run folder keeps it.
    std::error_code ec;
    const fs::path given(base);
    if (given.is_absolute() || fs::exists(given, ec)) return base;
    const fs::path beside = (fs::path(dir) / given).lexically_normal();
    return fs::exists(beside, ec) ? beside.string() : base;
}

void saveAdapter(const Adapter& adapter, const std::string& dir) {
    fs::create_directories(dir);
    nlohmann::json cfg = adapter.config;
    cfg["peft_type"] = adapter.method->peftType();
    if (adapter.method->savesWholeModel()) {
        adapter.method->saveModelFolder(dir);
        return;
    }
    // Every field peft writes for the method, with its defaults; fields we do not read keep their values.
    cfg = methodSpec(adapter.method->peftType()).savedConfig(cfg);
    if (cfg["task_type"].is_null()) cfg["task_type"] = "CAUSAL_LM";
    NamedTensors state;
    for (auto& [k, t] : adapter.method->saveState()) state.emplace_back(k, t.detach());
    saveSafetensors((fs::path(dir) / "adapter_model.safetensors").string(), state, {{"format", "pt"}});
    writeFileAtomic((fs::path(dir) / "adapter_config.json").string(), cfg.dump(2) + "\n");
}

}  // namespace peft
