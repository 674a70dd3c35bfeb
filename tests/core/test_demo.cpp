// The bundled demo (resources/demo): its model loads and has learned the text it was pretrained
// on, its tokenizer is recognised as ChatML, and its run.json's LoRA run lowers the eval loss.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/data/chat_template.h"
#include "core/io/model_config.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/run_config.h"
#include "core/train/trainer.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {

std::string demoDir() {
    const char* s = std::getenv("PEFT_SOURCE_DIR");
    return (fs::path(s ? s : ".") / "resources" / "demo").string();
}

}  // namespace

TEST(Demo, FilesArePresentAndSmall) {
    const fs::path d = demoDir();
    for (const char* f : {"run.json", "dataset.jsonl", "model/config.json", "model/model.safetensors",
                          "model/tokenizer.json", "model/tokenizer_config.json"})
        EXPECT_TRUE(fs::exists(d / f)) << (d / f) << " is missing; run packaging/make_demo.sh";
    // "A few MB": the demo ships inside the package and the repository.
    EXPECT_LT(fs::file_size(d / "model/model.safetensors"), 8u * 1024 * 1024);
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
    auto ids = tok->encode("In the beginning God created the heaven and the earth. And the earth was without form, and void.", false);
    torch::Tensor x = torch::tensor(ids).unsqueeze(0);
    torch::Tensor logits = lm.model->forward(x).squeeze(0).to(torch::kFloat32);  // [T,V]
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits.slice(0, 0, -1), x.squeeze(0).slice(0, 1));
    EXPECT_LT(loss.item<double>(), 5.0) << "the demo base does not know Genesis 1:1";
    std::cout << "greedy: " << tok->decode(out, false) << "\nGenesis 1:1-2 loss: " << loss.item<double>() << "\n";
}

TEST(Demo, RunJsonLoraLowersEvalLoss) {
    // A 1M-parameter model gains nothing from threads, and on a busy machine two spinning
    // threads made this run 20x slower (8 s -> 170 s measured).
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    struct Restore {
        int n;
        ~Restore() { at::set_num_threads(n); }
    } restore{threads};
    test::TempDir tmp;
    RunConfig cfg = RunConfig::load(demoDir() + "/run.json");
    // Paths in run.json are relative to its folder and resolve there from any working directory.
    EXPECT_TRUE(fs::exists(cfg.model)) << cfg.model;
    EXPECT_TRUE(fs::exists(cfg.dataset["path"].get<std::string>()));
    EXPECT_EQ(cfg.method["peft_type"], "LORA");
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
    std::cout << "demo LoRA eval loss: " << before << " -> " << *r.finalEvalLoss << "\n";
    EXPECT_LT(*r.finalEvalLoss, before - 0.3);
    EXPECT_TRUE(fs::exists(fs::path(r.adapterDir) / "adapter_model.safetensors"));
}
