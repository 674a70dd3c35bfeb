// The objectives' settings, defaults and checks (see objective_spec.h).
#include "core/train/objectives/objective_spec.h"

#include <cmath>

#include "core/util/error.h"

namespace peft {

using nlohmann::json;

namespace {

double num(const json& j, const char* key) { return j.at(key).get<double>(); }

void positive(const json& j, const char* key, const std::string& where) {
    if (!(num(j, key) > 0) || !std::isfinite(num(j, key)))
        fail(where + ": objective." + key, "must be a positive number, found " + j.at(key).dump(), "Use e.g. 0.1.");
}
void nonNegative(const json& j, const char* key, const std::string& where) {
    if (!(num(j, key) >= 0) || !std::isfinite(num(j, key)))
        fail(where + ": objective." + key, "must be 0 or more, found " + j.at(key).dump(), "Use e.g. 0.1.");
}
void smoothing(const json& j, const std::string& where) {
    const double e = num(j, "label_smoothing");
    if (!(e >= 0 && e < 0.5))
        fail(where + ": objective.label_smoothing", "must be in [0, 0.5), found " + j.at("label_smoothing").dump(),
             "Use 0 (no smoothing) or a small value such as 0.1 for noisy preference labels.");
}

// An objective's name and text.
ObjectiveSpec named(const char* type, const char* displayName, const char* summary) {
    ObjectiveSpec s;
    s.type = type;
    s.displayName = displayName;
    s.summary = summary;
    return s;
}
// One setting, its default and its help written side by side.
void setting(ObjectiveSpec& s, const char* key, json def, const char* help) {
    s.defaults[key] = std::move(def);
    s.help[key] = help;
}
void labelSmoothingSetting(ObjectiveSpec& s) {
    setting(s, "label_smoothing", 0.0,
            "Assumed fraction of pairs whose preference is wrong (conservative smoothing); 0 trusts every pair.");
}

}  // namespace

const std::vector<ObjectiveSpec>& objectiveSpecs() {
    static const std::vector<ObjectiveSpec> k = [] {
        std::vector<ObjectiveSpec> v;
        v.push_back(
            named("sft", "SFT",
                  "Supervised fine-tuning: the model learns to continue each prompt with the answer in the data. "
                  "Use it first, on examples of the behaviour you want."));
        {
            ObjectiveSpec s = named(
                "dpo", "DPO",
                "Direct preference optimisation: on pairs of a chosen and a rejected answer, the model learns to raise "
                "the chosen one's likelihood relative to the rejected one's, measured against a frozen reference. The "
                "reference is the same model with the adapter switched off, so no second copy is needed for adapter "
                "methods.");
            s.preference = true;
            s.usesReference = true;
            setting(s, "beta", 0.1,
                    "How far the model may move from the reference: higher keeps it closer (0.1 is usual).");
            labelSmoothingSetting(s);
            setting(s, "reference", "auto",
                    "auto: the adapter switched off where that gives the base model, else a frozen copy; "
                    "adapter_disabled; frozen_copy.");
            s.choices = {{"reference", {"auto", "adapter_disabled", "frozen_copy"}}};
            setting(s, "precompute_reference", false,
                    "Compute the reference log-probabilities once before training and keep them with the run (no "
                    "reference forward during training).");
            s.check = [](const json& j, const std::string& where) {
                positive(j, "beta", where);
                smoothing(j, where);
            };
            v.push_back(s);
        }
        {
            ObjectiveSpec s = named(
                "orpo", "ORPO",
                "Odds-ratio preference optimisation: supervised fine-tuning on the chosen answers plus a penalty that "
                "raises their odds over the rejected ones'. It needs no reference model, so it can replace SFT "
                "followed "
                "by DPO with one run.");
            s.preference = true;
            setting(s, "lambda", 0.1, "Weight of the odds-ratio term against the chosen answers' NLL (0.1 is usual).");
            s.check = [](const json& j, const std::string& where) { nonNegative(j, "lambda", where); };
            v.push_back(s);
        }
        {
            ObjectiveSpec s = named(
                "simpo", "SimPO",
                "Simple preference optimisation: the chosen answer's average log-probability per token must beat the "
                "rejected one's by a margin. Like ORPO it needs no reference model, and the per-token average keeps it "
                "from favouring long answers.");
            s.preference = true;
            setting(s, "beta", 2.0, "Scale of the reward (the average log-probability); 2 to 2.5 is usual.");
            setting(s, "gamma", 1.0, "Target margin between chosen and rejected rewards.");
            labelSmoothingSetting(s);
            setting(s, "sft_weight", 0.0, "Weight of an added NLL loss on the chosen answers (0: none).");
            s.check = [](const json& j, const std::string& where) {
                positive(j, "beta", where);
                smoothing(j, where);
                nonNegative(j, "sft_weight", where);
                if (!std::isfinite(num(j, "gamma")))
                    fail(where + ": objective.gamma", "must be a finite number", "Use e.g. 1.0.");
            };
            v.push_back(s);
        }
        return v;
    }();
    return k;
}

const ObjectiveSpec& objectiveSpec(const std::string& type, const std::string& where) {
    std::string list;
    for (const auto& s : objectiveSpecs()) {
        if (s.type == type) return s;
        list += (list.empty() ? "" : ", ") + s.type;
    }
    fail(where, "unknown objective type '" + type + "'", "Use one of: " + list + ".");
}

json resolveObjectiveConfig(const json& j, const std::string& where) {
    if (j.is_null()) return {{"type", "sft"}};
    if (!j.is_object())
        fail(where + ": objective", std::string("must be an object, found ") + j.type_name(),
             "For example {\"type\": \"dpo\", \"beta\": 0.1}.");
    std::string type = "sft";
    if (j.contains("type")) {
        if (!j["type"].is_string())
            fail(where + ": objective.type", "must be a string, found " + j["type"].dump(), "Use e.g. \"dpo\".");
        type = j["type"].get<std::string>();
    }
    const ObjectiveSpec& spec = objectiveSpec(type, where + ": objective.type");
    json out = spec.defaults;
    out["type"] = type;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "type") continue;
        auto d = spec.defaults.find(it.key());
        if (d == spec.defaults.end()) {
            std::string list = "type";
            for (auto k = spec.defaults.begin(); k != spec.defaults.end(); ++k) list += ", " + k.key();
            fail(where + ": objective." + it.key(), "unknown key for objective '" + type + "'",
                 "Allowed keys: " + list + ".");
        }
        const json& v = it.value();
        const bool ok = d->is_number() ? v.is_number() : d->is_boolean() ? v.is_boolean() : v.is_string();
        if (!ok)
            fail(where + ": objective." + it.key(), "has the wrong type (" + v.dump() + ")",
                 std::string("Expected ") +
                     (d->is_number()        ? "a number"
                          : d->is_boolean() ? "true/false"
                                            : "a string") +
                     ".");
        out[it.key()] = v;
    }
    for (auto c = spec.choices.begin(); c != spec.choices.end(); ++c) {
        const json& v = out.at(c.key());
        bool known = false;
        std::string list;
        for (const auto& allowed : *c) {
            known = known || v == allowed;
            list += (list.empty() ? "" : ", ") + allowed.get<std::string>();
        }
        if (!known)
            fail(where + ": objective." + c.key(), "'" + v.get<std::string>() + "' is not allowed",
                 "Use one of: " + list + ".");
    }
    if (spec.check) spec.check(out, where);
    return out;
}

}  // namespace peft
