// The Hugging Face Hub download client: (repo, revision, file) -> a path in the cache, with every
// HTTP detail (HEAD then GET, ETag, redirects, resume, sha256) inside one function, as
// huggingface_hub's file_download.py does; and a snapshot download of a file set on top of it.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/hub/hub_cache.h"
#include "core/util/error.h"

namespace peft::hub {

// Thrown when the cancel flag was raised; what was downloaded so far stays as .incomplete.
class DownloadCancelled : public PeftError {
public:
    DownloadCancelled() : PeftError("download cancelled") {}
};

struct HubOptions {
    std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
    std::string cacheDir;                             // defaultCacheDir()
    std::string token;                                // HF_TOKEN, else the token file; never logged
    bool offline = false;                             // HF_HUB_OFFLINE
    int retries = 3;                                  // resumed attempts after a cut transfer
    // From the environment (HF_ENDPOINT, HF_HUB_CACHE/HF_HOME/XDG_CACHE_HOME, HF_TOKEN,
    // HF_TOKEN_PATH or $HF_HOME/token, HF_HUB_OFFLINE).
    static HubOptions fromEnvironment();
};

struct DownloadProgress {
    std::string file;   // the file being fetched
    int fileIndex = 0;  // 1-based
    int fileCount = 0;
    int64_t bytesDone = 0;   // over the whole download
    int64_t bytesTotal = 0;  // 0 when unknown
    double bytesPerSecond = 0;
    double etaSeconds = -1;  // -1 when unknown
};
using ProgressFn = std::function<void(const DownloadProgress&)>;

struct RepoFile {
    std::string name;    // "model.safetensors", "data/train.parquet"
    int64_t size = -1;   // -1 when the listing did not give it
    std::string sha256;  // LFS files: the content hash the Hub lists
};

struct RepoInfo {
    std::string commit;  // the revision's commit hash
    std::vector<RepoFile> files;
};

struct SnapshotRequest {
    std::string repoId;
    RepoType type = RepoType::Model;
    std::string revision = "main";
    std::vector<std::string> include;  // globs (fnmatch, '*' crosses '/'); empty = the default set
};

struct SnapshotResult {
    std::string snapshotDir;
    std::string commit;
    std::vector<std::string> files;  // the files the snapshot now holds from this request
    int filesDownloaded = 0;         // files whose bytes came over the network
    int64_t bytesDownloaded = 0;
};

// The default file set: a model's config, generation config, safetensors (+ index) and
// tokenizer files; a dataset's JSON, JSONL, CSV, TSV and Parquet files.
std::vector<std::string> defaultIncludes(RepoType type);
bool matchesAny(const std::string& file, const std::vector<std::string>& globs);

class HubClient {
public:
    explicit HubClient(HubOptions options = HubOptions::fromEnvironment());

    void setProgress(ProgressFn fn) { m_progress = std::move(fn); }
    void setCancelFlag(const std::atomic<bool>* cancel) { m_cancel = cancel; }

    // GET /api/{models|datasets}/{repo}/revision/{rev}?blobs=true
    RepoInfo repoInfo(const std::string& repoId, RepoType type, const std::string& revision);

    // The path of `filename` in the cache's snapshot for `revision`, downloading it when absent.
    // `expectedSha256` (from the listing) is checked on LFS files in addition to the linked ETag.
    std::string downloadFile(const std::string& repoId, RepoType type, const std::string& revision,
                             const std::string& filename, const std::string& expectedSha256 = {});

    // Lists the revision, picks the files the globs match and downloads each (skipping those the
    // snapshot already has). Offline, it answers from the cache alone.
    SnapshotResult downloadSnapshot(const SnapshotRequest& request);

    const HubOptions& options() const { return m_opt; }

private:
    struct Meta;
    Meta headFile(const std::string& url, const std::string& what);
    void fetchBody(const std::string& url, bool sendToken, const std::string& incomplete, int64_t expectedSize,
                   const std::string& what);
    std::vector<std::pair<std::string, std::string>> authHeaders(bool withToken) const;
    [[noreturn]] void failHttp(long status, const std::string& url, const std::string& what,
                               const std::string& errorCode, const std::string& errorMessage) const;
    void checkCancel() const;
    void report(const std::string& file);

    HubOptions m_opt;
    ProgressFn m_progress;
    const std::atomic<bool>* m_cancel = nullptr;
    // Progress across one snapshot download.
    int m_fileIndex = 0, m_fileCount = 0;
    int64_t m_bytesBase = 0, m_bytesTotal = 0, m_bytesNow = 0, m_bytesFetched = 0;
    double m_startTime = 0, m_lastReport = 0;
    int64_t m_bytesAtStart = 0;
    bool m_fetchedBody = false;
    std::string m_repoFolder;
};

}  // namespace peft::hub
