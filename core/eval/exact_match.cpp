// Exact match after normalisation, as SQuAD v1.1's evaluate script (exact_match_score over
// normalize_answer; several references: the best, as metric_max_over_ground_truths).
#include "core/eval/text_metric.h"

namespace peft::eval {

namespace {
class ExactMatch : public MatchMetric {
public:
    using MatchMetric::MatchMetric;
    std::string name() const override { return "em"; }

protected:
    bool matches(const std::string& a, const std::string& ref) const override { return a == ref; }
};
}  // namespace

std::unique_ptr<TextMetric> makeExactMatch(const MetricOptions& o) {
    return std::make_unique<ExactMatch>(o.normalization);
}

}  // namespace peft::eval
