// Evaluation sets: dataset rows -> (prompt, reference) or (context, choices, answer).
#include "core/eval/eval_dataset.h"

#include <filesystem>
#include <set>

#include "core/data/dataset_format.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/run_config.h"
#include "core/util/error.h"

namespace peft::eval {

namespace {
// The template and the special-token strings, as prepareDataset picks them.
data::TemplateTokens templateTokens(data::TemplateKind k, const Tokenizer* tok) {
    data::TemplateTokens t = data::defaultTemplateTokens(k);
    if (tok) {
        if (auto b = tok->bosId()) t.bos = tok->idToToken(*b);
        if (auto e = tok->eosId()) t.eos = tok->idToToken(*e);
    }
    return t;
}

std::string untrainedPrefix(const std::vector<data::Segment>& segs) {
    std::string out;
    for (const auto& s : segs) {
        if (s.trained) break;
        out += s.text;
    }
    return out;
}

// One row -> item; throws data::RowError with the reason.
EvalItem generationItem(const data::Example& ex, std::optional<data::TemplateKind> k, const data::TemplateTokens& tt) {
    EvalItem it;
    it.line = ex.line;
    switch (ex.format) {
        case data::DataFormat::Instruction:
            it.prompt = k ? untrainedPrefix(data::renderInstruction(*k, ex.instruction, ex.input, "", tt))
                          : ex.instruction + (ex.input.empty() ? "" : "\n\n" + ex.input);
            it.references = {ex.output};
            break;
        case data::DataFormat::Chat: {
            size_t last = ex.messages.size();
            while (last > 0 && ex.messages[last - 1].role != "assistant") --last;
            if (last == 0) throw data::RowError("the conversation has no assistant message to compare an answer with");
            std::vector<data::ChatMessage> before(ex.messages.begin(),
                                                  ex.messages.begin() + static_cast<std::ptrdiff_t>(last - 1));
            if (before.empty()) throw data::RowError("the conversation starts with the assistant: there is no prompt");
            if (k) {
                for (const auto& s : data::renderChat(*k, before, true, tt)) it.prompt += s.text;
            } else {
                for (const auto& m : before) it.prompt += m.content + "\n";
            }
            it.references = {ex.messages[last - 1].content};
            break;
        }
        case data::DataFormat::Classification:
            it.prompt = ex.text;
            it.references = {ex.labelInt ? std::to_string(*ex.labelInt) : ex.labelString};
            break;
        default: throw data::RowError("this row has no reference answer");
    }
    return it;
}

void refuseFormat(const std::string& file, data::DataFormat f) {
    if (f == data::DataFormat::Text || f == data::DataFormat::Tokens)
        fail(file, data::formatName(f) + " rows have no reference answer to score a generation against",
             "Evaluate on instruction (instruction/output), chat (messages) or classification (text/label) rows, "
             "or on multiple-choice rows with --choices.");
}

// `path` gave no usable row: "no <what> (N read; first problem: line L: ...)" and the fix.
[[noreturn]] void noUsableRow(const std::string& path, const std::string& what, int64_t read,
                              const std::vector<data::Rejection>& rejections, const std::string& fix) {
    std::string detail = std::to_string(read) + " read";
    if (!rejections.empty())
        detail += "; first problem: line " + std::to_string(rejections[0].line) + ": " + rejections[0].reason;
    fail(path, "no " + what + " (" + detail + ")", fix);
}
}  // namespace

std::string templateEndToken(data::TemplateKind k, const data::TemplateTokens& t) {
    switch (k) {
        case data::TemplateKind::ChatMl: return "<|im_end|>";
        case data::TemplateKind::Llama3: return "<|eot_id|>";
        default: return t.eos;
    }
}

data::TemplateTokens tokenizerTemplateTokens(data::TemplateKind k, const Tokenizer* tok) {
    return templateTokens(k, tok);
}

EvalSet loadGenerationSet(const std::string& path, const EvalDataOptions& opts, const Tokenizer* tok) {
    EvalSet set;
    data::RawDataset raw = data::readDatasetFile(path, data::ErrorPolicy::Skip);
    set.file = raw.path;
    set.rejections = raw.rejections;
    data::DataFormat f;
    if (opts.format == "auto") {
        f = data::detectFormat(raw, opts.columnMapping);
    } else if (auto g = data::formatFromName(opts.format)) {
        f = *g;
    } else {
        fail("--format", "unknown format '" + opts.format + "'", "Use auto, instruction, chat or classification.");
    }
    refuseFormat(path, f);
    set.format = data::formatName(f);
    data::TemplateTokens tt;
    if (f == data::DataFormat::Instruction || f == data::DataFormat::Chat) {
        set.templateKind = data::resolveTemplate(opts.templateName, tok ? tok->chatTemplate() : std::string());
        tt = templateTokens(*set.templateKind, tok);
    }
    for (const auto& row : raw.rows) {
        if (opts.limit >= 0 && static_cast<int64_t>(set.items.size()) >= opts.limit) break;
        try {
            data::Example ex = data::parseExample(data::applyColumnMapping(row.value, opts.columnMapping), f, row.line);
            set.items.push_back(generationItem(ex, set.templateKind, tt));
        } catch (const std::exception& e) {
            set.rejections.push_back({raw.path, row.line, e.what()});
        }
    }
    if (set.items.empty())
        noUsableRow(path, "row to evaluate", raw.rowsRead, set.rejections,
                    "Fix the rows or choose the right format and column mapping.");
    return set;
}

EvalSet runValidationSet(const RunConfig& run, const Tokenizer& tok, int64_t limit) {
    data::DatasetConfig dc = data::DatasetConfig::fromJson(run.dataset, "run.json: dataset");
    dc.packing = false;  // packing does not move the split, and keeps each row's line
    data::PrepareOptions po;
    po.seed = run.training.seed;
    data::PreparedDataset pd = data::prepareDataset(dc, &tok, po);
    if (pd.validation.empty())
        fail("run.json: dataset",
             "the run has no validation rows (validation_split " + std::to_string(dc.validationSplit) +
                 (dc.validationPath ? ", validation_path given" : "") + ")",
             "Set dataset.validation_split above 0 or give a validation_path, or evaluate on a file with --dataset.");
    std::set<int64_t> lines;
    for (const auto& e : pd.validation) lines.insert(e.line);
    EvalDataOptions o;
    o.format = data::formatName(pd.format);
    o.templateName = pd.templateKind ? data::templateName(*pd.templateKind) : dc.templateName;
    o.columnMapping = dc.columnMapping;
    const std::string file = dc.validationPath ? *dc.validationPath : dc.path;
    refuseFormat(file, pd.format);
    EvalSet all = loadGenerationSet(file, o, &tok);
    EvalSet set = all;
    set.items.clear();
    for (auto& it : all.items) {
        if (!lines.count(it.line)) continue;
        if (limit >= 0 && static_cast<int64_t>(set.items.size()) >= limit) break;
        set.items.push_back(std::move(it));
    }
    return set;
}

EvalSet loadChoiceSet(const std::string& path, int64_t fewshot, int64_t limit) {
    EvalSet set;
    set.format = "choices";
    data::RawDataset raw = data::readDatasetFile(path, data::ErrorPolicy::Skip);
    set.file = raw.path;
    set.rejections = raw.rejections;
    std::vector<EvalItem> all;
    for (const auto& row : raw.rows) {
        const auto& v = row.value;
        try {
            EvalItem it;
            it.line = row.line;
            const char* ctxKey = v.contains("question") ? "question" : v.contains("context") ? "context" : nullptr;
            if (!ctxKey || !v[ctxKey].is_string()) throw data::RowError("needs a \"question\" or \"context\" string");
            it.prompt = v[ctxKey].get<std::string>();
            if (!v.contains("choices") || !v["choices"].is_array() || v["choices"].size() < 2)
                throw data::RowError("needs \"choices\": a list of at least two strings");
            for (const auto& c : v["choices"]) {
                if (!c.is_string()) throw data::RowError("every entry of \"choices\" must be a string");
                it.choices.push_back(c.get<std::string>());
                // acc_norm divides by the choice's length: an empty choice has none.
                if (it.choices.back().empty()) throw data::RowError("a choice is an empty string");
            }
            if (!v.contains("answer")) throw data::RowError("needs \"answer\": the index of the correct choice");
            const auto& a = v["answer"];
            if (a.is_number_integer()) {
                it.answer = a.get<int64_t>();
            } else if (a.is_string()) {
                // lm-evaluation-harness: a string target is looked up among the choices.
                auto pos = std::find(it.choices.begin(), it.choices.end(), a.get<std::string>());
                it.answer = pos == it.choices.end() ? -1 : pos - it.choices.begin();
            }
            if (it.answer < 0 || it.answer >= static_cast<int64_t>(it.choices.size()))
                throw data::RowError("\"answer\" must be an index 0.." + std::to_string(it.choices.size() - 1) +
                                     " or the text of one of the choices");
            all.push_back(std::move(it));
        } catch (const data::RowError& e) {
            set.rejections.push_back({raw.path, row.line, e.what()});
        }
    }
    if (all.empty())
        noUsableRow(path, "multiple-choice row", raw.rowsRead, set.rejections,
                    "Each row needs {\"question\" or \"context\", \"choices\": [...], \"answer\": index}.");
    if (fewshot < 0 || fewshot >= static_cast<int64_t>(all.size()))
        fail("--fewshot",
             std::to_string(fewshot) + " few-shot examples leave no question of " + std::to_string(all.size()) +
                 " to score",
             "Use fewer few-shot examples than rows.");
    // lm-evaluation-harness: labeled examples "context + target_delimiter + target" joined by the
    // fewshot delimiter "\n\n", then "\n\n" before the question.
    std::string prefix;
    for (int64_t i = 0; i < fewshot; ++i) {
        const auto& e = all[static_cast<size_t>(i)];
        prefix += (i ? "\n\n" : "") + e.prompt + " " + e.choices[static_cast<size_t>(e.answer)];
    }
    if (!prefix.empty()) prefix += "\n\n";
    for (size_t i = static_cast<size_t>(fewshot); i < all.size(); ++i) {
        if (limit >= 0 && static_cast<int64_t>(set.items.size()) >= limit) break;
        all[i].prompt = prefix + all[i].prompt;
        set.items.push_back(std::move(all[i]));
    }
    return set;
}

}  // namespace peft::eval
