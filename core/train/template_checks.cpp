// Preflight template/EOS checks: render and tokenise training rows as preparation does and look at
// the last trained token of every response.
#include "core/train/template_checks.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/data/chat_template.h"
#include "core/data/dataset_format.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/run_config.h"

namespace peft {

namespace {
const char* kNames = "chatml, llama3, llama2, zephyr, alpaca or plain";

bool isChatKind(data::TemplateKind k) { return k != data::TemplateKind::Alpaca && k != data::TemplateKind::Plain; }

std::string endToken(data::TemplateKind k, const data::TemplateTokens& t) {
    if (k == data::TemplateKind::ChatMl) return "<|im_end|>";
    if (k == data::TemplateKind::Llama3) return "<|eot_id|>";
    return t.eos;
}

std::vector<int64_t> eosFrom(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return {};
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object() || !j.contains("eos_token_id")) return {};
    const auto& e = j["eos_token_id"];
    if (e.is_number_integer()) return {e.get<int64_t>()};
    std::vector<int64_t> out;
    if (e.is_array())
        for (const auto& x : e)
            if (x.is_number_integer()) out.push_back(x.get<int64_t>());
    return out;
}

std::string idList(const Tokenizer& tok, const std::vector<int64_t>& ids) {
    std::string s;
    for (auto id : ids) s += (s.empty() ? "" : ", ") + tok.idToToken(id) + " (" + std::to_string(id) + ")";
    return s.empty() ? "none" : s;
}
}  // namespace

std::vector<int64_t> generationEosIds(const std::string& modelDir) {
    auto ids = eosFrom(std::filesystem::path(modelDir) / "generation_config.json");
    if (ids.empty()) ids = eosFrom(std::filesystem::path(modelDir) / "config.json");
    return ids;
}

std::vector<std::string> templateWarnings(const data::DatasetConfig& dc, const Tokenizer& tok,
                                          const std::vector<int64_t>& eosIds, size_t maxRows) {
    std::vector<std::string> out;
    data::RawDataset raw;
    data::DataFormat format;
    try {
        raw = data::readDatasetFile(dc.path, data::ErrorPolicy::Skip);
        if (dc.format == "auto") format = data::detectFormat(raw, dc.columnMapping);
        else if (auto f = data::formatFromName(dc.format)) format = *f;
        else return out;
    } catch (const std::exception&) {
        return out;  // the preparation reports a bad file
    }
    if (format != data::DataFormat::Chat && format != data::DataFormat::Instruction) return out;

    const std::string chatTemplate = tok.chatTemplate();
    const std::optional<data::TemplateKind> modelKind = data::recogniseChatTemplate(chatTemplate);
    std::optional<data::TemplateKind> kind = data::templateFromName(dc.templateName);
    if (!kind) {
        if (dc.templateName != "auto") return out;  // an unknown name: preparation says so
        if (chatTemplate.empty()) {
            out.push_back("the model has no chat template (tokenizer_config.json has no chat_template) and this " +
                          data::formatName(format) +
                          " dataset has template \"auto\": there is no format to render its turns in. "
                          "Choose a template: set dataset.template to one of " +
                          kNames + " (Dataset page: Template), and prompt the tuned model with the same template.");
            return out;
        }
        if (!modelKind) return out;  // preparation explains that auto cannot use an unknown template
        kind = modelKind;
    } else if (!chatTemplate.empty() && modelKind != kind) {
        out.push_back("the run renders its rows with the " + data::templateName(*kind) +
                      " template but the model's tokenizer_config.json chat_template is " +
                      (modelKind ? "the " + data::templateName(*modelKind) + " template"
                                 : std::string("one PEFT Studio does not recognise")) +
                      ": tools that prompt with the model's own template (transformers' apply_chat_template, "
                      "Ollama, llama.cpp) will format conversations differently from training. Set dataset.template to "
                      "\"auto\"" +
                      (modelKind ? " (or " + data::templateName(*modelKind) + ")" : std::string()) +
                      ", or make sure the exported model uses " + data::templateName(*kind) + ".");
    }

    // The ids a response may end with.
    data::TemplateTokens tt = data::defaultTemplateTokens(*kind);
    if (auto b = tok.bosId()) tt.bos = tok.idToToken(*b);
    if (auto e = tok.eosId()) tt.eos = tok.idToToken(*e);
    const std::string end = endToken(*kind, tt);
    const std::optional<int64_t> endId = tok.tokenToId(end);
    std::vector<int64_t> stops = eosIds;
    if (endId) stops.push_back(*endId);

    size_t checked = 0, bad = 0, cut = 0, endNotEos = 0;
    int64_t firstBadLine = 0, firstCutLine = 0;
    int64_t badLast = -1;
    for (const auto& row : raw.rows) {
        if (checked >= maxRows) break;
        std::vector<data::Segment> segs;
        try {
            data::Example ex =
                data::parseExample(data::applyColumnMapping(row.value, dc.columnMapping), format, row.line);
            segs = format == data::DataFormat::Chat
                ? data::renderChat(*kind, ex.messages, false, tt)
                : data::renderInstruction(*kind, ex.instruction, ex.input, ex.output, tt);
        } catch (const std::exception&) {
            continue;  // a bad row: preparation rejects and reports it
        }
        ++checked;
        data::TokenizedSegments t = data::tokenizeSegments(tok, segs, false, !isChatKind(*kind));
        const bool truncated = static_cast<int64_t>(t.ids.size()) > dc.maxLength && !dc.packing;
        if (truncated) {
            t.ids.resize(static_cast<size_t>(dc.maxLength));
            t.labels.resize(static_cast<size_t>(dc.maxLength));
        }
        // The last token of every run of trained labels (one run per response).
        for (size_t i = 0; i < t.labels.size(); ++i) {
            if (t.labels[i] == data::kIgnoreIndex) continue;
            if (i + 1 < t.labels.size() && t.labels[i + 1] != data::kIgnoreIndex) continue;
            const int64_t last = t.ids[i];
            if (std::find(stops.begin(), stops.end(), last) != stops.end()) {
                if (std::find(eosIds.begin(), eosIds.end(), last) == eosIds.end()) ++endNotEos;
                continue;
            }
            if (truncated && i + 1 == t.labels.size()) {
                if (!cut++) firstCutLine = row.line;
            } else if (!bad++) {
                firstBadLine = row.line;
                badLast = last;
            }
        }
    }
    const std::string where = dc.path;
    if (bad > 0)
        out.push_back(
            std::to_string(bad) + " training responses (first at " + where + ":" + std::to_string(firstBadLine) +
            ") do not end with a token that generation stops on: they end with " + idList(tok, {badLast}) +
            ", while generation stops on " + idList(tok, stops) + ". The " + data::templateName(*kind) +
            " template ends each answer with \"" + end + "\"" +
            (endId ? std::string() : ", which is not a single token of this tokenizer") +
            ", so the tuned model will not learn to stop. Choose the template the model was made for (" +
            (modelKind ? data::templateName(*modelKind) : std::string("one whose end token the tokenizer has")) +
            "), or a model whose tokenizer has \"" + end + "\" as a special token.");
    if (cut > 0)
        out.push_back(std::to_string(cut) + " training responses (first at " + where + ":" +
                      std::to_string(firstCutLine) + ") are cut by max_length " + std::to_string(dc.maxLength) +
                      " before their end token, so they teach the model to run on. Raise dataset.max_length or shorten "
                      "those rows.");
    if (endNotEos > 0 && bad == 0 && endId)
        out.push_back("training responses end with " + idList(tok, {*endId}) +
                      ", which generation_config.json's eos_token_id (" + idList(tok, eosIds) +
                      ") does not contain: PEFT Studio and chat front-ends stop there, transformers' "
                      "generate does not. Add " +
                      std::to_string(*endId) + " to eos_token_id in the model's generation_config.json.");
    return out;
}

std::vector<std::string> templateWarnings(const RunConfig& cfg) {
    try {
        data::DatasetConfig dc = data::DatasetConfig::fromJson(cfg.dataset, "dataset");
        auto tok = Tokenizer::load(cfg.model);
        return templateWarnings(dc, *tok, generationEosIds(cfg.model));
    } catch (const std::exception& e) {
        spdlog::debug("preflight: no template check ({})", e.what());
        return {};
    }
}

}  // namespace peft
