// chrF exactly as sacreBLEU 2.x's CHRF() defaults: character n-grams of order 1..6 over the text
// with whitespace removed, no word n-grams (word_order 0), beta 2, effective-order averaging of
// precision and recall (eps_smoothing False); corpus score from summed statistics. Follows
// sacrebleu/metrics/chrf.py and metrics/helpers.py.
#include <map>

#include "core/eval/sacrebleu.h"
#include "core/eval/text_metric.h"
#include "core/eval/text_norm.h"

namespace peft::eval {

namespace {
using CharNgrams = std::map<std::u32string, int64_t>;

std::vector<CharNgrams> charNgrams(const std::string& line, const ChrfOptions& o) {
    std::u32string s;
    if (o.whitespace) {
        s = codePoints(line);
    } else {
        for (const auto& w : pySplit(line)) s += codePoints(w);  // ''.join(line.split())
    }
    std::vector<CharNgrams> out(static_cast<size_t>(o.charOrder));
    for (size_t n = 1; n <= out.size(); ++n)
        for (size_t i = 0; i + n <= s.size(); ++i) ++out[n - 1][s.substr(i, n)];
    return out;
}
}  // namespace

double chrfFromStats(const std::vector<int64_t>& st, const ChrfOptions& o) {
    const double eps = 1e-16, factor = o.beta * o.beta;
    double score = 0, avgPrec = 0, avgRec = 0;
    int effective = 0;
    for (size_t i = 0; i + 2 < st.size(); i += 3) {
        const double nHyp = static_cast<double>(st[i]), nRef = static_cast<double>(st[i + 1]),
                     nMatch = static_cast<double>(st[i + 2]);
        const double prec = nHyp > 0 ? nMatch / nHyp : eps;
        const double rec = nRef > 0 ? nMatch / nRef : eps;
        const double denom = factor * prec + rec;
        score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
        if (nHyp > 0 && nRef > 0) {
            avgPrec += prec;
            avgRec += rec;
            ++effective;
        }
    }
    if (o.epsSmoothing) return 100 * score / static_cast<double>(o.charOrder);
    if (effective == 0) {
        avgPrec = avgRec = 0;
    } else {
        avgPrec /= effective;
        avgRec /= effective;
    }
    if (avgPrec + avgRec == 0) return 0.0;
    return 100 * (1 + factor) * avgPrec * avgRec / (factor * avgPrec + avgRec);
}

std::vector<int64_t> chrfSegmentStats(const std::string& hyp, const std::vector<std::string>& refs,
                                      const ChrfOptions& o) {
    const auto h = charNgrams(hyp, o);
    std::vector<int64_t> best;
    double bestF = -1.0;
    for (const auto& ref : refs) {
        const auto r = charNgrams(ref, o);
        std::vector<int64_t> stats;
        for (size_t n = 0; n < h.size(); ++n) {
            int64_t hypCount = 0, match = 0, refCount = 0;
            for (const auto& [g, c] : h[n]) {
                hypCount += c;
                auto it = r[n].find(g);
                if (it != r[n].end()) match += std::min(c, it->second);
            }
            for (const auto& kv : r[n]) refCount += kv.second;
            // _get_match_statistics: hypothesis n-grams count only where the reference has some.
            stats.insert(stats.end(), {r[n].empty() ? 0 : hypCount, refCount, match});
        }
        const double f = chrfFromStats(stats, o);
        if (f > bestF) {
            bestF = f;
            best = stats;
        }
    }
    if (best.empty()) best.assign(static_cast<size_t>(3 * o.charOrder), 0);
    return best;
}

double corpusChrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                  const ChrfOptions& o) {
    std::vector<int64_t> sum(static_cast<size_t>(3 * o.charOrder), 0);
    for (size_t i = 0; i < hyps.size(); ++i) {
        auto s = chrfSegmentStats(hyps[i], refs.at(i), o);
        for (size_t k = 0; k < sum.size(); ++k) sum[k] += s[k];
    }
    return chrfFromStats(sum, o);
}

namespace {
class Chrf : public TextMetric {
public:
    std::string name() const override { return "chrf"; }
    double scale() const override { return 100.0; }
    double score(const std::string& answer, const std::vector<std::string>& refs) const override {
        return chrfFromStats(chrfSegmentStats(answer, refs));
    }
    double corpusScore(const std::vector<std::string>& answers,
                       const std::vector<std::vector<std::string>>& refs) const override {
        return corpusChrf(answers, refs);
    }
};
}  // namespace

std::unique_ptr<TextMetric> makeChrf(const MetricOptions&) { return std::make_unique<Chrf>(); }

}  // namespace peft::eval
