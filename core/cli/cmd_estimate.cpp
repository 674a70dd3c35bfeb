// `peft-studio-cli estimate`: parameter, memory, file-size (and, given a throughput, time)
// estimates for one or more methods on a model, from config.json alone.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/budget/budget.h"
#include "core/budget/preference_budget.h"
#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/model/dnnl_cpu.h"
#include "core/io/model_config.h"
#include "core/model/causal_lm.h"
#include "core/train/objectives/objective_spec.h"
#include "core/util/error.h"

namespace peft::cli {

namespace {

std::string pad(const std::string& s, size_t w, bool right = true) {
    if (s.size() >= w) return s;
    return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

nlohmann::json loadMethodConfig(const std::string& path) {
    std::filesystem::path p(path);
    if (std::filesystem::is_directory(p)) p /= "adapter_config.json";
    if (!std::filesystem::exists(p))
        fail(path, "no adapter_config.json here", "Give an adapter_config.json file or a folder that holds one.");
    return readJsonFile(p.string());
}

// --objective: a type (dpo), inline JSON ({"type": "dpo", "beta": 0.1}), or a file holding
// either an objective or a whole run.json (its "objective" is used). Resolved with its defaults.
nlohmann::json loadObjective(const std::string& value) {
    const std::string where = "estimate --objective";
    nlohmann::json j;
    if (!value.empty() && value.front() == '{') {
        j = nlohmann::json::parse(value, nullptr, false);
        if (j.is_discarded())
            fail(where, "is not valid JSON: " + value, "Give a type (dpo, orpo, simpo, sft), a JSON object or a file.");
    } else if (std::filesystem::is_regular_file(value)) {
        j = readJsonFile(value);
        if (j.is_object() && j.contains("objective")) j = j["objective"];
        else if (j.is_object() && (j.contains("model") || j.contains("training")))
            j = nullptr;  // a run.json without one: SFT
        return resolveObjectiveConfig(j, value);
    } else {
        j = {{"type", value}};
    }
    return resolveObjectiveConfig(j, where);
}

}  // namespace

int cmdEstimate(const std::vector<std::string>& argv) {
    Args a(argv,
           {"model", "peft-config", "batch-size", "seq-len", "precision", "optimizer", "quantize", "num-labels",
            "dataset-tokens", "epochs", "tokens-per-second", "generation-context", "device", "attention", "objective"},
           {"json", "with-full", "gradient-checkpointing", "no-packed-weights"}, "estimate");
    const std::string modelPath = a.require("model");
    const ModelConfig mc = ModelConfig::load(modelPath);

    budget::BudgetOptions o;
    o.batch = a.getInt("batch-size", 1);
    o.seqLen = a.getInt("seq-len", std::min<int64_t>(512, mc.maxPositions > 0 ? mc.maxPositions : 512));
    o.precision = budget::parsePrecision(a.get("precision", "fp32"), "estimate --precision");
    o.optimizer = budget::parseOptimizer(a.get("optimizer", "adamw"), "estimate --optimizer");
    o.quantizeBase = budget::parseQuant(a.get("quantize", "none"), "estimate --quantize");
    o.numLabels = a.getInt("num-labels", 0);
    o.generationContext = a.getInt("generation-context", 0);
    o.gradientCheckpointing = a.has("gradient-checkpointing");
    o.packedWeights = !a.has("no-packed-weights");  // a run config's training.packed_weights: false
    // The step as this build's trainer runs it: on which device, eager or fused attention.
    o.device = budget::parseDevice(a.get("device", "cpu"), "estimate --device");
    const std::string attn = a.get("attention", fusedAttentionAvailable() ? "fused" : "eager");
    if (attn != "eager" && attn != "fused")
        fail("estimate --attention", "'" + attn + "' is not eager or fused", "Use eager or fused.");
    o.fusedAttention = attn == "fused";
    if (o.batch <= 0) fail("estimate --batch-size", "must be positive", "");
    if (o.seqLen <= 0) fail("estimate --seq-len", "must be positive", "");

    struct Row {
        std::string source;
        nlohmann::json cfg;
    };
    std::vector<Row> rows;
    for (const auto& p : a.getAll("peft-config")) rows.push_back({p, loadMethodConfig(p)});
    if (rows.empty() || a.has("with-full")) rows.push_back({"full fine-tuning", nullptr});

    const bool timed = a.has("tokens-per-second") && a.has("dataset-tokens");
    const double tps = a.getDouble("tokens-per-second", 0);
    const long long datasetTokens = a.getInt("dataset-tokens", 0);
    const double epochs = a.getDouble("epochs", 1.0);

    const nlohmann::json objective = loadObjective(a.get("objective", "sft"));
    std::vector<budget::Estimate> est;
    std::vector<budget::PreferenceCost> costs;
    for (const auto& r : rows) {
        try {
            costs.push_back(budget::estimateWithObjective(mc, r.cfg, o, objective));
            est.push_back(costs.back().estimate);
        } catch (const PeftError& e) {
            fail(r.source, e.what(), "");
        }
    }
    const bool preference = objectiveSpec(objective["type"].get<std::string>()).preference;

    if (a.has("json")) {
        nlohmann::json out = nlohmann::json::array();
        for (size_t i = 0; i < est.size(); ++i) {
            nlohmann::json j = budget::toJson(est[i]);
            j["source"] = rows[i].source;
            if (timed) j["time_seconds"] = budget::estimateSeconds(tps, datasetTokens, epochs);
            j["objective"] = objective;
            if (preference) {
                j["pairs_per_step"] = o.batch;
                j["sequences_per_step"] = 2 * o.batch;
                j["reference_forward"] = costs[i].referenceForward;
                j["reference_copy_bytes"] = costs[i].referenceCopyBytes;
                j["assumptions"] = budget::objectiveAssumptions(objective, costs[i], o.batch);
            }
            out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }

    std::cout << "model: " << modelPath << " (" << mc.modelType << ", " << mc.numLayers << " layers, hidden "
              << mc.hiddenSize << ", vocab " << mc.vocabSize << ")\n"
              << "batch " << o.batch << " x seq " << o.seqLen << ", " << budget::toString(o.precision) << ", "
              << budget::toString(o.optimizer)
              << (o.quantizeBase != budget::BaseQuant::None ? ", base " + budget::toString(o.quantizeBase) : "")
              << (o.gradientCheckpointing ? ", gradient checkpointing" : "") << "\n";
    if (preference)
        std::cout << "objective: " << objectiveSpec(objective["type"].get<std::string>()).displayName << " "
                  << objective.dump() << " (batch = " << o.batch << " pairs)\n";
    std::cout << "\n";
    const std::vector<std::pair<std::string, size_t>> cols = {
        {"method", 20},    {"trainable", 11},   {"%", 8},           {"total", 10},       {"weights", 11}, {"grads", 11},
        {"optimizer", 11}, {"activations", 12}, {"train peak", 11}, {"adapter file", 13}};
    for (size_t c = 0; c < cols.size(); ++c)
        std::cout << pad(cols[c].first, cols[c].second, c != 0) << (c + 1 < cols.size() ? " " : "\n");
    for (const auto& e : est) {
        std::ostringstream pct;
        pct << std::fixed << std::setprecision(e.params.percent() < 0.1 ? 4 : 2) << e.params.percent();
        const std::vector<std::string> v = {e.displayName,
                                            budget::humanCount(e.params.trainable),
                                            pct.str(),
                                            budget::humanCount(e.params.total()),
                                            budget::humanBytes(e.memory.weights + e.memory.packedWeights),
                                            budget::humanBytes(e.memory.gradients),
                                            budget::humanBytes(e.memory.optimizerState),
                                            budget::humanBytes(e.memory.activations),
                                            budget::humanBytes(e.memory.trainingTotal()),
                                            budget::humanBytes(e.adapterFileBytes)};
        for (size_t c = 0; c < cols.size(); ++c)
            std::cout << pad(v[c], cols[c].second, c != 0) << (c + 1 < cols.size() ? " " : "\n");
        for (const auto& n : e.params.notes) std::cout << "  note: " << n << "\n";
        for (const auto& n :
             budget::objectiveAssumptions(objective, costs[static_cast<size_t>(&e - est.data())], o.batch))
            std::cout << "  assumed: " << n << "\n";
    }
    const auto& first = est.front();
    for (const auto& e : est)
        if (e.memory.packedWeights > 0) {
            std::cout << "\nweights include oneDNN packed copies of the frozen layer weights (CPU bf16 training, up to "
                      << budget::humanBytes(kernels::kPackedWeightCapBytes)
                      << "; --no-packed-weights estimates a run with training.packed_weights false)\n";
            break;
        }
    std::cout << "\nKV cache for generation (batch " << o.batch << "): " << budget::humanBytes(first.memory.kvCache)
              << "; whole-model export: " << budget::humanBytes(first.fullModelBytes) << "\n";
    if (timed)
        std::cout << "time: " << std::fixed << std::setprecision(0)
                  << budget::estimateSeconds(tps, datasetTokens, epochs) << " s for " << datasetTokens << " tokens x "
                  << epochs << " epochs at " << tps << " tokens/s\n";
    return 0;
}

}  // namespace peft::cli
