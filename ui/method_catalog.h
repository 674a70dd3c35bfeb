// The methods the Method page offers, as Qt values: each registered MethodSpec's cards()
// (plain-language text, form fields, diagram) with the spec's defaults filled in. The page and the
// diagram read it; nothing in ui/ switches over methods. Tooltips come from the core (paramHelp).
#pragma once
#include <QString>
#include <QStringList>

#include <nlohmann/json.hpp>

#include "core/peft/method_card.h"

#include <string>
#include <vector>

namespace peft::ui {

struct ParamSpec {
    using Type = CardParam::Kind;
    std::string key;  // adapter_config.json field
    QString label;
    Type type = Type::Int;
    nlohmann::json def;
    double min = 0, max = 0;
    int decimals = 0;
    QStringList choices;
};

struct MethodInfo {
    QString id;            // "lora", "rslora", ... (the card; stored in the project's UI state)
    QString name;          // "LoRA"
    std::string peftType;  // "LORA", "IA3", ...
    QString summary;       // two plain sentences
    nlohmann::json fixed = nlohmann::json::object();  // fields every config of this card has
    std::vector<ParamSpec> params;
    bool usesTargets = false;   // shows the target-module picker
    QString defaultPreset;      // "qv", "attention", "linear", "mlp", "ia3"
    QString note;               // a caveat shown under the form
    bool quantizeBase = false;  // QLoRA: the run's training.quantize_base (NF4 base weights)
    CardDiagram diagram;        // where the block diagram marks the method
};

const std::vector<MethodInfo>& methodCatalog();
// The tooltip of a hyperparameter: the core's MethodSpec::help() text for its field (the same
// text the CLI prints). Empty when the core has none.
QString paramHelp(const MethodInfo& m, const ParamSpec& p);
// The LoRA-family cards whose adapter is plain LoRA (lora, rslora, dora, qlora).
bool isLoraCard(const MethodInfo& m);
// The method trains low-rank pairs (LoRA and its variants: the cards with a QLoRA twin, the form
// importance-based selection suggests). Asks the core's MethodSpec, so unknown types are false.
bool isLowRankType(const std::string& peftType);
const MethodInfo* findMethod(const QString& id);
// The card that matches a method config (peft_type plus use_dora/use_rslora), or nullptr.
// With `quantizeBase` (the run's training.quantize_base) a plain LoRA config is the QLoRA card.
const MethodInfo* methodForConfig(const nlohmann::json& method, bool quantizeBase = false);

}  // namespace peft::ui
