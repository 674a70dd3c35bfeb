// The bundled demo (resources/demo): its model loads and has learned the text it was pretrained
// on, its tokenizer is recognised as ChatML, its files are consistent (no held-out verse in the
// tuning data), and its shipped run.json learns the task: held-out "which book" accuracy of at
// least 40% and 3x chance on verses the tuning never showed it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "core/data/chat_template.h"
#include "core/io/model_config.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/adapter_base.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/run_config.h"
#include "core/train/trainer.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {

std::string demoDir() { return peft::test::sourcePath("resources/demo"); }

// One chat row of the demo's files: the user turn and the assistant's answer.
struct ChatRow {
    std::string user, answer;
};

std::vector<ChatRow> readChatRows(const std::string& path) {
    std::vector<ChatRow> rows;
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        const auto& m = j.at("messages");
        EXPECT_EQ(m.size(), 2u) << path << ":" << n;
        if (m.size() != 2) continue;
        rows.push_back({m[0].at("content").get<std::string>(), m[1].at("content").get<std::string>()});
    }
    return rows;
}

const char* kQuestion = "Which book of the Bible is this verse from?\n";

// The book an answer names ("The book of Psalms." -> "Psalms"), empty when it names none.
std::string bookOf(const std::string& answer) {
    static const std::regex re("The book of ([A-Za-z ]+?)\\.");
    std::smatch m;
    return std::regex_search(answer, m, re) ? m[1].str() : std::string();
}

// Runs a 1M-parameter model on one thread: it gains nothing from more, and on a busy machine two
// spinning threads made a demo run 20x slower (8 s -> 170 s measured).
struct OneThread {
    int n = at::get_num_threads();
    OneThread() { at::set_num_threads(1); }
    ~OneThread() { at::set_num_threads(n); }
};

// The shipped run configs: run.json (the one the GUI opens) and the alternatives in configs/.
std::vector<std::string> readyRunConfigs() {
    std::vector<std::string> out = {demoDir() + "/run.json"};
    std::vector<std::string> more;
    for (const auto& e : fs::directory_iterator(demoDir() + "/configs"))
        if (e.path().extension() == ".json") more.push_back(e.path().string());
    std::sort(more.begin(), more.end());
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

// Held-out accuracy of `model` on the demo's "which book" quiz: greedy answers to each question as
// one ChatML user turn, counted when they name the reference's book.
double heldOutAccuracy(CausalLMImpl& model, const Tokenizer& tok, std::map<std::string, int>* said = nullptr) {
    torch::NoGradGuard ng;
    model.eval();
    GenerateOptions g;
    g.greedy = true;
    g.maxNewTokens = 12;
    int correct = 0, total = 0;
    for (const ChatRow& r : readChatRows(demoDir() + "/heldout.jsonl")) {
        const std::string got =
            bookOf(generateText(model, tok, data::generationPrompt(data::TemplateKind::ChatMl, r.user), g));
        if (said) ++(*said)[got.empty() ? "(no book)" : got];
        correct += got == bookOf(r.answer);
        ++total;
    }
    return total ? static_cast<double>(correct) / total : 0.0;
}

}  // namespace

TEST(Demo, FilesArePresentAndSmall) {
    const fs::path d = demoDir();
    for (const char* f : {"run.json", "dataset.jsonl", "heldout.jsonl", "model/config.json", "model/model.safetensors",
                          "model/tokenizer.json", "model/tokenizer_config.json"})
        EXPECT_TRUE(fs::exists(d / f)) << (d / f) << " is missing; run packaging/make_demo.sh";
    // "A few MB": the demo ships inside the package and the repository (under 20 MB in all).
    EXPECT_LT(fs::file_size(d / "model/model.safetensors"), 8u * 1024 * 1024);
    uintmax_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(d))
        if (e.is_regular_file()) total += e.file_size();
    EXPECT_LT(total, 20u * 1024 * 1024);
    EXPECT_GE(readyRunConfigs().size(), 2u) << "the demo offers run.json and at least one alternative in configs/";
}

TEST(Demo, HeldOutVersesAreNotInTheTuningData) {
    const auto heldout = readChatRows(demoDir() + "/heldout.jsonl");
    const auto train = readChatRows(demoDir() + "/dataset.jsonl");
    ASSERT_GE(heldout.size(), 80u);
    ASSERT_GE(train.size(), 400u);
    // Every held-out row asks "which book" and names a book; the 8 books come equally often.
    std::map<std::string, int> perBook;
    std::set<std::string> heldVerses;
    for (const ChatRow& r : heldout) {
        ASSERT_EQ(r.user.rfind(kQuestion, 0), 0u) << r.user;
        const std::string book = bookOf(r.answer);
        ASSERT_FALSE(book.empty()) << r.answer;
        ++perBook[book];
        heldVerses.insert(r.user.substr(std::string(kQuestion).size()));
    }
    EXPECT_EQ(perBook.size(), 8u);
    for (const auto& [book, n] : perBook) EXPECT_EQ(n, perBook.begin()->second) << book;
    EXPECT_EQ(heldVerses.size(), heldout.size()) << "a held-out verse is asked twice";
    // No tuning row shows a held-out verse, whole or in part (a "continue this verse" row holds its
    // first half in the question and its second half in the answer).
    std::map<std::string, int> trainBooks;
    for (const ChatRow& r : train) {
        const std::string both = r.user + " " + r.answer;
        for (const std::string& v : heldVerses) {
            ASSERT_EQ(both.find(v), std::string::npos) << "held-out verse in the tuning data: " << v;
            ASSERT_EQ(v.find(r.answer), std::string::npos) << "held-out verse continued in the tuning data: " << v;
        }
        if (r.user.rfind(kQuestion, 0) == 0) ++trainBooks[bookOf(r.answer)];
    }
    // The tuning data asks about the same 8 books, each of them.
    EXPECT_EQ(trainBooks.size(), 8u);
    for (const auto& [book, n] : perBook) EXPECT_GT(trainBooks[book], 0) << book;
}

TEST(Demo, ReadyRunConfigsLoadAndLowerTheEvalLoss) {
    OneThread one;
    for (const std::string& path : readyRunConfigs()) {
        SCOPED_TRACE(path);
        test::TempDir tmp;
        RunConfig cfg = RunConfig::load(path);
        // Paths in the configs are relative to their folder and resolve there from any working directory.
        EXPECT_TRUE(fs::exists(cfg.model)) << cfg.model;
        EXPECT_TRUE(fs::exists(cfg.dataset["path"].get<std::string>()));
        cfg.outputDir = tmp.file("run");
        cfg.training.maxSteps = 15;
        cfg.training.evalEvery = 0;
        cfg.training.saveEvery = 0;
        cfg.training.warmupSteps = 0;
        Trainer trainer(cfg);
        trainer.setup();
        const double before = trainer.evaluate().first;
        TrainResult r = trainer.run();
        ASSERT_EQ(r.status, TrainStatus::Finished) << r.message;
        ASSERT_TRUE(r.finalEvalLoss.has_value());
        std::cout << path << ": eval loss " << before << " -> " << *r.finalEvalLoss << " in 15 steps\n";
        EXPECT_LT(*r.finalEvalLoss, before - 0.3);
    }
}

TEST(Demo, ShippedRunLearnsTheTask) {
    // run.json exactly as shipped (only its output folder moved): its held-out accuracy must reach
    // 40% and three times chance (1 in 8 books) on verses the tuning never showed it.
    OneThread one;
    test::TempDir tmp;
    RunConfig cfg = RunConfig::load(demoDir() + "/run.json");
    cfg.outputDir = tmp.file("run");
    Trainer trainer(cfg);
    trainer.setup();
    TrainResult r = trainer.run();
    ASSERT_EQ(r.status, TrainStatus::Finished) << r.message;

    LoadedModel base = loadModel(demoDir() + "/model");
    auto tok = Tokenizer::load(demoDir() + "/model");
    const double baseAcc = heldOutAccuracy(*base.model, *tok);

    // The run folder stands on its own: a FULL run is a model folder, an adapter names its base.
    const bool isAdapter = fs::exists(fs::path(r.adapterDir) / "adapter_config.json");
    LoadedModel tuned = loadModel(isAdapter ? adapterBaseModel(r.adapterDir) : r.adapterDir);
    Adapter adapter;
    if (isAdapter) adapter = loadAdapter(*tuned.model, r.adapterDir);
    std::map<std::string, int> said;
    const double acc =
        heldOutAccuracy(*tuned.model, *Tokenizer::load(isAdapter ? demoDir() + "/model" : r.adapterDir), &said);
    std::cout << "demo held-out accuracy: base " << baseAcc << ", tuned " << acc << " (chance 0.125); answers:";
    for (const auto& [book, n] : said) std::cout << " " << book << " " << n;
    std::cout << "\n";
    EXPECT_GE(acc, 0.40);
    EXPECT_GE(acc, 3 * 0.125);
    // It learned the task, not one answer: at least 6 of the 8 books are named.
    EXPECT_GE(said.size() - said.count("(no book)"), 6u);
    EXPECT_GT(acc, baseAcc + 0.25);
}

TEST(Demo, TokenizerIsChatMlAndRoundTrips) {
    auto tok = Tokenizer::load(demoDir() + "/model");
    const std::string text = "In the beginning God created the heaven and the earth.\n<|im_start|>user\nHi<|im_end|>\n";
    auto ids = tok->encode(text, false);
    EXPECT_EQ(tok->decode(ids, false), text);
    // The learned merges compress English: far fewer tokens than bytes.
    auto plain = tok->encode("And God said, Let there be light: and there was light.", false);
    EXPECT_LT(plain.size(), 20u);
    auto kind = data::recogniseChatTemplate(tok->chatTemplate());
    ASSERT_TRUE(kind.has_value()) << "chat_template not recognised";
    EXPECT_EQ(*kind, data::TemplateKind::ChatMl);
}

TEST(Demo, BaseModelContinuesAVerse) {
    LoadedModel lm = loadModel(demoDir() + "/model");
    auto tok = Tokenizer::load(demoDir() + "/model");
    torch::NoGradGuard ng;
    lm.model->eval();
    GenerateOptions g;
    g.greedy = true;
    g.maxNewTokens = 24;
    g.stopIds = {-1};  // run the whole budget
    auto prompt = tok->encode("And the LORD spake unto Moses, saying,", false);
    auto out = generateIds(*lm.model, prompt, g);
    ASSERT_GE(out.size(), 12u);
    std::set<int64_t> distinct(out.begin(), out.end());
    EXPECT_GE(distinct.size(), 5u) << "greedy output is degenerate: " << tok->decode(out, false);
    // A model that learned the text puts most of its mass on likely words: the loss of a well-known
    // verse is far below the uniform log(vocab) = 7.6 nats of the random init (the demo: about 4).
    auto ids = tok->encode(
        "In the beginning God created the heaven and the earth. And the earth was without form, and void.", false);
    torch::Tensor x = torch::tensor(ids).unsqueeze(0);
    torch::Tensor logits = lm.model->forward(x).squeeze(0).to(torch::kFloat32);  // [T,V]
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits.slice(0, 0, -1), x.squeeze(0).slice(0, 1));
    EXPECT_LT(loss.item<double>(), 5.0) << "the demo base does not know Genesis 1:1";
    std::cout << "greedy: " << tok->decode(out, false) << "\nGenesis 1:1-2 loss: " << loss.item<double>() << "\n";
}
