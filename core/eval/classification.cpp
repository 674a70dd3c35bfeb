// Accuracy, macro-F1 and the confusion matrix as scikit-learn 1.x computes them; the "acc"
// metric compares a generated answer with the reference label after normalisation.
#include "core/eval/classification.h"

#include <algorithm>
#include <set>

namespace peft::eval {

ClassificationReport classificationReport(const std::vector<std::string>& truth,
                                          const std::vector<std::string>& predicted) {
    ClassificationReport r;
    r.n = static_cast<int64_t>(truth.size());
    std::set<std::string> all(truth.begin(), truth.end());
    all.insert(predicted.begin(), predicted.end());
    r.labels.assign(all.begin(), all.end());
    const size_t k = r.labels.size();
    r.confusion.assign(k, std::vector<int64_t>(k, 0));
    auto index = [&](const std::string& l) {
        return static_cast<size_t>(std::lower_bound(r.labels.begin(), r.labels.end(), l) - r.labels.begin());
    };
    int64_t correct = 0;
    for (size_t i = 0; i < truth.size(); ++i) {
        ++r.confusion[index(truth[i])][index(predicted.at(i))];
        correct += truth[i] == predicted[i] ? 1 : 0;
    }
    r.accuracy = r.n ? static_cast<double>(correct) / static_cast<double>(r.n) : 0.0;
    double sum = 0;
    for (size_t c = 0; c < k; ++c) {
        int64_t tp = r.confusion[c][c], fp = 0, fn = 0;
        for (size_t o = 0; o < k; ++o)
            if (o != c) {
                fp += r.confusion[o][c];
                fn += r.confusion[c][o];
            }
        // F1 = 2TP / (2TP + FP + FN); sklearn's zero_division default gives 0 when undefined.
        const double denom = static_cast<double>(2 * tp + fp + fn);
        r.f1.push_back(denom > 0 ? 2.0 * static_cast<double>(tp) / denom : 0.0);
        sum += r.f1.back();
    }
    r.macroF1 = k ? sum / static_cast<double>(k) : 0.0;
    return r;
}

namespace {
// Per answer: 1 when the normalised answer equals the normalised label. Over a set this is
// sklearn's accuracy_score on the normalised strings (the report adds macro-F1 and the matrix).
class Accuracy : public MatchMetric {
public:
    using MatchMetric::MatchMetric;
    std::string name() const override { return "acc"; }

protected:
    bool matches(const std::string& a, const std::string& label) const override { return a == label; }
    size_t referencesUsed(size_t given) const override { return std::min<size_t>(given, 1); }  // the label
};
}  // namespace

std::unique_ptr<TextMetric> makeAccuracy(const MetricOptions& o) { return std::make_unique<Accuracy>(o.normalization); }

}  // namespace peft::eval
