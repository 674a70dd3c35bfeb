// The Hub download client against a local Hub (tests/core/hub_server.py on 127.0.0.1, serving the
// tiny Llama fixture): the snapshot loads and gives the fixture's logits, a second download is a
// no-op, the layout is huggingface_hub's, tokens stay out of logs and off the CDN, and every
// failure (401, 404, sha mismatch, no network, offline) says what to do.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/hub/hub_cache.h"
#include "core/hub/hub_client.h"
#include "core/io/tensor_io.h"
#include "core/util/sha256.h"
#include "tests/test_util.h"

using namespace peft;
namespace fs = std::filesystem;

namespace {

const char* kToken = "hf_peftTestSecretToken1234567890";
const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

// `git hash-object FILE`: sha1("blob <size>\0" + bytes).
std::string gitBlobId(const std::string& path) {
    std::string out = peft::test::runShell("git hash-object '" + path + "'").out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string sourceDir() { return peft::test::sourcePath(); }

// One server for the whole suite: started in SetUpTestSuite, killed in TearDownTestSuite, and
// gone by itself after its lifetime in any case.
class HubDownload : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_dir = new test::TempDir();
        s_log = s_dir->file("requests.jsonl");
        std::string portFile = s_dir->file("ports");
        fs::create_directories(s_dir->file("dataset"));
        s_pid = fork();
        if (s_pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            std::string script = sourceDir() + "/tests/core/hub_server.py";
            std::string model = test::fixture("tiny-llama/base");
            std::string dataset = sourceDir() + "/tests/core/data/parquet";
            execlp("python3", "python3", script.c_str(), "--model-dir", model.c_str(), "--dataset-dir", dataset.c_str(),
                   "--token", kToken, "--port-file", portFile.c_str(), "--log", s_log.c_str(), "--lifetime", "600",
                   (char*)nullptr);
            _exit(127);
        }
        for (int i = 0; i < 200 && !fs::exists(portFile); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::ifstream in(portFile);
        in >> s_hubPort >> s_cdnPort;
    }
    static void TearDownTestSuite() {
        if (s_pid > 0) {
            kill(s_pid, SIGTERM);
            waitpid(s_pid, nullptr, 0);
        }
        delete s_dir;
    }
    void SetUp() override {
        ASSERT_GT(s_hubPort, 0) << "the local Hub (tests/core/hub_server.py, python3) did not start";
        setenv("HF_ENDPOINT", endpoint().c_str(), 1);
        setenv("HF_HUB_CACHE", m_tmp.file("cache").c_str(), 1);
        setenv("HF_HOME", m_tmp.file("hf_home").c_str(), 1);
        unsetenv("HF_TOKEN");
        unsetenv("HUGGING_FACE_HUB_TOKEN");
        unsetenv("HF_TOKEN_PATH");
        unsetenv("HF_HUB_OFFLINE");
    }
    static std::string endpoint() { return "http://127.0.0.1:" + std::to_string(s_hubPort); }
    std::string cache() const { return m_tmp.file("cache"); }
    std::string repoDir(const std::string& folder) const { return cache() + "/" + folder; }

    // The requests the server saw since `from` (a line count of the log).
    static std::vector<nlohmann::json> requests(size_t from = 0) {
        std::vector<nlohmann::json> out;
        std::ifstream in(s_log);
        std::string line;
        for (size_t i = 0; std::getline(in, line); ++i)
            if (i >= from && !line.empty()) out.push_back(nlohmann::json::parse(line));
        return out;
    }
    static size_t logLines() { return requests().size(); }

    test::TempDir m_tmp;
    static inline test::TempDir* s_dir = nullptr;
    static inline std::string s_log;
    static inline pid_t s_pid = -1;
    static inline int s_hubPort = 0, s_cdnPort = 0;
};

TEST_F(HubDownload, SnapshotResumesLoadsAndGivesTheFixtureLogits) {
    auto r = test::runCli("download peft-test/tiny-llama --verbose");
    ASSERT_EQ(r.rc, 0) << r.out;
    // The server cut model.safetensors mid-file once; the client resumed with Range.
    EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
    bool ranged = false;
    for (const auto& q : requests())
        if (q["server"] == "cdn" && q["range"].get<std::string>().rfind("bytes=", 0) == 0) ranged = true;
    EXPECT_TRUE(ranged);

    // --model takes the repo id and resolves it from the cache.
    std::string out = m_tmp.file("logits.safetensors");
    std::string ref = test::fixture("tiny-llama/base_reference.safetensors");
    auto l = test::runCli("logits --model peft-test/tiny-llama --input '" + ref + "' --out '" + out + "'");
    ASSERT_EQ(l.rc, 0) << l.out;
    auto got = loadSafetensors(out).at("logits");
    auto want = loadSafetensors(ref).at("logits");
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-4);
    // So does @revision (the commit) and the library call.
    EXPECT_EQ(hub::resolveModelPath(std::string("peft-test/tiny-llama@") + kCommit, cache()),
              repoDir("models--peft-test--tiny-llama") + "/snapshots/" + kCommit);
}

TEST_F(HubDownload, LayoutIsHuggingFaceHubs) {
    ASSERT_EQ(test::runCli("download peft-test/tiny-llama").rc, 0);
    fs::path repo = repoDir("models--peft-test--tiny-llama");
    // refs/main: the commit hash, no newline.
    EXPECT_EQ(slurp((repo / "refs" / "main").string()), kCommit);
    fs::path snap = repo / "snapshots" / kCommit;
    const std::string base = test::fixture("tiny-llama/base");
    int files = 0;
    for (const auto& e : fs::directory_iterator(base)) {
        std::string name = e.path().filename().string();
        fs::path pointer = snap / name;
        ASSERT_TRUE(fs::is_symlink(pointer)) << name;
        // Blobs are named by the etag: sha256 for LFS files, the git blob sha1 for the others.
        std::string bytes = slurp(e.path().string());
        std::string etag;
        if (name.size() > 12 && name.substr(name.size() - 12) == ".safetensors") {
            Sha256 h;
            h.update(bytes.data(), bytes.size());
            etag = h.hexDigest();
        } else {
            // git's blob id, which the Hub sends as the ETag of a file kept in git.
            etag = gitBlobId(e.path().string());
            ASSERT_EQ(etag.size(), 40u) << name;
        }
        EXPECT_EQ(fs::read_symlink(pointer).string(), "../../blobs/" + etag) << name;
        EXPECT_EQ(slurp(pointer.string()), bytes) << name;
        ++files;
    }
    EXPECT_EQ(files, 5);
    for (const auto& b : fs::directory_iterator(repo / "blobs"))
        EXPECT_EQ(b.path().extension(), "") << "left behind: " << b.path();
    // Same for the folders huggingface_hub creates.
    std::set<std::string> top;
    for (const auto& e : fs::directory_iterator(repo)) top.insert(e.path().filename().string());
    EXPECT_EQ(top, (std::set<std::string>{"blobs", "refs", "snapshots"}));
}

TEST_F(HubDownload, SecondDownloadIsANoOp) {
    ASSERT_EQ(test::runCli("download peft-test/tiny-llama").rc, 0);
    size_t mark = logLines();
    auto r = test::runCli("download peft-test/tiny-llama");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("0 downloaded"), std::string::npos) << r.out;
    auto reqs = requests(mark);
    ASSERT_EQ(reqs.size(), 1u) << "only the revision listing is asked for";
    EXPECT_EQ(reqs[0]["path"].get<std::string>().rfind("/api/models/peft-test/tiny-llama/revision/main", 0), 0u);
}

TEST_F(HubDownload, GatedRepoNeedsTheTokenWhichNeverLeaksOrLeavesTheHub) {
    auto r = test::runCli("download peft-test/gated-llama");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("401"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("HF_TOKEN"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("accept the licence on the model page " + endpoint() + "/peft-test/gated-llama"),
              std::string::npos)
        << r.out;

    setenv("HF_TOKEN", "hf_wrong", 1);
    EXPECT_NE(test::runCli("download peft-test/gated-llama").rc, 0);

    setenv("HF_TOKEN", kToken, 1);
    size_t mark = logLines();
    r = test::runCli("download peft-test/gated-llama --verbose");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(r.out.find(kToken), std::string::npos) << "the token was logged";
    EXPECT_EQ(r.out.find("peftTestSecret"), std::string::npos);
    int cdn = 0, hubAuth = 0;
    for (const auto& q : requests(mark)) {
        if (q["server"] == "cdn") {
            ++cdn;
            EXPECT_FALSE(q["auth"].get<bool>()) << "Authorization sent to another host: " << q.dump();
        } else if (q["auth"].get<bool>()) {
            ++hubAuth;
        }
    }
    EXPECT_GT(cdn, 0);
    EXPECT_GT(hubAuth, 0);

    // The token file in HF_HOME works too.
    unsetenv("HF_TOKEN");
    setenv("HF_HUB_CACHE", m_tmp.file("cache2").c_str(), 1);
    fs::create_directories(m_tmp.file("hf_home"));
    std::ofstream(m_tmp.file("hf_home/token")) << kToken << "\n";
    r = test::runCli("download peft-test/gated-llama --include config.json --verbose");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(r.out.find(kToken), std::string::npos);
}

TEST_F(HubDownload, ShaMismatchIsRefusedAndNothingIsLeft) {
    auto r = test::runCli("download peft-test/corrupt");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("sha256"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("run the download again"), std::string::npos) << r.out;
    fs::path repo = repoDir("models--peft-test--corrupt");
    for (const auto& b : fs::directory_iterator(repo / "blobs")) {
        EXPECT_EQ(b.path().string().find(".incomplete"), std::string::npos) << b.path();
        EXPECT_EQ(b.path().filename().string().size(), 40u) << "only the small non-LFS files: " << b.path();
    }
    EXPECT_FALSE(fs::exists(repo / "snapshots" / "2222222222222222222222222222222222222222" / "model.safetensors"));
}

TEST_F(HubDownload, NotFoundAndNetworkFailuresSayWhatToDo) {
    auto r = test::runCli("download peft-test/no-such-model");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("404"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Check the repo id"), std::string::npos) << r.out;
    r = test::runCli("download peft-test/tiny-llama --revision v9");
    EXPECT_NE(r.out.find("RevisionNotFound"), std::string::npos) << r.out;
    r = test::runCli("download peft-test/tiny-llama --include no-such-file.bin");
    EXPECT_NE(r.out.find("no file of the repo matches"), std::string::npos) << r.out;

    setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1);  // discard port: nothing listens
    r = test::runCli("download peft-test/tiny-llama");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("could not reach the Hub"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("HF_HUB_OFFLINE=1"), std::string::npos) << r.out;
}

TEST_F(HubDownload, OfflineAnswersFromTheCacheAlone) {
    ASSERT_EQ(test::runCli("download peft-test/tiny-llama --include config.json").rc, 0);
    setenv("HF_HUB_OFFLINE", "1", 1);
    size_t mark = logLines();
    auto r = test::runCli("download peft-test/tiny-llama --include config.json");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(requests(mark).size(), 0u);
    r = test::runCli("download peft-test/gated-llama");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("HF_HUB_OFFLINE is set"), std::string::npos) << r.out;
}

TEST_F(HubDownload, RelativeRedirectOfARenamedRepoIsFollowed) {
    hub::HubOptions o = hub::HubOptions::fromEnvironment();
    hub::HubClient c(o);
    std::string path = c.downloadFile("peft-test/renamed", hub::RepoType::Model, "main", "config.json");
    EXPECT_EQ(slurp(path), slurp(test::fixture("tiny-llama/base/config.json")));
}

TEST_F(HubDownload, CancelStopsAndTheNextRunResumes) {
    std::atomic<bool> cancel{false};
    bool armed = true;  // the first run cancels at its first progress report, the second never
    std::vector<hub::DownloadProgress> seen;
    hub::SnapshotRequest req;
    req.repoId = "peft-test/gated-llama";  // never cut by the server, so the stop is the cancel's
    setenv("HF_TOKEN", kToken, 1);
    hub::HubClient client(hub::HubOptions::fromEnvironment());
    client.setCancelFlag(&cancel);
    client.setProgress([&](const hub::DownloadProgress& p) {
        seen.push_back(p);
        if (armed) cancel = true;
    });
    EXPECT_THROW(client.downloadSnapshot(req), hub::DownloadCancelled);
    fs::path snap =
        fs::path(repoDir("models--peft-test--gated-llama")) / "snapshots" / "1111111111111111111111111111111111111111";
    int present = 0;
    for (const char* f :
         {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
        present += fs::exists(snap / f) ? 1 : 0;
    EXPECT_LT(present, 5) << "the cancel stopped nothing";
    armed = false;
    cancel = false;
    seen.clear();
    auto res = client.downloadSnapshot(req);
    for (const char* f :
         {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
        EXPECT_TRUE(fs::exists(snap / f)) << f;
    ASSERT_FALSE(seen.empty());
    EXPECT_GT(seen.back().bytesTotal, 0);
    EXPECT_EQ(seen.back().bytesDone, seen.back().bytesTotal);
    EXPECT_EQ(seen.back().fileCount, 5);
    EXPECT_EQ(res.files.size(), 5u);
    for (const auto& b : fs::directory_iterator(snap.parent_path().parent_path() / "blobs"))
        EXPECT_EQ(b.path().extension(), "") << "left behind: " << b.path();
}

// A disk that fills up mid-file, for real: the blob's .incomplete file is /dev/full, whose writes
// fail with ENOSPC. The message names the repo file and says what to do; no snapshot entry appears.
TEST_F(HubDownload, FullDiskSaysSoAndNamesTheFile) {
    setenv("HF_TOKEN", kToken, 1);  // gated-llama: never cut by the server, so the failure is the disk's
    const std::string sha = sha256File(test::fixture("tiny-llama/base/model.safetensors"));
    const fs::path repo = repoDir("models--peft-test--gated-llama");
    fs::create_directories(repo / "blobs");
    fs::create_symlink("/dev/full", repo / "blobs" / (sha + ".incomplete"));
    auto r = test::runCli("download peft-test/gated-llama");
    EXPECT_NE(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("model.safetensors"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("the disk is full"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--cache-dir"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(repo / "snapshots" / "1111111111111111111111111111111111111111" / "model.safetensors"));
    EXPECT_FALSE(fs::exists(repo / "blobs" / sha));
}

// A file-size limit (RLIMIT_FSIZE via `ulimit -f`, SIGXFSZ ignored) makes write() fail with EFBIG
// part-way through the 713 KiB weights: a clear message, nothing in the snapshot, and once the
// limit is gone the next download resumes the partial file with Range and completes.
TEST_F(HubDownload, FileSizeLimitSaysSoAndTheNextRunResumes) {
    setenv("HF_TOKEN", kToken, 1);
    const std::string cmd =
        "bash -c \"trap '' XFSZ; ulimit -f 256; exec '" + test::cliPath() + "' download peft-test/gated-llama\" 2>&1";
    const test::CliResult r = test::runShell(cmd);
    const std::string& out = r.out;
    EXPECT_GT(r.rc, 0) << out;  // exited, with an error
    EXPECT_NE(out.find("model.safetensors"), std::string::npos) << out;
    EXPECT_NE(out.find("file size limit"), std::string::npos) << out;
    EXPECT_NE(out.find("raise the limit"), std::string::npos) << out;
    const fs::path repo = repoDir("models--peft-test--gated-llama");
    const fs::path snap = repo / "snapshots" / "1111111111111111111111111111111111111111";
    EXPECT_FALSE(fs::exists(snap / "model.safetensors"));
    const std::string sha = sha256File(test::fixture("tiny-llama/base/model.safetensors"));
    ASSERT_TRUE(fs::exists(repo / "blobs" / (sha + ".incomplete")));
    EXPECT_EQ(fs::file_size(repo / "blobs" / (sha + ".incomplete")), 256u * 1024u);

    const size_t mark = logLines();
    auto again = test::runCli("download peft-test/gated-llama");
    ASSERT_EQ(again.rc, 0) << again.out;
    EXPECT_EQ(sha256File((snap / "model.safetensors").string()), sha);
    bool resumed = false;
    for (const auto& q : requests(mark))
        if (q["server"] == "cdn" && q["range"] == "bytes=262144-") resumed = true;
    EXPECT_TRUE(resumed) << "the second run did not resume the partial file";
}

TEST_F(HubDownload, DatasetRepoLandsInTheDatasetsFolderAndImports) {
    auto r = test::runCli("download --repo-type dataset peft-test/chat");
    ASSERT_EQ(r.rc, 0) << r.out;
    fs::path snap =
        fs::path(repoDir("datasets--peft-test--chat")) / "snapshots" / "3333333333333333333333333333333333333333";
    ASSERT_TRUE(fs::is_symlink(snap / "chat.duckdb-zstd.parquet"));
    EXPECT_TRUE(fs::exists(snap / "chat.jsonl"));
    auto d = test::runCli("dataset --file '" + (snap / "chat.duckdb-zstd.parquet").string() + "' --json", false);
    ASSERT_EQ(d.rc, 0) << d.out;
    auto j = nlohmann::json::parse(d.out);
    EXPECT_EQ(j["file_type"], "parquet");
    EXPECT_EQ(j["format"], "chat");
    EXPECT_EQ(j["rows_accepted"], 24);
}

TEST_F(HubDownload, ModelsListsTheCache) {
    ASSERT_EQ(test::runCli("download peft-test/tiny-llama").rc, 0);
    auto r = test::runCli("models --json", false);
    ASSERT_EQ(r.rc, 0) << r.out;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["repo_id"], "peft-test/tiny-llama");
    EXPECT_EQ(j[0]["architecture"], "LlamaForCausalLM");
    EXPECT_TRUE(j[0]["supported"].get<bool>());
    int64_t bytes = 0;
    for (const auto& e : fs::directory_iterator(test::fixture("tiny-llama/base"))) bytes += fs::file_size(e.path());
    EXPECT_EQ(j[0]["size_on_disk"].get<int64_t>(), bytes);
}

}  // namespace
