// The objective registry: run.json's "objective" type -> implementation, and the early check that
// the dataset is of the kind the objective trains on. Adding an objective: its settings in
// objective_spec.cpp, its file here beside the others, and one line below (a preference
// objective: its pair loss in pairLosses()).
#include <spdlog/spdlog.h>

#include "core/data/dataset_config.h"
#include "core/data/dataset_file.h"
#include "core/data/dataset_format.h"
#include "core/train/objectives/causal_lm.h"
#include "core/train/objectives/preference.h"
#include "core/train/run_config.h"
#include "core/util/error.h"

namespace peft {

PairLoss dpoPairLoss(const PairLogps& x, const nlohmann::json& settings);
PairLoss orpoPairLoss(const PairLogps& x, const nlohmann::json& settings);
PairLoss simpoPairLoss(const PairLogps& x, const nlohmann::json& settings);

namespace {

// The preference objectives: each is its pair loss (preference.h does the rest).
const std::map<std::string, PairLossFn>& pairLosses() {
    static const std::map<std::string, PairLossFn> k = {
        {"dpo", &dpoPairLoss},
        {"orpo", &orpoPairLoss},
        {"simpo", &simpoPairLoss},
    };
    return k;
}

}  // namespace

std::unique_ptr<Objective> makeObjective(const nlohmann::json& objective, bool classification) {
    const std::string type = objective.value("type", std::string("sft"));
    const ObjectiveSpec& spec = objectiveSpec(type);
    if (type == "sft") {
        if (classification) return std::make_unique<ClassificationObjective>();
        return std::make_unique<CausalLmObjective>();
    }
    if (classification)
        fail("objective.type",
             spec.displayName + " trains a causal LM on preference pairs, but the method's task_type is SEQ_CLS",
             "Use task_type CAUSAL_LM, or the objective {\"type\": \"sft\"}.");
    auto it = pairLosses().find(type);
    if (it == pairLosses().end()) fail("objective.type", "'" + type + "' has no implementation", "");
    return std::make_unique<PreferenceObjective>(spec, objective, it->second);
}

void checkObjectiveMatchesDataset(const RunConfig& run) {
    const ObjectiveSpec& spec = objectiveSpec(run.objective.value("type", std::string("sft")));
    data::DatasetConfig dc = data::DatasetConfig::fromJson(run.dataset, "dataset");
    if (dc.path.empty()) return;  // prepareDataset reports the missing path
    std::string format = dc.format;
    if (format == "auto") {
        data::RawDataset raw = data::readDatasetFile(dc.path, data::ErrorPolicy::Skip);
        format = data::formatName(data::detectFormat(raw, dc.columnMapping));
    }
    const bool pairs = format == "preference";
    if (spec.preference && !pairs)
        fail(
            dc.path,
            "is a " + format + " dataset, but the objective " + spec.displayName + " trains on preference pairs",
            "Use a dataset with prompt, chosen and rejected answers (or map your columns with dataset.column_mapping), "
            "or the objective {\"type\": \"sft\"}.");
    if (!spec.preference && pairs)
        fail(dc.path, "holds preference pairs (chosen and rejected answers), but the objective is " + spec.displayName,
             "Choose a preference objective in run.json, e.g. \"objective\": {\"type\": \"dpo\"}.");
}

}  // namespace peft
