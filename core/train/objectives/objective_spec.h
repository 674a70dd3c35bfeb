// The config side of training objectives (run.json's top-level "objective"): each type's
// settings with defaults, help and value checks, and whether it trains on preference pairs.
// No torch: the run config, the GUI and the fuzz targets read it.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace peft {

struct ObjectiveSpec {
    std::string type;                                    // "sft", "dpo", "orpo", "simpo"
    std::string displayName;                             // "SFT", "DPO", ...
    std::string summary;                                 // two sentences for the Method page
    bool preference = false;                             // trains on preference pairs (chosen vs rejected answers)
    bool usesReference = false;                          // needs a reference model's log-probabilities
    nlohmann::json defaults = nlohmann::json::object();  // every setting but "type", with its default (and so its type)
    nlohmann::json help = nlohmann::json::object();      // setting -> one line
    nlohmann::json choices =
        nlohmann::json::object();  // string setting -> its allowed values (checked, listed by the GUI)
    // Value checks on the resolved settings; throws PeftError naming `where`.key.
    std::function<void(const nlohmann::json& resolved, const std::string& where)> check;
};

// Every objective, in the order the GUI lists them.
const std::vector<ObjectiveSpec>& objectiveSpecs();
// Throws PeftError naming `where` and listing the known types.
const ObjectiveSpec& objectiveSpec(const std::string& type, const std::string& where = "objective");

// Reads run.json's "objective" (null: {"type": "sft"}): unknown keys, wrong types and bad values
// are errors naming "<where>: objective.<key>". Returns the settings with defaults filled in.
nlohmann::json resolveObjectiveConfig(const nlohmann::json& j, const std::string& where);

}  // namespace peft
