// Exact match after normalisation, as SQuAD v1.1's evaluate script (exact_match_score over
// normalize_answer; several references: the best, as metric_max_over_ground_truths).
#include "core/eval/text_metric.h"

namespace peft::eval {

namespace {
class ExactMatch : public TextMetric {
public:
    explicit ExactMatch(Normalization n) : m_norm(n) {}
    std::string name() const override { return "em"; }
    double score(const std::string& answer, const std::vector<std::string>& refs) const override {
        const std::string a = normalizeAnswer(answer, m_norm);
        for (const auto& r : refs)
            if (normalizeAnswer(r, m_norm) == a) return 1.0;
        return 0.0;
    }

private:
    Normalization m_norm;
};
}  // namespace

std::unique_ptr<TextMetric> makeExactMatch(const MetricOptions& o) { return std::make_unique<ExactMatch>(o.normalization); }

}  // namespace peft::eval
