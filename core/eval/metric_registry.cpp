// The metric registry: one line per metric file. Adding a metric is adding its file and a line here.
#include <algorithm>

#include "core/eval/text_metric.h"
#include "core/util/error.h"

namespace peft::eval {

namespace {
struct Entry {
    const char* name;
    MetricFactory make;
};
const std::vector<Entry>& entries() {
    static const std::vector<Entry> k = {
        {"em", makeExactMatch}, {"contains", makeContains}, {"rougeL", makeRougeL},
        {"bleu", makeBleu},     {"chrf", makeChrf},         {"acc", makeAccuracy},
    };
    return k;
}
}  // namespace

double MatchMetric::score(const std::string& answer, const std::vector<std::string>& references) const {
    const std::string a = normalizeAnswer(answer, m_norm);
    for (size_t i = 0; i < referencesUsed(references.size()); ++i)
        if (matches(a, normalizeAnswer(references[i], m_norm))) return 1.0;
    return 0.0;
}

double TextMetric::corpusScore(const std::vector<std::string>& answers,
                               const std::vector<std::vector<std::string>>& references) const {
    if (answers.empty()) return 0.0;
    double sum = 0;
    for (size_t i = 0; i < answers.size(); ++i) sum += score(answers[i], references.at(i));
    return sum / static_cast<double>(answers.size());
}

const std::vector<std::string>& metricNames() {
    static const std::vector<std::string> k = [] {
        std::vector<std::string> n;
        for (const auto& e : entries()) n.push_back(e.name);
        return n;
    }();
    return k;
}

std::unique_ptr<TextMetric> makeMetric(const std::string& name, const MetricOptions& opts, const std::string& where) {
    for (const auto& e : entries())
        if (name == e.name) return e.make(opts);
    std::string known;
    for (const auto& n : metricNames()) known += (known.empty() ? "" : ", ") + n;
    fail(where, "unknown metric '" + name + "'", "Use one or more of " + known + " (comma-separated).");
}

std::vector<std::string> parseMetricList(const std::string& list, const std::string& where) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string part = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) {
            makeMetric(part, {}, where);  // validates the name
            if (std::find(out.begin(), out.end(), part) == out.end()) out.push_back(part);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (out.empty()) fail(where, "no metric named", "Give e.g. em,rougeL,bleu,chrf,acc.");
    return out;
}

}  // namespace peft::eval
