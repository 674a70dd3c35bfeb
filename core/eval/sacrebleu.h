// BLEU and chrF as sacreBLEU 2.x computes them (checked against sacreBLEU 2.6.0's source and
// its published examples), exposed for tests; the metrics in bleu.cpp / chrf.cpp use these.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace peft::eval {

// sacreBLEU's Tokenizer13a (mteval-v13a.pl): the returned tokens are joined by single spaces.
std::string tokenize13a(const std::string& line);

struct BleuStats {
    int64_t sysLen = 0, refLen = 0;
    std::array<int64_t, 4> correct{}, total{};
    BleuStats& operator+=(const BleuStats& o);
};

struct BleuResult {
    double score = 0;  // 0..100
    double bp = 0;
    std::array<double, 4> precisions{};
    BleuStats stats;
};

// BLEU._compute_segment_statistics over 13a tokens of hypothesis.rstrip() and each reference
// (references' n-gram counts merged by max, the closest reference length, ties to the shorter).
BleuStats bleuSegmentStats(const std::string& hypothesis, const std::vector<std::string>& references);
// BLEU.compute_bleu with smooth_method "exp" (sacreBLEU's default).
BleuResult bleuFromStats(const BleuStats& s, bool effectiveOrder);
// BLEU().corpus_score(hyps, refs) with refs[i] the references of hyps[i] (one list per segment,
// not sacreBLEU's per-stream layout).
BleuResult corpusBleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs);
// sacrebleu.sentence_bleu (effective order on).
BleuResult sentenceBleu(const std::string& hyp, const std::vector<std::string>& refs);

struct ChrfOptions {
    int charOrder = 6;          // CHRF.CHAR_ORDER
    double beta = 2;            // CHRF.BETA
    bool whitespace = false;    // keep whitespace in character n-grams
    bool epsSmoothing = false;  // chrF++.py-style smoothing instead of the effective order
};
// Per order: [hyp n-grams, ref n-grams, matches], flattened (3 * charOrder numbers).
std::vector<int64_t> chrfSegmentStats(const std::string& hyp, const std::vector<std::string>& refs,
                                      const ChrfOptions& o = {});
double chrfFromStats(const std::vector<int64_t>& stats, const ChrfOptions& o = {});
// CHRF(...).corpus_score: statistics summed over segments, then one F-score (0..100).
double corpusChrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                  const ChrfOptions& o = {});

}  // namespace peft::eval
