// Method table for the Method page. Tooltips paraphrase HF peft's config help texts.
#include "ui/method_catalog.h"

#include <QObject>

namespace peft::ui {

using nlohmann::json;
using T = ParamSpec::Type;

namespace {

std::vector<ParamSpec> loraParams() {
    return {
        {"r", QObject::tr("Rank r"), T::Int, 8, 1, 1024, 0, {},
         QObject::tr("Inner dimension of the two low-rank matrices (A: r×in, B: out×r). Higher r adapts more "
                     "but trains more parameters. 4–16 is typical.")},
        {"lora_alpha", QObject::tr("Alpha"), T::Int, 16, 1, 4096, 0, {},
         QObject::tr("Scaling numerator: the update B·A is multiplied by alpha / r (alpha / √r with rsLoRA). "
                     "A common choice is 2 × r.")},
        {"lora_dropout", QObject::tr("Dropout"), T::Double, 0.05, 0.0, 0.9, 2, {},
         QObject::tr("Dropout applied to the input of the LoRA branch during training only.")},
        {"bias", QObject::tr("Train biases"), T::Choice, "none", 0, 0, 0, {"none", "all", "lora_only"},
         QObject::tr("Which bias vectors are trained too: none, all of them, or only those of adapted modules.")},
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
                 QObject::tr("The 4-bit base needs the core's NF4 storage; the adapter file is plain LoRA.")});
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
                 {{"num_virtual_tokens", QObject::tr("Virtual tokens"), T::Int, 20, 1, 512, 0, {},
                   QObject::tr("How many learned embeddings are prepended to each input.")},
                  {"prompt_tuning_init", QObject::tr("Initialisation"), T::Choice, "RANDOM", 0, 0, 0,
                   {"RANDOM", "TEXT"},
                   QObject::tr("RANDOM starts from random vectors; TEXT starts from the embeddings of a text "
                               "that describes the task.")},
                  {"prompt_tuning_init_text", QObject::tr("Init text"), T::Text, "", 0, 0, 0, {},
                   QObject::tr("The text used when the initialisation is TEXT, e.g. \"Classify the sentiment:\".")}},
                 false, {}, {}});
    m.push_back({"prefix", QObject::tr("Prefix tuning"), "PREFIX_TUNING",
                 QObject::tr("Learns key and value vectors that every attention layer sees as if they came "
                             "before the input. It steers each layer without changing its weights."),
                 json::object(),
                 {{"num_virtual_tokens", QObject::tr("Prefix length"), T::Int, 20, 1, 512, 0, {},
                   QObject::tr("Number of learned key/value positions per layer.")},
                  {"prefix_projection", QObject::tr("Reparameterise with an MLP"), T::Bool, false, 0, 0, 0, {},
                   QObject::tr("Train the prefix through a two-layer MLP for stability; only the projected prefix "
                               "is saved.")},
                  {"encoder_hidden_size", QObject::tr("MLP hidden size"), T::Int, 512, 1, 65536, 0, {},
                   QObject::tr("Hidden width of the reparameterisation MLP (used with the option above).")}},
                 false, {}, {}});
    const std::vector<ParamSpec> bottleneck = {
        {"bottleneck_size", QObject::tr("Bottleneck size"), T::Int, 64, 1, 16384, 0, {},
         QObject::tr("Width of the adapter's down-projection; the adapter is hidden → size → hidden.")},
        {"non_linearity", QObject::tr("Activation"), T::Choice, "relu", 0, 0, 0, {"relu", "gelu", "silu", "tanh"},
         QObject::tr("Non-linearity between the adapter's down- and up-projection.")}};
    m.push_back({"houlsby", QObject::tr("Adapter (Houlsby)"), "BOTTLENECK_ADAPTER",
                 QObject::tr("Inserts a small bottleneck network after the attention and after the feed-forward "
                             "sub-layer of every block. Only these adapters are trained."),
                 {{"adapter_type", "houlsby"}}, bottleneck, false, {}, {}});
    m.push_back({"pfeiffer", QObject::tr("Adapter (Pfeiffer)"), "BOTTLENECK_ADAPTER",
                 QObject::tr("Like Houlsby adapters, but with a single bottleneck after the feed-forward "
                             "sub-layer. Half the adapters, usually nearly the same quality."),
                 {{"adapter_type", "pfeiffer"}}, bottleneck, false, {}, {}});
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

const std::vector<MethodInfo>& methodCatalog() {
    static const std::vector<MethodInfo> kMethods = build();
    return kMethods;
}

const MethodInfo* findMethod(const QString& id) {
    for (const auto& m : methodCatalog())
        if (m.id == id) return &m;
    return nullptr;
}

const MethodInfo* methodForConfig(const json& method) {
    if (!method.is_object()) return nullptr;
    const std::string type = method.value("peft_type", "");
    const MethodInfo* first = nullptr;
    for (const auto& m : methodCatalog()) {
        if (m.peftType != type) continue;
        if (!first) first = &m;
        bool match = true;
        for (auto it = m.fixed.begin(); it != m.fixed.end(); ++it)
            if (method.contains(it.key()) && method[it.key()] != *it) match = false;
        if (match) return &m;
    }
    return first;
}

}  // namespace peft::ui
