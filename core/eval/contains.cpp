// "Contains the reference": the normalised reference occurs in the normalised answer (the
// answer may say more). An empty normalised reference only counts for an empty answer, or any
// answer would contain it.
#include "core/eval/text_metric.h"

namespace peft::eval {

namespace {
class Contains : public MatchMetric {
public:
    using MatchMetric::MatchMetric;
    std::string name() const override { return "contains"; }

protected:
    bool matches(const std::string& a, const std::string& ref) const override {
        return ref.empty() ? a.empty() : a.find(ref) != std::string::npos;
    }
};
}  // namespace

std::unique_ptr<TextMetric> makeContains(const MetricOptions& o) { return std::make_unique<Contains>(o.normalization); }

}  // namespace peft::eval
