// safetensors reader/writer: round trip, zero-copy views, and every kind of corrupt file.
#include <filesystem>
#include <fstream>

#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;

using peft::test::errorOf;
using peft::test::writeRaw;

namespace {

// The error st::File::open gives for a file `name` in `d` holding `header` and `data`.
std::string openError(const test::TempDir& d, const std::string& name, const std::string& header,
                      const std::string& data) {
    writeRaw(d.file(name), header, data);
    return errorOf([&] { st::File::open(d.file(name)); });
}

}  // namespace

TEST(Safetensors, RoundTripKeepsValuesAndMetadata) {
    test::TempDir d;
    auto a = torch::arange(12, torch::kFloat32).reshape({3, 4});
    auto b = torch::randn({5}).to(torch::kBFloat16);
    auto c = torch::tensor({1, 2, 3}, torch::kInt64);
    saveSafetensors(d.file("x.safetensors"), {{"a", a}, {"b", b}, {"c", c}}, {{"format", "pt"}});
    std::map<std::string, std::string> meta;
    auto m = loadSafetensors(d.file("x.safetensors"), &meta);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_TRUE(torch::equal(m["a"], a));
    EXPECT_TRUE(torch::equal(m["b"], b));
    EXPECT_TRUE(torch::equal(m["c"], c));
    EXPECT_EQ(meta["format"], "pt");
}

TEST(Safetensors, ReadsFixtureModel) {
    auto f = st::File::open(test::fixture("tiny-gpt2/base/model.safetensors"));
    const auto& t = f->at("transformer.wte.weight");
    EXPECT_EQ(t.shape, (std::vector<int64_t>{512, 64}));
    EXPECT_EQ(t.dtype, st::DType::F32);
}

// `info --load` (the load benchmark's probe): loads, pages in and runs the model, and reports the
// file size it read and resident memory that covers the mapped weights.
TEST(Safetensors, InfoLoadReportsFileSizeAndResidentMemory) {
    const std::string dir = test::fixture("tiny-llama/base");
    const auto r = test::runCli("info --model " + dir + " --load --precision fp32", false);
    ASSERT_EQ(r.rc, 0) << r.out;
    auto value = [&](const std::string& key) {
        const size_t at = r.out.find("\n" + key + ": ");
        EXPECT_NE(at, std::string::npos) << key << " missing in:\n" << r.out;
        return at == std::string::npos ? -1.0 : std::stod(r.out.substr(at + key.size() + 3));
    };
    const double bytes = static_cast<double>(std::filesystem::file_size(dir + "/model.safetensors"));
    EXPECT_EQ(value("file_bytes"), bytes);
    EXPECT_GE(value("peak_rss_mib") - value("rss_start_mib"), bytes / (1024.0 * 1024.0) * 0.9);
    EXPECT_GE(value("load_s"), 0.0);
    EXPECT_GE(value("forward_s"), 0.0);
    // --load needs a model.
    EXPECT_NE(test::runCli("info --load", false).rc, 0);
}

TEST(Safetensors, InPlaceWriteDoesNotTouchFile) {
    test::TempDir d;
    saveSafetensors(d.file("w.safetensors"), {{"w", torch::ones({4})}});
    {
        auto m = loadSafetensors(d.file("w.safetensors"));
        m["w"].mul_(3);
        EXPECT_FLOAT_EQ(m["w"][0].item<float>(), 3.f);
    }
    auto m2 = loadSafetensors(d.file("w.safetensors"));
    EXPECT_FLOAT_EQ(m2["w"][0].item<float>(), 1.f);
}

TEST(Safetensors, RejectsTruncatedFile) {
    test::TempDir d;
    const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
    EXPECT_TRUE(test::mentions(openError(d, "t.safetensors", header, std::string(8, '\0')),
                               {"t.safetensors", "'w'", "truncated"}));
}

TEST(Safetensors, RejectsBadHeaderJson) {
    test::TempDir d;
    EXPECT_TRUE(test::mentions(openError(d, "b.safetensors", "{not json", ""), {"not valid JSON"}));
}

TEST(Safetensors, RejectsShapeByteMismatch) {
    test::TempDir d;
    const std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})";
    EXPECT_TRUE(test::mentions(openError(d, "s.safetensors", header, std::string(16, '\0')), {"'w'", "bytes"}));
}

TEST(Safetensors, RejectsHugeHeaderBeforeAllocating) {
    test::TempDir d;
    std::ofstream o(d.file("h.safetensors"), std::ios::binary);
    uint64_t n = 5ull << 40;  // claims 5 TB
    for (int i = 0; i < 8; ++i) o.put(static_cast<char>(n >> (8 * i)));
    o << "{}";
    o.close();
    std::string e = errorOf([&] { st::File::open(d.file("h.safetensors")); });
    EXPECT_NE(e.find("limit"), std::string::npos) << e;
}

TEST(Safetensors, MissingTensorIsNamed) {
    auto f = st::File::open(test::fixture("tiny-gpt2/base/model.safetensors"));
    std::string e = errorOf([&] { f->at("lm_head.weight"); });
    EXPECT_NE(e.find("lm_head.weight"), std::string::npos);
}

TEST(Safetensors, SavedTensorLikeNamesTheKeyAndBothShapes) {
    const std::map<std::string, torch::Tensor> saved = {{"w", torch::ones({2, 3})}};
    EXPECT_TRUE(torch::equal(savedTensorLike(saved, "w", torch::zeros({2, 3}), "ck", "fix"), torch::ones({2, 3})));
    EXPECT_TRUE(test::mentions(errorOf([&] {
                                   savedTensorLike(saved, "v", torch::zeros({2, 3}), "ck/x", "Resume.");
                               }),
                               {"ck/x", "'v'", "missing", "Resume."}));
    EXPECT_TRUE(test::mentions(errorOf([&] {
                                   savedTensorLike(saved, "w", torch::zeros({3, 2}), "ck", "Resume.");
                               }),
                               {"'w'", "[2, 3]", "[3, 2]"}));
}

TEST(Safetensors, RejectsOverlappingTensors) {
    test::TempDir d;
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    EXPECT_TRUE(test::mentions(openError(d, "o.safetensors", header, std::string(12, '\0')), {"overlaps"}));
}
