// ValidationReport serialisation (JSON for the GUI, text for the CLI) and the length histogram.
#include "core/data/validation_report.h"

#include <algorithm>
#include <sstream>

namespace peft::data {

using nlohmann::json;

std::vector<HistogramBin> makeHistogram(const std::vector<int64_t>& lengths, int maxBins) {
    std::vector<HistogramBin> bins;
    if (lengths.empty()) return bins;
    int64_t mn = *std::min_element(lengths.begin(), lengths.end());
    int64_t mx = *std::max_element(lengths.begin(), lengths.end());
    int64_t width = 1;
    for (int64_t scale = 1;; scale *= 10) {
        bool found = false;
        for (int64_t m : {1, 2, 5}) {
            int64_t w = m * scale;
            if (mx / w - mn / w + 1 <= maxBins) {
                width = w;
                found = true;
                break;
            }
        }
        if (found) break;
    }
    int64_t first = mn / width, n = mx / width - first + 1;
    for (int64_t i = 0; i < n; ++i) bins.push_back({(first + i) * width, (first + i + 1) * width, 0});
    for (auto l : lengths) ++bins[static_cast<size_t>(l / width - first)].count;
    return bins;
}

json ValidationReport::toJson() const {
    auto nullIfEmpty = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    auto segments = [](const std::vector<Segment>& segs) {
        json a = json::array();
        for (const auto& s : segs) a.push_back({{"text", s.text}, {"trained", s.trained}});
        return a;
    };
    json rejected = json::array(), bins = json::array();
    for (const auto& r : rejections) rejected.push_back({{"file", r.file}, {"line", r.line}, {"reason", r.reason}});
    for (const auto& b : histogram) bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}});
    json j = {{"file", file},
              {"validation_file", nullIfEmpty(validationFile)},
              {"file_type", fileType},
              {"format", format},
              {"format_detected", formatDetected},
              {"template", nullIfEmpty(templateName)},
              {"template_detected", templateDetected},
              {"train_on", trainOn},
              {"rows_read", rowsRead},
              {"rows_accepted", rowsAccepted},
              {"rows_rejected", rowsRejected},
              {"rejections", rejected},
              {"tokenized", tokenized},
              {"max_length", maxLength},
              {"histogram", bins},
              {"min_tokens", minTokens},
              {"max_tokens", maxTokens},
              {"mean_tokens", meanTokens},
              {"truncated_rows", truncatedRows},
              {"trained_tokens", trainedTokens},
              {"packing", packing},
              {"train_examples", trainExamples},
              {"validation_examples", validationExamples},
              {"example_line", exampleLine},
              {"example", segments(example)},
              {"label_names", labelNames},
              {"warnings", warnings}};
    if (!exampleRejected.empty()) j["example_rejected"] = segments(exampleRejected);
    return j;
}

std::string ValidationReport::toText(size_t maxRejections) const {
    std::ostringstream o;
    o << "file: " << file << " (" << fileType << ")\n";
    if (!validationFile.empty()) o << "validation file: " << validationFile << "\n";
    o << "format: " << format << (formatDetected ? " (detected)" : "") << "\n";
    if (!templateName.empty())
        o << "template: " << templateName << (templateDetected ? " (from the tokenizer's chat_template)" : "") << "\n";
    o << "train on: " << trainOn << "\n";
    o << "rows: " << rowsRead << " read, " << rowsAccepted << " accepted, " << rowsRejected << " rejected\n";
    for (size_t i = 0; i < rejections.size() && i < maxRejections; ++i)
        o << "  " << rejections[i].file << ":" << rejections[i].line << ": " << rejections[i].reason << "\n";
    if (rejections.size() > maxRejections) o << "  ... and " << rejections.size() - maxRejections << " more\n";
    if (tokenized) {
        o << "tokens per row: min " << minTokens << ", mean " << static_cast<int64_t>(meanTokens + 0.5) << ", max "
          << maxTokens << " (max_length " << maxLength << ", " << truncatedRows << " rows "
          << (packing ? "split over packed blocks" : "truncated") << ")\n";
        int64_t peak = 1;
        for (const auto& b : histogram) peak = std::max(peak, b.count);
        for (const auto& b : histogram) {
            std::ostringstream range;
            range << "[" << b.lo << ", " << b.hi << ")";
            std::string r = range.str();
            if (r.size() < 16) r.resize(16, ' ');
            o << "  " << r << std::string(static_cast<size_t>((b.count * 40 + peak - 1) / peak), '#') << " " << b.count
              << "\n";
        }
        o << "examples: " << trainExamples << " train, " << validationExamples << " validation"
          << (packing ? " (packed blocks)" : "") << "; " << trainedTokens << " trained tokens\n";
    }
    if (!labelNames.empty()) {
        o << "labels:";
        for (size_t i = 0; i < labelNames.size(); ++i) o << " " << i << "=" << labelNames[i];
        o << "\n";
    }
    if (!example.empty()) {
        o << "example (line " << exampleLine << "; the masked part is in [[masked: ...]])"
          << (exampleRejected.empty() ? "" : ", chosen") << ":\n";
        for (const auto& s : example) o << (s.trained ? s.text : "[[masked: " + s.text + "]]");
        o << "\n";
    }
    if (!exampleRejected.empty()) {
        o << "example (line " << exampleLine << "), rejected:\n";
        for (const auto& s : exampleRejected) o << (s.trained ? s.text : "[[masked: " + s.text + "]]");
        o << "\n";
    }
    for (const auto& w : warnings) o << "warning: " << w << "\n";
    return o.str();
}

}  // namespace peft::data
