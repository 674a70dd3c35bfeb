// Target selection for LoRA and IA3 (see spec_targets.h).
#include "core/peft/spec_targets.h"

#include <algorithm>
#include <cctype>

#include "core/peft/spec_util.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft::spec {

nlohmann::json defaultTargets(const ModelConfig& mc, const std::string& method) {
    const ArchTable t = archTable(mc);
    const std::vector<std::string>& d = method == "IA3" ? t.traits.ia3Targets : t.traits.loraTargets;
    if (d.empty())
        fail(method + " config",
             "key 'target_modules' is missing, and peft has no default for model_type '" + mc.modelType + "'",
             "Name the modules to adapt. " + t.traits.moduleHint);
    return d;
}

nlohmann::json defaultFeedforward(const ModelConfig& mc) { return archTable(mc).traits.ia3Feedforward; }

std::vector<const ModuleEntry*> selectTargets(const ModuleTree& tree, const nlohmann::json& cfg, const ModelConfig& mc,
                                              const std::string& method, const std::string& where) {
    nlohmann::json targets = getJson(cfg, "target_modules");
    if (targets.is_null()) targets = defaultTargets(mc, method);
    bool allLinear = false;
    if (targets.is_string()) {
        std::string s = targets.get<std::string>();
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
        allLinear = s == "all-linear";
    }
    const nlohmann::json& exclude = getJson(cfg, "exclude_modules");
    const nlohmann::json& ltt = getJson(cfg, "layers_to_transform");
    const nlohmann::json& lpat = getJson(cfg, "layers_pattern");
    std::vector<const ModuleEntry*> out;
    for (const auto& m : tree.modules) {
        if (m.kind == ModuleKind::Norm) continue;
        bool hit;
        if (allLinear) hit = m.kind == ModuleKind::Linear;  // the output head is left out, as peft does
        else hit = matchesTarget(targets, m.path);
        if (!hit) continue;
        if (!exclude.is_null() && matchesTarget(exclude, m.path)) continue;
        if (!ltt.is_null()) {
            if (m.layer < 0) continue;
            if (!layerSelected(ltt, lpat, m.layer, tree.layerContainer)) continue;
        }
        out.push_back(&m);
    }
    if (out.empty())
        fail(where, "target_modules " + targets.dump() + " match no module of this " + mc.modelType + " model",
             tree.arch.traits.moduleHint);
    return out;
}

}  // namespace peft::spec
