// ROUGE-L as rouge-score computes it (see rouge_l.cpp), exposed for tests and reports.
#pragma once
#include <string>
#include <vector>

#include "core/eval/text_metric.h"

namespace peft::eval {

struct RougeScore {
    double precision = 0, recall = 0, fmeasure = 0;
};

// rouge_score.tokenize.tokenize(text, stemmer=None).
std::vector<std::string> rougeTokenize(const std::string& text);
// RougeScorer(["rougeL"]).score(target, prediction)["rougeL"].
RougeScore rougeL(const std::string& target, const std::string& prediction);

}  // namespace peft::eval
