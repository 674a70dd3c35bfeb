// Dataset preparation: formats, rejections, loss masks, truncation, packing, split, config, batcher.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>

#include "core/data/batcher.h"
#include "core/data/dataset_config.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft::data;
using nlohmann::json;

using peft::test::write;

namespace {

// A small word-level tokenizer for tests: special strings are matched first; other text is split
// GPT-2 style into words with their leading space, and runs of other whitespace. Each new piece
// gets the next id. With addSpecialTokens it prepends <s> like Llama's post-processor.
class WordTokenizer : public peft::Tokenizer {
public:
    WordTokenizer() {
        for (const char* s : {"<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<|start_header_id|>",
                              "<|end_header_id|>"})
            add(s, true);
    }
    std::vector<int64_t> encode(const std::string& text, bool addSpecial) const override {
        std::vector<int64_t> out;
        if (addSpecial) out.push_back(1);
        size_t i = 0;
        while (i < text.size()) {
            bool matched = false;
            for (const auto& sp : m_specials)
                if (text.compare(i, sp.size(), sp) == 0) {
                    out.push_back(m_ids.at(sp));
                    i += sp.size();
                    matched = true;
                    break;
                }
            if (matched) continue;
            size_t j = i;
            auto isSpecialAt = [&](size_t k) {
                for (const auto& sp : m_specials)
                    if (text.compare(k, sp.size(), sp) == 0) return true;
                return false;
            };
            if (text[i] == ' ' && i + 1 < text.size() && text[i + 1] != ' ' &&
                !std::isspace(static_cast<unsigned char>(text[i + 1])))
                ++j;
            if (std::isspace(static_cast<unsigned char>(text[j]))) {
                while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j])) && !isSpecialAt(j)) ++j;
            } else {
                while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && !isSpecialAt(j)) ++j;
            }
            out.push_back(add(text.substr(i, j - i), false));
            i = j;
        }
        return out;
    }
    std::string decode(const std::vector<int64_t>& ids, bool skip) const override {
        std::string s;
        for (auto id : ids)
            if (!(skip && id < 8)) s += m_pieces.at(static_cast<size_t>(id));
        return s;
    }
    int64_t vocabSize() const override { return 100000; }
    std::optional<int64_t> tokenToId(const std::string& t) const override {
        auto it = m_ids.find(t);
        return it == m_ids.end() ? std::nullopt : std::optional<int64_t>(it->second);
    }
    std::string idToToken(int64_t id) const override { return m_pieces.at(static_cast<size_t>(id)); }
    bool isSpecial(int64_t id) const override { return id < 8; }
    std::optional<int64_t> bosId() const override { return 1; }
    std::optional<int64_t> eosId() const override { return 2; }
    std::optional<int64_t> padId() const override { return 0; }
    std::string chatTemplate() const override { return m_template; }
    std::string m_template;

private:
    int64_t add(const std::string& s, bool special) const {
        auto it = m_ids.find(s);
        if (it != m_ids.end()) return it->second;
        int64_t id = static_cast<int64_t>(m_pieces.size());
        m_pieces.push_back(s);
        m_ids[s] = id;
        if (special) m_specials.push_back(s);
        return id;
    }
    mutable std::vector<std::string> m_pieces, m_specials;
    mutable std::map<std::string, int64_t> m_ids;
};

std::string trainedText(const WordTokenizer& tok, const PreparedExample& e) {
    std::vector<int64_t> ids;
    for (size_t i = 0; i < e.labels.size(); ++i)
        if (e.labels[i] != kIgnoreIndex) {
            EXPECT_EQ(e.labels[i], e.inputIds[i]);
            ids.push_back(e.labels[i]);
        }
    return tok.decode(ids, false);
}

RawDataset rows(const std::string& jsonl) { return parseDatasetBytes("mem.jsonl", jsonl); }

}  // namespace

TEST(DatasetFormat, DetectsEachFormat) {
    EXPECT_EQ(detectFormat(rows("{\"text\": \"a\"}\n"), {}), DataFormat::Text);
    EXPECT_EQ(detectFormat(rows("{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}\n"), {}),
              DataFormat::Instruction);
    EXPECT_EQ(detectFormat(rows("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n"), {}), DataFormat::Chat);
    EXPECT_EQ(detectFormat(rows("{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]}\n"), {}),
              DataFormat::Chat);
    EXPECT_EQ(detectFormat(rows("{\"text\": \"a\", \"label\": 1}\n"), {}), DataFormat::Classification);
    EXPECT_EQ(detectFormat(rows("{\"input_ids\": [1, 2], \"labels\": [-100, 2]}\n"), {}), DataFormat::Tokens);
    EXPECT_EQ(detectFormat(parseDatasetBytes("a.txt", "hello\n"), {}), DataFormat::Text);
    // Majority wins over one odd row.
    EXPECT_EQ(detectFormat(rows("{\"text\": \"a\"}\n{\"instruction\": \"a\", \"output\": \"b\"}\n"
                                "{\"instruction\": \"c\", \"output\": \"d\"}\n"),
                           {}),
              DataFormat::Instruction);
    // Mapping.
    EXPECT_EQ(detectFormat(rows("{\"prompt\": \"a\", \"response\": \"b\"}\n"),
                           {{"instruction", "prompt"}, {"output", "response"}}),
              DataFormat::Instruction);
    try {
        detectFormat(rows("{\"prompt\": \"a\", \"response\": \"b\"}\n"), {});
        FAIL();
    } catch (const peft::PeftError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("prompt, response"), std::string::npos) << m;
        EXPECT_NE(m.find("column_mapping"), std::string::npos) << m;
    }
}

TEST(DatasetFormat, ParsesShareGptAndColumnMapping) {
    auto ex = parseExample(json::parse(R"({"conversations": [{"from": "system", "value": "s"},
        {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]})"),
                           DataFormat::Chat, 3);
    ASSERT_EQ(ex.messages.size(), 3u);
    EXPECT_EQ(ex.messages[0].role, "system");
    EXPECT_EQ(ex.messages[1].role, "user");
    EXPECT_EQ(ex.messages[2].role, "assistant");
    EXPECT_EQ(ex.messages[2].content, "a");
    json m = applyColumnMapping(json::parse(R"({"q": "x", "a": "y", "text": "keep"})"),
                                {{"instruction", "q"}, {"output", "a"}});
    EXPECT_EQ(m["instruction"], "x");
    EXPECT_EQ(m["output"], "y");
    EXPECT_EQ(m["text"], "keep");
    EXPECT_FALSE(m.contains("q"));
    // Swap two columns.
    json s =
        applyColumnMapping(json::parse(R"({"text": "1", "label": "hello"})"), {{"text", "label"}, {"label", "text"}});
    EXPECT_EQ(s["text"], "hello");
    EXPECT_EQ(s["label"], "1");
    // A CSV cell holding JSON.
    auto tk = parseExample(json::parse(R"({"input_ids": "[5, 6]", "labels": "[-100, 6]"})"), DataFormat::Tokens, 2);
    EXPECT_EQ(tk.inputIds, (std::vector<int64_t>{5, 6}));
    EXPECT_EQ(tk.labels, (std::vector<int64_t>{-100, 6}));
}

TEST(DatasetPrepare, BrokenLinesAreRejectedExactly) {
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path = write(
        d, "train.jsonl",
        "{\"instruction\": \"Capital of France?\", \"input\": \"\", \"output\": \"Paris\"}\n"  // 1 ok
        "{\"instruction\": \"broken\", \"output\": \n"                                         // 2 bad JSON
        "{\"instruction\": \"No output\"}\n"                                                   // 3 missing
        "{\"instruction\": \"Empty\", \"output\": \"   \"}\n"                                  // 4 empty
        "{\"instruction\": \"Num\", \"output\": 5}\n"                                          // 5 type
        "{\"instruction\": \"" +
            std::string(400, 'x') +
            "\", \"output\": \"y\"}\n"  // 6 (fits)
            "{\"instruction\": \"" +
            [] {
                std::string s;
                for (int i = 0; i < 80; ++i) s += "w" + std::to_string(i) + " ";
                return s;
            }() +
            "\", \"output\": \"z\"}\n"                                            // 7 over-long
            "{\"instruction\": \"Capital of Italy?\", \"output\": \"Rome\"}\n");  // 8 ok
    cfg.format = "auto";
    cfg.templateName = "chatml";
    cfg.maxLength = 40;
    cfg.validationSplit = 0;
    WordTokenizer tok;
    auto pd = prepareDataset(cfg, &tok);
    const auto& r = pd.report;
    EXPECT_EQ(r.format, "instruction");
    EXPECT_TRUE(r.formatDetected);
    EXPECT_EQ(r.rowsRead, 8);
    EXPECT_EQ(r.rowsAccepted, 3);
    ASSERT_EQ(r.rejections.size(), 5u);
    std::vector<int64_t> lines;
    for (const auto& x : r.rejections) lines.push_back(x.line);
    EXPECT_EQ(lines, (std::vector<int64_t>{2, 3, 4, 5, 7}));
    EXPECT_NE(r.rejections[0].reason.find("bad JSON"), std::string::npos) << r.rejections[0].reason;
    EXPECT_NE(r.rejections[1].reason.find("missing field 'output'"), std::string::npos) << r.rejections[1].reason;
    EXPECT_NE(r.rejections[2].reason.find("empty response"), std::string::npos) << r.rejections[2].reason;
    EXPECT_NE(r.rejections[3].reason.find("must be a string"), std::string::npos) << r.rejections[3].reason;
    EXPECT_NE(r.rejections[4].reason.find("over-long"), std::string::npos) << r.rejections[4].reason;
    for (const auto& x : r.rejections) EXPECT_EQ(x.file, cfg.path);
    EXPECT_EQ(pd.train.size(), 3u);
    EXPECT_EQ(r.trainExamples, 3);

    // Stop at the first error names file:line.
    PrepareOptions stop;
    stop.policy = ErrorPolicy::Stop;
    try {
        prepareDataset(cfg, &tok, stop);
        FAIL();
    } catch (const peft::PeftError& e) {
        EXPECT_NE(std::string(e.what()).find(cfg.path + ":2"), std::string::npos) << e.what();
    }
    cfg.onError = "stop";
    cfg.path = write(d, "t2.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\"}\n");
    try {
        prepareDataset(cfg, &tok);
        FAIL();
    } catch (const peft::PeftError& e) {
        EXPECT_NE(std::string(e.what()).find(cfg.path + ":2: missing field 'output'"), std::string::npos) << e.what();
    }
}

TEST(DatasetPrepare, ResponsesOnlyMasking) {
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path =
        write(d, "c.jsonl",
              R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},)"
              R"( {"role": "assistant", "content": "Hello you"}, {"role": "user", "content": "Bye"},)"
              R"( {"role": "assistant", "content": "See you"}]})"
              "\n");
    cfg.validationSplit = 0;
    WordTokenizer tok;
    for (std::string t : {"chatml", "llama3", "zephyr", "llama2", "alpaca", "plain"}) {
        cfg.templateName = t;
        auto pd = prepareDataset(cfg, &tok);
        ASSERT_EQ(pd.train.size(), 1u) << t;
        const auto& e = pd.train[0];
        ASSERT_EQ(e.inputIds.size(), e.labels.size());
        std::map<std::string, std::string> expect = {{"chatml", "Hello you<|im_end|>See you<|im_end|>"},
                                                     {"llama3", "Hello you<|eot_id|>See you<|eot_id|>"},
                                                     {"zephyr", "Hello you</s>See you</s>"},
                                                     {"llama2", " Hello you </s> See you </s>"},
                                                     {"alpaca", "Hello you</s>See you</s>"},
                                                     {"plain", "Hello you</s>See you</s>"}};
        EXPECT_EQ(trainedText(tok, e), expect[t]) << t;
        // The ids are the whole rendered text's tokenisation (plus BOS for alpaca/plain).
        std::string full;
        for (const auto& s : pd.report.example) full += s.text;
        auto whole = tok.encode(full, t == "alpaca" || t == "plain");
        EXPECT_EQ(e.inputIds, whole) << t;
    }
    // train_on all: every label equals its id.
    cfg.templateName = "chatml";
    cfg.trainOn = "all";
    auto pd = prepareDataset(cfg, &tok);
    EXPECT_EQ(pd.train[0].labels, pd.train[0].inputIds);
}

TEST(DatasetPrepare, AutoTemplateFromTokenizerOrAskTheUser) {
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path = write(d, "i.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n");
    WordTokenizer tok;
    try {
        prepareDataset(cfg, &tok);
        FAIL();
    } catch (const peft::PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("dataset.template"), std::string::npos) << e.what();
    }
    tok.m_template =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
        "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
    auto pd = prepareDataset(cfg, &tok);
    EXPECT_EQ(pd.report.templateName, "chatml");
    EXPECT_TRUE(pd.report.templateDetected);
    // Without a tokenizer: inspection still reports rows, with a warning about the template.
    auto insp = prepareDataset(cfg, nullptr);
    EXPECT_EQ(insp.report.rowsAccepted, 1);
    EXPECT_FALSE(insp.report.tokenized);
    EXPECT_FALSE(insp.report.warnings.empty());
}

TEST(DatasetPrepare, StraddlingTokenGoesToTheLaterSegment) {
    WordTokenizer tok;
    auto t = tokenizeSegments(tok, {{"Say Hel", false}, {"lo world", true}}, false, false);
    // "Say", " Hello", " world": " Hello" straddles the boundary and is trained.
    ASSERT_EQ(t.ids.size(), 3u);
    EXPECT_EQ(t.labels[0], kIgnoreIndex);
    EXPECT_EQ(tok.decode({t.labels[1]}, false), " Hello");
    EXPECT_EQ(tok.decode({t.labels[2]}, false), " world");
    auto s = tokenizeSegments(tok, {{"A", false}, {" b", true}}, false, true);
    EXPECT_EQ(s.ids.front(), 1);  // BOS from the post-processor, masked
    EXPECT_EQ(s.labels.front(), kIgnoreIndex);
}

TEST(DatasetPrepare, TokensFormatKeepsMasksAndTruncates) {
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path =
        write(d, "t.jsonl",
              "{\"input_ids\": [5, 6, 7, 8], \"labels\": [-100, -100, 7, 8]}\n"
              "{\"input_ids\": [9, 10, 11, 12, 13, 14]}\n"
              "{\"input_ids\": [1, 2, 3, 4, 5, 6], \"labels\": [-100, -100, -100, -100, -100, 6]}\n"  // over-long
              "{\"input_ids\": [1, 2], \"labels\": [1]}\n"                                            // length mismatch
              "{\"input_ids\": [1, 2], \"labels\": [-5, 2]}\n"                                        // bad label
              "{\"input_ids\": []}\n");                                                               // empty
    cfg.maxLength = 5;
    cfg.validationSplit = 0;
    auto pd = prepareDataset(cfg, nullptr);  // tokens need no tokenizer
    EXPECT_EQ(pd.report.format, "tokens");
    ASSERT_EQ(pd.train.size(), 2u);
    EXPECT_EQ(pd.train[0].labels, (std::vector<int64_t>{-100, -100, 7, 8}));
    EXPECT_EQ(pd.train[1].inputIds, (std::vector<int64_t>{9, 10, 11, 12, 13}));
    EXPECT_EQ(pd.train[1].labels, pd.train[1].inputIds);
    EXPECT_EQ(pd.report.truncatedRows, 1);
    EXPECT_EQ(pd.report.trainedTokens, 2 + 5);
    ASSERT_EQ(pd.report.rejections.size(), 4u);
    EXPECT_EQ(pd.report.rejections[0].line, 3);
    EXPECT_NE(pd.report.rejections[0].reason.find("over-long"), std::string::npos);
    EXPECT_EQ(pd.report.rejections[1].line, 4);
    EXPECT_EQ(pd.report.rejections[2].line, 5);
    EXPECT_EQ(pd.report.rejections[3].line, 6);
    EXPECT_EQ(pd.report.maxTokens, 6);
    EXPECT_EQ(pd.report.minTokens, 4);
    int64_t total = 0;
    for (const auto& b : pd.report.histogram) total += b.count;
    EXPECT_EQ(total, 2);
    // Example marks the masked part.
    ASSERT_GE(pd.report.example.size(), 2u);
    EXPECT_FALSE(pd.report.example[0].trained);
    EXPECT_TRUE(pd.report.example[1].trained);
    EXPECT_NE(pd.report.toText().find("[[masked: [5 6] ]]"), std::string::npos) << pd.report.toText();
}

TEST(DatasetPrepare, PackingAndTruncationCounts) {
    peft::test::TempDir d;
    DatasetConfig cfg;
    std::string body;
    for (int i = 0; i < 10; ++i) body += "{\"text\": \"w" + std::to_string(i) + " a b c d e\"}\n";  // 6 words + eos = 7
    cfg.path = write(d, "p.jsonl", body);
    cfg.maxLength = 5;
    cfg.validationSplit = 0;
    WordTokenizer tok;
    auto plain = prepareDataset(cfg, &tok);
    EXPECT_EQ(plain.report.truncatedRows, 10);  // 1 BOS + 6 words + EOS = 8 > 5
    EXPECT_EQ(plain.report.maxTokens, 8);
    ASSERT_EQ(plain.train.size(), 10u);
    EXPECT_EQ(plain.train[0].inputIds.size(), 5u);
    cfg.packing = true;
    auto packed = prepareDataset(cfg, &tok);
    // 10 x 8 = 80 tokens (each ends with EOS already) -> 16 blocks of 5.
    ASSERT_EQ(packed.train.size(), 16u);
    for (const auto& b : packed.train) EXPECT_EQ(b.inputIds.size(), 5u);
    EXPECT_EQ(packed.report.trainExamples, 16);
    EXPECT_EQ(packed.train[1].inputIds[2], 2);  // position 7 overall: the first row's EOS
    EXPECT_EQ(packed.train[1].inputIds[3], 1);  // then the next row's BOS
    // packExamples inserts EOS when missing and keeps the partial block.
    std::vector<PreparedExample> ex = {{{5, 6}, {-100, 6}}, {{7}, {7}}};
    auto pk = packExamples(ex, 4, 2);
    ASSERT_EQ(pk.size(), 2u);
    EXPECT_EQ(pk[0].inputIds, (std::vector<int64_t>{5, 6, 2, 7}));
    EXPECT_EQ(pk[0].labels, (std::vector<int64_t>{-100, 6, 2, 7}));
    EXPECT_EQ(pk[1].inputIds, (std::vector<int64_t>{2}));
}

TEST(DatasetPrepare, SplitIsSeededAndDeterministic) {
    auto a = splitMask(100, 0.1, 42), b = splitMask(100, 0.1, 42), c = splitMask(100, 0.1, 7);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(std::count(a.begin(), a.end(), true), 10);
    EXPECT_EQ(std::count(c.begin(), c.end(), true), 10);
    auto s = splitMask(3, 0.1, 1);
    EXPECT_EQ(std::count(s.begin(), s.end(), true), 0);
    auto s2 = splitMask(10, 0.25, 1);  // 2.5 rounds away from zero
    EXPECT_EQ(std::count(s2.begin(), s2.end(), true), 3);
    auto one = splitMask(1, 0.5, 1);
    EXPECT_EQ(std::count(one.begin(), one.end(), true), 0);
    auto z = splitMask(50, 0.0, 1);
    EXPECT_EQ(std::count(z.begin(), z.end(), true), 0);
    // A fixed value pins the algorithm across platforms (mt19937_64 is fully specified).
    std::vector<int> picked;
    auto f = splitMask(20, 0.2, 42);
    for (int i = 0; i < 20; ++i)
        if (f[static_cast<size_t>(i)]) picked.push_back(i);
    EXPECT_EQ(picked.size(), 4u);
    auto f2 = splitMask(20, 0.2, 42);
    EXPECT_EQ(f, f2);

    peft::test::TempDir d;
    DatasetConfig cfg;
    std::string body;
    for (int i = 0; i < 30; ++i) body += "{\"text\": \"row " + std::to_string(i) + "\"}\n";
    cfg.path = write(d, "s.jsonl", body);
    cfg.validationSplit = 0.2;
    WordTokenizer tok;
    PrepareOptions o;
    o.seed = 3;
    auto p1 = prepareDataset(cfg, &tok, o), p2 = prepareDataset(cfg, &tok, o);
    EXPECT_EQ(p1.train.size(), 24u);
    EXPECT_EQ(p1.validation.size(), 6u);
    for (size_t i = 0; i < p1.validation.size(); ++i) EXPECT_EQ(p1.validation[i].line, p2.validation[i].line);
    // A separate validation file replaces the ratio.
    cfg.validationPath = write(d, "v.jsonl", "{\"text\": \"val a\"}\n{\"text\": \"val b\"}\n{\"bad\": 1}\n");
    auto p3 = prepareDataset(cfg, &tok, o);
    EXPECT_EQ(p3.train.size(), 30u);
    EXPECT_EQ(p3.validation.size(), 2u);
    ASSERT_EQ(p3.report.rejections.size(), 1u);
    EXPECT_EQ(p3.report.rejections[0].file, *cfg.validationPath);
    EXPECT_EQ(p3.report.rejections[0].line, 3);
}

TEST(DatasetPrepare, ClassificationLabelMap) {
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path = write(d, "c.csv", "text,label\ngood film,pos\nbad film,neg\nok film,neutral\nfine,pos\n");
    cfg.validationSplit = 0;
    WordTokenizer tok;
    auto pd = prepareDataset(cfg, &tok);
    EXPECT_EQ(pd.report.format, "classification");
    EXPECT_EQ(pd.labelNames, (std::vector<std::string>{"neg", "neutral", "pos"}));
    ASSERT_EQ(pd.train.size(), 4u);
    EXPECT_EQ(pd.train[0].classLabel, 2);
    EXPECT_EQ(pd.train[1].classLabel, 0);
    EXPECT_TRUE(pd.train[0].labels.empty());
    cfg.path = write(d, "n.csv", "text,label\na,2\nb,0\n");
    auto pn = prepareDataset(cfg, &tok);
    EXPECT_EQ(pn.labelNames, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(pn.train[0].classLabel, 2);
}

TEST(ValidationReport, HistogramBins) {
    auto h = makeHistogram({517, 530, 613, 599});
    ASSERT_EQ(h.size(), 6u);  // width 20 is the finest round width that fits in 10 bins
    EXPECT_EQ(h[0].lo, 500);
    EXPECT_EQ(h[0].hi, 520);
    EXPECT_EQ(h[0].count, 1);
    EXPECT_EQ(h[1].count, 1);
    EXPECT_EQ(h[4].count, 1);
    EXPECT_EQ(h[5].lo, 600);
    EXPECT_EQ(h[5].count, 1);
    auto g = makeHistogram({3, 3, 4});
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].lo, 3);
    EXPECT_EQ(g[0].hi, 4);
    EXPECT_EQ(g[0].count, 2);
    auto w = makeHistogram({1, 1000});
    EXPECT_LE(w.size(), 10u);
    int64_t total = 0;
    for (const auto& b : w) total += b.count;
    EXPECT_EQ(total, 2);
    EXPECT_TRUE(makeHistogram({}).empty());
}

TEST(DatasetConfig, FromJsonStrictAndRoundTrip) {
    auto c = DatasetConfig::fromJson(json::parse(R"({"path": "train.jsonl"})"));
    EXPECT_EQ(c.format, "auto");
    EXPECT_FALSE(c.validationPath);
    EXPECT_DOUBLE_EQ(c.validationSplit, 0.1);
    EXPECT_EQ(c.maxLength, 512);
    EXPECT_EQ(c.templateName, "auto");
    EXPECT_EQ(c.trainOn, "responses");
    EXPECT_FALSE(c.packing);
    json full = json::parse(R"({"path": "a.csv", "format": "chat", "validation_path": "v.csv", "validation_split": 0.2,
        "max_length": 128, "template": "llama3", "train_on": "all", "packing": true,
        "column_mapping": {"messages": "dialog"}, "on_error": "stop"})");
    auto f = DatasetConfig::fromJson(full);
    EXPECT_EQ(f.toJson(), full);
    EXPECT_EQ(DatasetConfig::fromJson(c.toJson()).toJson(), c.toJson());
    auto err = [](const char* text) {
        try {
            DatasetConfig::fromJson(json::parse(text), "run.json: dataset");
        } catch (const peft::PeftError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(err(R"({"pathh": "x"})").find("run.json: dataset.pathh: unknown key"), std::string::npos);
    EXPECT_NE(err(R"({"max_length": "512"})").find("dataset.max_length"), std::string::npos);
    EXPECT_NE(err(R"({"max_length": 1.5})").find("dataset.max_length"), std::string::npos);
    EXPECT_NE(err(R"({"packing": 1})").find("dataset.packing"), std::string::npos);
    EXPECT_NE(err(R"({"validation_split": 1.0})").find("dataset.validation_split"), std::string::npos);
    EXPECT_NE(err(R"({"template": "vicuna"})").find("dataset.template"), std::string::npos);
    EXPECT_NE(err(R"({"train_on": "prompts"})").find("dataset.train_on"), std::string::npos);
    EXPECT_NE(err(R"({"format": "parquet"})").find("dataset.format"), std::string::npos);
    EXPECT_NE(err(R"({"column_mapping": {"answer": "x"}})").find("column_mapping"), std::string::npos);
    EXPECT_NE(err(R"({"column_mapping": {"output": 3}})").find("column_mapping.output"), std::string::npos);
    EXPECT_NE(err(R"({"validation_path": 3})").find("dataset.validation_path"), std::string::npos);
    EXPECT_NE(err("[]").find("expected an object"), std::string::npos);
}

TEST(Batcher, PadsMasksAndResumes) {
    auto ex = std::make_shared<std::vector<PreparedExample>>();
    for (int i = 0; i < 7; ++i) {
        PreparedExample e;
        for (int t = 0; t <= i; ++t) e.inputIds.push_back(10 + t);
        e.labels = e.inputIds;
        e.labels[0] = kIgnoreIndex;
        ex->push_back(e);
    }
    BatcherOptions o;
    o.batchSize = 3;
    o.shuffle = false;
    o.padId = 0;
    Batcher fixed(ex, o);
    EXPECT_EQ(fixed.batchesPerEpoch(), 3);
    Batch b = fixed.next();
    ASSERT_EQ(b.inputIds.sizes(), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(b.inputIds.dtype(), torch::kInt64);
    EXPECT_EQ(b.inputIds[0][1].item<int64_t>(), 0);
    EXPECT_EQ(b.labels[0][1].item<int64_t>(), -100);
    EXPECT_EQ(b.labels[0][0].item<int64_t>(), -100);
    EXPECT_EQ(b.labels[2][2].item<int64_t>(), 12);
    EXPECT_EQ(b.attentionMask.sum().item<int64_t>(), 1 + 2 + 3);
    EXPECT_EQ(b.numTokens, 6);
    EXPECT_EQ(b.numLabels, 0 + 1 + 2);
    fixed.next();
    Batch last = fixed.next();
    EXPECT_EQ(last.inputIds.size(0), 1);  // 7 = 3 + 3 + 1
    EXPECT_EQ(fixed.next().epoch, 1);

    o.shuffle = true;
    o.seed = 5;
    Batcher a(ex, o), c(ex, o);
    EXPECT_NE(a.epochOrder(0), a.epochOrder(1));
    EXPECT_EQ(a.epochOrder(3), c.epochOrder(3));
    // Run 5 batches, checkpoint, resume in a fresh batcher: the same next batches.
    for (int i = 0; i < 5; ++i) a.next();
    DataPosition pos = DataPosition::fromJson(a.position().toJson());
    Batcher r(ex, o);
    r.setPosition(pos);
    for (int i = 0; i < 6; ++i) {
        Batch x = a.next(), y = r.next();
        EXPECT_TRUE(torch::equal(x.inputIds, y.inputIds));
        EXPECT_TRUE(torch::equal(x.labels, y.labels));
        EXPECT_EQ(x.epoch, y.epoch);
    }
    EXPECT_THROW(r.setPosition({0, 99}), peft::PeftError);
    EXPECT_THROW(Batcher(std::make_shared<std::vector<PreparedExample>>(), o), peft::PeftError);

    // Classification batches carry [B] class ids.
    auto cl = std::make_shared<std::vector<PreparedExample>>();
    cl->push_back({{3, 4}, {}, 1, 0});
    cl->push_back({{5}, {}, 0, 0});
    Batch cb = Batcher::collate({&(*cl)[0], &(*cl)[1]}, 9);
    EXPECT_EQ(cb.labels.sizes(), (std::vector<int64_t>{2}));
    EXPECT_EQ(cb.labels[0].item<int64_t>(), 1);
    EXPECT_EQ(cb.inputIds[1][1].item<int64_t>(), 9);
}

TEST(Batcher, ForEachBatchCoversTheExamplesInOrder) {
    std::vector<PreparedExample> ex(5);
    for (int i = 0; i < 5; ++i) ex[static_cast<size_t>(i)].inputIds = ex[static_cast<size_t>(i)].labels = {100 + i};
    std::vector<std::pair<size_t, size_t>> seen;  // (first, count)
    std::vector<int64_t> firstIds;
    forEachBatch(ex, 2, 0, [&](const Batch& b, size_t first, size_t count) {
        EXPECT_EQ(b.inputIds.size(0), static_cast<int64_t>(count));
        seen.emplace_back(first, count);
        firstIds.push_back(b.inputIds[0][0].item<int64_t>());
    });
    EXPECT_EQ(seen, (std::vector<std::pair<size_t, size_t>>{{0, 2}, {2, 2}, {4, 1}}));
    EXPECT_EQ(firstIds, (std::vector<int64_t>{100, 102, 104}));
    // A batch size below 1 is one example at a time, not an endless loop.
    int calls = 0;
    forEachBatch(ex, 0, 0, [&](const Batch&, size_t, size_t count) { calls += static_cast<int>(count == 1); });
    EXPECT_EQ(calls, 5);
    forEachBatch({}, 4, 0, [&](const Batch&, size_t, size_t) { ADD_FAILURE() << "no examples, no batch"; });
}

TEST(DatasetPrepare, CancelHookStopsTheRowLoop) {
    // PrepareOptions::cancelled is polled after each file and every 256 rows: asking to stop
    // throws Cancelled before the rows are done; a hook that never fires changes nothing.
    peft::test::TempDir d;
    std::string rows;
    for (int i = 0; i < 2000; ++i) rows += "{\"text\": \"row " + std::to_string(i) + " of the file\"}\n";
    DatasetConfig cfg;
    cfg.path = write(d, "train.jsonl", rows);
    cfg.format = "text";
    cfg.validationSplit = 0;
    WordTokenizer tok;
    int polls = 0;
    PrepareOptions never;
    never.cancelled = [&] {
        ++polls;
        return false;
    };
    auto pd = prepareDataset(cfg, &tok, never);
    EXPECT_EQ(pd.train.size(), 2000u);
    EXPECT_EQ(polls, 1 + 2000 / 256);  // after the file, then every 256 rows
    PrepareOptions stop;
    int calls = 0;
    stop.cancelled = [&] { return ++calls == 3; };  // the second poll inside the row loop
    EXPECT_THROW(prepareDataset(cfg, &tok, stop), Cancelled);
    EXPECT_EQ(calls, 3);
}
