// The methods the Method page offers: plain-language text, the adapter_config.json fields each
// one writes, and the hyperparameters with their tooltips. One table; the page and the diagram
// read it, and nothing else switches over methods.
#pragma once
#include <QString>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace peft::ui {

struct ParamSpec {
    enum class Type { Int, Double, Bool, Choice, Text };
    std::string key;  // adapter_config.json field
    QString label;
    Type type = Type::Int;
    nlohmann::json def;
    double min = 0, max = 0;
    int decimals = 0;
    QStringList choices;
    QString tooltip;
};

struct MethodInfo {
    QString id;        // "lora", "rslora", ... (the card; stored in the project's UI state)
    QString name;      // "LoRA"
    std::string peftType;  // "LORA", "IA3", ...
    QString summary;   // two plain sentences
    nlohmann::json fixed = nlohmann::json::object();  // fields every config of this card has
    std::vector<ParamSpec> params;
    bool usesTargets = false;  // shows the target-module picker
    QString defaultPreset;     // "qv", "attention", "linear", "mlp", "ia3"
    QString note;              // a caveat shown under the form
};

const std::vector<MethodInfo>& methodCatalog();
const MethodInfo* findMethod(const QString& id);
// The card that matches a method config (peft_type plus use_dora/use_rslora), or nullptr.
const MethodInfo* methodForConfig(const nlohmann::json& method);

}  // namespace peft::ui
