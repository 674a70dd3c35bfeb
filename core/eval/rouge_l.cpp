// ROUGE-L F1 exactly as Google's rouge-score 0.1.2 (rouge_scorer.RougeScorer(["rougeL"]), default
// tokenizer, use_stemmer=False): lower-case, every run of characters outside [a-z0-9] is a
// separator, LCS over the tokens, F = 2PR/(P+R); 0 when either side has no token. With several
// references the best F1 counts (score_multi).
#include <algorithm>

#include "core/eval/rouge_l.h"
#include "core/eval/text_norm.h"

namespace peft::eval {

std::vector<std::string> rougeTokenize(const std::string& text) {
    // Python's str.lower() first: only two non-ASCII code points lower-case into [a-z] (KELVIN
    // SIGN -> "k", and I WITH DOT ABOVE -> "i" + a combining dot), so they must survive.
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (char32_t c : codePoints(text)) {
        char lower = 0;
        if (c >= U'A' && c <= U'Z') lower = static_cast<char>(c - U'A' + U'a');
        else if ((c >= U'a' && c <= U'z') || (c >= U'0' && c <= U'9')) lower = static_cast<char>(c);
        else if (c == 0x212A) lower = 'k';
        else if (c == 0x0130) lower = 'i';  // followed by U+0307, which separates
        if (lower) {
            cur.push_back(lower);
            if (c == 0x0130) flush();
        } else {
            flush();
        }
    }
    flush();
    return out;
}

RougeScore rougeL(const std::string& target, const std::string& prediction) {
    const auto t = rougeTokenize(target), p = rougeTokenize(prediction);
    RougeScore s;
    if (t.empty() || p.empty()) return s;
    // LCS length by dynamic programming, one row at a time.
    std::vector<size_t> prev(p.size() + 1, 0), cur(p.size() + 1, 0);
    for (size_t i = 1; i <= t.size(); ++i) {
        for (size_t j = 1; j <= p.size(); ++j)
            cur[j] = t[i - 1] == p[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
        std::swap(prev, cur);
    }
    const double lcs = static_cast<double>(prev[p.size()]);
    s.precision = lcs / static_cast<double>(p.size());
    s.recall = lcs / static_cast<double>(t.size());
    s.fmeasure = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    return s;
}

namespace {
class RougeL : public TextMetric {
public:
    std::string name() const override { return "rougeL"; }
    double score(const std::string& answer, const std::vector<std::string>& refs) const override {
        double best = 0;
        for (const auto& r : refs) best = std::max(best, rougeL(r, answer).fmeasure);
        return best;
    }
};
}  // namespace

std::unique_ptr<TextMetric> makeRougeL(const MetricOptions&) { return std::make_unique<RougeL>(); }

}  // namespace peft::eval
