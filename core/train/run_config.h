// RunConfig: the one JSON document the CLI and the GUI read and write to describe a run.
// Unknown keys and wrong types are errors naming the key; missing keys take the defaults.
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <vector>

namespace peft {

struct TrainingConfig {
    int64_t epochs = 1;
    int64_t maxSteps = -1;  // > 0 overrides epochs; the data repeats
    int64_t batchSize = 4;
    int64_t gradAccum = 1;
    double lr = 2e-4;
    double weightDecay = 0.0;
    std::array<double, 2> betas{0.9, 0.999};
    double eps = 1e-8;
    double momentum = 0.9;             // sgd
    std::string optimizer = "adamw";   // adamw | adam | sgd
    std::string scheduler = "cosine";  // constant | linear | cosine
    int64_t warmupSteps = 0;
    double maxGradNorm = 1.0;  // <= 0 disables clipping
    uint64_t seed = 42;
    bool shuffle = true;
    std::string precision = "bf16";  // fp32 | bf16
    int64_t evalEvery = 50;
    int64_t saveEvery = 100;
    int64_t keepCheckpoints = 3;
    int64_t earlyStoppingPatience = 0;
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    int64_t logEvery = 1;
    bool quantizeBase = false;  // QLoRA: frozen linear weights in NF4
    // CPU bf16: frozen layer weights get oneDNN copies for faster steps (core/model/
    // packed_weights.h); false saves that memory (the Budget page shows how much).
    bool packedWeights = true;
    // Every K steps (0: never) the tuned model answers the first N validation rows greedily and the
    // generation metrics (core/eval) go into metrics.jsonl as gen_<metric>.
    int64_t generationEvalEvery = 0;
    int64_t generationEvalSamples = 16;
    // CPU intra-op threads for this run's steps and evaluation; 0 = automatic (every usable
    // physical core: affinity mask, cgroup quota, SMT siblings counted once; core/util/cpu_cores.h).
    int64_t threads = 0;
    // Data parallelism on this machine (core/dist): `train` without --nproc starts this many local
    // ranks (1: one process). Ignored inside a rank (torchrun's or --nproc's WORLD_SIZE is set).
    int64_t processes = 1;
    // CUDA ranks: local rank r trains on cuda:gpus[r] (empty: cuda:r). When set, its length is the
    // number of local ranks.
    std::vector<int64_t> gpus;
    // The local ranks this config asks for: gpus' length when set, else processes.
    int64_t localRanks() const { return gpus.empty() ? processes : static_cast<int64_t>(gpus.size()); }
};

struct RunConfig {
    std::string model;
    nlohmann::json dataset = nlohmann::json::object();
    nlohmann::json method = nlohmann::json::object();
    TrainingConfig training;
    // What the run optimises (core/train/objectives): {"type": "sft"} by default; preference
    // objectives (dpo, orpo, simpo) with their settings, resolved with defaults.
    nlohmann::json objective = {{"type", "sft"}};
    std::string outputDir = "runs/run";

    // `where` names the source (file path) in error messages.
    static RunConfig fromJson(const nlohmann::json& j, const std::string& where);
    // load() = fromJson() + resolveRelativePaths(folder of `path`).
    static RunConfig load(const std::string& path);
    nlohmann::json toJson() const;

    // Input paths (model, dataset.path, dataset.validation_path, method.init_from) that are
    // relative and do not exist as given (relative to the working directory) but do exist under
    // `baseDir` are rewritten to baseDir/path. This lets a run.json that ships beside its model and
    // data (the bundled demo) run from any working directory, while paths that work today keep
    // their meaning. output_dir is never rewritten: it stays relative to the working directory.
    // A model that is still not a path but reads as ORG/NAME[@revision] and is in the Hugging Face
    // cache becomes that snapshot's folder (hub::resolveModelPath).
    void resolveRelativePaths(const std::string& baseDir);

    // The config as a run folder keeps it (<output_dir>/run.json): relative input paths that exist
    // from the working directory become absolute, so `evaluate --run`, `train --resume` and the
    // Runs page read the run folder correctly from any working directory. Paths that exist nowhere
    // and repo ids stay as written; output_dir is the folder's own absolute path.
    RunConfig forRunFolder() const;

private:
    // Calls `f` on each input path (model, dataset.path, dataset.validation_path, method.init_from).
    template <typename F>
    void forEachInputPath(F&& f);
};

}  // namespace peft
