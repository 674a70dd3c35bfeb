// RunConfig parsing: strict keys, typed values, defaults as documented in README.
#include "core/train/run_config.h"

#include <filesystem>
#include <set>

#include "core/data/dataset_config.h"
#include "core/hub/hub_cache.h"
#include "core/io/model_config.h"
#include "core/train/objectives/objective_spec.h"
#include "core/util/error.h"

namespace peft {

using nlohmann::json;

namespace {

void checkKeys(const json& j, const std::set<std::string>& allowed, const std::string& where,
               const std::string& section) {
    if (!j.is_object()) fail(where, "'" + section + "' must be an object", "");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (!allowed.count(it.key())) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            fail(where, "unknown key '" + (section.empty() ? "" : section + ".") + it.key() + "'",
                 "Allowed keys: " + list + ".");
        }
}

template <typename T>
void read(const json& j, const char* key, T& out, const std::string& where, const std::string& section) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    try {
        if constexpr (std::is_same_v<T, bool>) {
            if (!it->is_boolean()) throw std::runtime_error("type");
        } else if constexpr (std::is_arithmetic_v<T>) {
            if (!it->is_number()) throw std::runtime_error("type");
            if (std::is_integral_v<T> && !it->is_number_integer()) throw std::runtime_error("type");
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (!it->is_string()) throw std::runtime_error("type");
        }
        out = it->get<T>();
    } catch (const std::exception&) {
        fail(where, "key '" + section + "." + key + "' has the wrong type (" + it->dump() + ")",
             std::string("Expected ") +
                 (std::is_same_v<T, bool>       ? "true/false"
                      : std::is_integral_v<T>   ? "an integer"
                      : std::is_arithmetic_v<T> ? "a number"
                                                : "a string") +
                 ".");
    }
}

void oneOf(const std::string& v, const std::set<std::string>& allowed, const std::string& key,
           const std::string& where) {
    if (!allowed.count(v)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(where, "key '" + key + "' is '" + v + "'", "Use one of: " + list + ".");
    }
}

}  // namespace

RunConfig RunConfig::fromJson(const json& j, const std::string& where) {
    checkKeys(j, {"model", "dataset", "method", "training", "objective", "output_dir"}, where, "");
    RunConfig c;
    if (!j.contains("model") || !j["model"].is_string())
        fail(where, "key 'model' must be a model folder path or a Hub repo id (ORG/NAME[@revision])", "");
    c.model = j["model"].get<std::string>();
    if (j.contains("output_dir")) {
        if (!j["output_dir"].is_string()) fail(where, "key 'output_dir' must be a string", "");
        c.outputDir = j["output_dir"].get<std::string>();
    }
    // The dataset section is validated (unknown keys, types) by the data module and stored resolved.
    c.dataset = data::DatasetConfig::fromJson(j.value("dataset", json::object()), where + ": dataset").toJson();
    if (j.contains("method")) {
        if (!j["method"].is_object()) fail(where, "'method' must be an object (adapter_config.json fields)", "");
        c.method = j["method"];
    }
    if (!c.method.contains("peft_type")) c.method["peft_type"] = "LORA";
    c.objective = resolveObjectiveConfig(j.contains("objective") ? j["objective"] : json(), where);
    if (j.contains("training")) {
        const json& t = j["training"];
        checkKeys(t,
                  {"epochs",
                   "max_steps",
                   "batch_size",
                   "grad_accum",
                   "lr",
                   "weight_decay",
                   "betas",
                   "eps",
                   "momentum",
                   "optimizer",
                   "scheduler",
                   "warmup_steps",
                   "max_grad_norm",
                   "seed",
                   "shuffle",
                   "precision",
                   "eval_every",
                   "save_every",
                   "keep_checkpoints",
                   "early_stopping_patience",
                   "device",
                   "log_every",
                   "quantize_base",
                   "packed_weights",
                   "generation_eval_every",
                   "generation_eval_samples",
                   "threads",
                   "processes",
                   "gpus"},
                  where, "training");
        TrainingConfig& o = c.training;
        const std::string s = "training";
        read(t, "epochs", o.epochs, where, s);
        read(t, "max_steps", o.maxSteps, where, s);
        read(t, "batch_size", o.batchSize, where, s);
        read(t, "grad_accum", o.gradAccum, where, s);
        read(t, "lr", o.lr, where, s);
        read(t, "weight_decay", o.weightDecay, where, s);
        if (t.contains("betas")) {
            if (!t["betas"].is_array() || t["betas"].size() != 2 || !t["betas"][0].is_number() ||
                !t["betas"][1].is_number())
                fail(where, "key 'training.betas' must be a list of two numbers", "For example [0.9, 0.999].");
            o.betas = {t["betas"][0].get<double>(), t["betas"][1].get<double>()};
        }
        read(t, "eps", o.eps, where, s);
        read(t, "momentum", o.momentum, where, s);
        read(t, "optimizer", o.optimizer, where, s);
        read(t, "scheduler", o.scheduler, where, s);
        read(t, "warmup_steps", o.warmupSteps, where, s);
        read(t, "max_grad_norm", o.maxGradNorm, where, s);
        read(t, "seed", o.seed, where, s);
        read(t, "shuffle", o.shuffle, where, s);
        read(t, "precision", o.precision, where, s);
        read(t, "eval_every", o.evalEvery, where, s);
        read(t, "save_every", o.saveEvery, where, s);
        read(t, "keep_checkpoints", o.keepCheckpoints, where, s);
        read(t, "early_stopping_patience", o.earlyStoppingPatience, where, s);
        read(t, "device", o.device, where, s);
        read(t, "log_every", o.logEvery, where, s);
        read(t, "quantize_base", o.quantizeBase, where, s);
        read(t, "packed_weights", o.packedWeights, where, s);
        read(t, "generation_eval_every", o.generationEvalEvery, where, s);
        read(t, "generation_eval_samples", o.generationEvalSamples, where, s);
        read(t, "threads", o.threads, where, s);
        read(t, "processes", o.processes, where, s);
        if (t.contains("gpus")) {
            const json& g = t["gpus"];
            bool ok = g.is_array();
            if (ok)
                for (const auto& v : g) ok = ok && v.is_number_integer() && v.get<int64_t>() >= 0;
            if (!ok)
                fail(where, "key 'training.gpus' must be a list of CUDA device numbers",
                     "For example [0, 1] (or [] for cuda:0, cuda:1, ...).");
            o.gpus = g.get<std::vector<int64_t>>();
            for (size_t i = 0; i < o.gpus.size(); ++i)
                for (size_t k = 0; k < i; ++k)
                    if (o.gpus[i] == o.gpus[k])
                        fail(where, "key 'training.gpus' lists GPU " + std::to_string(o.gpus[i]) + " twice",
                             "Each rank needs its own GPU: list each once.");
        }
    }
    const TrainingConfig& o = c.training;
    oneOf(o.optimizer, {"adamw", "adam", "sgd"}, "training.optimizer", where);
    oneOf(o.scheduler, {"constant", "linear", "cosine"}, "training.scheduler", where);
    oneOf(o.precision, {"fp32", "bf16"}, "training.precision", where);
    if (o.batchSize < 1) fail(where, "key 'training.batch_size' must be at least 1", "");
    if (o.generationEvalEvery < 0 || o.generationEvalSamples < 1)
        fail(where,
             "keys 'training.generation_eval_every' (>= 0) and 'training.generation_eval_samples' (>= 1) are out of "
             "range",
             "");
    if (o.gradAccum < 1) fail(where, "key 'training.grad_accum' must be at least 1", "");
    if (o.epochs < 1 && o.maxSteps <= 0) fail(where, "set 'training.epochs' >= 1 or 'training.max_steps' > 0", "");
    if (!(o.lr > 0)) fail(where, "key 'training.lr' must be positive", "");
    if (o.threads < 0 || o.threads > 4096)
        fail(where, "key 'training.threads' is " + std::to_string(o.threads),
             "Use 0 (automatic: every usable core) or a thread count from 1 to 4096.");
    if (o.processes < 1 || o.processes > 1024)
        fail(where, "key 'training.processes' is " + std::to_string(o.processes),
             "Use 1 (one process) to 1024 local ranks.");
    if (o.keepCheckpoints < 1) fail(where, "key 'training.keep_checkpoints' must be at least 1", "");
    return c;
}

RunConfig RunConfig::load(const std::string& path) {
    RunConfig c = fromJson(readJsonFile(path), path);
    c.resolveRelativePaths(std::filesystem::path(path).parent_path().string());
    return c;
}

template <typename F>
void RunConfig::forEachInputPath(F&& f) {
    f(model);
    for (const char* key : {"path", "validation_path"}) {
        auto it = dataset.find(key);
        if (it != dataset.end() && it->is_string()) {
            std::string v = it->get<std::string>();
            f(v);
            *it = v;
        }
    }
    auto it = method.find("init_from");
    if (it != method.end() && it->is_string()) {
        std::string v = it->get<std::string>();
        f(v);
        *it = v;
    }
}

void RunConfig::resolveRelativePaths(const std::string& baseDir) {
    namespace fs = std::filesystem;
    bool first = true;  // the model comes first; it may also be a repo id
    forEachInputPath([&](std::string& p) {
        const bool isModel = first;
        first = false;
        if (!p.empty() && !baseDir.empty()) {
            fs::path given(p);
            std::error_code ec;
            if (!given.is_absolute() && !fs::exists(given, ec)) {
                fs::path beside = (fs::path(baseDir) / given).lexically_normal();
                if (fs::exists(beside, ec)) p = beside.string();
            }
        }
        if (isModel) p = hub::resolveModelPath(p);  // ORG/NAME[@rev] from the Hugging Face cache
    });
}

RunConfig RunConfig::forRunFolder() const {
    namespace fs = std::filesystem;
    RunConfig c = *this;
    c.forEachInputPath([](std::string& p) {
        std::error_code ec;
        if (p.empty() || fs::path(p).is_absolute() || !fs::exists(p, ec)) return;
        const fs::path abs = fs::absolute(p, ec);
        if (!ec) p = abs.lexically_normal().string();
    });
    std::error_code ec;
    const fs::path out = fs::absolute(outputDir, ec);
    if (!ec) c.outputDir = out.lexically_normal().string();
    return c;
}

json RunConfig::toJson() const {
    const TrainingConfig& o = training;
    return {{"model", model},
            {"dataset", dataset},
            {"method", method},
            {"training",
             {{"epochs", o.epochs},
              {"max_steps", o.maxSteps},
              {"batch_size", o.batchSize},
              {"grad_accum", o.gradAccum},
              {"lr", o.lr},
              {"weight_decay", o.weightDecay},
              {"betas", {o.betas[0], o.betas[1]}},
              {"eps", o.eps},
              {"momentum", o.momentum},
              {"optimizer", o.optimizer},
              {"scheduler", o.scheduler},
              {"warmup_steps", o.warmupSteps},
              {"max_grad_norm", o.maxGradNorm},
              {"seed", o.seed},
              {"shuffle", o.shuffle},
              {"precision", o.precision},
              {"eval_every", o.evalEvery},
              {"save_every", o.saveEvery},
              {"keep_checkpoints", o.keepCheckpoints},
              {"early_stopping_patience", o.earlyStoppingPatience},
              {"device", o.device},
              {"log_every", o.logEvery},
              {"quantize_base", o.quantizeBase},
              {"packed_weights", o.packedWeights},
              {"generation_eval_every", o.generationEvalEvery},
              {"generation_eval_samples", o.generationEvalSamples},
              {"threads", o.threads},
              {"processes", o.processes},
              {"gpus", o.gpus}}},
            {"objective", objective},
            {"output_dir", outputDir}};
}

}  // namespace peft
