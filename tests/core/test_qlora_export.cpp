// QLoRA (NF4 base: storage and logits error measured), merged-model export that loadModel reads
// back, and the `merge` / `logits` CLI subcommands.
#include <cstdlib>
#include <filesystem>

#include "core/io/tensor_io.h"
#include "core/model/loader.h"
#include "core/peft/full/export_model.h"
#include "core/peft/method.h"
#include "core/peft/qlora/nf4.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(QLoRA, Nf4RoundTripOfOneMatrix) {
    torch::manual_seed(0);
    torch::Tensor w = torch::randn({96, 64}) * 0.02;
    for (bool dq : {false, true}) {
        Nf4Weight q(w, dq);
        torch::Tensor d = q.dequantize(torch::kFloat32);
        ASSERT_EQ(d.sizes(), w.sizes());
        // NF4's largest gap is 0.30 of the block absmax (between -1 and -0.70): error <= half of it.
        double rel = ((d - w).abs().max() / w.abs().max()).item<double>();
        EXPECT_LT(rel, 0.16) << dq;
        EXPECT_GT(rel, 0.0);
        double bpp = static_cast<double>(q.storageBytes()) / w.numel();
        EXPECT_LE(bpp, dq ? 0.55 : 0.5625 + 1e-9) << dq;
    }
    // Codes hit the code book exactly for values that are code book levels times the absmax.
    const auto& cb = nf4CodeBook();
    torch::Tensor exact = torch::tensor(std::vector<float>(cb.begin(), cb.end())).repeat({4}).view({1, 64}) * 3.0;
    EXPECT_LT(maxDiff(Nf4Weight(exact, false).dequantize(torch::kFloat32), exact), 1e-6);
}

TEST(QLoRA, QuantisedBaseStorageAndLogitsError) {
    for (std::string m : {"tiny-gpt2", "tiny-llama"}) {
        auto model = loadModel(test::fixture(m + "/base")).model;
        auto ref = loadSafetensors(test::fixture(m + "/base_reference.safetensors"));
        QuantizeReport r = quantizeBaseNf4(*model);
        // Measured: 0.516 (GPT-2) / 0.517 (Llama) bytes/param with double quantisation, from 4.
        EXPECT_LE(r.bytesPerParam(), 0.55) << m;
        EXPECT_EQ(r.bytesBefore, r.params * 4);
        torch::NoGradGuard ng;
        double err = maxDiff(model->forward(ref.at("input_ids")), ref.at("logits"));
        double scale = ref.at("logits").abs().max().item<double>();
        std::cout << "[qlora] " << m << " bytes/param " << r.bytesPerParam() << " max|logit err| " << err
                  << " (max|logit| " << scale << ")\n";
        // Measured (fp32, CPU): GPT-2 0.0093 of max|logit| 0.58; Llama 0.070 of 0.65. The
        // random tiny weights are a worst case for NF4 (no outlier-free normal rows).
        EXPECT_LT(err, m == "tiny-gpt2" ? 0.02 : 0.12) << m;
        EXPECT_GT(err, 0.0) << m;
    }
}

TEST(QLoRA, LoraOnNf4BaseTrainsAndExportsOrdinaryLora) {
    auto model = loadModel(test::fixture("tiny-llama/base")).model;
    quantizeBaseNf4(*model);
    Adapter a = attachAdapter(
        *model,
        {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", json::array({"q_proj", "v_proj"})}});
    auto x = loadSafetensors(test::fixture("tiny-llama/base_reference.safetensors")).at("input_ids");
    std::vector<torch::Tensor> params;
    for (auto& [n, t] : a.method->trainable()) params.push_back(t);
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2));
    torch::Tensor logits = model->forward(x);
    torch::nn::functional::cross_entropy(logits.slice(1, 0, -1).reshape({-1, logits.size(-1)}),
                                         x.slice(1, 1).reshape({-1}))
        .backward();
    opt.step();
    test::TempDir tmp;
    saveAdapter(a, tmp.path());
    auto saved = loadSafetensors(tmp.file("adapter_model.safetensors"));
    auto ordinary = loadSafetensors(test::fixture("tiny-llama/adapters/lora-qv-r4/adapter_model.safetensors"));
    ASSERT_EQ(saved.size(), ordinary.size());
    for (const auto& [k, t] : ordinary) EXPECT_EQ(saved.at(k).sizes(), t.sizes()) << k;
    // It loads on the full-precision base.
    auto fp = loadModel(test::fixture("tiny-llama/base")).model;
    EXPECT_NO_THROW(loadAdapter(*fp, tmp.path()));
    // Merging into NF4 weights is refused with a message.
    EXPECT_ANY_THROW(a.method->merge());
}

TEST(Export, MergedModelFolderReloadsWithSameLogits) {
    for (std::string m : {"tiny-gpt2", "tiny-llama"}) {
        for (std::string ad : {"lora-qv-r4", "dora-qv-r4", "ia3"}) {
            auto model = loadModel(test::fixture(m + "/base")).model;
            Adapter a = loadAdapter(*model, test::fixture(m + "/adapters/" + ad));
            auto ref = loadSafetensors(test::fixture(m + "/adapters/" + ad + "/reference.safetensors"));
            a.method->merge();
            test::TempDir tmp;
            exportModelFolder(*model, test::fixture(m + "/base"), tmp.path());
            EXPECT_TRUE(fs::exists(tmp.file("tokenizer.json")));
            EXPECT_TRUE(fs::exists(tmp.file("config.json")));
            auto header = st::readHeader(tmp.file("model.safetensors"));
            auto orig = st::readHeader(test::fixture(m + "/base/model.safetensors"));
            EXPECT_EQ(header.size(), orig.size()) << "same tensors as the original checkpoint (tied once)";
            auto merged = loadModel(tmp.path()).model;
            torch::NoGradGuard ng;
            EXPECT_LT(maxDiff(merged->forward(ref.at("input_ids")), ref.at("logits")), 1e-4) << m << "/" << ad;
        }
    }
}

int runCli(const std::string& args) {
    std::string cmd = test::cliPath() + " " + args + " > /dev/null 2>&1";
    return std::system(cmd.c_str());
}

TEST(Cli, LogitsAndMerge) {
    if (!fs::exists(test::cliPath())) GTEST_SKIP() << "peft-studio-cli not built at " << test::cliPath();
    test::TempDir tmp;
    for (std::string ad : {"tiny-llama/adapters/lora-qv-r4", "tiny-llama/adapters/seqcls-lora-qv-r4"}) {
        const std::string dir = test::fixture(ad);
        std::string extra = ad.find("seqcls") != std::string::npos ? " --pad-token-id 0" : "";
        ASSERT_EQ(runCli("logits --model " + test::fixture("tiny-llama/base") + " --adapter " + dir + " --input " +
                         dir + "/reference.safetensors --out " + tmp.file("out.safetensors") + extra),
                  0);
        auto out = loadSafetensors(tmp.file("out.safetensors"));
        auto ref = loadSafetensors(dir + "/reference.safetensors");
        EXPECT_LT(maxDiff(out.at("logits"), ref.at("logits")), 1e-4) << ad;
    }
    const std::string dir = test::fixture("tiny-gpt2/adapters/dora-qv-r4");
    ASSERT_EQ(runCli("merge --model " + test::fixture("tiny-gpt2/base") + " --adapter " + dir + " --out " +
                     tmp.file("merged")),
              0);
    ASSERT_EQ(runCli("logits --model " + tmp.file("merged") + " --input " + dir + "/reference.safetensors --out " +
                     tmp.file("m.safetensors")),
              0);
    EXPECT_LT(maxDiff(loadSafetensors(tmp.file("m.safetensors")).at("logits"),
                      loadSafetensors(dir + "/reference.safetensors").at("logits")),
              1e-4);
    // Errors exit non-zero: prompt tuning cannot merge; a missing folder.
    EXPECT_NE(runCli("merge --model " + test::fixture("tiny-gpt2/base") + " --adapter " +
                     test::fixture("tiny-gpt2/adapters/prompt-tuning-5") + " --out " + tmp.file("x")),
              0);
    EXPECT_NE(runCli("logits --model /nonexistent --input a --out b"), 0);
}

}  // namespace
