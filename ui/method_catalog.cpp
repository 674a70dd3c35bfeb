// Method table for the Method page. Hyperparameter tooltips are the core's MethodSpec::help()
// (one text for the GUI and the CLI); the cards' plain-language sentences live here.
#include "ui/method_catalog.h"

#include <QObject>

#include "core/peft/method_spec.h"

namespace peft::ui {

using nlohmann::json;
using T = ParamSpec::Type;

namespace {

std::vector<ParamSpec> loraParams() {
    return {
        {"r", QObject::tr("Rank r"), T::Int, nullptr, 1, 1024, 0, {}},
        {"lora_alpha", QObject::tr("Alpha"), T::Int, nullptr, 1, 4096, 0, {}},
        {"lora_dropout", QObject::tr("Dropout"), T::Double, nullptr, 0.0, 0.9, 2, {}},
        {"bias", QObject::tr("Train biases"), T::Choice, nullptr, 0, 0, 0, {"none", "all", "lora_only"}},
    };
}

std::vector<MethodInfo> build() {
    std::vector<MethodInfo> m;
    m.push_back({"lora", "LoRA", "LORA",
                 QObject::tr("Adds a small low-rank update B·A beside chosen weight matrices and trains only "
                             "that. The base model stays frozen, and the update can be merged back afterwards."),
                 {{"use_rslora", false}, {"use_dora", false}}, loraParams(), true, "qv", {}});
    m.push_back({"rslora", "rsLoRA", "LORA",
                 QObject::tr("LoRA with the update scaled by alpha / √r instead of alpha / r. Higher ranks then "
                             "keep learning well instead of being damped."),
                 {{"use_rslora", true}, {"use_dora", false}}, loraParams(), true, "qv", {}});
    m.push_back({"dora", "DoRA", "LORA",
                 QObject::tr("Splits each adapted weight into a magnitude and a direction, trains the magnitude "
                             "vector and a LoRA update of the direction. Often closer to full fine-tuning at the "
                             "same rank, at some extra compute."),
                 {{"use_rslora", false}, {"use_dora", true}}, loraParams(), true, "qv", {}});
    m.push_back({"qlora", "QLoRA", "LORA",
                 QObject::tr("LoRA on top of a base model stored in 4-bit NF4, which cuts the memory for frozen "
                             "weights about fourfold. The adapter is an ordinary LoRA adapter."),
                 {{"use_rslora", false}, {"use_dora", false}}, loraParams(), true, "linear",
                 QObject::tr("Training stores the frozen layer weights in NF4 (training.quantize_base); the "
                             "Budget step shows the 4-bit weight memory. The adapter file is plain LoRA."),
                 true});
    m.push_back({"ia3", "(IA)³", "IA3",
                 QObject::tr("Learns one scaling vector per adapted module that rescales keys, values and the "
                             "feed-forward activations. It trains the fewest parameters of all methods here."),
                 json::object(), {}, true, "ia3",
                 QObject::tr("Feed-forward modules (scaled on their input) are set automatically from the "
                             "chosen targets.")});
    m.push_back({"prompt", QObject::tr("Prompt tuning"), "PROMPT_TUNING",
                 QObject::tr("Learns a few virtual token embeddings that are put in front of every input. The "
                             "model itself is untouched; only those vectors are trained."),
                 json::object(),
                 {{"num_virtual_tokens", QObject::tr("Virtual tokens"), T::Int, nullptr, 1, 512, 0, {}},
                  {"prompt_tuning_init", QObject::tr("Initialisation"), T::Choice, nullptr, 0, 0, 0,
                   {"RANDOM", "TEXT"}},
                  {"prompt_tuning_init_text", QObject::tr("Init text"), T::Text, nullptr, 0, 0, 0, {}}},
                 false, {}, {}});
    m.push_back({"prefix", QObject::tr("Prefix tuning"), "PREFIX_TUNING",
                 QObject::tr("Learns key and value vectors that every attention layer sees as if they came "
                             "before the input. It steers each layer without changing its weights."),
                 json::object(),
                 {{"num_virtual_tokens", QObject::tr("Prefix length"), T::Int, nullptr, 1, 512, 0, {}},
                  {"prefix_projection", QObject::tr("Reparameterise with an MLP"), T::Bool, nullptr, 0, 0, 0, {}},
                  // 0 shows as "auto" and writes null: peft then uses the model's width (token_dim).
                  {"encoder_hidden_size", QObject::tr("MLP hidden size"), T::Int, nullptr, 0, 65536, 0, {}}},
                 false, {}, {}});
    const std::vector<ParamSpec> bottleneck = {
        {"reduction_factor", QObject::tr("Reduction factor"), T::Int, nullptr, 1, 4096, 0, {}},
        {"non_linearity", QObject::tr("Activation"), T::Choice, nullptr, 0, 0, 0, {"relu", "gelu", "gelu_new", "silu", "tanh"}}};
    m.push_back({"houlsby", QObject::tr("Adapter (Houlsby)"), "BOTTLENECK_ADAPTER",
                 QObject::tr("Inserts a small bottleneck network after the attention and after the feed-forward "
                             "sub-layer of every block. Only these adapters are trained."),
                 {{"architecture", "houlsby"}}, bottleneck, false, {}, {}});
    m.push_back({"pfeiffer", QObject::tr("Adapter (Pfeiffer)"), "BOTTLENECK_ADAPTER",
                 QObject::tr("Like Houlsby adapters, but with a single bottleneck after the feed-forward "
                             "sub-layer. Half the adapters, usually nearly the same quality."),
                 {{"architecture", "pfeiffer"}}, bottleneck, false, {}, {}});
    m.push_back({"bitfit", "BitFit", "BITFIT",
                 QObject::tr("Trains only the bias vectors of the model and freezes every weight matrix. It is "
                             "tiny and simple, but needs a model that has biases (GPT-2 does, Llama does not)."),
                 json::object(), {}, false, {}, {}});
    m.push_back({"full", QObject::tr("Full fine-tuning"), "FULL",
                 QObject::tr("Trains every parameter of the model. It is the reference for quality, and by far "
                             "the most expensive in memory and disk."),
                 json::object(), {}, false, {}, {}});
    return m;
}

}  // namespace

// Every form default is the core's (MethodSpec::defaults(), what peft itself defaults to): the
// table above names fields, never values. A field whose core default is null (e.g. prefix
// tuning's encoder_hidden_size) stays null, shown as "auto".
void fillDefaults(std::vector<MethodInfo>& cards) {
    for (auto& m : cards) {
        const json d = methodSpec(m.peftType).withDefaults(m.fixed);
        for (auto& p : m.params) p.def = d.contains(p.key) ? d[p.key] : json();
    }
}

const std::vector<MethodInfo>& methodCatalog() {
    static const std::vector<MethodInfo> kMethods = [] {
        std::vector<MethodInfo> m = build();
        fillDefaults(m);
        return m;
    }();
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
        if (help.contains(p.key) && help[p.key].is_string()) return QString::fromStdString(help[p.key].get<std::string>());
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
