// Corpus BLEU-4 exactly as sacreBLEU 2.x: BLEU() defaults (13a tokenizer, mixed case, smoothing
// "exp", no effective order for the corpus score), per-answer rows as sacrebleu.sentence_bleu
// (effective order). Follows sacrebleu/metrics/bleu.py and tokenizers/tokenizer_{13a,re}.py.
#include <cmath>
#include <map>

#include "core/eval/sacrebleu.h"
#include "core/eval/text_metric.h"
#include "core/eval/text_norm.h"
#include "core/tokenizer/text_util.h"

namespace peft::eval {

namespace {
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// TokenizerRegexp's four substitutions, in order, each a left-to-right non-overlapping scan as
// re.sub does. Working on UTF-8 bytes gives the same result as on code points: every pattern's
// fixed characters are ASCII, and a multi-byte character only ever plays the role of [^0-9].
std::string regexpRules(const std::string& in) {
    std::string s;
    for (char c : in) {
        const unsigned char u = static_cast<unsigned char>(c);
        // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
        const bool punct = (u >= 0x7B && u <= 0x7E) || (u >= 0x5B && u <= 0x60) || (u >= 0x20 && u <= 0x26) ||
            (u >= 0x28 && u <= 0x2B) || (u >= 0x3A && u <= 0x40) || u == '/';
        if (punct) {
            s += ' ';
            s += c;
            s += ' ';
        } else {
            s += c;
        }
    }
    auto isPc = [](char c) { return c == '.' || c == ','; };
    std::string t;
    for (size_t i = 0; i < s.size();) {  // ([^0-9])([\.,]) -> '\1 \2 '
        if (i + 1 < s.size() && !isDigit(s[i]) && isPc(s[i + 1])) {
            t += s[i];
            t += ' ';
            t += s[i + 1];
            t += ' ';
            i += 2;
        } else {
            t += s[i++];
        }
    }
    std::string u;
    for (size_t i = 0; i < t.size();) {  // ([\.,])([^0-9]) -> ' \1 \2'
        if (i + 1 < t.size() && isPc(t[i]) && !isDigit(t[i + 1])) {
            u += ' ';
            u += t[i];
            u += ' ';
            u += t[i + 1];
            i += 2;
        } else {
            u += t[i++];
        }
    }
    std::string v;
    for (size_t i = 0; i < u.size();) {  // ([0-9])(-) -> '\1 \2 '
        if (i + 1 < u.size() && isDigit(u[i]) && u[i + 1] == '-') {
            v += u[i];
            v += ' ';
            v += '-';
            v += ' ';
            i += 2;
        } else {
            v += u[i++];
        }
    }
    return v;
}

using Ngrams = std::map<std::string, int64_t>;  // n-gram (tokens joined by ' ') -> count

// extract_all_word_ngrams(line, 1, 4); returns the token count in `len`.
std::array<Ngrams, 4> wordNgrams(const std::string& line, int64_t& len) {
    const auto toks = pySplit(line);
    len = static_cast<int64_t>(toks.size());
    std::array<Ngrams, 4> out;
    for (size_t n = 1; n <= 4; ++n)
        for (size_t i = 0; i + n <= toks.size(); ++i) {
            std::string g = toks[i];
            for (size_t k = 1; k < n; ++k) g += ' ' + toks[i + k];
            ++out[n - 1][g];
        }
    return out;
}

double myLog(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }
}  // namespace

std::string tokenize13a(const std::string& lineIn) {
    std::string line = tok::isValidUtf8(lineIn) ? lineIn : tok::utf8Lossy(lineIn);
    line = tok::replaceAll(line, "<skipped>", "");
    line = tok::replaceAll(line, "-\n", "");
    line = tok::replaceAll(line, "\n", " ");
    if (line.find('&') != std::string::npos) {
        line = tok::replaceAll(line, "&quot;", "\"");
        line = tok::replaceAll(line, "&amp;", "&");
        line = tok::replaceAll(line, "&lt;", "<");
        line = tok::replaceAll(line, "&gt;", ">");
    }
    std::string out;
    for (const auto& w : pySplit(regexpRules(" " + line + " "))) out += (out.empty() ? "" : " ") + w;
    return out;
}

BleuStats& BleuStats::operator+=(const BleuStats& o) {
    sysLen += o.sysLen;
    refLen += o.refLen;
    for (size_t i = 0; i < 4; ++i) {
        correct[i] += o.correct[i];
        total[i] += o.total[i];
    }
    return *this;
}

BleuStats bleuSegmentStats(const std::string& hypothesis, const std::vector<std::string>& references) {
    std::array<Ngrams, 4> refNgrams;
    std::vector<int64_t> refLens;
    for (const auto& r : references) {
        int64_t len = 0;
        auto ng = wordNgrams(tokenize13a(pyRstrip(r)), len);
        refLens.push_back(len);
        for (size_t n = 0; n < 4; ++n)
            for (const auto& [g, c] : ng[n]) refNgrams[n][g] = std::max(refNgrams[n][g], c);
    }
    BleuStats s;
    auto hyp = wordNgrams(tokenize13a(pyRstrip(hypothesis)), s.sysLen);
    // _get_closest_ref_len: the smallest |hyp - ref|, ties to the shorter reference.
    int64_t closestDiff = -1, closest = -1;
    for (int64_t len : refLens) {
        const int64_t diff = std::llabs(s.sysLen - len);
        if (closestDiff == -1 || diff < closestDiff) {
            closestDiff = diff;
            closest = len;
        } else if (diff == closestDiff && len < closest) {
            closest = len;
        }
    }
    s.refLen = closest;
    for (size_t n = 0; n < 4; ++n)
        for (const auto& [g, c] : hyp[n]) {
            s.total[n] += c;
            auto it = refNgrams[n].find(g);
            if (it != refNgrams[n].end()) s.correct[n] += std::min(c, it->second);
        }
    return s;
}

BleuResult bleuFromStats(const BleuStats& s, bool effectiveOrder) {
    BleuResult r;
    r.stats = s;
    r.bp = 1.0;
    if (s.sysLen < s.refLen) r.bp = s.sysLen > 0 ? std::exp(1.0 - static_cast<double>(s.refLen) / s.sysLen) : 0.0;
    bool anyCorrect = false;
    for (auto c : s.correct) anyCorrect = anyCorrect || c != 0;
    if (!anyCorrect) return r;  // sacreBLEU #141: no match at all scores 0
    double smooth = 1.0;
    size_t effOrder = 4;
    for (size_t n = 1; n <= 4; ++n) {
        if (s.total[n - 1] == 0) break;
        if (effectiveOrder) effOrder = n;
        if (s.correct[n - 1] == 0) {
            smooth *= 2;
            r.precisions[n - 1] = 100.0 / (smooth * static_cast<double>(s.total[n - 1]));
        } else {
            r.precisions[n - 1] = 100.0 * static_cast<double>(s.correct[n - 1]) / static_cast<double>(s.total[n - 1]);
        }
    }
    double sum = 0;
    for (size_t i = 0; i < effOrder; ++i) sum += myLog(r.precisions[i]);
    r.score = r.bp * std::exp(sum / static_cast<double>(effOrder));
    return r;
}

BleuResult corpusBleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs) {
    BleuStats total;
    for (size_t i = 0; i < hyps.size(); ++i) total += bleuSegmentStats(hyps[i], refs.at(i));
    return bleuFromStats(total, false);
}

BleuResult sentenceBleu(const std::string& hyp, const std::vector<std::string>& refs) {
    return bleuFromStats(bleuSegmentStats(hyp, refs), true);
}

namespace {
class Bleu : public TextMetric {
public:
    std::string name() const override { return "bleu"; }
    double scale() const override { return 100.0; }
    double score(const std::string& answer, const std::vector<std::string>& refs) const override {
        return sentenceBleu(answer, refs).score;
    }
    double corpusScore(const std::vector<std::string>& answers,
                       const std::vector<std::vector<std::string>>& refs) const override {
        return corpusBleu(answers, refs).score;
    }
};
}  // namespace

std::unique_ptr<TextMetric> makeBleu(const MetricOptions&) { return std::make_unique<Bleu>(); }

}  // namespace peft::eval
