// The Method page's catalog, built from the core's method specs: each spec's cards (texts, form
// fields, diagram), its defaults and its help. Nothing here names a method.
#include "ui/method_catalog.h"

#include <QCoreApplication>

#include "core/peft/method_spec.h"

namespace peft::ui {

using nlohmann::json;

namespace {

QString tr(const std::string& text) {
    return text.empty() ? QString() : QCoreApplication::translate("MethodCard", text.c_str());
}

ParamSpec toParam(const CardParam& c) {
    ParamSpec p;
    p.key = c.key;
    p.label = tr(c.label);
    p.type = c.kind;
    p.min = c.min;
    p.max = c.max;
    p.decimals = c.decimals;
    for (const auto& choice : c.choices) p.choices << QString::fromStdString(choice);
    return p;
}

// Every card of every registered method, in the registry's order. The texts are the core's
// (MethodSpec::cards()); every form default is the core's too (MethodSpec::defaults(), what peft
// itself defaults to). A field whose core default is null (e.g. prefix tuning's
// encoder_hidden_size) stays null, shown as "auto".
std::vector<MethodInfo> build() {
    std::vector<MethodInfo> out;
    for (const MethodSpec* spec : allMethodSpecs()) {
        for (const MethodCard& c : spec->cards()) {
            MethodInfo m;
            m.id = QString::fromStdString(c.id);
            m.name = tr(c.name);
            m.peftType = spec->peftType();
            m.summary = tr(c.summary);
            m.fixed = c.fixed;
            const json d = spec->withDefaults(c.fixed);
            for (const CardParam& cp : c.params) {
                ParamSpec p = toParam(cp);
                p.def = d.contains(p.key) ? d[p.key] : json();
                m.params.push_back(std::move(p));
            }
            m.usesTargets = c.usesTargets;
            m.defaultPreset = QString::fromStdString(c.defaultPreset);
            m.note = tr(c.note);
            m.quantizeBase = c.quantizeBase;
            m.diagram = c.diagram;
            out.push_back(std::move(m));
        }
    }
    return out;
}

}  // namespace

const std::vector<MethodInfo>& methodCatalog() {
    static const std::vector<MethodInfo> kMethods = build();
    return kMethods;
}

const MethodInfo* findMethod(const QString& id) {
    for (const auto& m : methodCatalog())
        if (m.id == id) return &m;
    return nullptr;
}

QString paramHelp(const MethodInfo& m, const ParamSpec& p) {
    try {
        const json help = methodSpec(m.peftType).help();
        if (help.contains(p.key) && help[p.key].is_string())
            return QString::fromStdString(help[p.key].get<std::string>());
    } catch (const std::exception&) {
    }
    return {};
}

bool isLoraCard(const MethodInfo& m) { return isLowRankType(m.peftType); }

bool isLowRankType(const std::string& peftType) {
    const MethodSpec* s = findMethodSpec(peftType);
    return s && s->lowRankUpdate();
}

const MethodInfo* methodForConfig(const json& method, bool quantizeBase) {
    if (!method.is_object()) return nullptr;
    const std::string type = method.value("peft_type", "");
    const MethodInfo* first = nullptr;
    for (const auto& m : methodCatalog()) {
        if (m.peftType != type) continue;
        if (m.quantizeBase != (quantizeBase && isLowRankType(type))) continue;
        if (!first) first = &m;
        bool match = true;
        for (auto it = m.fixed.begin(); it != m.fixed.end(); ++it)
            if (method.contains(it.key()) && method[it.key()] != *it) match = false;
        if (match) return &m;
    }
    return first;
}

}  // namespace peft::ui
