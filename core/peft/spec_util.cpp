// Validation helpers, the common peft fields, modules_to_save counting, safetensors sizing and
// the ParamReport bookkeeping.
#include "core/peft/spec_util.h"

#include <algorithm>
#include <sstream>

#include "core/io/architecture.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

namespace {
// `n` more trainable parameters, in the breakdowns by module type and by layer.
void bookTrainable(ParamReport& r, int64_t n, const std::string& moduleType, int64_t layer) {
    r.trainable += n;
    r.byModule[moduleType] += n;
    if (layer >= 0 && layer < static_cast<int64_t>(r.byLayer.size())) r.byLayer[static_cast<size_t>(layer)] += n;
    else r.outsideLayers += n;
}
}  // namespace

void ParamReport::addAdapter(int64_t n, const std::string& moduleType, int64_t layer, bool isTrainable) {
    added += n;
    if (isTrainable) bookTrainable(*this, n, moduleType, layer);
}

void ParamReport::trainBase(int64_t n, const std::string& moduleType, int64_t layer) {
    trainableBase += n;
    bookTrainable(*this, n, moduleType, layer);
}

uint64_t safetensorsFileBytes(const std::vector<SavedTensor>& tensors, int baseDtypeBytes) {
    // safetensors orders tensors by dtype alignment (larger first), then by name, and writes a
    // compact JSON header padded with spaces to a multiple of 8, after an 8-byte length.
    struct Row {
        const SavedTensor* t;
        int bytes;
    };
    std::vector<Row> rows;
    rows.reserve(tensors.size());
    for (const auto& t : tensors) rows.push_back({&t, t.baseDtype ? baseDtypeBytes : 4});
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.bytes != b.bytes) return a.bytes > b.bytes;
        return a.t->key < b.t->key;
    });
    auto dtypeName = [](int b) { return b == 4 ? "F32" : b == 2 ? "BF16" : b == 8 ? "F64" : "U8"; };
    uint64_t header = std::string("{\"__metadata__\":{\"format\":\"pt\"}}").size();
    uint64_t offset = 0;
    for (const auto& r : rows) {
        uint64_t n = static_cast<uint64_t>(r.bytes);
        std::string shape;
        for (size_t i = 0; i < r.t->shape.size(); ++i) {
            if (i) shape += ',';
            shape += std::to_string(r.t->shape[i]);
            n *= static_cast<uint64_t>(r.t->shape[i]);
        }
        // ,"KEY":{"dtype":"F32","shape":[a,b],"data_offsets":[x,y]}
        header += 1 + (r.t->key.size() + 2) + 1 +
            std::string("{\"dtype\":\"\",\"shape\":[],\"data_offsets\":[,]}").size() +
            std::string(dtypeName(r.bytes)).size() + shape.size() + std::to_string(offset).size() +
            std::to_string(offset + n).size();
        offset += n;
    }
    header = (header + 7) / 8 * 8;
    return 8 + header + offset;
}

uint64_t MethodSpec::adapterBytes(const ModelConfig& mc, const nlohmann::json& cfg, int baseDtypeBytes) const {
    return safetensorsFileBytes(savedTensors(mc, cfg), baseDtypeBytes);
}

nlohmann::json MethodSpec::withDefaults(const nlohmann::json& cfg) const {
    nlohmann::json out = defaults();
    if (cfg.is_object())
        for (auto it = cfg.begin(); it != cfg.end(); ++it) out[it.key()] = it.value();
    out["peft_type"] = peftType();
    return out;
}

nlohmann::json MethodSpec::savedConfig(const nlohmann::json& cfg) const {
    nlohmann::json out = spec::commonPeftDefaults();
    out.update(peftOnlyFields());
    out.update(withDefaults(cfg));
    // What peft's save_pretrained sets whatever the config held.
    out["inference_mode"] = true;
    out["peft_version"] = kPeftVersion;
    return out;
}

std::string peftTypeOf(const nlohmann::json& cfg, const std::string& where) {
    if (cfg.is_null()) return "FULL";
    if (!cfg.is_object()) fail(where, "the method config must be a JSON object", "Use an adapter_config.json object.");
    auto it = cfg.find("peft_type");
    if (it == cfg.end() || it->is_null()) return "FULL";
    if (!it->is_string()) fail(where, "key 'peft_type' must be a string", "For example \"LORA\".");
    return it->get<std::string>();
}

namespace spec {

namespace {
bool hasType(const nlohmann::json& v, const std::string& t) {
    if (t == "int") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "bool") return v.is_boolean();
    if (t == "string") return v.is_string();
    if (t == "list") return v.is_array();
    if (t == "object") return v.is_object();
    if (t == "null") return v.is_null();
    return true;  // "any"
}
}  // namespace

void checkFields(const nlohmann::json& cfg, const std::string& where, const std::vector<FieldRule>& rules,
                 const std::vector<std::string>& known) {
    if (!cfg.is_object()) fail(where, "the method config must be a JSON object", "Use an adapter_config.json object.");
    for (auto it = cfg.begin(); it != cfg.end(); ++it) {
        const std::string& k = it.key();
        const FieldRule* rule = nullptr;
        for (const auto& r : rules)
            if (k == r.name) rule = &r;
        if (!rule)
            for (const auto& r : commonRules())
                if (k == r.name) rule = &r;
        if (rule) {
            std::stringstream ss(rule->types);
            std::string t;
            bool ok = false;
            while (std::getline(ss, t, '|')) ok = ok || hasType(it.value(), t);
            if (!ok) {
                std::string expected = rule->types;
                std::replace(expected.begin(), expected.end(), '|', '/');
                fail(where, "key '" + k + "' has the wrong type (" + it.value().dump() + "); expected " + expected,
                     "Fix the value in the method config.");
            }
            continue;
        }
        bool isKnown = std::find(known.begin(), known.end(), k) != known.end() ||
            std::find(commonPeftFields().begin(), commonPeftFields().end(), k) != commonPeftFields().end();
        if (!isKnown) {
            std::string read;
            for (const auto& r : rules) read += (read.empty() ? "" : ", ") + std::string(r.name);
            fail(where, "unknown key '" + k + "' for peft_type " + getString(cfg, "peft_type", "?"),
                 "Remove it or check its spelling" +
                     (read.empty() ? std::string(".") : "; this method reads " + read + "."));
        }
    }
}

const nlohmann::json& commonPeftDefaults() {
    static const nlohmann::json k = {{"base_model_name_or_path", nullptr},
                                     {"revision", nullptr},
                                     {"inference_mode", true},
                                     {"peft_version", kPeftVersion},
                                     {"auto_mapping", nullptr}};
    return k;
}

const std::vector<std::string>& commonPeftFields() {
    static const std::vector<std::string> k = keysOf(commonPeftDefaults());
    return k;
}

std::vector<std::string> keysOf(const nlohmann::json& object) {
    std::vector<std::string> keys;
    for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
    return keys;
}

const std::vector<FieldRule>& commonRules() {
    static const std::vector<FieldRule> k = {
        {"peft_type", "string"}, {"task_type", "string|null"}, {"modules_to_save", "list|null"}};
    return k;
}

int64_t getInt(const nlohmann::json& cfg, const char* key, int64_t def) {
    auto it = cfg.find(key);
    return (it == cfg.end() || it->is_null()) ? def : it->get<int64_t>();
}
double getNumber(const nlohmann::json& cfg, const char* key, double def) {
    auto it = cfg.find(key);
    return (it == cfg.end() || it->is_null()) ? def : it->get<double>();
}
bool getBool(const nlohmann::json& cfg, const char* key, bool def) {
    auto it = cfg.find(key);
    return (it == cfg.end() || it->is_null()) ? def : it->get<bool>();
}
std::string getString(const nlohmann::json& cfg, const char* key, const std::string& def) {
    if (!cfg.is_object()) return def;
    auto it = cfg.find(key);
    return (it == cfg.end() || !it->is_string()) ? def : it->get<std::string>();
}
const nlohmann::json& getJson(const nlohmann::json& cfg, const char* key) {
    static const nlohmann::json kNull;
    auto it = cfg.find(key);
    return it == cfg.end() ? kNull : *it;
}

void requirePositive(const nlohmann::json& cfg, const char* key, const std::string& where) {
    auto it = cfg.find(key);
    if (it != cfg.end() && it->is_number() && it->get<double>() <= 0)
        fail(where, std::string("key '") + key + "' must be positive (got " + it->dump() + ")",
             "Use a value of 1 or more.");
}

void applyModulesToSave(const ModuleTree& tree, const nlohmann::json& cfg, TaskHead head, ParamReport& report,
                        std::vector<SavedTensor>* saved, const std::string& prefix) {
    nlohmann::json names = getJson(cfg, "modules_to_save");
    if (!names.is_array()) names = nlohmann::json::array();
    if (head == TaskHead::SequenceClassification) {
        for (const char* n : {"classifier", "score"})
            if (std::find(names.begin(), names.end(), nlohmann::json(n)) == names.end()) names.push_back(n);
    }
    if (names.empty()) return;
    for (const auto& m : tree.modules) {
        if (!matchesTarget(names, m.path)) continue;
        report.addAdapter(m.params(), m.name, m.layer);
        if (saved) {
            saved->push_back({prefix + m.path + ".weight", savedWeightShape(m), true});
            if (m.bias) saved->push_back({prefix + m.path + ".bias", {m.out}, true});
        }
    }
}

std::vector<int64_t> savedWeightShape(const ModuleEntry& m) {
    if (m.kind == ModuleKind::Norm) return {m.in};
    if (m.kind == ModuleKind::Embedding || m.conv1d) return {m.in, m.out};
    return {m.out, m.in};
}

Field modulesToSaveField() {
    return {"modules_to_save", nullptr, nullptr,
            "Whole modules (for example a classification head) to train in full and store in the adapter."};
}

nlohmann::json TableSpec::defaults() const {
    nlohmann::json d = {{"peft_type", peftType()}, {"task_type", "CAUSAL_LM"}};
    for (const Field& f : fields()) d[f.name] = f.def;
    return d;
}

nlohmann::json TableSpec::help() const {
    nlohmann::json h = nlohmann::json::object();
    for (const Field& f : fields())
        if (f.help) h[f.name] = f.help;
    return h;
}

void TableSpec::validate(const nlohmann::json& cfg, const std::string& where) const {
    if (cfg.is_null() && peftTypeOf(cfg, where) == peftType()) return;
    std::vector<FieldRule> rules;
    for (const Field& f : fields())
        if (f.types) rules.push_back({f.name, f.types});
    checkFields(cfg, where, rules, acceptedUnread());
    checkValues(cfg, where);
}

void TableSpec::checkValues(const nlohmann::json&, const std::string&) const {}

MethodCard TableSpec::card(const char* id, const char* summary, CardDiagram::Place place) const {
    MethodCard c;
    c.id = id;
    c.name = displayName();
    c.summary = summary;
    c.diagram.place = place;
    return c;
}

ParamReport emptyReport(const ModelConfig& mc, const ModuleTree& tree) {
    ParamReport r;
    r.base = tree.baseParams;
    r.byLayer.assign(static_cast<size_t>(mc.numLayers), 0);
    return r;
}

TrainingFootprint emptyFootprint(const ModelConfig& mc) {
    TrainingFootprint f;
    const size_t nLin = archTable(mc).linears.size();
    f.linears.assign(static_cast<size_t>(mc.numLayers), std::vector<LinearFootprint>(nLin));
    f.extraPerLayer.assign(static_cast<size_t>(mc.numLayers), 0);
    return f;
}

std::string moduleTypeLabel(const ModuleEntry& m) {
    // GPT-2 has two c_proj (attention output, MLP output): keep them apart in breakdowns.
    if (m.kind == ModuleKind::Linear && m.conv1d && m.name == "c_proj")
        return m.feedforwardOutput ? "mlp.c_proj" : "attn.c_proj";
    return m.name;
}

OnePassSpec::Plan OnePassSpec::startPlan(const ModelConfig& mc, const nlohmann::json& cfg, const std::string& where,
                                         bool wantSaved) const {
    validate(cfg, where);
    const TaskHead head = taskHeadFromConfig(cfg, where);
    Plan p{head, moduleTree(mc, head), {}, {}, emptyFootprint(mc), wantSaved};
    p.report = emptyReport(mc, p.tree);
    p.fp.firstGradLayer = mc.numLayers;
    return p;
}

LinearFootprint& OnePassSpec::keptFor(Plan& p, const ModuleEntry& m) {
    p.fp.firstGradLayer = std::min(p.fp.firstGradLayer, m.layer);
    return p.fp.linears[static_cast<size_t>(m.layer)][static_cast<size_t>(m.linearIndex)];
}

void OnePassSpec::finishPlan(Plan& p, const nlohmann::json& cfg) {
    const int64_t before = p.report.trainable;
    applyModulesToSave(p.tree, cfg, p.head, p.report, p.wantSaved ? &p.saved : nullptr);
    if (p.report.trainable > before) p.fp.lmHeadTrains = true;  // the head copy: its input is kept
    p.fp.anyTrainable = p.report.trainable > 0;
}

PlannedSpec::Start PlannedSpec::start(const ModelConfig& mc, const nlohmann::json& cfg) const {
    validate(cfg, configName());
    const TaskHead head = cfg.is_null() ? TaskHead::CausalLm : taskHeadFromConfig(cfg, configName());
    ModuleTree tree = moduleTree(mc, head);
    ParamReport report = emptyReport(mc, tree);
    return {head, std::move(tree), std::move(report)};
}

TrainingFootprint PlannedSpec::startFootprint(const ModelConfig& mc, const nlohmann::json& cfg) const {
    validate(cfg, configName());
    TrainingFootprint f = emptyFootprint(mc);
    f.lmHeadTrains = !cfg.is_null() &&
        (taskHeadFromConfig(cfg, configName()) == TaskHead::SequenceClassification ||
         !getJson(cfg, "modules_to_save").is_null());
    return f;
}

}  // namespace spec
}  // namespace peft
