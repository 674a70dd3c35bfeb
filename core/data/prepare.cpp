// Dataset preparation: render, tokenise with loss masks, truncate, split, pack, and report.
#include "core/data/prepare.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

namespace peft::data {

namespace {

struct SpecialAffixes {
    std::vector<int64_t> prefix, suffix;
};

// What the post-processor adds around a single sequence (e.g. BOS for Llama, nothing for GPT-2).
SpecialAffixes specialAffixes(const Tokenizer& tok) {
    SpecialAffixes a;
    auto with = tok.encode("a", true);
    auto without = tok.encode("a", false);
    if (without.empty() || with.size() < without.size()) return a;
    for (size_t k = 0; k + without.size() <= with.size(); ++k) {
        if (std::equal(without.begin(), without.end(), with.begin() + static_cast<std::ptrdiff_t>(k))) {
            a.prefix.assign(with.begin(), with.begin() + static_cast<std::ptrdiff_t>(k));
            a.suffix.assign(with.begin() + static_cast<std::ptrdiff_t>(k + without.size()), with.end());
            break;
        }
    }
    return a;
}

TokenizedSegments tokenizeImpl(const Tokenizer& tok, const std::vector<Segment>& segs, bool trainAll,
                               const SpecialAffixes* affixes) {
    TokenizedSegments out;
    std::string full;
    std::vector<size_t> starts;
    for (const auto& s : segs) {
        starts.push_back(full.size());
        full += s.text;
    }
    std::vector<int64_t> ids = tok.encode(full, false);
    std::vector<char> trained(ids.size(), 0);
    size_t prev = 0;  // first token not yet given a flag
    for (size_t i = 0; i < segs.size(); ++i) {
        size_t end = ids.size();
        if (i + 1 < segs.size()) {
            if (segs[i + 1].trained == segs[i].trained) continue;  // same flag: the boundary does not matter
            auto pre = tok.encode(full.substr(0, starts[i + 1]), false);
            size_t lcp = 0;
            while (lcp < pre.size() && lcp < ids.size() && pre[lcp] == ids[lcp]) ++lcp;
            end = std::max(prev, lcp);
        }
        for (size_t t = prev; t < end; ++t) trained[t] = segs[i].trained ? 1 : 0;
        prev = end;
    }
    bool lastTrained = !segs.empty() && segs.back().trained;
    if (affixes)
        for (auto id : affixes->prefix) {
            out.ids.push_back(id);
            out.labels.push_back(trainAll ? id : kIgnoreIndex);
        }
    for (size_t t = 0; t < ids.size(); ++t) {
        out.ids.push_back(ids[t]);
        out.labels.push_back(trainAll || trained[t] ? ids[t] : kIgnoreIndex);
    }
    if (affixes)
        for (auto id : affixes->suffix) {
            out.ids.push_back(id);
            out.labels.push_back(trainAll || lastTrained ? id : kIgnoreIndex);
        }
    return out;
}

std::string resolvePath(const std::string& p, const std::string& baseDir) {
    if (p.empty() || baseDir.empty() || std::filesystem::path(p).is_absolute()) return p;
    return (std::filesystem::path(baseDir) / p).string();
}

bool isChatTemplate(TemplateKind k) {
    return k == TemplateKind::ChatMl || k == TemplateKind::Llama3 || k == TemplateKind::Llama2 ||
        k == TemplateKind::Zephyr;
}

// A preference answer rendered after its prompt: the whole conversation in the template, with only
// the answer's own trained segments (content and end-of-turn marker) left trained; the prompt,
// including earlier assistant turns of the history, is context.
std::vector<Segment> renderAnswer(TemplateKind k, const std::vector<ChatMessage>& prompt,
                                  const std::vector<ChatMessage>& answer, const TemplateTokens& tt) {
    std::vector<ChatMessage> all = prompt;
    all.insert(all.end(), answer.begin(), answer.end());
    std::vector<Segment> segs = renderChat(k, all, false, tt);
    std::string promptText;
    for (const auto& sg : renderChat(k, prompt, false, tt)) promptText += sg.text;
    std::string full;
    for (const auto& sg : segs) full += sg.text;
    size_t cut = 0;  // characters of `full` that are prompt
    if (full.compare(0, promptText.size(), promptText) == 0) {
        cut = promptText.size();
    } else {
        // A template that renders the prompt differently once an answer follows: the answer is
        // the last run of trained segments.
        size_t last = segs.size();
        while (last > 0 && !segs[last - 1].trained) --last;
        size_t first = last;
        while (first > 0 && segs[first - 1].trained) --first;
        for (size_t i = 0; i < first; ++i) cut += segs[i].text.size();
    }
    std::vector<Segment> out;
    size_t pos = 0;
    for (const auto& sg : segs) {
        const size_t end = pos + sg.text.size();
        if (end <= cut) {
            out.push_back({sg.text, false});
        } else if (pos >= cut) {
            out.push_back(sg);
        } else {
            out.push_back({sg.text.substr(0, cut - pos), false});
            out.push_back({sg.text.substr(cut - pos), sg.trained});
        }
        pos = end;
    }
    return out;
}

// Runs of trained / masked tokens, decoded when a tokenizer is known (the report's example).
std::vector<Segment> tokenRuns(const std::vector<int64_t>& ids, const std::vector<int64_t>& labels,
                               const Tokenizer* tok) {
    std::vector<Segment> out;
    size_t s = 0;
    while (s < ids.size()) {
        bool tr = labels[s] != kIgnoreIndex;
        size_t e = s;
        while (e < ids.size() && (labels[e] != kIgnoreIndex) == tr) ++e;
        std::vector<int64_t> run(ids.begin() + static_cast<std::ptrdiff_t>(s),
                                 ids.begin() + static_cast<std::ptrdiff_t>(e));
        std::string text;
        if (tok) {
            text = tok->decode(run, false);
        } else {
            for (auto id : run) text += (text.empty() ? "" : " ") + std::to_string(id);
            text = "[" + text + "] ";
        }
        out.push_back({text, tr});
        s = e;
    }
    return out;
}

bool countsAfterShift(const std::vector<int64_t>& labels) {
    for (size_t i = 1; i < labels.size(); ++i)
        if (labels[i] != kIgnoreIndex) return true;
    return false;
}

// A row on its way through preparation.
struct Pending {
    PreparedExample ex;
    int64_t fullLength = 0;
    bool truncated = false;
    bool fromValidationFile = false;
    std::optional<int64_t> labelInt;
    std::string labelString;
};

}  // namespace

bool truncatePair(PreparedExample& e, int64_t maxLength) {
    auto promptLen = [](const std::vector<int64_t>& labels) {
        size_t k = 0;
        while (k < labels.size() && labels[k] == kIgnoreIndex) ++k;
        return static_cast<int64_t>(k);
    };
    const int64_t longest = static_cast<int64_t>(std::max(e.inputIds.size(), e.rejectedIds.size()));
    const int64_t excess = longest - maxLength;
    bool cut = false;
    if (excess > 0) {
        // Both sides share the prompt: the same number of leading tokens goes from each.
        const int64_t left =
            std::min(excess, std::max<int64_t>(0, std::min(promptLen(e.labels), promptLen(e.rejectedLabels)) - 1));
        for (auto* v : {&e.inputIds, &e.labels, &e.rejectedIds, &e.rejectedLabels}) {
            v->erase(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(left));
            if (static_cast<int64_t>(v->size()) > maxLength) v->resize(static_cast<size_t>(maxLength));
        }
        cut = true;
    }
    if (!countsAfterShift(e.labels) || !countsAfterShift(e.rejectedLabels)) {
        const char* side = countsAfterShift(e.labels) ? "rejected" : "chosen";
        if (cut)
            throw RowError("over-long: " + std::to_string(longest) +
                           " tokens; after cutting the prompt from the left and the " +
                           "answers from the right to max_length " + std::to_string(maxLength) + " the " + side +
                           " answer is empty");
        throw RowError(std::string("empty response: the ") + side + " answer has no token to train on");
    }
    return cut;
}

TokenizedSegments tokenizeSegments(const Tokenizer& tok, const std::vector<Segment>& segments, bool trainAll,
                                   bool addSpecialTokens) {
    SpecialAffixes a;
    if (addSpecialTokens) a = specialAffixes(tok);
    return tokenizeImpl(tok, segments, trainAll, addSpecialTokens ? &a : nullptr);
}

std::vector<bool> splitMask(size_t n, double ratio, uint64_t seed) {
    std::vector<bool> val(n, false);
    if (n < 2 || ratio <= 0) return val;
    size_t k = static_cast<size_t>(std::llround(static_cast<double>(n) * ratio));
    k = std::min(k, n - 1);
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    std::mt19937_64 rng(seed);
    for (size_t i = n - 1; i > 0; --i) {
        size_t j = static_cast<size_t>(rng() % (i + 1));
        std::swap(idx[i], idx[j]);
    }
    for (size_t i = 0; i < k; ++i) val[idx[i]] = true;
    return val;
}

std::vector<PreparedExample> packExamples(const std::vector<PreparedExample>& examples, int64_t maxLength,
                                          int64_t eosId) {
    std::vector<int64_t> ids, labels;
    for (const auto& e : examples) {
        ids.insert(ids.end(), e.inputIds.begin(), e.inputIds.end());
        labels.insert(labels.end(), e.labels.begin(), e.labels.end());
        if (eosId >= 0 && (e.inputIds.empty() || e.inputIds.back() != eosId)) {
            ids.push_back(eosId);
            labels.push_back(eosId);
        }
    }
    std::vector<PreparedExample> out;
    for (size_t s = 0; s < ids.size(); s += static_cast<size_t>(maxLength)) {
        size_t e = std::min(ids.size(), s + static_cast<size_t>(maxLength));
        PreparedExample b;
        b.inputIds.assign(ids.begin() + static_cast<std::ptrdiff_t>(s), ids.begin() + static_cast<std::ptrdiff_t>(e));
        b.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(s),
                        labels.begin() + static_cast<std::ptrdiff_t>(e));
        out.push_back(std::move(b));
    }
    return out;
}

namespace {

// What every row is prepared with: the dataset's settings, the tokenizer (none: render only), the
// format and template, and the tokens a template adds.
struct RowContext {
    const DatasetConfig& cfg;
    const Tokenizer* tok;
    DataFormat format;
    std::optional<TemplateKind> templateKind;
    TemplateTokens ttok;
    SpecialAffixes affixes;
    int64_t eosId = -1;
    bool needsTemplate = false;
    bool trainAll = false;
};

// One row: parsed, rendered with the template, tokenised and truncated (RowError or PeftError when
// it cannot be used). The first training row also becomes the report's example.
Pending prepareRow(const RowContext& rc, const RawRow& row, bool fromValidationFile, ValidationReport& rep) {
    Example ex = parseExample(applyColumnMapping(row.value, rc.cfg.columnMapping), rc.format, row.line);
    std::vector<Segment> segs, rejectedSegs;
    bool addSpecials = true;
    switch (rc.format) {
        case DataFormat::Text: segs = {{ex.text, true}}; break;
        case DataFormat::Classification: segs = {{ex.text, false}}; break;
        case DataFormat::Instruction:
            if (rc.templateKind)
                segs = renderInstruction(*rc.templateKind, ex.instruction, ex.input, ex.output, rc.ttok);
            addSpecials = !rc.templateKind || !isChatTemplate(*rc.templateKind);
            break;
        case DataFormat::Chat:
            if (rc.templateKind) segs = renderChat(*rc.templateKind, ex.messages, false, rc.ttok);
            addSpecials = !rc.templateKind || !isChatTemplate(*rc.templateKind);
            break;
        case DataFormat::Preference:
            if (rc.templateKind && !ex.preferenceTokens) {
                segs = renderAnswer(*rc.templateKind, ex.prompt, ex.chosen, rc.ttok);
                rejectedSegs = renderAnswer(*rc.templateKind, ex.prompt, ex.rejected, rc.ttok);
            }
            addSpecials = !rc.templateKind || !isChatTemplate(*rc.templateKind);
            break;
        case DataFormat::Tokens: break;
    }
    Pending p;
    p.ex.line = row.line;
    p.fromValidationFile = fromValidationFile;
    p.labelInt = ex.labelInt;
    p.labelString = ex.labelString;
    bool haveIds = false;
    auto checkVocab = [&](const std::vector<int64_t>& ids, const char* field) {
        if (rc.tok)
            for (auto id : ids)
                if (id >= rc.tok->vocabSize())
                    throw RowError(std::string(field) + " holds " + std::to_string(id) + ", outside the vocabulary (" +
                                   std::to_string(rc.tok->vocabSize()) + " tokens)");
    };
    if (rc.format == DataFormat::Preference) {
        if (ex.preferenceTokens) {
            checkVocab(ex.promptIds, "prompt_ids");
            checkVocab(ex.chosenIds, "chosen_ids");
            checkVocab(ex.rejectedIds, "rejected_ids");
            auto join = [&](const std::vector<int64_t>& answer, std::vector<int64_t>& ids,
                            std::vector<int64_t>& labels) {
                ids = ex.promptIds;
                ids.insert(ids.end(), answer.begin(), answer.end());
                labels.assign(ex.promptIds.size(), kIgnoreIndex);
                labels.insert(labels.end(), answer.begin(), answer.end());
            };
            join(ex.chosenIds, p.ex.inputIds, p.ex.labels);
            join(ex.rejectedIds, p.ex.rejectedIds, p.ex.rejectedLabels);
            haveIds = true;
        } else if (rc.tok && rc.templateKind) {
            // Only answer tokens count, whatever train_on says: the pair is compared on them.
            auto c = tokenizeImpl(*rc.tok, segs, false, addSpecials ? &rc.affixes : nullptr);
            auto r = tokenizeImpl(*rc.tok, rejectedSegs, false, addSpecials ? &rc.affixes : nullptr);
            p.ex.inputIds = std::move(c.ids);
            p.ex.labels = std::move(c.labels);
            p.ex.rejectedIds = std::move(r.ids);
            p.ex.rejectedLabels = std::move(r.labels);
            haveIds = true;
        }
        if (haveIds) {
            p.fullLength = static_cast<int64_t>(std::max(p.ex.inputIds.size(), p.ex.rejectedIds.size()));
            p.truncated = truncatePair(p.ex, rc.cfg.maxLength);
        }
    } else if (rc.format == DataFormat::Tokens) {
        checkVocab(ex.inputIds, "input_ids");
        p.ex.inputIds = ex.inputIds;
        p.ex.labels = ex.labels.empty() ? ex.inputIds : ex.labels;
        haveIds = true;
    } else if (rc.tok && (!rc.needsTemplate || rc.templateKind)) {
        auto t = tokenizeImpl(*rc.tok, segs, rc.trainAll || rc.format == DataFormat::Text,
                              addSpecials ? &rc.affixes : nullptr);
        if (rc.format == DataFormat::Text && rc.eosId >= 0 && (t.ids.empty() || t.ids.back() != rc.eosId)) {
            t.ids.push_back(rc.eosId);
            t.labels.push_back(rc.eosId);
        }
        p.ex.inputIds = std::move(t.ids);
        if (rc.format != DataFormat::Classification) p.ex.labels = std::move(t.labels);
        haveIds = true;
    }
    if (haveIds && rc.format != DataFormat::Preference) {
        if (p.ex.inputIds.empty()) throw RowError("the row tokenises to no tokens");
        p.fullLength = static_cast<int64_t>(p.ex.inputIds.size());
        if (!rc.cfg.packing && p.fullLength > rc.cfg.maxLength) {
            p.truncated = true;
            p.ex.inputIds.resize(static_cast<size_t>(rc.cfg.maxLength));
            if (!p.ex.labels.empty()) p.ex.labels.resize(static_cast<size_t>(rc.cfg.maxLength));
            if (rc.format != DataFormat::Classification &&
                std::all_of(p.ex.labels.begin(), p.ex.labels.end(), [](int64_t v) { return v == kIgnoreIndex; }))
                throw RowError("over-long: " + std::to_string(p.fullLength) + " tokens, and truncation to max_length " +
                               std::to_string(rc.cfg.maxLength) + " leaves no response token to train on");
        }
    }
    if (rep.example.empty() && !p.fromValidationFile) {
        rep.exampleLine = row.line;
        if (rc.format == DataFormat::Tokens) {
            rep.example = tokenRuns(p.ex.inputIds, p.ex.labels, rc.tok);
        } else if (rc.format == DataFormat::Preference) {
            rep.example = ex.preferenceTokens ? tokenRuns(p.ex.inputIds, p.ex.labels, rc.tok) : segs;
            rep.exampleRejected =
                ex.preferenceTokens ? tokenRuns(p.ex.rejectedIds, p.ex.rejectedLabels, rc.tok) : rejectedSegs;
        } else if (rc.trainAll && rc.format != DataFormat::Classification) {
            for (auto sg : segs) rep.example.push_back({sg.text, true});
        } else {
            rep.example = segs;
        }
    }
    return p;
}

}  // namespace

PreparedDataset prepareDataset(const DatasetConfig& cfg, const Tokenizer* tok, const PrepareOptions& opts) {
    PreparedDataset pd;
    ValidationReport& rep = pd.report;
    const ErrorPolicy policy =
        opts.policy ? *opts.policy : (cfg.onError == "stop" ? ErrorPolicy::Stop : ErrorPolicy::Skip);
    if (cfg.path.empty())
        fail("dataset.path", "no dataset file given", "Choose a .jsonl, .json, .csv, .tsv or .txt file.");

    auto checkCancel = [&] {
        if (opts.cancelled && opts.cancelled()) throw Cancelled();
    };
    std::vector<RawDataset> files;
    files.push_back(readDatasetFile(resolvePath(cfg.path, opts.baseDir), policy));
    checkCancel();
    if (cfg.validationPath) {
        files.push_back(readDatasetFile(resolvePath(*cfg.validationPath, opts.baseDir), policy));
        checkCancel();
    }
    const RawDataset& main = files[0];

    rep.file = main.path;
    rep.validationFile = files.size() > 1 ? files[1].path : std::string();
    rep.fileType = fileTypeName(main.type);
    rep.maxLength = cfg.maxLength;
    rep.packing = cfg.packing;
    rep.trainOn = cfg.trainOn;
    for (const auto& f : files) {
        rep.rowsRead += f.rowsRead;
        rep.rejections.insert(rep.rejections.end(), f.rejections.begin(), f.rejections.end());
    }

    // Format.
    if (cfg.format == "auto") {
        pd.format = detectFormat(main, cfg.columnMapping);
        rep.formatDetected = true;
    } else if (auto f = formatFromName(cfg.format)) {
        pd.format = *f;
    } else {
        fail("dataset.format", "unknown format '" + cfg.format + "'",
             "Use auto, text, instruction, chat, classification or tokens.");
    }
    rep.format = formatName(pd.format);
    if (cfg.packing && pd.format == DataFormat::Classification)
        fail("dataset.packing", "packing does not apply to classification rows", "Set packing to false.");
    if (cfg.packing && pd.format == DataFormat::Preference)
        fail("dataset.packing", "packing does not apply to preference pairs (each pair is compared as a whole)",
             "Set packing to false.");

    // Template. Pre-tokenised preference pairs need none.
    TemplateTokens ttok;
    bool textPairs = false;
    if (pd.format == DataFormat::Preference)
        for (size_t i = 0; i < main.rows.size() && i < 100 && !textPairs; ++i)
            textPairs = applyColumnMapping(main.rows[i].value, cfg.columnMapping).contains("chosen");
    const bool needsTemplate = pd.format == DataFormat::Instruction || pd.format == DataFormat::Chat || textPairs;
    if (needsTemplate) {
        std::string ct = tok ? tok->chatTemplate() : std::string();
        if (cfg.templateName != "auto") {
            pd.templateKind = resolveTemplate(cfg.templateName, ct);
        } else if (tok) {
            pd.templateKind = resolveTemplate("auto", ct);  // throws: the user must choose
            rep.templateDetected = true;
        } else {
            rep.warnings.push_back(
                "template 'auto' needs the model's tokenizer (its chat_template); give a tokenizer or choose one of "
                "chatml, llama3, llama2, zephyr, alpaca, plain to see the rendered example");
        }
        if (pd.templateKind) {
            rep.templateName = templateName(*pd.templateKind);
            ttok = defaultTemplateTokens(*pd.templateKind);
            if (tok) {
                if (auto b = tok->bosId()) ttok.bos = tok->idToToken(*b);
                if (auto e = tok->eosId()) ttok.eos = tok->idToToken(*e);
            }
        }
    }
    if (tok) {
        if (auto e = tok->eosId()) pd.eosId = *e;
        pd.padId = tok->padId() ? *tok->padId() : (pd.eosId >= 0 ? pd.eosId : 0);
        rep.tokenized = true;
    }
    const bool canTokenize = tok != nullptr;
    RowContext rows{cfg,
                    tok,
                    pd.format,
                    pd.templateKind,
                    ttok,
                    tok ? specialAffixes(*tok) : SpecialAffixes{},
                    pd.eosId,
                    needsTemplate,
                    cfg.trainOn == "all"};

    std::vector<Pending> pending;
    auto reject = [&](const std::string& file, int64_t line, const std::string& reason) {
        if (policy == ErrorPolicy::Stop)
            fail(file + ":" + std::to_string(line), reason, "Fix or remove that row, or choose to skip bad rows.");
        rep.rejections.push_back({file, line, reason});
    };

    uint64_t rowsSeen = 0;
    for (size_t fi = 0; fi < files.size(); ++fi) {
        const RawDataset& ds = files[fi];
        for (const auto& row : ds.rows) {
            if ((++rowsSeen & 255) == 0) checkCancel();
            try {
                pending.push_back(prepareRow(rows, row, fi == 1, rep));
            } catch (const RowError& e) {
                reject(ds.path, row.line, e.what());
            } catch (const PeftError& e) {
                reject(ds.path, row.line, e.what());
            }
        }
    }

    // Classification label map: integer labels are their own ids; any string label makes every
    // label a name, sorted, numbered from 0.
    if (pd.format == DataFormat::Classification) {
        bool anyString = std::any_of(pending.begin(), pending.end(), [](const Pending& p) { return !p.labelInt; });
        if (anyString) {
            std::set<std::string> names;
            for (auto& p : pending) names.insert(p.labelInt ? std::to_string(*p.labelInt) : p.labelString);
            pd.labelNames.assign(names.begin(), names.end());
            for (auto& p : pending) {
                std::string n = p.labelInt ? std::to_string(*p.labelInt) : p.labelString;
                p.ex.classLabel =
                    std::lower_bound(pd.labelNames.begin(), pd.labelNames.end(), n) - pd.labelNames.begin();
            }
        } else {
            int64_t mx = -1;
            for (auto& p : pending) {
                p.ex.classLabel = *p.labelInt;
                mx = std::max(mx, *p.labelInt);
            }
            for (int64_t i = 0; i <= mx; ++i) pd.labelNames.push_back(std::to_string(i));
        }
        rep.labelNames = pd.labelNames;
    }

    std::sort(rep.rejections.begin(), rep.rejections.end(), [&](const Rejection& a, const Rejection& b) {
        if (a.file != b.file) return a.file == main.path;  // the training file first
        return a.line < b.line;
    });
    rep.rowsRejected = static_cast<int64_t>(rep.rejections.size());
    rep.rowsAccepted = static_cast<int64_t>(pending.size());

    // Token statistics over accepted rows (lengths before truncation).
    bool haveTokens = !pending.empty() &&
        (canTokenize || pd.format == DataFormat::Tokens || (pd.format == DataFormat::Preference && !textPairs)) &&
        (!needsTemplate || pd.templateKind);
    if (haveTokens) {
        rep.tokenized = true;
        std::vector<int64_t> lengths;
        double sum = 0;
        for (const auto& p : pending) {
            lengths.push_back(p.fullLength);
            sum += static_cast<double>(p.fullLength);
            if (p.fullLength > cfg.maxLength) ++rep.truncatedRows;
        }
        rep.minTokens = *std::min_element(lengths.begin(), lengths.end());
        rep.maxTokens = *std::max_element(lengths.begin(), lengths.end());
        rep.meanTokens = sum / static_cast<double>(lengths.size());
        rep.histogram = makeHistogram(lengths);
    } else {
        rep.tokenized = false;
    }

    // Split.
    std::vector<PreparedExample> train, val;
    if (files.size() > 1) {
        for (auto& p : pending) (p.fromValidationFile ? val : train).push_back(std::move(p.ex));
    } else {
        auto mask = splitMask(pending.size(), cfg.validationSplit, opts.seed);
        for (size_t i = 0; i < pending.size(); ++i) (mask[i] ? val : train).push_back(std::move(pending[i].ex));
    }
    if (files.size() == 1 && cfg.validationSplit > 0 && val.empty() && !pending.empty())
        rep.warnings.push_back("validation_split " + std::to_string(cfg.validationSplit) + " of " +
                               std::to_string(pending.size()) +
                               " rows rounds to no validation row: eval loss will not be available");
    if (cfg.packing && haveTokens) {
        train = packExamples(train, cfg.maxLength, pd.eosId);
        val = packExamples(val, cfg.maxLength, pd.eosId);
    }
    rep.trainExamples = static_cast<int64_t>(train.size());
    rep.validationExamples = static_cast<int64_t>(val.size());
    for (const auto& e : train) {
        for (auto l : e.labels) rep.trainedTokens += l != kIgnoreIndex ? 1 : 0;
        for (auto l : e.rejectedLabels) rep.trainedTokens += l != kIgnoreIndex ? 1 : 0;
    }
    if (haveTokens) {
        pd.train = std::move(train);
        pd.validation = std::move(val);
    }
    if (rep.rowsRejected > 0)
        spdlog::warn("{}: {} of {} rows rejected (first: line {}: {})", main.path, rep.rowsRejected, rep.rowsRead,
                     rep.rejections[0].line, rep.rejections[0].reason);
    if (tok && pd.train.empty()) {
        std::string first = rep.rejections.empty() ? std::string()
                                                   : " First rejection: " + rep.rejections[0].file + ":" +
                std::to_string(rep.rejections[0].line) + ": " + rep.rejections[0].reason + ".";
        fail(main.path,
             "no usable training rows (" + std::to_string(rep.rowsRead) + " read, " + std::to_string(rep.rowsRejected) +
                 " rejected)." + first,
             "Fix the rows, the format or the column mapping.");
    }
    return pd;
}

}  // namespace peft::data
