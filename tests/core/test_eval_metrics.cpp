// Generation metrics against the reference implementations' own published examples
// (rouge-score's rouge_scorer_test.py, sacreBLEU's README and test/test_bleu.py, test_chrf.py,
// scikit-learn's docstrings) and against values printed by sacreBLEU 2.6.0's source, plus edge
// cases (empty strings, Unicode, ill-formed UTF-8).
#include <gtest/gtest.h>

#include "core/eval/classification.h"
#include "core/eval/rouge_l.h"
#include "core/eval/sacrebleu.h"
#include "core/eval/text_metric.h"
#include "core/util/error.h"

using namespace peft::eval;

namespace {
double metric(const std::string& name, const std::string& answer, const std::string& ref, const MetricOptions& o = {}) {
    return makeMetric(name, o)->score(answer, {ref});
}

// sacreBLEU README ("Using sacreBLEU from Python"): two reference streams.
const std::vector<std::string> kSys = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
std::vector<std::vector<std::string>> readmeRefs(bool firstMissing) {
    return {{firstMissing ? "" : "The dog bit the man.", "The dog had bit the man."},
            {"It was not unexpected.", "No one was surprised."},
            {"The man bit him first.", "The man had bitten the dog."}};
}
}  // namespace

TEST(EvalMetrics, RegistryListsEveryMetricAndRejectsUnknownNames) {
    EXPECT_EQ(metricNames(), (std::vector<std::string>{"em", "contains", "rougeL", "bleu", "chrf", "acc"}));
    for (const auto& n : metricNames()) EXPECT_EQ(makeMetric(n)->name(), n);
    EXPECT_EQ(parseMetricList("em,rougeL,em"), (std::vector<std::string>{"em", "rougeL"}));
    try {
        parseMetricList("em,rouge");
        FAIL() << "no error for an unknown metric";
    } catch (const peft::PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("'rouge'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("rougeL"), std::string::npos) << "the message lists the known names";
    }
}

TEST(EvalMetrics, ExactMatchNormalisesAsSquad) {
    // SQuAD v1.1 normalize_answer: lower, drop punctuation, drop articles, collapse whitespace.
    EXPECT_EQ(normalizeAnswer("The  Cat's, hat!", {}), "cats hat");
    EXPECT_EQ(normalizeAnswer("An apple a day", {}), "apple day");
    EXPECT_EQ(normalizeAnswer("theory", {}), "theory") << "articles only as whole words";
    EXPECT_EQ(metric("em", "  the Book of Genesis.", "Book of genesis"), 1.0);
    EXPECT_EQ(metric("em", "The book of Matthew.", "The book of Genesis."), 0.0);
    MetricOptions strict;
    strict.normalization = Normalization::parse("none");
    EXPECT_EQ(metric("em", "Genesis.", "Genesis", strict), 0.0);
    MetricOptions lower;
    lower.normalization = Normalization::parse("case,space");
    EXPECT_EQ(metric("em", " GENESIS  x", "genesis x", lower), 1.0);
    EXPECT_THROW(Normalization::parse("case,stem"), peft::PeftError);
    // Empty strings and Unicode: only ASCII punctuation goes, other letters stay as they are.
    EXPECT_EQ(metric("em", "", ""), 1.0);
    EXPECT_EQ(metric("em", "", "x"), 0.0);
    EXPECT_EQ(metric("em", "Café!", "café"), 1.0);
    EXPECT_EQ(metric("em", "ÇA VA", "ça va"), 1.0) << "str.lower() folds Latin-1 letters";
    EXPECT_EQ(normalizeAnswer("ŁÓDŹ ΑΘΗΝΑ МОСКВА", {}), "łódź αθηνα москва");
}

TEST(EvalMetrics, ContainsLooksForTheNormalisedReference) {
    EXPECT_EQ(metric("contains", "It is the book of Genesis, chapter one.", "Book of Genesis"), 1.0);
    EXPECT_EQ(metric("contains", "Exodus", "Book of Genesis"), 0.0);
    EXPECT_EQ(metric("contains", "anything", ""), 0.0) << "an empty reference is not in every answer";
    EXPECT_EQ(metric("contains", "", ""), 1.0);
}

TEST(EvalMetrics, RougeLMatchesRougeScoreTests) {
    // rouge_scorer_test.py: testRougeLConsecutive / testRougeLNonConsecutive / testRougeEmpty.
    RougeScore s = rougeL("testing one two", "testing one");
    EXPECT_NEAR(s.precision, 1.0, 1e-12);
    EXPECT_NEAR(s.recall, 2.0 / 3, 1e-12);
    EXPECT_NEAR(s.fmeasure, 4.0 / 5, 1e-12);
    s = rougeL("testing one two", "testing two");
    EXPECT_NEAR(s.fmeasure, 4.0 / 5, 1e-12);
    s = rougeL("testing one two", "");
    EXPECT_EQ(s.fmeasure, 0.0);
    // testRougeLAgainstRouge155: lines 0 and 1 of rouge/testdata/{target,prediction}.txt, scores
    // from ROUGE-1.5.5 to 5 places.
    const std::string t0 =
        "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM "
        "EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n";
    const std::string p0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n";
    s = rougeL(t0, p0);
    EXPECT_NEAR(s.recall, 0.40741, 5e-6);
    EXPECT_NEAR(s.precision, 0.68750, 5e-6);
    EXPECT_NEAR(s.fmeasure, 0.51163, 5e-6);
    const std::string t1 =
        "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer "
        "HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion "
        "gMPfJpwGw "
        "p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n";
    const std::string p1 =
        "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J "
        "XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n";
    s = rougeL(t1, p1);
    EXPECT_NEAR(s.recall, 0.40476, 5e-6);
    EXPECT_NEAR(s.precision, 0.65385, 5e-6);
    EXPECT_NEAR(s.fmeasure, 0.50000, 5e-6);
    // The metric is the F1 (target = reference, prediction = answer).
    EXPECT_NEAR(metric("rougeL", "testing one", "testing one two"), 0.8, 1e-12);
}

TEST(EvalMetrics, RougeTokenizerOnUnicode) {
    // rouge_score.tokenize: str.lower(), then [^a-z0-9]+ separates; KELVIN SIGN lower-cases to
    // "k" and I WITH DOT ABOVE to "i" + U+0307 (Python 3 behaviour, checked with CPython 3.11).
    EXPECT_EQ(rougeTokenize("Café İstanbul \u212A9 naïve"),
              (std::vector<std::string>{"caf", "i", "stanbul", "k9", "na", "ve"}));
    EXPECT_TRUE(rougeTokenize("日本語").empty());
    EXPECT_EQ(rougeL("日本語", "日本語").fmeasure, 0.0) << "no token on either side scores 0, as rouge-score";
    EXPECT_EQ(rougeTokenize(std::string("ok\xff\xfe") + "go"), (std::vector<std::string>{"ok", "go"}))
        << "ill-formed UTF-8 from a model is replaced, not a crash";
}

TEST(EvalMetrics, Tokenizer13aMatchesSacreBleu) {
    // Outputs of sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a (sacreBLEU 2.6.0 source).
    const std::pair<const char*, const char*> cases[] = {
        // input, sacreBLEU's tokens
        {"3.14, 5-6 &amp; (x) \"q\"", "3.14 , 5 - 6 & ( x ) \" q \""},
        {"Straße… café, naïve.", "Straße… café , naïve ."},
        {"e.g. U.S.A. 1,000.5", "e . g . U . S . A . 1,000.5"},
        {"tab\there-\nnow <skipped>x", "tab herenow x"},
        {"a\u00a0b\u3000c.,d", "a b c . , d"},
        {"", ""},
    };
    for (const auto& [in, out] : cases) EXPECT_EQ(tokenize13a(in), out) << in;
}

TEST(EvalMetrics, CorpusBleuMatchesSacreBleuReadme) {
    // README: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18);
    // test_bleu.py test_corpus_bleu pins 48.530827 within 1e-8.
    BleuResult r = corpusBleu(kSys, readmeRefs(false));
    EXPECT_NEAR(r.score, 48.530827, 1e-6);
    EXPECT_EQ(r.stats.sysLen, 17);
    EXPECT_EQ(r.stats.refLen, 18);
    EXPECT_NEAR(r.bp, 0.943, 5e-4);
    EXPECT_NEAR(r.precisions[0], 82.4, 0.05);
    EXPECT_NEAR(r.precisions[3], 37.5, 0.05);
    // README "Variable Number of References": BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ... ref_len = 19).
    r = corpusBleu(kSys, readmeRefs(true));
    EXPECT_NEAR(r.score, 29.44, 0.005);
    EXPECT_EQ(r.stats.refLen, 19);
    EXPECT_NEAR(r.precisions[1], 42.9, 0.05);
    // test_corpus_bleu: empty hypotheses are kept and score 0.
    EXPECT_EQ(corpusBleu({"", "", ""}, readmeRefs(false)).score, 0.0);
    // test_scoring: compute_bleu([9,7,5,3], [10,8,6,4], 11, 11) = 0.8375922397 (x100).
    BleuStats st;
    st.sysLen = st.refLen = 11;
    st.correct = {9, 7, 5, 3};
    st.total = {10, 8, 6, 4};
    EXPECT_NEAR(bleuFromStats(st, false).score, 83.75922397, 1e-6);
    // test_statistics: common [4,2,1,0], total [6,5,4,3].
    BleuStats s = bleuSegmentStats("am I am a character sequence", {"I am a symbol string sequence a a"});
    EXPECT_EQ(s.correct, (std::array<int64_t, 4>{4, 2, 1, 0}));
    EXPECT_EQ(s.total, (std::array<int64_t, 4>{6, 5, 4, 3}));
}

TEST(EvalMetrics, BleuUnicodeEmptyAndSentenceLevelMatchSacreBleu) {
    // Printed by sacreBLEU 2.6.0: BLEU().corpus_score(...).score and sacrebleu.sentence_bleu(...).score.
    EXPECT_NEAR(
        corpusBleu({"Straße café, naïve.", "日本語 テキスト"}, {{"Strasse café naïve."}, {"日本語 テキスト"}}).score,
        27.77619034011791, 1e-9);
    EXPECT_EQ(corpusBleu({""}, {{""}}).score, 0.0);
    EXPECT_NEAR(sentenceBleu("The dog bit the man.", {"The dog had bit the man."}).score, 51.15078115793242, 1e-9);
    EXPECT_NEAR(makeMetric("bleu")->score("The dog bit the man.", {"The dog had bit the man."}), 51.15078115793242,
                1e-9);
    EXPECT_NEAR(makeMetric("bleu")->corpusScore(kSys, readmeRefs(false)), 48.530827, 1e-6);
}

TEST(EvalMetrics, ChrfMatchesSacreBleu) {
    // README: chrF2 = 59.73; the full value printed by sacreBLEU 2.6.0 is 59.72751782684763.
    EXPECT_NEAR(corpusChrf(kSys, readmeRefs(false)), 59.72751782684763, 1e-9);
    EXPECT_NEAR(makeMetric("chrf")->corpusScore(kSys, readmeRefs(false)), 59.72751782684763, 1e-9);
    // test_chrf.py test_chrf_eff_order (char_order 6, beta 3, eps_smoothing False).
    ChrfOptions b3;
    b3.beta = 3;
    auto one = [](const std::string& h, const std::string& r) { return std::vector<std::vector<std::string>>{{r}}; };
    EXPECT_NEAR(corpusChrf({"a"}, one("a", "a"), b3), 100.0, 1e-4);
    EXPECT_NEAR(corpusChrf({""}, one("", "reference"), b3), 0.0, 1e-4);
    EXPECT_NEAR(corpusChrf({"a b c"}, one("", "a b c"), b3), 100.0, 1e-4);
    EXPECT_NEAR(corpusChrf({"a b c"}, one("", "abc"), b3), 100.0, 1e-4);
    EXPECT_NEAR(corpusChrf({""}, one("", "c"), b3), 0.0, 1e-4);
    EXPECT_NEAR(corpusChrf({"a", "b"}, {{"a"}, {"c"}}, b3), 50.0, 1e-4);
    EXPECT_NEAR(corpusChrf({"aa"}, one("", "ab"), b3), 25.0, 1e-4);
    // test_chrf (eps_smoothing True, beta 3).
    ChrfOptions eps = b3;
    eps.epsSmoothing = true;
    EXPECT_NEAR(corpusChrf({"aa"}, one("", "ab"), eps), 8.3333, 1e-4);
    EXPECT_NEAR(corpusChrf({"a"}, one("", "a"), eps), 16.6667, 1e-4);
    EXPECT_NEAR(corpusChrf({"a b c"}, one("", "a b c"), eps), 50.0, 1e-4);
    EXPECT_NEAR(
        corpusChrf({" risk assessment must be made of those who are qualified and expertise in the sector - these "
                    "are the scientists ."},
                   one("",
                       "risk assessment has to be undertaken by those who are qualified and expert in that area "
                       "- that is the scientists ."),
                   eps),
        63.361730, 1e-4);
    EXPECT_NEAR(
        corpusChrf({" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
                   one("", "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."), eps),
        64.1302698, 1e-4);
    // test_chrf_sentence_level (sentence_chrf with eps_smoothing, default beta 2): Czech, non-ASCII letters.
    ChrfOptions czech;
    czech.epsSmoothing = true;
    EXPECT_NEAR(
        chrfFromStats(chrfSegmentStats(
                          "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                          {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."}, czech),
                      czech),
        39.14078509, 1e-4);
    EXPECT_NEAR(
        chrfFromStats(
            chrfSegmentStats(
                "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."}, czech),
            czech),
        57.15704367, 1e-4);
    // Printed by sacreBLEU 2.6.0 (CHRF() defaults): Unicode, empty strings, sentence_chrf.
    EXPECT_NEAR(corpusChrf({"Straße café, naïve.", "日本語 テキスト"}, {{"Strasse café naïve."}, {"日本語 テキスト"}}),
                59.66149591149591, 1e-9);
    EXPECT_EQ(corpusChrf({""}, {{""}}), 0.0);
    EXPECT_EQ(corpusChrf({"a"}, {{""}}), 0.0);
    EXPECT_NEAR(makeMetric("chrf")->score("The dog bit the man.", {"The dog had bit the man."}), 67.64711450656517,
                1e-9);
}

TEST(EvalMetrics, ClassificationMatchesScikitLearnDocs) {
    // sklearn.metrics.f1_score docstring: y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1], macro 0.26666...
    ClassificationReport r = classificationReport({"0", "1", "2", "0", "1", "2"}, {"0", "2", "1", "0", "0", "1"});
    EXPECT_NEAR(r.macroF1, 0.26666666666666666, 1e-12);
    EXPECT_NEAR(r.accuracy, 2.0 / 6, 1e-12);
    // sklearn.metrics.confusion_matrix docstring: y_true [2,0,2,2,0,1], y_pred [0,0,2,2,0,2].
    r = classificationReport({"2", "0", "2", "2", "0", "1"}, {"0", "0", "2", "2", "0", "2"});
    EXPECT_EQ(r.labels, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{2, 0, 0}, {0, 0, 1}, {1, 0, 2}}));
    // A predicted label outside the true ones joins the label set (sklearn's unique_labels).
    r = classificationReport({"pos", "neg"}, {"pos", "maybe"});
    EXPECT_EQ(r.labels, (std::vector<std::string>{"maybe", "neg", "pos"}));
    EXPECT_NEAR(r.macroF1, 1.0 / 3, 1e-12);
    EXPECT_EQ(classificationReport({}, {}).accuracy, 0.0);
    EXPECT_EQ(metric("acc", "Positive.", "positive"), 1.0);
}

TEST(EvalMetrics, MeanMetricsAverageAndCorpusMetricsPool) {
    auto em = makeMetric("em");
    EXPECT_NEAR(em->corpusScore({"a", "b", "c"}, {{"a"}, {"x"}, {"c"}}), 2.0 / 3, 1e-12);
    EXPECT_EQ(em->corpusScore({}, {}), 0.0);
    // Per answer: sacrebleu.sentence_bleu (effective order), printed by sacreBLEU 2.6.0 for the
    // README's three segments; the aggregate is the corpus score, not their mean.
    auto bleu = makeMetric("bleu");
    const double expected[] = {100.00000000000004, 14.794015674776452, 29.071536848410968};
    for (size_t i = 0; i < kSys.size(); ++i)
        EXPECT_NEAR(bleu->score(kSys[i], readmeRefs(false)[i]), expected[i], 1e-9) << i;
    EXPECT_NEAR(bleu->corpusScore(kSys, readmeRefs(false)), 48.530827, 1e-6);
}
