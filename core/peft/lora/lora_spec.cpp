// LoRA config fields, validation and counts, as HF peft's LoraConfig / LoraModel: per targeted
// module lora_A [r, in] and lora_B [out, r] (embeddings: lora_embedding_A [r, V], lora_embedding_B
// [H, r]); DoRA adds lora_magnitude_vector [out]; lora_bias adds lora_B.bias [out].
#include "core/peft/lora/lora_spec.h"

#include <cmath>

#include "core/peft/spec_targets.h"
#include "core/peft/spec_util.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

namespace {

const char* kPrefix = "base_model.model.";

class LoraSpec : public spec::OnePassSpec {
public:
    LoraSpec() : OnePassSpec({"LORA", "LoRA", spec::kLowRankUpdate | spec::kMergesIntoBase}) {}

    // What peft 0.21's LoraConfig writes for the fields this project does not read.
    nlohmann::json peftOnlyFields() const override {
        return {{"alora_invocation_tokens", nullptr},
                {"arrow_config", nullptr},
                {"corda_config", nullptr},
                {"ensure_weight_tying", false},
                {"eva_config", nullptr},
                {"kasa_config", nullptr},
                {"layer_replication", nullptr},
                {"loftq_config", nlohmann::json::object()},
                {"lora_ga_config", nullptr},
                {"megatron_config", nullptr},
                {"megatron_core", "megatron.core"},
                {"monteclora_config", nullptr},
                {"qalora_group_size", 16},
                {"target_parameters", nullptr},
                {"trainable_token_indices", nullptr},
                {"use_bdlora", nullptr},
                {"use_qalora", false},
                {"velora_config", nullptr}};
    }

    void checkValues(const nlohmann::json& cfg, const std::string& where) const override {
        spec::requirePositive(cfg, "r", where);
        const std::string bias = spec::getString(cfg, "bias", "none");
        if (bias != "none" && bias != "all" && bias != "lora_only")
            fail(where, "key 'bias' must be \"none\", \"all\" or \"lora_only\" (got \"" + bias + "\")", "");
        double dropout = spec::getNumber(cfg, "lora_dropout", 0.0);
        if (dropout < 0 || dropout >= 1) fail(where, "key 'lora_dropout' must be in [0, 1)", "");
        for (const char* k : {"rank_pattern", "alpha_pattern"}) {
            const auto& p = spec::getJson(cfg, k);
            if (p.is_object())
                for (auto it = p.begin(); it != p.end(); ++it)
                    if (!it.value().is_number() || it.value().get<double>() <= 0)
                        fail(where, std::string("key '") + k + "' entry '" + it.key() + "' must be a positive number",
                             "");
        }
        const auto& rp = spec::getJson(cfg, "rank_pattern");
        if (rp.is_object())
            for (auto it = rp.begin(); it != rp.end(); ++it)
                if (it.value().get<double>() < 1)
                    fail(where, "key 'rank_pattern' gives '" + it.key() + "' a rank below 1",
                         "Use whole ranks of 1 or more.");
        if (spec::getBool(cfg, "lora_bias", false) && spec::getBool(cfg, "use_dora", false))
            fail(where, "key 'lora_bias' cannot be combined with 'use_dora'", "Turn one of them off.");
        // peft also initialises from the weights (pissa, olora, loftq, eva, corda, orthogonal):
        // refused by name rather than trained as the default without a word.
        const auto& init = spec::getJson(cfg, "init_lora_weights");
        if (init.is_string() && init.get<std::string>() != "gaussian")
            fail(where,
                 "key 'init_lora_weights' is \"" + init.get<std::string>() + "\", which PEFT Studio does not support",
                 "Use true (peft's default), \"gaussian\" or false; initialisations computed from the base weights "
                 "(pissa, olora, loftq, eva, corda, orthogonal) are not available.");
        const auto& t = spec::getJson(cfg, "target_modules");
        if (t.is_array() && t.empty())
            fail(where, "key 'target_modules' is an empty list", "Name at least one module.");
        if (!spec::getJson(cfg, "target_parameters").is_null() && !spec::getJson(cfg, "target_parameters").empty())
            fail(where, "key 'target_parameters' is not supported", "Use target_modules.");
    }

    std::vector<spec::Field> fields() const override {
        return {
            {"r", 8, "int",
             "Rank of the update: each adapted weight W gets a product B·A with A of r rows and B of r columns."},
            {"lora_alpha", 8, "number",
             "Scale numerator: the update is multiplied by lora_alpha / r (or / sqrt(r) with rsLoRA)."},
            {"lora_dropout", 0.0, "number",
             "Dropout probability applied to the input of the LoRA branch during training."},
            {"target_modules", nullptr, "list|string|null",
             "Modules to adapt: a list of names (exact path or its last dotted part), a regex matched against the "
             "whole "
             "module path, or \"all-linear\"."},
            {"exclude_modules", nullptr, "list|string|null", "Modules never to adapt, written like target_modules."},
            {"fan_in_fan_out", false, "bool",
             "Set when the base layer stores its weight as [in, out] (GPT-2's Conv1D)."},
            {"bias", "none", "string",
             "Which bias terms train too: \"none\", \"all\" (every bias in the model) or \"lora_only\" (biases of "
             "adapted layers)."},
            {"use_rslora", false, "bool",
             "Rank-stabilised LoRA: scale by lora_alpha / sqrt(r) instead of lora_alpha / r."},
            {"use_dora", false, "bool",
             "DoRA: split the weight into magnitude (a trained vector per output) and direction (updated by LoRA)."},
            {"lora_bias", false, "bool", "Give lora_B a trainable bias of its own."},
            spec::modulesToSaveField(),
            {"init_lora_weights", true, "bool|string",
             "Initialise A randomly and B to zero so training starts from the base model (\"gaussian\": A normal "
             "with std 1/r; false: both random, for tests)."},
            {"layers_to_transform", nullptr, "int|list|null",
             "Decoder layer indices to adapt (an int or a list); empty means all layers."},
            {"layers_pattern", nullptr, "string|list|null",
             "Name of the layer container (\"layers\", \"h\") that layers_to_transform refers to."},
            {"rank_pattern", nlohmann::json::object(), "object|null",
             "Per-module rank overrides: {module name or regex: r}."},
            {"alpha_pattern", nlohmann::json::object(), "object|null",
             "Per-module alpha overrides: {module name or regex: lora_alpha}."}};
    }
    // peft's runtime_config is never saved, but a config may carry it.
    std::vector<std::string> acceptedUnread() const override {
        std::vector<std::string> known = spec::keysOf(peftOnlyFields());
        known.push_back("runtime_config");
        return known;
    }

    // Everything count(), savedTensors() and footprint() need, in one pass.
    Plan plan(const ModelConfig& mc, const nlohmann::json& cfg, bool wantSaved) const override {
        const std::string where = configName();
        Plan p = startPlan(mc, cfg, where, wantSaved);
        const ModuleTree& tree = p.tree;
        const bool dora = spec::getBool(cfg, "use_dora", false);
        const bool loraBias = spec::getBool(cfg, "lora_bias", false);
        const std::string bias = spec::getString(cfg, "bias", "none");
        const double dropout = spec::getNumber(cfg, "lora_dropout", 0.0);
        for (const ModuleEntry* m : spec::selectTargets(tree, cfg, mc, "LORA", where)) {
            const LoraModuleParams lp = loraParamsFor(cfg, m->path);
            const int64_t r = lp.r;
            const std::string label = spec::moduleTypeLabel(*m);
            const std::string base = kPrefix + m->path;
            if (m->kind == ModuleKind::Embedding) {
                // lora_embedding_A [r, num_embeddings], lora_embedding_B [embedding_dim, r]
                p.report.addAdapter(r * m->in + m->out * r, label, m->layer);
                if (dora) p.report.addAdapter(m->out, label, m->layer);
                if (wantSaved) {
                    p.saved.push_back({base + ".lora_embedding_A", {r, m->in}});
                    p.saved.push_back({base + ".lora_embedding_B", {m->out, r}});
                    if (dora) p.saved.push_back({base + ".lora_magnitude_vector", {m->out}});
                }
                p.fp.embeddingTrains = true;
                p.fp.firstGradLayer = 0;
                continue;
            }
            p.report.addAdapter(r * m->in + m->out * r, label, m->layer);  // A [r,in] + B [out,r]
            if (dora) p.report.addAdapter(m->out, label, m->layer);        // magnitude [out]
            if (loraBias) p.report.addAdapter(m->out, label, m->layer);    // lora_B.bias [out]
            if (bias == "lora_only" && m->bias) p.report.trainBase(m->out, label, m->layer);
            if (wantSaved) {
                p.saved.push_back({base + ".lora_A.weight", {r, m->in}});
                p.saved.push_back({base + ".lora_B.weight", {m->out, r}});
                if (loraBias) p.saved.push_back({base + ".lora_B.bias", {m->out}});
                if (dora) p.saved.push_back({base + ".lora_magnitude_vector", {m->out}});
                if (bias == "lora_only" && m->bias) p.saved.push_back({base + ".bias", {m->out}, true});
            }
            if (m->kind == ModuleKind::Head) {
                p.fp.lmHeadTrains = true;
                continue;
            }
            // Autograd keeps, all fp32 (lora.cpp computes the adapter in fp32): the input x cast
            // to fp32 (lora_A's weight trains; a copy per adapted linear unless the run is fp32),
            // A's output [r] for lora_B, with dropout its output [in]; DoRA also the base output and
            // the LoRA output [out] each, for the magnitude's gradient.
            LinearFootprint& f = keptFor(p, *m);
            f.adapterInputFp32 = true;
            f.extraSavedFp32 += r + (dropout > 0 ? m->in : 0) + (dora ? 2 * m->out : 0);
            f.actDtypeInLowPrecision = !dora;  // bf16/fp16 activations: the two products in that dtype
        }
        if (bias == "all") {
            for (const auto& m : tree.modules) {
                if (!m.bias || m.tiedToEmbedding) continue;
                if (m.kind == ModuleKind::Norm) p.fp.normAffineTrains = true;
                p.report.trainBase(m.biasParams(), spec::moduleTypeLabel(m) + ".bias", m.layer);
                if (wantSaved) p.saved.push_back({kPrefix + m.path + ".bias", {m.out}, true});
                if (m.layer >= 0) p.fp.firstGradLayer = std::min(p.fp.firstGradLayer, m.layer);
            }
        }
        finishPlan(p, cfg);
        return p;
    }

    std::vector<MethodCard> cards() const override {
        const std::vector<CardParam> params = {CardParam::integer("r", "Rank r", 1, 1024),
                                               CardParam::integer("lora_alpha", "Alpha", 1, 4096),
                                               CardParam::number("lora_dropout", "Dropout", 0.0, 0.9, 2),
                                               CardParam::choice("bias", "Train biases", {"none", "all", "lora_only"})};
        MethodCard lora;
        lora.id = "lora";
        lora.name = "LoRA";
        lora.summary =
            "Adds a small low-rank update B·A beside chosen weight matrices and trains only that. The "
            "base model stays frozen, and the update can be merged back afterwards.";
        lora.fixed = {{"use_rslora", false}, {"use_dora", false}};
        lora.params = params;
        lora.usesTargets = true;
        lora.defaultPreset = "qv";
        lora.diagram = {CardDiagram::Place::LowRankBeside, "BA"};
        // rsLoRA, DoRA and QLoRA: the LoRA card with its own name and text, the setting it turns on
        // (none for QLoRA: its adapter is plain LoRA) and the label of its branch in the diagram.
        auto twin = [&](const char* id, const char* name, const char* setting, const char* branch,
                        const char* summary) {
            MethodCard c = lora;
            c.id = id;
            c.name = name;
            c.summary = summary;
            if (setting) c.fixed[setting] = true;
            c.diagram.branchLabel = branch;
            return c;
        };
        MethodCard rslora = twin("rslora", "rsLoRA", "use_rslora", "BA/√r",
                                 "LoRA with the update scaled by alpha / √r instead of alpha / r. Higher ranks then "
                                 "keep learning well instead of being damped.");
        MethodCard dora = twin("dora", "DoRA", "use_dora", "m·BA",
                               "Splits each adapted weight into a magnitude and a direction, trains the magnitude "
                               "vector and a LoRA update of the direction. Often closer to full fine-tuning at the "
                               "same rank, at some extra compute.");
        MethodCard qlora = twin("qlora", "QLoRA", nullptr, "BA",
                                "LoRA on top of a base model stored in 4-bit NF4, which cuts the memory for frozen "
                                "weights about fourfold. The adapter is an ordinary LoRA adapter.");
        qlora.defaultPreset = "linear";
        qlora.note =
            "Training stores the frozen layer weights in NF4 (training.quantize_base); the Budget step "
            "shows the 4-bit weight memory. The adapter file is plain LoRA.";
        qlora.quantizeBase = true;
        return {lora, rslora, dora, qlora};
    }
};

}  // namespace

LoraModuleParams loraParamsFor(const nlohmann::json& cfg, const std::string& path) {
    LoraConfig c;
    c.r = spec::getInt(cfg, "r", 8);
    c.alpha = spec::getNumber(cfg, "lora_alpha", 8.0);
    c.rankPattern = spec::getJson(cfg, "rank_pattern");
    c.alphaPattern = spec::getJson(cfg, "alpha_pattern");
    return c.forModule(path);
}

LoraConfig LoraConfig::parse(const nlohmann::json& cfg, const std::string& where) {
    const MethodSpec& spec = loraMethodSpec();
    spec.validate(cfg, where);
    const nlohmann::json d = spec.withDefaults(cfg);
    LoraConfig c;
    c.r = d["r"].get<int64_t>();
    c.alpha = d["lora_alpha"].get<double>();
    c.dropout = d["lora_dropout"].get<double>();
    c.rslora = d["use_rslora"].get<bool>();
    c.dora = d["use_dora"].get<bool>();
    c.loraBias = d["lora_bias"].get<bool>();
    c.bias = d["bias"].get<std::string>();
    const nlohmann::json& init = d["init_lora_weights"];
    c.init = init.is_string() ? LoraInit::Gaussian : init.get<bool>() ? LoraInit::Default : LoraInit::Random;
    c.rankPattern = d["rank_pattern"].is_object() ? d["rank_pattern"] : nlohmann::json::object();
    c.alphaPattern = d["alpha_pattern"].is_object() ? d["alpha_pattern"] : nlohmann::json::object();
    return c;
}

LoraModuleParams LoraConfig::forModule(const std::string& path) const {
    LoraModuleParams p;
    p.r = static_cast<int64_t>(patternValue(rankPattern, path, static_cast<double>(r)));
    p.alpha = patternValue(alphaPattern, path, alpha);
    return p;
}

double LoraConfig::scaling(const std::string& path) const {
    const LoraModuleParams p = forModule(path);
    return rslora ? p.alpha / std::sqrt(static_cast<double>(p.r)) : p.alpha / static_cast<double>(p.r);
}

const MethodSpec& loraMethodSpec() { return spec::instance<LoraSpec>(); }

}  // namespace peft
