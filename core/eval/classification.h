// Classification scores over predicted and true labels, as scikit-learn defines them:
// accuracy_score, f1_score(average="macro") and confusion_matrix, with the label set the sorted
// union of true and predicted labels (sklearn's unique_labels) and 0 for an undefined F1.
#pragma once
#include <string>
#include <vector>

#include "core/eval/text_metric.h"

namespace peft::eval {

struct ClassificationReport {
    std::vector<std::string> labels;              // sorted union of true and predicted labels
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted], in `labels` order
    std::vector<double> f1;                       // per label
    double accuracy = 0;
    double macroF1 = 0;
    int64_t n = 0;
};

ClassificationReport classificationReport(const std::vector<std::string>& truth,
                                          const std::vector<std::string>& predicted);

}  // namespace peft::eval
