// The Hugging Face cache as huggingface_hub writes it: where it lives, how a repo is laid out
// (ORG--NAME folders with refs/, blobs/, snapshots/), what is in it, and repo ids resolved to
// snapshot folders. No network here (hub_client.h downloads into the same layout).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peft::hub {

enum class RepoType { Model, Dataset };
std::string repoTypeName(RepoType t);             // "model" | "dataset"
RepoType parseRepoType(const std::string& name);  // throws PeftError naming the accepted values

// An environment variable, "" when unset or empty.
std::string envValue(const char* name);
// A small text file without surrounding whitespace (a ref, a token); "" when unreadable.
std::string readTrimmedFile(const std::string& path);

// The cache folder: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub (the order huggingface_hub's constants.py uses).
std::string defaultCacheDir();
// HF_HOME, else XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (holds the token file).
std::string hfHomeDir();

// "ORG/NAME" -> "models--ORG--NAME" (datasets--...).
std::string repoFolderName(const std::string& repoId, RepoType type);

struct RepoRef {
    std::string repoId;    // "ORG/NAME" (or "NAME" for legacy root repos)
    std::string revision;  // "main" when not given
};
// Parses "ORG/NAME[@revision]". Returns nullopt when the text cannot be a repo id (absolute or
// ./ paths, more than one '/', characters the Hub does not allow).
std::optional<RepoRef> parseRepoRef(const std::string& text);

// True for a 40-hex-digit commit hash.
bool isCommitHash(const std::string& s);

// The snapshot folder for a revision already in the cache (refs/<revision> -> commit, or the
// revision itself when it is a commit hash), or "" when it is not cached.
std::string cachedSnapshot(const std::string& cacheDir, const std::string& repoId, RepoType type,
                           const std::string& revision);

// What --model and run.json's "model" take: a folder path is returned unchanged; a text that is
// not an existing path but reads as ORG/NAME[@revision] and is in the cache becomes its snapshot
// folder. Anything else is returned unchanged (the loader then reports the missing folder).
std::string resolveModelPath(const std::string& pathOrRepoId, const std::string& cacheDir = defaultCacheDir());

struct CachedRepo {
    std::string repoId;
    RepoType type = RepoType::Model;
    std::string folder;             // .../models--ORG--NAME
    std::string snapshotDir;        // the snapshot listed (refs/main's, else the newest); "" when none
    std::string commit;             // its commit hash
    std::vector<std::string> refs;  // "main", ...
    int64_t sizeOnDisk = 0;         // bytes in blobs/ (every revision), as `huggingface-cli scan-cache` counts
    int64_t fileCount = 0;          // files in the listed snapshot
    // Models only:
    std::string modelType;     // config.json model_type ("" when there is no readable config.json)
    std::string architecture;  // config.json architectures[0]
    bool supported = false;
    std::string whyNot;  // short reason when not supported, e.g. "gemma2: not supported yet"
};

// Every repo in the cache, models first, each sorted by id. A missing cache folder is an empty list.
std::vector<CachedRepo> listCache(const std::string& cacheDir = defaultCacheDir());

// Support verdict for a model folder: empty when PEFT Studio can load it, else why not (short).
std::string modelSupportProblem(const std::string& modelDir, std::string* modelType = nullptr,
                                std::string* architecture = nullptr);

}  // namespace peft::hub
