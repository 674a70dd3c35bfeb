// The training loop, checkpoints and resume.
#include "core/train/trainer.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

#include "core/dist/data_parallel.h"
#include "core/eval/evaluator.h"
#include "core/io/model_config.h"
#include "core/io/tensor_io.h"
#include "core/model/packed_weights.h"
#include "core/peft/qlora/nf4.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/lm_loss.h"
#include "core/util/atomic_file.h"
#include "core/util/cpu_cores.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"

namespace peft {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t plannedSteps(const TrainingConfig& t, int64_t trainExamples, int64_t rowsPerMicroStep) {
    if (t.maxSteps > 0) return t.maxSteps;
    const int64_t rows = std::max<int64_t>(1, rowsPerMicroStep);
    const int64_t microSteps = (trainExamples + rows - 1) / rows;  // the batcher keeps a last, smaller batch
    return t.epochs * std::max<int64_t>(1, microSteps / std::max<int64_t>(1, t.gradAccum));
}

std::string statusName(TrainStatus s) {
    switch (s) {
        case TrainStatus::Finished: return "finished";
        case TrainStatus::Stopped: return "stopped";
        case TrainStatus::EarlyStopped: return "early-stopped";
        case TrainStatus::Failed: return "failed";
    }
    return "?";
}

json StepMetrics::toJson() const {
    json j = {
        {"step", step}, {"total_steps", totalSteps},  {"epoch", epoch},       {"loss", loss}, {"grad_norm", gradNorm},
        {"lr", lr},     {"tokens_per_s", tokensPerS}, {"elapsed_s", elapsedS}};
    if (evalLoss) j["eval_loss"] = *evalLoss;
    if (evalPerplexity) j["eval_ppl"] = *evalPerplexity;
    if (evalAccuracy) j["eval_accuracy"] = *evalAccuracy;
    for (const auto& [k, v] : objectiveMetrics) j[k] = v;
    for (const auto& [k, v] : generation) j["gen_" + k] = v;
    return j;
}

std::string latestCheckpoint(const std::string& outputDir) {
    fs::path dir = fs::path(outputDir) / "checkpoints";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return "";
    std::string best;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string n = e.path().filename().string();
        if (n.rfind("step-", 0) != 0 || !fs::exists(e.path() / "trainer_state.json")) continue;
        if (best.empty() || n > fs::path(best).filename().string()) best = e.path().string();
    }
    return best;
}

Trainer::Trainer(RunConfig cfg) : m_cfg(std::move(cfg)) {}

Trainer::~Trainer() {
    if (m_logSink) {
        auto& sinks = spdlog::default_logger()->sinks();
        auto sink = std::static_pointer_cast<spdlog::sinks::sink>(m_logSink);
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
    }
}

void Trainer::setData(TrainData data) {
    m_data = std::move(data);
    m_haveData = true;
}

namespace {

// training.device: "auto" takes the GPU when LibTorch has one.
torch::Device resolveDevice(const std::string& device) {
    if (device == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    std::optional<torch::Device> d;
    try {
        d.emplace(device);
    } catch (const std::exception&) {
        fail("training.device", "'" + device + "' is not a device", "Use auto, cpu, cuda or cuda:N.");
    }
    if (d->is_cuda() && !torch::cuda::is_available())
        fail("training.device", "CUDA was requested but this LibTorch build or machine has no GPU",
             "Use \"auto\" or \"cpu\".");
    return *d;
}

}  // namespace

// The flow of setup, one step per helper below: the device and the run folder; the objective (and
// whether the data suits it) before anything loads; the memory check; the base model; the method
// and the optimizer; the data and its batches.
void Trainer::setup(const ProgressFn& progress) {
    const TrainingConfig& t = m_cfg.training;
    auto report = [&](const std::string& w, double f) {
        if (progress) progress(w, f);
    };
    m_device = resolveDevice(t.device);
    torch::manual_seed(t.seed);
    openRunFolder();
    std::string threadsWhy;
    const int threads = resolveThreadCount(t.threads, &threadsWhy);
    setupObjective();
    m_preflight = preflight(m_cfg, m_device.is_cuda() ? "cuda" : "cpu");
    for (const auto& w : m_preflight.warnings) spdlog::warn("{}", w);

    report("Loading model", 0.1);
    loadBaseModel();
    report("Attaching method", 0.4);
    const NamedTensors params = attachMethod();
    setupOptimizer(params);
    if (!m_haveData) report("Preparing data", 0.6);
    setupData();

    spdlog::info("training {} examples ({} validation), {} steps, {} trainable tensors on {}", m_data.train.size(),
                 m_data.validation.size(), m_totalSteps, params.size(), m_device.str());
    if (m_device.is_cpu()) spdlog::info("CPU threads: {} ({})", threads, threadsWhy);
    if (m_dp)
        spdlog::info("data-parallel: {} ranks ({}), global batch {} x {} x {} = {} rows per optimizer step",
                     worldSize(), m_dp->backend(), t.batchSize, t.gradAccum, worldSize(),
                     t.batchSize * t.gradAccum * worldSize());
    // Dropout differs between ranks (seed + rank): one seed on every rank would drop the same units
    // in every rank's rows. Everything above (initial weights, data order) used the run's seed.
    if (m_dp && m_dp->rank() > 0) torch::manual_seed(t.seed + static_cast<uint64_t>(m_dp->rank()));
    report("Ready", 1.0);
}

void Trainer::openRunFolder() {
    fs::create_directories(m_cfg.outputDir);
    if (!isWriter()) return;  // ranks other than 0 log to their own output only
    // The run's log file, beside its metrics.
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>((fs::path(m_cfg.outputDir) / "log.txt").string());
    spdlog::default_logger()->sinks().push_back(sink);
    m_logSink = sink;
    // Absolute input paths: the run folder reads the same from any working directory.
    writeFileAtomic((fs::path(m_cfg.outputDir) / "run.json").string(), m_cfg.forRunFolder().toJson().dump(2) + "\n");
}

void Trainer::setupObjective() {
    m_classification = m_cfg.method.value("task_type", std::string("CAUSAL_LM")) == "SEQ_CLS";
    m_objective = makeObjective(m_cfg.objective, m_classification);
    // A preference batch holds its chosen rows then its rejected rows: a row split across ranks
    // would part the pairs.
    if (m_dp && m_objective->spec().preference)
        fail("objective", "the " + m_objective->spec().displayName + " objective does not run data-parallel yet",
             "Train it in one process (without --nproc or torchrun).");
    if (!m_haveData) checkObjectiveMatchesDataset(m_cfg);
}

void Trainer::loadBaseModel() {
    const TrainingConfig& t = m_cfg.training;
    ModelOptions mo;
    mo.dtype = t.precision == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    mo.device = m_device;
    m_model = loadModel(m_cfg.model, mo).model;
    // The trainer reads no output at padding positions (labels ignored; the classifier takes each
    // row's last real token): right-padded batches get plain causal (fused) attention.
    m_model->setPadRowsUnread(true);
    if (t.quantizeBase) {
        // QLoRA: frozen layer linears stored as NF4 (blocks of 64, double-quantised scales),
        // dequantised on the fly; the adapter stays an ordinary LoRA adapter.
        QuantizeReport q = quantizeBaseNf4(*m_model, true);
        spdlog::info("base quantised to NF4: {} weights, {:.1f} MB -> {:.1f} MB ({:.3f} bytes/param)", q.params,
                     q.bytesBefore / 1e6, q.bytesAfter / 1e6, q.bytesPerParam());
    }
}

NamedTensors Trainer::attachMethod() {
    const json& method = m_cfg.method;
    if (m_classification) m_model->enableClassification(m_model->config().numLabels);
    // The saved config names the base as the user gave it (a path or a repo id) unless the method
    // config names one itself, so the run's output loads by itself (and FULL copies the tokenizer).
    const std::string baseName =
        method.contains("base_model_name_or_path") && method["base_model_name_or_path"].is_string()
        ? method["base_model_name_or_path"].get<std::string>()
        : m_cfg.model;
    if (method.contains("init_from") && method["init_from"].is_string()) {
        m_adapter = loadAdapter(*m_model, method["init_from"].get<std::string>(), "default");
        m_adapter.config["base_model_name_or_path"] = baseName;
    } else {
        json cfg = method;
        cfg.erase("init_from");
        cfg["base_model_name_or_path"] = baseName;
        m_adapter = attachAdapter(*m_model, cfg, "default");
    }
    m_model->to(m_device);
    m_model->train();
    // Trainable tensors stay fp32 (master weights) whatever the base precision.
    NamedTensors params = m_adapter.method->trainable();
    if (params.empty())
        fail("method", "the method has no trainable parameters", "Check target_modules and the method's settings.");
    return params;
}

void Trainer::setupOptimizer(const NamedTensors& params) {
    m_optimizer = std::make_unique<Optimizer>(params, m_cfg.training);
    ObjectiveContext octx;
    octx.model = m_model;
    octx.adapter = &m_adapter;
    octx.run = &m_cfg;
    octx.device = m_device;
    m_objective->bind(octx);
    if (m_dp) {  // every rank starts from rank 0's initial weights
        std::vector<torch::Tensor> ts;
        for (const auto& [name, p] : params) ts.push_back(p);
        m_dp->broadcast(ts);
    }
}

void Trainer::setupData() {
    const TrainingConfig& t = m_cfg.training;
    const std::string dataPath = m_cfg.dataset.value("path", std::string("dataset"));
    if (!m_haveData) {
        data::DatasetConfig dc = data::DatasetConfig::fromJson(m_cfg.dataset, "dataset");
        auto tok = Tokenizer::load(m_cfg.model);
        data::PrepareOptions po;
        po.seed = t.seed;
        po.cancelled = m_cancel;
        data::PreparedDataset pd = data::prepareDataset(dc, tok.get(), po);
        for (const auto& r : pd.report.rejections) spdlog::warn("{}:{}: {}", dc.path, r.line, r.reason);
        m_data.train = std::move(pd.train);
        m_data.validation = std::move(pd.validation);
        m_data.padId = pd.padId;
        m_haveData = true;
    }
    if (m_data.train.empty()) fail(dataPath, "no training examples", "Check the dataset file and its format.");
    m_objective->checkData(m_data.train, dataPath);
    m_objective->prepareData(m_data.train, m_data.validation, m_cfg.outputDir, t.batchSize, m_data.padId);
    data::BatcherOptions bo;
    bo.batchSize = t.batchSize * worldSize();  // one micro-step of every rank: an order independent of the world size
    bo.shuffle = t.shuffle;
    bo.seed = t.seed;
    bo.padId = m_data.padId;
    m_batchOptions = bo;
    m_batcher = std::make_unique<data::Batcher>(std::make_shared<const std::vector<Example>>(m_data.train), bo);
    m_totalSteps = plannedSteps(t, static_cast<int64_t>(m_data.train.size()), bo.batchSize);
}

double Trainer::stepLoss(const std::vector<data::Batch>& micro, int64_t count) {
    double total = 0;
    std::vector<torch::Tensor> sums;
    m_stepMetrics.clear();
    // The objective runs each micro-batch's forward and backward (its loss / count).
    for (const data::Batch& b : micro) sums.push_back(m_objective->backward(b, count, m_stepMetrics));
    // One host synchronisation per step, after every micro-batch was queued.
    for (const auto& s : sums) total += s.item<double>();
    return total / static_cast<double>(std::max<int64_t>(1, count));
}

EvalResult Trainer::evaluateAll(int64_t maxRows) {
    torch::NoGradGuard ng;
    bool wasTraining = m_model->is_training();
    m_model->eval();
    const auto& all = m_data.validation;
    EvalResult r = maxRows > 0 && maxRows < static_cast<int64_t>(all.size())
        ? m_objective->evaluate(std::vector<Example>(all.begin(), all.begin() + maxRows), m_cfg.training.batchSize,
                                m_data.padId)
        : m_objective->evaluate(all, m_cfg.training.batchSize, m_data.padId);
    if (wasTraining) m_model->train();
    return r;
}

std::pair<double, std::optional<double>> Trainer::evaluate() {
    EvalResult r = evaluateAll();
    return {r.loss, r.accuracy};
}

bool Trainer::isWriter() const { return !m_dp || m_dp->rank() == 0; }
int Trainer::worldSize() const { return m_dp ? m_dp->world() : 1; }

bool Trainer::pollControl(TrainerControl* control) {
    bool stop = control && control->stop.load(), pause = control && control->pause.load();
    if (!m_dp) {
        while (pause && !stop) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            stop = control->stop.load();
            pause = control->pause.load();
        }
        return stop;
    }
    // Every rank stops or pauses together, so none waits on a collective that another left.
    std::tie(stop, pause) = m_dp->agree(stop, pause);
    while (pause && !stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::tie(stop, pause) = m_dp->agree(control && control->stop.load(), control && control->pause.load());
    }
    return stop;
}

void Trainer::appendMetrics(const StepMetrics& m) {
    if (!isWriter()) return;
    std::ofstream out(fs::path(m_cfg.outputDir) / "metrics.jsonl", std::ios::app);
    out << m.toJson().dump() << "\n";
}

std::string Trainer::saveCheckpoint() {
    char name[32];
    std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(m_step));
    fs::path root = fs::path(m_cfg.outputDir) / "checkpoints";
    fs::create_directories(root);
    fs::path tmp = root / (std::string(".tmp-") + name);
    fs::path dst = root / name;
    if (!isWriter()) {  // rank 0 writes it
        m_lastCheckpoint = dst.string();
        return dst.string();
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp);
    try {
        saveSafetensors((tmp / "trainable.safetensors").string(), m_adapter.method->trainable());
        saveSafetensors((tmp / "optimizer.safetensors").string(), m_optimizer->state());
        NamedTensors rng = {{"cpu", at::detail::getDefaultCPUGenerator().get_state()}};
        // Dropout on a GPU draws from that device's generator: keep it too, or a resumed run differs.
        if (!m_device.is_cpu()) {
            at::Generator gen = at::globalContext().defaultGenerator(m_device);
            std::lock_guard<std::mutex> lock(gen.mutex());
            rng.emplace_back("device", gen.get_state());
        }
        saveSafetensors((tmp / "rng.safetensors").string(), rng);
        saveAdapter(m_adapter, (tmp / "adapter").string());
        json state = {{"step", m_step},
                      {"total_steps", m_totalSteps},
                      {"data_position", m_batcher->position().toJson()},
                      {"optimizer_steps", m_optimizer->stepCount()},
                      {"elapsed_s", m_elapsedBefore},
                      {"best_eval_loss", m_bestEval ? json(*m_bestEval) : json(nullptr)},
                      {"bad_evals", m_badEvals},
                      {"seed", m_cfg.training.seed},
                      // Rows of one micro-step over all ranks: a resume with another world size keeps it.
                      {"global_micro_batch", m_batchOptions.batchSize},
                      {"world_size", worldSize()}};
        // Written last: a folder without it is never taken for a checkpoint.
        writeFileAtomic((tmp / "trainer_state.json").string(), state.dump(2) + "\n");
        // Saving a step that already has a checkpoint (the final save after resuming a finished
        // run): move the old one aside with one rename first. Deleting it in place could leave, after
        // a kill, a half-deleted folder that still holds trainer_state.json and passes for the newest.
        fs::path old = root / (std::string(".old-") + name);
        if (fs::exists(dst)) {
            fs::remove_all(old, ec);
            fs::rename(dst, old);
        }
        fs::rename(tmp, dst);
        syncDirectory(root.string());
        fs::remove_all(old, ec);
    } catch (const PeftError& e) {
        fs::remove_all(tmp, ec);
        fail("checkpoint " + dst.string(), std::string("could not be written: ") + e.what(),
             m_lastCheckpoint.empty() ? std::string("No earlier checkpoint exists.")
                                      : "The previous checkpoint " + m_lastCheckpoint +
                     " is intact; resume from it once the problem is fixed.");
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
    m_lastCheckpoint = dst.string();
    pruneCheckpoints();
    spdlog::info("checkpoint saved: {}", dst.string());
    return dst.string();
}

void Trainer::pruneCheckpoints() {
    fs::path root = fs::path(m_cfg.outputDir) / "checkpoints";
    std::vector<fs::path> all;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (e.path().filename().string().rfind("step-", 0) == 0) all.push_back(e.path());
    std::sort(all.begin(), all.end());
    while (static_cast<int64_t>(all.size()) > m_cfg.training.keepCheckpoints) {
        fs::remove_all(all.front(), ec);
        all.erase(all.begin());
    }
}

bool Trainer::resumeFromLatest() {
    std::string ck = latestCheckpoint(m_cfg.outputDir);
    if (ck.empty()) return false;
    const std::string where = ck;
    json state = readJsonFile((fs::path(ck) / "trainer_state.json").string());
    auto trainable = loadSafetensors((fs::path(ck) / "trainable.safetensors").string());
    {
        torch::NoGradGuard ng;
        for (auto& [n, p] : m_adapter.method->trainable())
            p.copy_(savedTensorLike(trainable, n, p, where, "The checkpoint belongs to another run configuration."));
    }
    m_optimizer->loadState(loadSafetensors((fs::path(ck) / "optimizer.safetensors").string()),
                           state.at("optimizer_steps").get<int64_t>(), where);
    auto rng = loadSafetensors((fs::path(ck) / "rng.safetensors").string());
    {
        at::Generator gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(rng.at("cpu").clone());
    }
    if (!m_device.is_cpu()) {
        auto it = rng.find("device");
        if (it == rng.end()) {
            spdlog::warn(
                "{}: no {} random state in the checkpoint; dropout after resume will differ from an uninterrupted run",
                where, m_device.str());
        } else {
            at::Generator gen = at::globalContext().defaultGenerator(m_device);
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(it->second.clone());
        }
    }
    m_step = state.at("step").get<int64_t>();
    // The checkpoint holds rank 0's random state: the other ranks draw their dropout from
    // seed + rank + the step instead, so they stay apart from rank 0 and from each other.
    if (m_dp && m_dp->rank() > 0)
        torch::manual_seed(m_cfg.training.seed + static_cast<uint64_t>(m_dp->rank()) +
                           (static_cast<uint64_t>(m_step) << 20));
    // The global batch stays the checkpoint's when the world size changed: each rank then takes
    // a larger or smaller share of every micro-step, in chunks of at most batch_size rows.
    const int64_t micro = state.value("global_micro_batch", m_cfg.training.batchSize);
    if (micro != m_batchOptions.batchSize && micro > 0) {
        spdlog::info(
            "{}: keeping the checkpoint's {} rows per micro-step ({} ranks now, {} rows each at most per pass)", where,
            micro, worldSize(), m_cfg.training.batchSize);
        m_batchOptions.batchSize = micro;
        m_batcher =
            std::make_unique<data::Batcher>(std::make_shared<const std::vector<Example>>(m_data.train), m_batchOptions);
        m_totalSteps = plannedSteps(m_cfg.training, m_batcher->size(), micro);
    }
    m_batcher->setPosition(data::DataPosition::fromJson(state.at("data_position"), where));
    m_elapsedBefore = state.value("elapsed_s", 0.0);
    if (state.contains("best_eval_loss") && state["best_eval_loss"].is_number())
        m_bestEval = state["best_eval_loss"].get<double>();
    m_badEvals = state.value("bad_evals", int64_t{0});
    m_lastCheckpoint = ck;
    // metrics.jsonl keeps only the steps the checkpoint covers.
    fs::path mp = fs::path(m_cfg.outputDir) / "metrics.jsonl";
    if (isWriter() && fs::exists(mp)) {
        std::ifstream in(mp);
        std::string line, kept;
        while (std::getline(in, line)) {
            try {
                if (json::parse(line).value("step", int64_t{0}) <= m_step) kept += line + "\n";
            } catch (const std::exception&) {
                // a line cut by a kill: dropped
            }
        }
        writeFileAtomic(mp.string(), kept);
    }
    spdlog::info("resumed from {} at step {}", ck, m_step);
    return true;
}

TrainResult Trainer::run(const MetricsSink& sink, TrainerControl* control) {
    using Clock = std::chrono::steady_clock;
    const TrainingConfig& t = m_cfg.training;
    TrainResult result;
    const auto start = Clock::now();
    // Time spent in earlier sessions of this run (restored on resume); checkpoints store the total.
    const double elapsedAtStart = m_elapsedBefore;
    auto elapsed = [&] { return elapsedAtStart + std::chrono::duration<double>(Clock::now() - start).count(); };
    // A step that went wrong before anything was updated: nothing is saved (the weights may be
    // partly updated or the state is not finite); the message says where the last good checkpoint is.
    auto failWithoutSaving = [&](const std::string& msg) {
        m_optimizer->zeroGrad();
        result.status = TrainStatus::Failed;
        result.steps = m_step;
        result.lastCheckpoint = m_lastCheckpoint;
        result.message = msg +
            (m_lastCheckpoint.empty() ? "No checkpoint was written yet."
                                      : "The last good checkpoint is " + m_lastCheckpoint + ".");
        spdlog::error("{}", result.message);
        return result;
    };
    auto stopWithCheckpoint = [&](TrainStatus s, const std::string& msg) {
        m_elapsedBefore = elapsed();
        result.lastCheckpoint = saveCheckpoint();
        result.status = s;
        result.message = msg;
        result.steps = m_step;
        return result;
    };
    // An allocation that failed mid-step: the weights are as the last step left them, so they are saved.
    auto outOfMemory = [&] {
        m_optimizer->zeroGrad();
        return stopWithCheckpoint(TrainStatus::Failed,
                                  "out of memory at step " + std::to_string(m_step + 1) +
                                      ": lower batch_size or max_length, or use gradient accumulation");
    };
    // The oneDNN copies of frozen weights (core/model/linear.h) live for the run only.
    struct ReleasePacked {
        torch::nn::Module& model;
        ~ReleasePacked() {
            for (const auto& mod : model.modules())
                if (auto* lin = dynamic_cast<LinearImpl*>(mod.get())) lin->releasePacked();
        }
    } releasePacked{*m_model};
    // training.packed_weights: whether this run's steps may make those copies at all.
    PackedWeightsScope packedScope(t.packedWeights);
    // training.threads: LibTorch keeps its intra-op count per thread, so set it where the steps run.
    ThreadsScope threadsScope(t.threads);
    m_model->train();
    // A fresh start (not a resume) in a folder used before must not append to the old metrics.
    if (m_step == 0 && m_lastCheckpoint.empty() && isWriter())
        writeFileAtomic((fs::path(m_cfg.outputDir) / "metrics.jsonl").string(), "");
    while (m_step < m_totalSteps) {
        if (pollControl(control))
            return stopWithCheckpoint(TrainStatus::Stopped, "stopped at step " + std::to_string(m_step));
        const auto t0 = Clock::now();
        std::vector<data::Batch> micro;
        int64_t count = 0, tokens = 0;
        for (int64_t a = 0; a < t.gradAccum; ++a) {
            // Every rank sees the micro-step's rows of all ranks: the global count normalises the loss.
            data::Batch all = m_batcher->next();
            count += m_objective->targetCount(all);
            tokens += all.numTokens;
            for (data::Batch& b : dist::localShare(all, m_dp ? m_dp->rank() : 0, worldSize(), t.batchSize))
                micro.push_back(std::move(b));
        }
        double loss = 0;
        try {
            loss = stepLoss(micro, count);
        } catch (const c10::Error& e) {
            std::string what = e.what_without_backtrace();
            if (what.find("alloc") != std::string::npos || what.find("memory") != std::string::npos) {
                spdlog::error("allocation failed: {}", what);
                return outOfMemory();
            }
            throw;
        } catch (const std::bad_alloc&) {
            return outOfMemory();
        }
        if (m_dp) {  // once per optimizer step: the sum of every rank's gradients and loss
            std::vector<torch::Tensor> ps;
            for (const auto& [name, p] : m_optimizer->params()) ps.push_back(p);
            loss = m_dp->allReduceGradients(ps, loss);
        }
        if (!std::isfinite(loss))
            return failWithoutSaving("the loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                                     " at step " + std::to_string(m_step + 1) +
                                     ". Lower the learning rate, use fp32, or check the data. ");
        const double gradNorm = clipGradNorm(m_optimizer->params(), t.maxGradNorm);
        if (!std::isfinite(gradNorm))
            return failWithoutSaving("the gradient norm exploded (" + std::to_string(gradNorm) + ") at step " +
                                     std::to_string(m_step + 1) + ". Lower the learning rate or set max_grad_norm. ");
        const double lr = scheduledLr(t, m_step, m_totalSteps);
        try {
            m_optimizer->step(lr);
        } catch (const std::exception& ex) {
            // e.g. AdamW with lr 1e38: lr / bias_correction overflows float and c10 throws a
            // std::runtime_error ("value cannot be converted to type float without overflow").
            // The weights may be partly updated: no save.
            const auto* ce = dynamic_cast<const c10::Error*>(&ex);
            const std::string what = ce ? ce->what_without_backtrace() : ex.what();
            return failWithoutSaving("the optimizer step failed at step " + std::to_string(m_step + 1) +
                                     " with learning rate " + std::to_string(lr) + " (" + what +
                                     "). Lower the learning rate. ");
        }
        m_optimizer->zeroGrad();
        ++m_step;
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();

        StepMetrics m;
        m.step = m_step;
        m.totalSteps = m_totalSteps;
        const data::DataPosition pos = m_batcher->position();
        m.epoch = static_cast<double>(pos.epoch) +
            static_cast<double>(pos.index) / static_cast<double>(std::max<int64_t>(1, m_batcher->size()));
        m.loss = loss;
        m.gradNorm = gradNorm;
        m.lr = lr;
        m.tokensPerS = dt > 0 ? static_cast<double>(tokens) / dt : 0;
        for (const auto& [k, v] : m_stepMetrics)
            m.objectiveMetrics[k] = v.item<double>() / static_cast<double>(std::max<int64_t>(1, count));
        const bool last = m_step == m_totalSteps;
        if (!m_data.validation.empty() && ((t.evalEvery > 0 && m_step % t.evalEvery == 0) || last)) {
            EvalResult ev = evaluateAll();
            const double el = ev.loss;
            const std::optional<double> acc = ev.accuracy;
            for (const auto& [k, v] : ev.metrics) m.objectiveMetrics["eval_" + k] = v;
            m.evalLoss = el;
            // Perplexity is a language-modelling number; a preference loss has none.
            if (!m_objective->spec().preference) m.evalPerplexity = std::exp(el);
            m.evalAccuracy = acc;
            result.finalEvalLoss = el;
            if (!m_bestEval || el < *m_bestEval) {
                m_bestEval = el;
                m_badEvals = 0;
            } else {
                ++m_badEvals;
            }
        }
        if (t.generationEvalEvery > 0 && (m_step % t.generationEvalEvery == 0 || last)) m.generation = generationEval();
        m.elapsedS = elapsed();
        appendMetrics(m);
        if (sink) sink(m);
        if (t.saveEvery > 0 && m_step % t.saveEvery == 0 && !last) {
            m_elapsedBefore = elapsed();
            saveCheckpoint();
        }
        if (t.earlyStoppingPatience > 0 && m_badEvals >= t.earlyStoppingPatience) {
            result = stopWithCheckpoint(TrainStatus::EarlyStopped,
                                        "eval loss did not improve for " + std::to_string(m_badEvals) + " evaluations");
            break;
        }
    }
    if (result.status != TrainStatus::EarlyStopped) {
        m_elapsedBefore = elapsed();
        result.lastCheckpoint = saveCheckpoint();
        result.status = TrainStatus::Finished;
        result.message = "finished " + std::to_string(m_step) + " steps";
    }
    result.steps = m_step;
    result.adapterDir = (fs::path(m_cfg.outputDir) / "adapter").string();
    if (isWriter()) saveAdapter(m_adapter, result.adapterDir);
    if (m_dp) m_dp->barrier();  // every rank returns once the adapter is on disk
    spdlog::info("{}; adapter written to {}", result.message, result.adapterDir);
    return result;
}

std::map<std::string, double> Trainer::generationEval() {
    std::map<std::string, double> out;
    if (m_classification) return out;
    try {
        if (!m_genSet) {
            m_genTok = Tokenizer::load(m_cfg.model);
            m_genSet = std::make_shared<eval::EvalSet>(
                eval::runValidationSet(m_cfg, *m_genTok, m_cfg.training.generationEvalSamples));
        }
        eval::EvalOptions o;
        o.sides = {"tuned"};
        o.maxNewTokens = 48;
        const eval::EvalReport r = eval::evaluateGeneration(*m_model, *m_genTok, *m_genSet, o);
        out = r.aggregate.at("tuned");
    } catch (const std::exception& e) {
        // A set that cannot be built (no validation rows, text rows) turns the check off, once.
        spdlog::warn("generation evaluation off: {}", e.what());
        m_cfg.training.generationEvalEvery = 0;
    }
    return out;
}

}  // namespace peft
