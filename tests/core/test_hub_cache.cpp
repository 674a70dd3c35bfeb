// The Hugging Face cache without a network: where it is (env rules), repo ids, the support
// verdict per cached model, and ORG/NAME[@rev] resolved for --model and run.json.
#include <fstream>

#include "core/hub/hub_cache.h"
#include "core/train/run_config.h"
#include "core/util/sha256.h"
#include "tests/test_util.h"

using namespace peft;
namespace fs = std::filesystem;

namespace {

// Restores the variables a test changes.
class EnvGuard {
public:
    explicit EnvGuard(std::vector<std::string> names) : m_names(std::move(names)) {
        for (const auto& n : m_names) {
            const char* v = std::getenv(n.c_str());
            m_saved.push_back(v ? std::optional<std::string>(v) : std::nullopt);
            unsetenv(n.c_str());
        }
    }
    ~EnvGuard() {
        for (size_t i = 0; i < m_names.size(); ++i) {
            if (m_saved[i]) setenv(m_names[i].c_str(), m_saved[i]->c_str(), 1);
            else unsetenv(m_names[i].c_str());
        }
    }

private:
    std::vector<std::string> m_names;
    std::vector<std::optional<std::string>> m_saved;
};

// A cached repo as huggingface_hub lays it out: blobs by name, snapshot symlinks, refs/main.
std::string addCachedModel(const std::string& cache, const std::string& folder, const std::string& commit,
                           const std::map<std::string, std::string>& files) {
    fs::path repo = fs::path(cache) / folder;
    fs::create_directories(repo / "refs");
    std::ofstream(repo / "refs" / "main") << commit;
    fs::path snap = repo / "snapshots" / commit;
    fs::create_directories(snap);
    fs::create_directories(repo / "blobs");
    for (const auto& [name, bytes] : files) {
        Sha256 h;
        h.update(bytes.data(), bytes.size());
        std::string blob = h.hexDigest();
        std::ofstream(repo / "blobs" / blob, std::ios::binary) << bytes;
        fs::create_symlink("../../blobs/" + blob, snap / name);
    }
    return snap.string();
}

std::string readAll(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TEST(HubCache, LocationFollowsHuggingFaceHubsOrder) {
    EnvGuard g({"HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"});
    setenv("HOME", "/home/u", 1);
    EXPECT_EQ(hub::defaultCacheDir(), "/home/u/.cache/huggingface/hub");
    EXPECT_EQ(hub::hfHomeDir(), "/home/u/.cache/huggingface");
    setenv("XDG_CACHE_HOME", "/x", 1);
    EXPECT_EQ(hub::defaultCacheDir(), "/x/huggingface/hub");
    setenv("HF_HOME", "/h", 1);
    EXPECT_EQ(hub::defaultCacheDir(), "/h/hub");
    EXPECT_EQ(hub::hfHomeDir(), "/h");
    setenv("HF_HUB_CACHE", "/c", 1);
    EXPECT_EQ(hub::defaultCacheDir(), "/c");
}

TEST(HubCache, RepoIdsAndFolderNames) {
    EXPECT_EQ(hub::repoFolderName("HuggingFaceTB/SmolLM2-135M", hub::RepoType::Model),
              "models--HuggingFaceTB--SmolLM2-135M");
    EXPECT_EQ(hub::repoFolderName("tatsu-lab/alpaca", hub::RepoType::Dataset), "datasets--tatsu-lab--alpaca");
    EXPECT_EQ(hub::repoFolderName("gpt2", hub::RepoType::Model), "models--gpt2");
    auto r = hub::parseRepoRef("Qwen/Qwen2.5-0.5B@v1.0");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->repoId, "Qwen/Qwen2.5-0.5B");
    EXPECT_EQ(r->revision, "v1.0");
    EXPECT_EQ(hub::parseRepoRef("a/b")->revision, "main");
    for (const char* bad : {"/abs/path", "./rel", "../up", "a/b/c", "a//b", "a/b@", "a b/c", "a--b/c", "~/x"})
        EXPECT_FALSE(hub::parseRepoRef(bad)) << bad;
}

TEST(HubCache, ListsModelsWithSizeArchitectureAndSupport) {
    test::TempDir tmp;
    const std::string cache = tmp.file("hub");
    const std::string base = test::fixture("tiny-llama/base");
    std::map<std::string, std::string> llama;
    for (const auto& e : fs::directory_iterator(base)) llama[e.path().filename().string()] = readAll(e.path().string());
    const std::string c1(40, 'a'), c2(40, 'b'), c3(40, 'c');
    addCachedModel(cache, "models--org--tiny-llama", c1, llama);
    addCachedModel(cache, "models--google--gemma-2-2b", c2,
                   {{"config.json", R"({"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"]})"},
                    {"model.safetensors", "x"}});
    std::map<std::string, std::string> pickled = {{"config.json", llama["config.json"]}, {"pytorch_model.bin", "PK"}};
    addCachedModel(cache, "models--old--pickled", c3, pickled);
    addCachedModel(cache, "datasets--org--chat", c1, {{"train.jsonl", "{}\n"}});
    fs::create_directories(cache + "/.locks");

    auto repos = hub::listCache(cache);
    ASSERT_EQ(repos.size(), 4u);
    EXPECT_EQ(repos[0].repoId, "google/gemma-2-2b");
    EXPECT_FALSE(repos[0].supported);
    EXPECT_EQ(repos[0].whyNot, "gemma2: not supported yet");
    EXPECT_EQ(repos[0].architecture, "Gemma2ForCausalLM");
    EXPECT_EQ(repos[1].repoId, "old/pickled");
    EXPECT_FALSE(repos[1].supported);
    EXPECT_EQ(repos[1].whyNot, "only pytorch_model.bin: pickle files are refused (convert to safetensors)");
    EXPECT_EQ(repos[2].repoId, "org/tiny-llama");
    EXPECT_TRUE(repos[2].supported) << repos[2].whyNot;
    EXPECT_EQ(repos[2].architecture, "LlamaForCausalLM");
    EXPECT_EQ(repos[2].commit, c1);
    EXPECT_EQ(repos[2].refs, std::vector<std::string>{"main"});
    int64_t bytes = 0;
    for (const auto& [n, b] : llama) bytes += static_cast<int64_t>(b.size());
    EXPECT_EQ(repos[2].sizeOnDisk, bytes);
    EXPECT_EQ(repos[2].fileCount, static_cast<int64_t>(llama.size()));
    EXPECT_EQ(repos[3].type, hub::RepoType::Dataset);
    EXPECT_TRUE(hub::listCache(tmp.file("missing")).empty());

    // A cache written without symlinks (huggingface_hub on Windows without developer mode moves
    // the blobs into the snapshot): the files in the snapshot count.
    const std::string copied = cache + "/models--org--copied/snapshots/" + c1;
    fs::create_directories(copied);
    fs::create_directories(cache + "/models--org--copied/refs");
    std::ofstream(cache + "/models--org--copied/refs/main") << c1;
    for (const auto& [n, b] : llama) std::ofstream(copied + "/" + n, std::ios::binary) << b;
    repos = hub::listCache(cache);
    ASSERT_EQ(repos.size(), 5u);
    EXPECT_EQ(repos[2].repoId, "org/copied");  // models sorted by repo id
    EXPECT_EQ(repos[2].sizeOnDisk, bytes);
    EXPECT_TRUE(repos[2].supported) << repos[2].whyNot;
    EXPECT_EQ(repos[3].sizeOnDisk, bytes);  // the symlinked copy is counted once, by its blobs
}

TEST(HubCache, ModelArgumentsResolveFromTheCache) {
    test::TempDir tmp;
    const std::string cache = tmp.file("hub");
    const std::string commit(40, 'd');
    std::string snap = addCachedModel(cache, "models--org--m", commit, {{"config.json", "{}"}});
    EXPECT_EQ(hub::resolveModelPath("org/m", cache), snap);
    EXPECT_EQ(hub::resolveModelPath("org/m@main", cache), snap);
    EXPECT_EQ(hub::resolveModelPath("org/m@" + commit, cache), snap);
    EXPECT_EQ(hub::resolveModelPath("org/m@dev", cache), "org/m@dev");  // not cached: unchanged
    EXPECT_EQ(hub::resolveModelPath("org/other", cache), "org/other");
    EXPECT_EQ(hub::resolveModelPath(tmp.path(), cache), tmp.path());  // a folder stays a folder
}

TEST(HubCache, RunConfigModelMayBeARepoId) {
    EnvGuard g({"HF_HUB_CACHE"});
    test::TempDir tmp;
    const std::string cache = tmp.file("hub");
    setenv("HF_HUB_CACHE", cache.c_str(), 1);
    std::string snap = addCachedModel(cache, "models--org--m", std::string(40, 'e'), {{"config.json", "{}"}});
    std::ofstream(tmp.file("run.json"))
        << R"({"model": "org/m", "dataset": {"path": "d.jsonl"}, "training": {"epochs": 1}})";
    RunConfig c = RunConfig::load(tmp.file("run.json"));
    EXPECT_EQ(c.model, snap);
}
