// Generation metrics behind one small interface: a metric scores one answer against its
// reference(s) and a whole set of answers. Each metric is its own file; metric_registry.cpp lists
// them by name. Torch-free on purpose (these files compile in a second).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace peft::eval {

// How answers are normalised before exact match / contains (and classification labels).
// The default is SQuAD's normalize_answer (evaluate-v1.1.py): lower case, drop ASCII punctuation,
// drop the articles a/an/the, collapse whitespace.
struct Normalization {
    bool lowercase = true;
    bool punctuation = true;  // string.punctuation (ASCII) removed
    bool articles = true;     // \b(a|an|the)\b removed
    bool whitespace = true;   // runs of whitespace -> one space, trimmed

    // "squad" (the default), "lower" (case + whitespace), "none", or a comma list of
    // case,punct,articles,space. Throws PeftError naming `where` on anything else.
    static Normalization parse(const std::string& spec, const std::string& where = "--normalize");
};

std::string normalizeAnswer(const std::string& s, const Normalization& n);

struct MetricOptions {
    Normalization normalization;
};

class TextMetric {
public:
    virtual ~TextMetric() = default;
    // Short name used on the CLI and in reports ("em", "rougeL", ...).
    virtual std::string name() const = 0;
    // Scale of the numbers: 1 (fractions) or 100 (sacreBLEU's percentages).
    virtual double scale() const { return 1.0; }
    // One answer against its references (several references: the metric's own rule, as the
    // reference implementation combines them).
    virtual double score(const std::string& answer, const std::vector<std::string>& references) const = 0;
    // The whole set. Default: the mean of the per-answer scores (0 for an empty set). Corpus
    // metrics (BLEU, chrF) pool their statistics instead, as sacreBLEU's corpus_score does.
    virtual double corpusScore(const std::vector<std::string>& answers,
                               const std::vector<std::vector<std::string>>& references) const;
};

// 1 when the normalised answer matches a normalised reference by matches() (exact match,
// contains, classification accuracy), else 0.
class MatchMetric : public TextMetric {
public:
    explicit MatchMetric(Normalization n) : m_norm(n) {}
    double score(const std::string& answer, const std::vector<std::string>& references) const override;

protected:
    virtual bool matches(const std::string& answer, const std::string& reference) const = 0;
    // How many of the references count: all (several acceptable answers), or the first (a label).
    virtual size_t referencesUsed(size_t given) const { return given; }

private:
    Normalization m_norm;
};

using MetricFactory = std::function<std::unique_ptr<TextMetric>(const MetricOptions&)>;

// The registry: names in the order reports list them.
const std::vector<std::string>& metricNames();
// Throws PeftError naming `where` and the known names for an unknown name.
std::unique_ptr<TextMetric> makeMetric(const std::string& name, const MetricOptions& opts = {},
                                       const std::string& where = "--metrics");
// "em,rougeL" -> names, checked against the registry.
std::vector<std::string> parseMetricList(const std::string& list, const std::string& where = "--metrics");

// The factories, one per metric file.
std::unique_ptr<TextMetric> makeExactMatch(const MetricOptions& o);
std::unique_ptr<TextMetric> makeContains(const MetricOptions& o);
std::unique_ptr<TextMetric> makeRougeL(const MetricOptions& o);
std::unique_ptr<TextMetric> makeBleu(const MetricOptions& o);
std::unique_ptr<TextMetric> makeChrf(const MetricOptions& o);
std::unique_ptr<TextMetric> makeAccuracy(const MetricOptions& o);

}  // namespace peft::eval
