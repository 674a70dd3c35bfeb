// Importance scores of the linear projections from one forward and one backward per batch.
//
// How the weight gradients are formed without keeping them. Every base weight stays frozen
// (requires_grad false), so autograd never builds dL/dW. Instead a probe is put in each Linear's
// adapter slot: it returns y = baseOut + z, where z is one shared zero scalar that requires grad
// (so the graph exists even though no weight trains; adding an exact 0 leaves y bit-identical),
// and registers a hook on y that receives g = dL/dy [B,T,out] during backward. Together with the
// module's input x [B,T,in] (kept by the hook), the weight gradient is dL/dW = sum_t g_t^T x_t.
// The hook forms it one example at a time, G_n = g_n^T x_n [out,in], folds it into the module's
// scalars (||G||^2, sum |W*G|, ||G_n||^2) and frees it before returning. Autograd runs the hooks
// one after another, so at any moment at most one module's gradient exists.
//
// Memory: per module and batch, the input x is held until that module's hook has run: the same
// activations LoRA on every linear keeps for its own backward. On top of that, during one hook:
// two [out,in] fp32 buffers (G_n and the running sum G) plus fp32 copies of g and x when the
// model runs in bf16. Per-example gradients come for free: sum_n G_n costs the same FLOPs as one
// [out,B*T]x[B*T,in] product, which is what a weight gradient costs in training anyway.
// The loss backpropagated is sum_n l_n (l_n = example n's mean token loss): examples never
// interact (attention and the loss stay within a row), so g restricted to row n is exactly the
// gradient of l_n, and the batch-mean gradient is G / B.
#include "core/select/importance.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/data/batcher.h"
#include "core/train/lm_loss.h"
#include "core/util/error.h"

namespace peft::select {

ImportanceMethod parseImportanceMethod(const std::string& name, const std::string& where) {
    if (name == "grad" || name == "gradnorm" || name == "grad-norm") return ImportanceMethod::GradNorm;
    if (name == "taylor") return ImportanceMethod::Taylor;
    if (name == "fisher") return ImportanceMethod::Fisher;
    fail(where, "unknown importance method '" + name + "'", "Use grad, taylor or fisher.");
}

std::string importanceMethodName(ImportanceMethod m) {
    switch (m) {
        case ImportanceMethod::GradNorm: return "grad";
        case ImportanceMethod::Taylor: return "taylor";
        case ImportanceMethod::Fisher: return "fisher";
    }
    return "grad";
}

double ModuleScore::score(ImportanceMethod m) const {
    return m == ImportanceMethod::GradNorm ? gradNorm : m == ImportanceMethod::Taylor ? taylor : fisher;
}
double LayerScore::score(ImportanceMethod m) const {
    return m == ImportanceMethod::GradNorm ? gradNorm : m == ImportanceMethod::Taylor ? taylor : fisher;
}

std::vector<size_t> ImportanceReport::ranking(ImportanceMethod m) const {
    std::vector<size_t> idx(modules.size());
    std::iota(idx.begin(), idx.end(), size_t{0});
    std::stable_sort(idx.begin(), idx.end(),
                     [&](size_t a, size_t b) { return modules[a].score(m) > modules[b].score(m); });
    return idx;
}

nlohmann::json ImportanceReport::toJson() const {
    nlohmann::json mods = nlohmann::json::array();
    for (const auto& s : modules)
        mods.push_back({{"path", s.path},
                        {"name", s.name},
                        {"layer", s.layer},
                        {"in_features", s.in},
                        {"out_features", s.out},
                        {"grad", s.gradNorm},
                        {"taylor", s.taylor},
                        {"fisher", s.fisher}});
    nlohmann::json lays = nlohmann::json::array();
    for (const auto& l : layers)
        lays.push_back({{"layer", l.layer}, {"grad", l.gradNorm}, {"taylor", l.taylor}, {"fisher", l.fisher}});
    return {{"modules", mods},      {"layers", lays},   {"module_names", moduleNames}, {"batches", batches},
            {"examples", examples}, {"tokens", tokens}, {"mean_loss", meanLoss},       {"seed", seed}};
}

namespace {

// What one module's hooks accumulate. Tensors stay on the device until the batch ends.
struct ModuleAccum {
    torch::Tensor sqNorm;  // ||G_b / B_b||^2 of the current batch (0-dim, fp64)
    torch::Tensor taylor;  // sum |W * G_b / B_b| of the current batch
    torch::Tensor fisher;  // running sum over examples of ||G_n||^2
    bool fired = false;
};

struct BatchContext {
    double rows = 1;  // examples with targets in the current batch (the mean's divisor)
};

class ProbeAdapter : public LinearAdapter {
public:
    ProbeAdapter(ModuleAccum* acc, const BatchContext* ctx, torch::Tensor anchor)
        : m_acc(acc), m_ctx(ctx), m_anchor(std::move(anchor)) {}

    torch::Tensor transformOutput(const torch::Tensor& x, const torch::Tensor& baseOut, LinearImpl& base) override {
        if (!torch::GradMode::is_enabled()) return baseOut;
        torch::Tensor y = baseOut + m_anchor;  // exact identity; gives the graph a grad-requiring leaf
        torch::Tensor xs = x.detach();
        ModuleAccum* acc = m_acc;
        const BatchContext* ctx = m_ctx;
        LinearImpl* lin = &base;
        y.register_hook([acc, ctx, xs, lin](const torch::Tensor& g) { reduce(*acc, *ctx, g, xs, *lin); });
        return y;
    }

private:
    // g [B,T,out] (or [N,out]), x [B,T,in]: folds this module's weight gradient into its scalars.
    static void reduce(ModuleAccum& acc, const BatchContext& ctx, const torch::Tensor& g, const torch::Tensor& x,
                       LinearImpl& lin) {
        torch::NoGradGuard ng;
        const int64_t out = g.size(-1), in = x.size(-1);
        torch::Tensor g3 = g.dim() == 3 ? g : g.reshape({1, -1, out});
        torch::Tensor x3 = x.dim() == 3 ? x : x.reshape({1, -1, in});
        g3 = g3.to(torch::kFloat32);
        x3 = x3.to(torch::kFloat32);
        const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(g.device());
        torch::Tensor sum = torch::zeros({out, in}, g3.options());
        torch::Tensor fisher = torch::scalar_tensor(0.0, f64);
        for (int64_t n = 0; n < g3.size(0); ++n) {
            torch::Tensor gn = torch::mm(g3[n].t(), x3[n]);  // [out,T] x [T,in] -> [out,in]
            fisher += gn.square().sum(torch::kFloat64);
            sum += gn;
        }
        sum /= ctx.rows;  // gradient of the batch's mean loss
        torch::Tensor w = lin.denseWeight().detach().to(sum.device(), torch::kFloat32);  // [out,in]
        acc.sqNorm = sum.square().sum(torch::kFloat64);
        acc.taylor = (w * sum).abs().sum(torch::kFloat64);
        acc.fisher = acc.fisher.defined() ? acc.fisher + fisher : fisher;
        acc.fired = true;
    }

    ModuleAccum* m_acc;
    const BatchContext* m_ctx;
    torch::Tensor m_anchor;
};

// Puts the probes in and takes them out again (also on exceptions), restoring requires_grad.
class ProbeScope {
public:
    ProbeScope(CausalLMImpl& model, std::vector<std::pair<std::string, Linear>> linears, std::vector<ModuleAccum>& accs,
               const BatchContext* ctx, torch::Tensor anchor)
        : m_model(model),
          m_linears(std::move(linears)),
          m_name(model.adapterState() ? model.adapterState()->active : "default") {
        for (auto& p : model.parameters()) {
            m_requiresGrad.push_back(p.requires_grad());
            p.requires_grad_(false);
        }
        for (size_t i = 0; i < m_linears.size(); ++i)
            m_linears[i].second->addAdapter(m_name, std::make_shared<ProbeAdapter>(&accs[i], ctx, anchor));
        m_wasTraining = model.is_training();
        model.eval();  // no dropout: scores must not depend on a random mask
    }
    ~ProbeScope() {
        for (auto& l : m_linears) l.second->removeAdapter(m_name);
        auto params = m_model.parameters();
        for (size_t i = 0; i < params.size() && i < m_requiresGrad.size(); ++i)
            params[i].requires_grad_(m_requiresGrad[i]);
        if (m_wasTraining) m_model.train();
    }

private:
    CausalLMImpl& m_model;
    std::vector<std::pair<std::string, Linear>> m_linears;
    std::string m_name;
    std::vector<bool> m_requiresGrad;
    bool m_wasTraining = false;
};

}  // namespace

ImportanceReport scoreModules(CausalLMImpl& model, const std::vector<data::PreparedExample>& examples, int64_t padId,
                              const ScoreOptions& opts) {
    if (opts.batchSize < 1)
        fail("batch_size", "must be at least 1, got " + std::to_string(opts.batchSize), "Use --batch-size 1 or more.");
    if (opts.batches < 1)
        fail("batches", "must be at least 1, got " + std::to_string(opts.batches), "Use --batches 1 or more.");
    if (model.classification())
        fail("model", "importance scoring works on the causal-LM loss, but the model has a classification head",
             "Score the plain causal LM.");
    auto linears = model.linears();
    if (linears.empty()) fail("model", "has no linear projections to score", "Check the model folder.");
    for (const auto& [path, lin] : linears) {
        if (lin->hasAdapter(model.adapterState() ? model.adapterState()->active : "default"))
            fail(path, "already has an adapter attached", "Score the base model, before attaching a PEFT method.");
    }

    // Only examples that carry a target token after the causal shift take part.
    auto usable = std::make_shared<std::vector<data::PreparedExample>>();
    for (const auto& e : examples) {
        bool any = false;
        for (size_t i = 1; i < e.labels.size() && !any; ++i) any = e.labels[i] != data::kIgnoreIndex;
        if (any) usable->push_back(e);
    }
    if (usable->empty())
        fail("dataset", "no example has a target token (every label is masked)",
             "Check the template and train_on (use \"all\" to score on prompts too), or max_length.");

    data::BatcherOptions bo;
    bo.batchSize = opts.batchSize;
    bo.shuffle = true;
    bo.seed = opts.seed;
    bo.padId = padId;
    data::Batcher batcher(usable, bo);
    const int64_t total = std::min(opts.batches, batcher.batchesPerEpoch());
    if (total < opts.batches)
        spdlog::info("importance: {} batches requested, the dataset has {} of size {}; scoring {}", opts.batches,
                     batcher.batchesPerEpoch(), opts.batchSize, total);

    torch::Device device =
        linears.front().second->weight.defined() ? linears.front().second->weight.device() : torch::Device(torch::kCPU);
    std::vector<ModuleAccum> accs(linears.size());
    BatchContext ctx;
    torch::Tensor anchor =
        torch::scalar_tensor(0.0, torch::TensorOptions().dtype(torch::kFloat32).device(device)).requires_grad_(true);

    ImportanceReport rep;
    rep.seed = opts.seed;
    const ArchTable& table = model.table();
    for (const auto& s : table.linears) rep.moduleNames.push_back(s.name);
    for (const auto& [path, lin] : linears) {
        ModuleScore ms;
        ms.path = path;
        ms.in = lin->inFeatures();
        ms.out = lin->outFeatures();
        ms.conv1d = lin->conv1d();
        // path = <layerPrefix>.<layer>.<rel>
        const std::string rest = path.substr(table.layerPrefix.size() + 1);
        ms.layer = std::stoll(rest.substr(0, rest.find('.')));
        ms.name = path.substr(path.rfind('.') + 1);
        rep.modules.push_back(ms);
    }
    const int64_t numLayers = model.config().numLayers;
    std::vector<double> layerGrad(static_cast<size_t>(numLayers), 0.0);
    double lossSum = 0;

    {
        torch::AutoGradMode gradOn(true);  // a caller's NoGradGuard would leave nothing to backpropagate
        ProbeScope scope(model, linears, accs, &ctx, anchor);
        for (int64_t b = 0; b < total; ++b) {
            if (opts.stop && opts.stop->load()) break;
            data::Batch batch = batcher.next();
            torch::Tensor ids = batch.inputIds.to(device), mask = batch.attentionMask.to(device);
            torch::Tensor labels = batch.labels.to(device);
            // Each example's mean loss over its target tokens: the trainer's chunked head (core/train/lm_loss.h).
            torch::Tensor hidden = model.hiddenStates(ids, mask);        // [B,T,C]
            SequenceLogps seq = sequenceLogps(model, hidden, labels);    // [B]
            torch::Tensor count = seq.tokens;                            // [B]
            torch::Tensor perExample = -seq.logps / count.clamp_min(1);  // [B]
            const int64_t rows = count.gt(0).sum().item<int64_t>();
            ctx.rows = static_cast<double>(std::max<int64_t>(1, rows));
            for (auto& a : accs) a.fired = false;
            torch::Tensor loss = perExample.sum();
            loss.backward();
            anchor.mutable_grad() = torch::Tensor();
            lossSum += loss.item<double>();
            rep.examples += rows;
            rep.tokens += static_cast<int64_t>(count.sum().item<double>());

            std::vector<double> layerSq(static_cast<size_t>(numLayers), 0.0);
            for (size_t i = 0; i < accs.size(); ++i) {
                if (!accs[i].fired) continue;  // a module the loss does not reach: zero gradient
                const double sq = accs[i].sqNorm.item<double>();
                rep.modules[i].gradNorm += std::sqrt(sq);
                rep.modules[i].taylor += accs[i].taylor.item<double>();
                layerSq[static_cast<size_t>(rep.modules[i].layer)] += sq;
            }
            for (int64_t l = 0; l < numLayers; ++l)
                layerGrad[static_cast<size_t>(l)] += std::sqrt(layerSq[static_cast<size_t>(l)]);
            ++rep.batches;
            if (opts.progress) opts.progress(rep.batches, total);
        }
    }
    if (rep.batches == 0)
        fail("importance", "stopped before the first batch", "Run it again and let one batch finish.");

    const double nb = static_cast<double>(rep.batches);
    const double ne = static_cast<double>(std::max<int64_t>(1, rep.examples));
    rep.meanLoss = lossSum / ne;
    rep.layers.resize(static_cast<size_t>(numLayers));
    for (int64_t l = 0; l < numLayers; ++l) {
        rep.layers[static_cast<size_t>(l)].layer = l;
        rep.layers[static_cast<size_t>(l)].gradNorm = layerGrad[static_cast<size_t>(l)] / nb;
    }
    for (size_t i = 0; i < accs.size(); ++i) {
        ModuleScore& ms = rep.modules[i];
        ms.gradNorm /= nb;
        ms.taylor /= nb;
        ms.fisher = accs[i].fisher.defined() ? accs[i].fisher.item<double>() / ne : 0.0;
        LayerScore& ls = rep.layers[static_cast<size_t>(ms.layer)];
        ls.taylor += ms.taylor;
        ls.fisher += ms.fisher;
    }
    spdlog::info("importance: {} batches, {} examples, {} target tokens, mean loss {:.4f}", rep.batches, rep.examples,
                 rep.tokens, rep.meanLoss);
    return rep;
}

}  // namespace peft::select
