// Shared method helpers: target selection, strict loading, config reads, modules_to_save.
#include "core/peft/peft_common.h"

#include "core/io/tensor_io.h"

#include <set>

#include "core/peft/module_tree.h"
#include "core/peft/spec_targets.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

std::vector<std::pair<std::string, Linear>> targetedLinears(const CausalLMImpl& model, const nlohmann::json& config,
                                                            const std::string& method) {
    // The same selection the budget counts with (spec::selectTargets): peft's default targets when
    // target_modules is absent, "all-linear", exclude_modules, layers_to_transform.
    const ModelConfig& mc = model.config();
    ModuleTree tree = moduleTree(mc, taskHeadFromConfig(config, "adapter_config.json"));
    std::vector<std::pair<std::string, Linear>> out;
    for (const ModuleEntry* e : spec::selectTargets(tree, config, mc, method, "adapter_config.json")) {
        if (e->kind != ModuleKind::Linear)
            fail("adapter_config.json", "target_modules selects '" + e->path + "', which is not a decoder projection",
                 "Adapt the attention and MLP projections; train the head or embeddings through modules_to_save.");
        out.emplace_back(e->path, model.linear(e->path));
    }
    return out;
}

void loadStrict(const NamedTensors& dest, const std::map<std::string, torch::Tensor>& tensors,
                const std::string& where) {
    std::set<std::string> expected;
    for (const auto& [k, t] : dest) {
        expected.insert(k);
        savedTensorLike(tensors, k, t, where,
                        "The adapter does not match its adapter_config.json or this model: it was trained on a "
                        "different model or with a different configuration.");
    }
    for (const auto& [k, t] : tensors)
        if (!expected.count(k))
            fail(where, "unexpected tensor '" + k + "'",
                 "The adapter does not match its adapter_config.json or this model (a different target_modules?).");
    torch::NoGradGuard ng;
    for (const auto& [k, t] : dest) t.copy_(tensors.at(k).to(t.device(), t.scalar_type()));
}

namespace {
[[noreturn]] void badType(const std::string& key, const char* what) {
    fail("adapter_config.json", "'" + key + "' must be " + what, "Fix the value in the adapter configuration.");
}
}  // namespace

int64_t cfgInt(const nlohmann::json& c, const std::string& key, int64_t def) {
    if (!c.contains(key) || c[key].is_null()) return def;
    if (!c[key].is_number_integer()) badType(key, "an integer");
    return c[key].get<int64_t>();
}
double cfgDouble(const nlohmann::json& c, const std::string& key, double def) {
    if (!c.contains(key) || c[key].is_null()) return def;
    if (!c[key].is_number()) badType(key, "a number");
    return c[key].get<double>();
}
bool cfgBool(const nlohmann::json& c, const std::string& key, bool def) {
    if (!c.contains(key) || c[key].is_null()) return def;
    if (!c[key].is_boolean()) badType(key, "true or false");
    return c[key].get<bool>();
}
std::string cfgString(const nlohmann::json& c, const std::string& key, const std::string& def) {
    if (!c.contains(key) || c[key].is_null()) return def;
    if (!c[key].is_string()) badType(key, "a string");
    return c[key].get<std::string>();
}

torch::Tensor modelParameter(CausalLMImpl& model, const std::string& name) {
    auto params = model.named_parameters();
    if (auto* p = params.find(name)) return *p;
    fail("model", "no parameter named '" + name + "'", "");
}

void ModulesToSave::attach(CausalLMImpl& model, const nlohmann::json& config, const std::string& adapterName) {
    m_adapter = adapterName;
    nlohmann::json modules = config.value("modules_to_save", nlohmann::json());
    if (!modules.is_null() && !modules.is_array())
        fail("adapter_config.json", "'modules_to_save' must be a list of module names", "");
    // peft adds the classification heads for SEQ_CLS.
    if (cfgString(config, "task_type", "CAUSAL_LM") == "SEQ_CLS") {
        if (modules.is_null()) modules = nlohmann::json::array();
        for (const char* n : {"classifier", "score"})
            if (std::find(modules.begin(), modules.end(), nlohmann::json(n)) == modules.end()) modules.push_back(n);
    }
    if (modules.is_null()) return;
    for (const auto& p : model.named_parameters()) {
        const std::string& name = p.key();
        std::string module = name.substr(0, name.rfind('.'));
        bool hit = false;
        for (const auto& m : modules) {
            if (!m.is_string()) fail("adapter_config.json", "'modules_to_save' entries must be strings", "");
            const std::string t = m.get<std::string>();
            // peft: the module key ends with the entry.
            if (module == t ||
                (module.size() > t.size() && module.compare(module.size() - t.size(), t.size(), t) == 0 &&
                 module[module.size() - t.size() - 1] == '.'))
                hit = true;
        }
        if (!hit) continue;
        torch::Tensor param = p.value();
        param.set_requires_grad(true);
        m_entries.push_back({name, param, param.detach().clone()});
    }
    // peft adds "classifier" and "score" for SEQ_CLS and ignores whichever the model lacks; an
    // explicit list that matches nothing at all is still an error.
    if (m_entries.empty() && !modules.empty()) {
        bool onlyHeads = true;
        for (const auto& m : modules)
            if (m != "classifier" && m != "score") onlyHeads = false;
        if (!onlyHeads)
            fail("adapter_config.json", "'modules_to_save' = " + modules.dump() + " matches no module of this model",
                 "Use module names such as \"lm_head\" or \"score\".");
    }
}

void ModulesToSave::detach() {
    torch::NoGradGuard ng;
    for (auto& e : m_entries) {
        e.param.copy_(e.original);
        e.param.set_requires_grad(false);
    }
    m_entries.clear();
}

NamedTensors ModulesToSave::trainable() const {
    NamedTensors out;
    for (const auto& e : m_entries) {
        auto dot = e.name.rfind('.');
        out.emplace_back(kPeftPrefix + e.name.substr(0, dot) + ".modules_to_save." + m_adapter + e.name.substr(dot),
                         e.param);
    }
    return out;
}

NamedTensors ModulesToSave::saved() const {
    NamedTensors out;
    for (const auto& e : m_entries) out.emplace_back(kPeftPrefix + e.name, e.param);
    return out;
}

MethodTensor peftTensor(const std::string& path, const std::string& part, const std::string& adapter,
                        const std::string& leaf, torch::Tensor t) {
    const std::string base = kPeftPrefix + path + "." + part, tail = leaf.empty() ? "" : "." + leaf;
    return {base + "." + adapter + tail, base + tail, std::move(t)};
}

NamedTensors TensorListMethod::trainable() const {
    NamedTensors out;
    for (auto& t : ownTensors()) out.emplace_back(std::move(t.trainedKey), std::move(t.tensor));
    for (const auto& m : m_modules.trainable()) out.push_back(m);
    return out;
}

NamedTensors TensorListMethod::saveState() const {
    NamedTensors out;
    for (auto& t : ownTensors()) out.emplace_back(std::move(t.savedKey), std::move(t.tensor));
    for (const auto& m : m_modules.saved()) out.push_back(m);
    return out;
}

void TensorListMethod::loadState(const std::map<std::string, torch::Tensor>& tensors, const std::string& where) {
    loadStrict(saveState(), tensors, where);
}

}  // namespace peft
