// "Contains the reference": the normalised reference occurs in the normalised answer (the
// answer may say more). An empty normalised reference only counts for an empty answer, or any
// answer would contain it.
#include "core/eval/text_metric.h"

namespace peft::eval {

namespace {
class Contains : public TextMetric {
public:
    explicit Contains(Normalization n) : m_norm(n) {}
    std::string name() const override { return "contains"; }
    double score(const std::string& answer, const std::vector<std::string>& refs) const override {
        const std::string a = normalizeAnswer(answer, m_norm);
        for (const auto& r : refs) {
            const std::string n = normalizeAnswer(r, m_norm);
            if (n.empty() ? a.empty() : a.find(n) != std::string::npos) return 1.0;
        }
        return 0.0;
    }

private:
    Normalization m_norm;
};
}  // namespace

std::unique_ptr<TextMetric> makeContains(const MetricOptions& o) { return std::make_unique<Contains>(o.normalization); }

}  // namespace peft::eval
