// Generation and multiple-choice evaluation over a loaded model (the adapter switched off for
// "base" and on for "tuned").
#include "core/eval/evaluator.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/eval/classification.h"
#include "core/eval/text_norm.h"
#include "core/model/batch_generate.h"
#include "core/model/causal_lm.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

namespace peft::eval {

namespace {
bool isChatKind(data::TemplateKind k) { return k != data::TemplateKind::Alpaca && k != data::TemplateKind::Plain; }

// Switches the adapter for one side and restores it afterwards.
struct SideScope {
    std::shared_ptr<AdapterState> state;
    bool was;
    SideScope(CausalLMImpl& m, const std::string& side) : state(m.adapterState()), was(state->enabled) {
        state->enabled = side != "base";
    }
    ~SideScope() { state->enabled = was; }
};

void checkSides(const std::vector<std::string>& sides) {
    if (sides.empty()) fail("evaluate", "no side to evaluate", "Evaluate the base model, the tuned model, or both.");
    for (const auto& s : sides)
        if (s != "base" && s != "tuned") fail("evaluate", "unknown side '" + s + "'", "Use base or tuned.");
}
}  // namespace

std::vector<int64_t> stopIdsFor(const CausalLMImpl& model, const Tokenizer& tok, const EvalSet& set) {
    std::vector<int64_t> ids = model.config().eosTokenIds;
    if (auto e = tok.eosId()) ids.push_back(*e);
    if (set.templateKind)
        if (auto id =
                tok.tokenToId(templateEndToken(*set.templateKind, tokenizerTemplateTokens(*set.templateKind, &tok))))
            ids.push_back(*id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

EvalReport evaluateGeneration(CausalLMImpl& model, const Tokenizer& tok, const EvalSet& set, const EvalOptions& opts) {
    checkSides(opts.sides);
    const auto t0 = std::chrono::steady_clock::now();
    EvalReport rep;
    rep.kind = "generation";
    rep.dataset = set.file;
    rep.format = set.format;
    rep.templateName = set.templateKind ? data::templateName(*set.templateKind) : std::string();
    rep.sides = opts.sides;
    rep.metrics = opts.metrics;
    rep.rejections = set.rejections;
    std::vector<std::unique_ptr<TextMetric>> metrics;
    for (const auto& m : opts.metrics) metrics.push_back(makeMetric(m, opts.metricOptions));

    const bool addSpecials = !set.templateKind || !isChatKind(*set.templateKind);
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& it : set.items) prompts.push_back(encodePrompt(tok, it.prompt, addSpecials));
    for (size_t i = 0; i < set.items.size(); ++i) {
        ExampleRow r;
        r.index = static_cast<int64_t>(i);
        r.line = set.items[i].line;
        r.prompt = set.items[i].prompt;
        r.references = set.items[i].references;
        rep.rows.push_back(std::move(r));
    }
    BatchGenerateOptions go;
    go.maxNewTokens = opts.maxNewTokens;
    go.stopStrings = opts.stopStrings;
    go.batchSize = opts.batchSize;
    go.cancel = opts.cancel;
    go.stopIds = stopIdsFor(model, tok, set);
    const int64_t total = static_cast<int64_t>(set.items.size() * opts.sides.size());
    int64_t done = 0;
    for (const auto& side : opts.sides) {
        if (opts.cancel && opts.cancel->load()) break;
        SideScope scope(model, side);
        auto answers = generateGreedyBatch(model, tok, prompts, go, [&](size_t, const std::string&) {
            ++done;
            if (opts.onProgress) opts.onProgress(done, total);
        });
        for (size_t i = 0; i < answers.size(); ++i) rep.rows[i].answers[side] = answers[i];
    }
    rep.cancelled = opts.cancel && opts.cancel->load();
    if (rep.cancelled) {
        rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return rep;
    }
    std::vector<std::vector<std::string>> refs;
    for (const auto& r : rep.rows) refs.push_back(r.references);
    for (const auto& side : opts.sides) {
        std::vector<std::string> answers;
        for (const auto& r : rep.rows) answers.push_back(r.answers.at(side));
        for (const auto& m : metrics) {
            std::vector<double> per;
            for (auto& r : rep.rows) {
                per.push_back(m->score(r.answers.at(side), r.references));
                r.scores[side][m->name()] = per.back();
            }
            rep.aggregate[side][m->name()] = m->corpusScore(answers, refs);
            if (m->name() != "bleu" && m->name() != "chrf") rep.stderrs[side][m->name()] = meanStderr(per);
            if (m->name() == "acc") {
                std::vector<std::string> truth, pred;
                for (const auto& r : rep.rows) {
                    truth.push_back(normalizeAnswer(r.references.empty() ? std::string() : r.references[0],
                                                    opts.metricOptions.normalization));
                    pred.push_back(normalizeAnswer(r.answers.at(side), opts.metricOptions.normalization));
                }
                rep.classification[side] = classificationReport(truth, pred);
                rep.aggregate[side]["macro_f1"] = rep.classification[side].macroF1;
            }
        }
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

namespace {
struct ChoiceRequest {
    size_t item, choice;
    std::vector<int64_t> context, continuation;
};

// HFLM._encode_pair (lm-evaluation-harness 0.4), tok_encode without special tokens.
ChoiceRequest encodePair(const Tokenizer& tok, const std::string& context, const std::string& continuationIn) {
    ChoiceRequest r;
    std::string ctx = context, cont = continuationIn;
    if (ctx.empty()) {
        auto eos = tok.eosId();
        if (!eos)
            fail("multiple choice", "an empty context needs an end-of-text token and the tokenizer has none",
                 "Give every row a question or context.");
        r.context = {*eos};
        r.continuation = tok.encode(cont, false);
        return r;
    }
    const std::string stripped = pyRstrip(ctx);
    if (stripped.size() < ctx.size()) {
        cont = ctx.substr(stripped.size()) + cont;
        ctx = stripped;
    }
    const auto whole = tok.encode(ctx + cont, false);
    r.context = tok.encode(ctx, false);
    r.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(std::min(r.context.size(), whole.size())),
                          whole.end());
    return r;
}

size_t argmax(const std::vector<double>& v) {
    size_t best = 0;
    for (size_t i = 1; i < v.size(); ++i)
        if (v[i] > v[best]) best = i;  // np.argmax: the first of equal maxima
    return best;
}
}  // namespace

EvalReport evaluateChoices(CausalLMImpl& model, const Tokenizer& tok, const EvalSet& set, const EvalOptions& opts) {
    checkSides(opts.sides);
    const auto t0 = std::chrono::steady_clock::now();
    torch::NoGradGuard ng;
    const bool wasTraining = model.is_training();
    model.eval();
    EvalReport rep;
    rep.kind = "multiple_choice";
    rep.dataset = set.file;
    rep.format = set.format;
    rep.sides = opts.sides;
    rep.metrics = {"acc", "acc_norm"};
    rep.rejections = set.rejections;
    std::vector<ChoiceRequest> reqs;
    for (size_t i = 0; i < set.items.size(); ++i) {
        const auto& it = set.items[i];
        ExampleRow r;
        r.index = static_cast<int64_t>(i);
        r.line = it.line;
        r.prompt = it.prompt;
        r.choices = it.choices;
        r.answer = it.answer;
        r.references = {it.choices[static_cast<size_t>(it.answer)]};
        rep.rows.push_back(std::move(r));
        for (size_t c = 0; c < it.choices.size(); ++c) {
            ChoiceRequest q = encodePair(tok, it.prompt, " " + it.choices[c]);
            q.item = i;
            q.choice = c;
            reqs.push_back(std::move(q));
        }
    }
    const auto dev = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
    // The harness keeps the last max_length+1 tokens; learned position tables have a hard limit.
    const int64_t maxLen =
        model.table().traits.positions == PositionKind::Learned ? model.config().maxPositions : INT64_MAX;
    const int64_t total = static_cast<int64_t>(reqs.size() * opts.sides.size());
    int64_t done = 0;
    const size_t B = static_cast<size_t>(std::max<int64_t>(1, opts.batchSize));
    for (const auto& side : opts.sides) {
        SideScope scope(model, side);
        for (auto& r : rep.rows) r.loglikelihoods[side].assign(r.choices.size(), 0.0);
        for (size_t start = 0; start < reqs.size(); start += B) {
            if (opts.cancel && opts.cancel->load()) break;
            const size_t end = std::min(reqs.size(), start + B);
            // Inputs (context + continuation)[-(maxLen+1):][:-1], right-padded: with a causal mask a
            // real position never sees the padding after it, so no attention mask is needed.
            std::vector<std::vector<int64_t>> inputs;
            size_t T = 1;
            for (size_t q = start; q < end; ++q) {
                std::vector<int64_t> all = reqs[q].context;
                all.insert(all.end(), reqs[q].continuation.begin(), reqs[q].continuation.end());
                if (maxLen != INT64_MAX && static_cast<int64_t>(all.size()) > maxLen + 1)
                    all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(maxLen + 1));
                all.pop_back();
                inputs.push_back(std::move(all));
                T = std::max(T, inputs.back().size());
            }
            torch::Tensor ids =
                torch::zeros({static_cast<int64_t>(inputs.size()), static_cast<int64_t>(T)}, torch::kInt64);
            for (size_t k = 0; k < inputs.size(); ++k)
                if (!inputs[k].empty())
                    ids[static_cast<int64_t>(k)].slice(0, 0, static_cast<int64_t>(inputs[k].size())) =
                        torch::tensor(inputs[k], torch::kInt64);
            torch::Tensor logits = model.forward(ids.to(dev));              // [b,T(+P),V]
            const int64_t virt = logits.size(1) - static_cast<int64_t>(T);  // prompt-tuning virtual tokens come first
            for (size_t k = 0; k < inputs.size(); ++k) {
                const auto& q = reqs[start + k];
                const int64_t n = static_cast<int64_t>(inputs[k].size());
                const int64_t m = static_cast<int64_t>(q.continuation.size());
                double ll = 0;
                if (m > 0) {
                    // Positions n-m .. n-1 predict the continuation's m tokens: [m,V] log-probabilities.
                    torch::Tensor lp = logits[static_cast<int64_t>(k)]
                                           .slice(0, virt + n - m, virt + n)
                                           .to(torch::kFloat32)
                                           .log_softmax(-1);
                    torch::Tensor target =
                        torch::tensor(q.continuation, torch::kInt64).to(lp.device()).unsqueeze(1);  // [m,1]
                    ll = lp.gather(1, target).sum().item<double>();
                }
                rep.rows[q.item].loglikelihoods[side][q.choice] = ll;
                if (opts.onProgress) opts.onProgress(++done, total);
            }
        }
    }
    rep.cancelled = opts.cancel && opts.cancel->load();
    if (!rep.cancelled) {
        for (const auto& side : opts.sides) {
            std::vector<double> acc, accNorm;
            for (auto& r : rep.rows) {
                const auto& ll = r.loglikelihoods[side];
                std::vector<double> norm;
                for (size_t c = 0; c < ll.size(); ++c)
                    norm.push_back(ll[c] / static_cast<double>(codePoints(r.choices[c]).size()));
                const size_t pred = argmax(ll), predNorm = argmax(norm);
                acc.push_back(static_cast<int64_t>(pred) == r.answer ? 1.0 : 0.0);
                accNorm.push_back(static_cast<int64_t>(predNorm) == r.answer ? 1.0 : 0.0);
                r.answers[side] = r.choices[pred];
                r.scores[side]["acc"] = acc.back();
                r.scores[side]["acc_norm"] = accNorm.back();
            }
            rep.aggregate[side]["acc"] = mean(acc);
            rep.aggregate[side]["acc_norm"] = mean(accNorm);
            rep.stderrs[side]["acc"] = meanStderr(acc);
            rep.stderrs[side]["acc_norm"] = meanStderr(accNorm);
        }
    }
    if (wasTraining) model.train();
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace peft::eval

namespace peft::eval {

EvalJob jobForRun(const RunConfig& run) {
    namespace fs = std::filesystem;
    EvalJob job;
    job.modelDir = run.model;
    job.run = run;
    const fs::path adapter = fs::path(run.outputDir) / "adapter";
    if (fs::exists(adapter / "adapter_config.json")) job.adapterDir = adapter.string();
    // Full fine-tuning (and BitFit) write a whole model folder: that model is the tuned side.
    else if (fs::exists(adapter / "config.json")) job.tunedModelDir = adapter.string();
    return job;
}

std::string runReportPath(const std::string& outputDir) {
    return (std::filesystem::path(outputDir) / "evaluation" / "report.json").string();
}

EvalReport runEvalJob(EvalJob job) {
    if (job.modelDir.empty()) fail("evaluate", "no model folder", "Give --model DIR (or a run with --run).");
    ModelOptions mo;
    mo.dtype = parseDtype(job.precision);
    if (job.device == "auto") {
        mo.device = torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    } else {
        try {
            mo.device = torch::Device(job.device);
        } catch (const std::exception&) {
            fail("evaluate: --device", "'" + job.device + "' is not a device", "Use auto, cpu, cuda or cuda:N.");
        }
    }
    auto tok = Tokenizer::load(job.modelDir);
    EvalSet set;
    if (!job.datasetPath.empty()) {
        if (job.choices) {
            set = loadChoiceSet(job.datasetPath, job.fewshot, job.limit);
        } else {
            EvalDataOptions d = job.data;
            d.limit = job.limit;
            set = loadGenerationSet(job.datasetPath, d, tok.get());
        }
    } else if (job.run) {
        set = runValidationSet(*job.run, *tok, job.limit);
    } else {
        fail("evaluate", "nothing to evaluate on", "Give --dataset FILE, or --run for the run's validation split.");
    }
    if (!job.tunedModelDir.empty()) {
        // Two models, not one model with an adapter switched on and off: each side runs on its own
        // model and the two reports are joined (rows are the same set, in the same order).
        if (!job.adapterDir.empty())
            fail("evaluate", "both an adapter and a tuned model folder were given", "Give one of them.");
        std::vector<std::pair<std::string, std::string>> parts;  // side, model folder
        if (job.baseToo) parts.push_back({"base", job.modelDir});
        parts.push_back({"tuned", job.tunedModelDir});
        EvalReport rep;
        const auto userProgress = job.eval.onProgress;
        for (size_t k = 0; k < parts.size(); ++k) {
            LoadedModel lm = loadModel(parts[k].second, mo);
            lm.model->to(mo.device);
            lm.model->eval();
            EvalOptions o = job.eval;
            o.sides = {parts[k].first};
            if (userProgress)
                o.onProgress = [&, k](int64_t done, int64_t total) {
                    userProgress(static_cast<int64_t>(k) * total + done, total * static_cast<int64_t>(parts.size()));
                };
            EvalReport part =
                job.choices ? evaluateChoices(*lm.model, *tok, set, o) : evaluateGeneration(*lm.model, *tok, set, o);
            const std::string& side = parts[k].first;
            if (k == 0) {
                rep = std::move(part);
            } else {
                rep.sides.push_back(side);
                for (size_t i = 0; i < rep.rows.size() && i < part.rows.size(); ++i) {
                    auto& row = rep.rows[i];
                    const auto& src = part.rows[i];
                    if (src.answers.count(side)) row.answers[side] = src.answers.at(side);
                    if (src.scores.count(side)) row.scores[side] = src.scores.at(side);
                    if (src.loglikelihoods.count(side)) row.loglikelihoods[side] = src.loglikelihoods.at(side);
                }
                if (part.aggregate.count(side)) rep.aggregate[side] = part.aggregate.at(side);
                if (part.stderrs.count(side)) rep.stderrs[side] = part.stderrs.at(side);
                if (part.classification.count(side)) rep.classification[side] = part.classification.at(side);
                rep.cancelled = rep.cancelled || part.cancelled;
                rep.seconds += part.seconds;
            }
            if (rep.cancelled) break;
        }
        rep.model = job.modelDir;
        rep.adapter = job.tunedModelDir;
        return rep;
    }
    LoadedModel lm = loadModel(job.modelDir, mo);
    Adapter adapter;
    if (!job.adapterDir.empty()) adapter = loadAdapter(*lm.model, job.adapterDir);
    lm.model->to(mo.device);
    lm.model->eval();
    job.eval.sides.clear();
    if (job.adapterDir.empty() || job.baseToo) job.eval.sides.push_back("base");
    if (!job.adapterDir.empty()) job.eval.sides.push_back("tuned");
    EvalReport rep = job.choices ? evaluateChoices(*lm.model, *tok, set, job.eval)
                                 : evaluateGeneration(*lm.model, *tok, set, job.eval);
    rep.model = job.modelDir;
    rep.adapter = job.adapterDir;
    return rep;
}

}  // namespace peft::eval
