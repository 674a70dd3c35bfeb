// Helpers shared by the MethodSpec implementations: field validation against a small type table,
// the fields every peft config carries, modules_to_save (and SEQ_CLS's score head) counting.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/peft/method_spec.h"
#include "core/peft/module_tree.h"

namespace peft::spec {

// A field this method reads: `types` is a '|'-separated list of int, number, bool, string, list,
// object, null ("int|list|null").
struct FieldRule {
    const char* name;
    const char* types;
};

// Checks every key of `cfg`: a key in `rules` must have one of its types; a key in `known` (fields
// peft writes for this method that we accept without reading) may hold anything; any other key is
// an error naming it. `cfg` must be an object.
void checkFields(const nlohmann::json& cfg, const std::string& where, const std::vector<FieldRule>& rules,
                 const std::vector<std::string>& known);

// Fields every peft config has besides peft_type, task_type and modules_to_save
// (base_model_name_or_path, revision, ...), with the values peft writes when nothing sets them.
const nlohmann::json& commonPeftDefaults();
const std::vector<std::string>& commonPeftFields();  // the keys of commonPeftDefaults()
// The keys of a json object (for checkFields' `known` from a peftOnlyFields() table).
std::vector<std::string> keysOf(const nlohmann::json& object);
const std::vector<FieldRule>& commonRules();

// Typed getters that assume validate() ran: the value, or `def` when absent or null.
int64_t getInt(const nlohmann::json& cfg, const char* key, int64_t def);
double getNumber(const nlohmann::json& cfg, const char* key, double def);
bool getBool(const nlohmann::json& cfg, const char* key, bool def);
std::string getString(const nlohmann::json& cfg, const char* key, const std::string& def);
const nlohmann::json& getJson(const nlohmann::json& cfg, const char* key);  // null when absent

// Requires `cfg[key]` > 0 when present (error names the key).
void requirePositive(const nlohmann::json& cfg, const char* key, const std::string& where);

// `modules_to_save` (plus "classifier"/"score" for SEQ_CLS, as peft adds them): each matching
// module is copied; the copy trains and is saved, the original stays frozen. Books the copies in
// `report` and appends their tensors to `saved` when non-null. `prefix` is the saved-key prefix.
void applyModulesToSave(const ModuleTree& tree, const nlohmann::json& cfg, TaskHead head, ParamReport& report,
                        std::vector<SavedTensor>* saved, const std::string& prefix = "base_model.model.");

// The report's base/byLayer set up for `tree`.
ParamReport emptyReport(const ModelConfig& mc, const ModuleTree& tree);

// The saved shape of a module's weight as transformers stores it ([out, in]; [in, out] for an
// embedding or GPT-2's Conv1D; [in] for a norm).
std::vector<int64_t> savedWeightShape(const ModuleEntry& m);

// A footprint sized for `mc` with nothing saved.
TrainingFootprint emptyFootprint(const ModelConfig& mc);

// One adapter_config.json field a method reads, defined once: the default peft writes, the types
// it may hold (as FieldRule; nullptr where commonRules() has it), and its one-line help (GUI
// tooltips, CLI help; nullptr for none).
struct Field {
    const char* name;
    nlohmann::json def;
    const char* types;
    const char* help;
};
// The row every method with modules_to_save shares.
Field modulesToSaveField();

// A spec whose fields are one table: defaults() (peft_type, task_type CAUSAL_LM and each field's
// default), help() and validate()'s type and unknown-key check all read fields(). A null config
// is valid only for the type peftTypeOf() gives it (FULL).
// What a method is, declared once in its spec's constructor: its peft_type, its display name, and
// the traits that MethodSpec's predicates answer (a `|` of Trait).
enum Trait : unsigned {
    kReplacesBase = 1,       // replacesBase()
    kLowRankUpdate = 2,      // lowRankUpdate()
    kMergesIntoBase = 4,     // mergesIntoBase()
    kAddsVirtualTokens = 8,  // addsVirtualTokens()
};
struct Identity {
    const char* peftType;
    const char* displayName;
    unsigned traits = 0;
};

class TableSpec : public MethodSpec {
public:
    explicit TableSpec(Identity id) : m_id(id) {}
    std::string peftType() const override { return m_id.peftType; }
    std::string displayName() const override { return m_id.displayName; }
    bool replacesBase() const override { return m_id.traits & kReplacesBase; }
    bool lowRankUpdate() const override { return m_id.traits & kLowRankUpdate; }
    bool mergesIntoBase() const override { return m_id.traits & kMergesIntoBase; }
    bool addsVirtualTokens() const override { return m_id.traits & kAddsVirtualTokens; }
    // How errors name the config: "BitFit config".
    std::string configName() const { return displayName() + " config"; }
    nlohmann::json defaults() const override;
    nlohmann::json help() const override;
    void validate(const nlohmann::json& cfg, const std::string& where) const override;

protected:
    virtual std::vector<Field> fields() const = 0;
    // The method's own value checks, after the types are known to be right.
    virtual void checkValues(const nlohmann::json& cfg, const std::string& where) const;
    // Keys accepted without being read: peftOnlyFields() unless a method accepts more.
    virtual std::vector<std::string> acceptedUnread() const { return keysOf(peftOnlyFields()); }
    // A card named after the method, with no form fields of its own.
    MethodCard card(const char* id, const char* summary, CardDiagram::Place place) const;

private:
    Identity m_id;
};

// The one instance of a spec, for its accessor in the registry's list (spec_registry.cpp).
template <class Spec>
const MethodSpec& instance() {
    static const Spec k;
    return k;
}

// Specs whose counts, saved tensors and footprint all come from one pass over their targets
// (LoRA, (IA)3): each writes plan(), which starts with startPlan() and ends with finishPlan().
class OnePassSpec : public TableSpec {
public:
    using TableSpec::TableSpec;
    ParamReport count(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        return plan(mc, cfg, false).report;
    }
    std::vector<SavedTensor> savedTensors(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        return plan(mc, cfg, true).saved;
    }
    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        return plan(mc, cfg, false).fp;
    }

protected:
    struct Plan {
        TaskHead head;
        ModuleTree tree;
        ParamReport report;
        std::vector<SavedTensor> saved;  // filled only when wantSaved
        TrainingFootprint fp;
        bool wantSaved = false;
    };
    virtual Plan plan(const ModelConfig& mc, const nlohmann::json& cfg, bool wantSaved) const = 0;
    // The config validated (errors name `where`), its task head and module tree, an empty report,
    // and a footprint in which no layer keeps anything yet.
    Plan startPlan(const ModelConfig& mc, const nlohmann::json& cfg, const std::string& where, bool wantSaved) const;
    // What autograd keeps for target linear `m`; notes that the gradient reaches m's layer.
    static LinearFootprint& keptFor(Plan& p, const ModuleEntry& m);
    // modules_to_save (and SEQ_CLS's head) booked, the head's input kept when a copy trains, and
    // whether anything trains.
    static void finishPlan(Plan& p, const nlohmann::json& cfg);
};

// The shape most specs share: the counts and the saved tensors come from one planning pass over
// the module tree (`plan`, written once per method), and errors name one config ("BitFit config").
class PlannedSpec : public TableSpec {
public:
    using TableSpec::TableSpec;
    ParamReport count(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        return plan(mc, cfg, nullptr);
    }
    std::vector<SavedTensor> savedTensors(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        std::vector<SavedTensor> s;
        plan(mc, cfg, &s);
        return s;
    }

protected:
    // The report, and the adapter file's tensors appended to `saved` when it is non-null.
    virtual ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg,
                             std::vector<SavedTensor>* saved) const = 0;

    // What every plan starts from: the config validated, its task head (causal LM for a null
    // config), the module tree for that head and an empty report.
    struct Start {
        TaskHead head;
        ModuleTree tree;
        ParamReport report;
    };
    Start start(const ModelConfig& mc, const nlohmann::json& cfg) const;
    // An empty footprint for a validated `cfg`; the head trains for SEQ_CLS or modules_to_save.
    TrainingFootprint startFootprint(const ModelConfig& mc, const nlohmann::json& cfg) const;
};

// The module-type label used in breakdowns ("q_proj", "attn.c_proj" for GPT-2's two c_proj).
std::string moduleTypeLabel(const ModuleEntry& m);

}  // namespace peft::spec
