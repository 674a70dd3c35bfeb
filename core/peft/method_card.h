// MethodCard: how the Method page presents one choice of a method — its plain-language text, the
// fields its form edits, and where the block diagram marks it. Plain data, no Qt: each method's
// spec (core/peft/<method>/<method>_spec.cpp) returns its cards, so a method is defined in one
// place and the GUI (ui/method_catalog.cpp) only translates and lays them out.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace peft {

// One form field. Its default is never written here: the form shows the spec's defaults().
struct CardParam {
    enum class Kind { Int, Double, Bool, Choice, Text };
    std::string key;    // adapter_config.json field
    std::string label;  // "Rank r"
    Kind kind = Kind::Int;
    double min = 0, max = 0;           // Int and Double
    int decimals = 0;                  // Double
    std::vector<std::string> choices;  // Choice

    static CardParam integer(std::string key, std::string label, double min, double max) {
        return {std::move(key), std::move(label), Kind::Int, min, max};
    }
    static CardParam number(std::string key, std::string label, double min, double max, int decimals) {
        return {std::move(key), std::move(label), Kind::Double, min, max, decimals};
    }
    static CardParam flag(std::string key, std::string label) { return {std::move(key), std::move(label), Kind::Bool}; }
    static CardParam choice(std::string key, std::string label, std::vector<std::string> choices) {
        return {std::move(key), std::move(label), Kind::Choice, 0, 0, 0, std::move(choices)};
    }
    static CardParam text(std::string key, std::string label) { return {std::move(key), std::move(label), Kind::Text}; }
};

// Where the block diagram (ui/widgets/method_diagram.cpp) marks the method.
struct CardDiagram {
    enum class Place {
        LowRankBeside,  // a trained B·A branch beside q and v
        Scales,         // learned scales on k, v and the MLP's down projection
        Prefix,         // trained keys and values every attention layer sees
        Prompt,         // virtual tokens in front of the input
        Adapters,       // bottleneck modules after the sub-layers
        Biases,         // the bias vectors
        Everything,     // every weight
    };
    Place place = Place::Everything;
    std::string branchLabel;      // LowRankBeside: "BA", "m·BA", "BA/√r"
    bool afterAttention = false;  // Adapters: one after attention too (Houlsby), not only after the MLP
};

struct MethodCard {
    std::string id;       // "lora", "rslora", ...: stored in the project's UI state, so never renamed
    std::string name;     // "LoRA"
    std::string summary;  // two plain sentences
    nlohmann::json fixed = nlohmann::json::object();  // fields every config of this card has
    std::vector<CardParam> params;
    bool usesTargets = false;   // the form shows the target-module picker
    std::string defaultPreset;  // its preset: "qv", "attention", "linear", "mlp", "ia3"
    std::string note;           // a caveat shown under the form
    bool quantizeBase = false;  // the run's training.quantize_base (QLoRA: NF4 base weights)
    CardDiagram diagram;
};

}  // namespace peft
