// The Hugging Face cache layout (see hub_cache.h): location rules, repo ids, listing, resolving.
#include "core/hub/hub_cache.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/io/model_config.h"
#include "core/model/loader.h"
#include "core/util/error.h"

namespace peft::hub {

namespace fs = std::filesystem;

namespace {

std::string homeCache() {
    std::string xdg = envValue("XDG_CACHE_HOME");
    if (!xdg.empty()) return xdg;
    std::string home = envValue("HOME");
    return (fs::path(home.empty() ? "." : home) / ".cache").string();
}

// Characters huggingface_hub's validate_repo_id accepts in each part.
bool validPart(const std::string& s) {
    if (s.empty() || s.size() > 96 || s == "." || s == "..") return false;
    if (s.find("--") != std::string::npos || s.find("..") != std::string::npos) return false;
    if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

}  // namespace

std::string envValue(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::string();
}

std::string readTrimmedFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    auto notSpace = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), notSpace));
    s.erase(std::find_if(s.rbegin(), s.rend(), notSpace).base(), s.end());
    return s;
}

std::string repoTypeName(RepoType t) { return t == RepoType::Dataset ? "dataset" : "model"; }

RepoType parseRepoType(const std::string& name) {
    if (name == "model") return RepoType::Model;
    if (name == "dataset") return RepoType::Dataset;
    fail("--repo-type", "'" + name + "' is not a repo type", "Use model or dataset.");
}

std::string hfHomeDir() {
    std::string h = envValue("HF_HOME");
    return h.empty() ? (fs::path(homeCache()) / "huggingface").string() : h;
}

std::string defaultCacheDir() {
    std::string c = envValue("HF_HUB_CACHE");
    if (!c.empty()) return c;
    std::string h = envValue("HF_HOME");
    if (!h.empty()) return (fs::path(h) / "hub").string();
    return (fs::path(homeCache()) / "huggingface" / "hub").string();
}

std::string repoFolderName(const std::string& repoId, RepoType type) {
    std::string out = type == RepoType::Dataset ? "datasets" : "models";
    size_t start = 0;
    while (true) {
        size_t slash = repoId.find('/', start);
        out += "--" + repoId.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return out;
}

bool isCommitHash(const std::string& s) {
    if (s.size() != 40) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); });
}

std::optional<RepoRef> parseRepoRef(const std::string& text) {
    if (text.empty() || text[0] == '/' || text[0] == '.' || text[0] == '~') return std::nullopt;
    RepoRef r;
    std::string id = text;
    auto at = text.find('@');
    if (at != std::string::npos) {
        id = text.substr(0, at);
        r.revision = text.substr(at + 1);
        if (r.revision.empty() || r.revision.find("..") != std::string::npos) return std::nullopt;
    } else {
        r.revision = "main";
    }
    auto slash = id.find('/');
    if (slash == std::string::npos) {
        if (!validPart(id)) return std::nullopt;
    } else {
        if (id.find('/', slash + 1) != std::string::npos) return std::nullopt;
        if (!validPart(id.substr(0, slash)) || !validPart(id.substr(slash + 1))) return std::nullopt;
    }
    r.repoId = id;
    return r;
}

std::string cachedSnapshot(const std::string& cacheDir, const std::string& repoId, RepoType type,
                           const std::string& revision) {
    fs::path repo = fs::path(cacheDir) / repoFolderName(repoId, type);
    std::error_code ec;
    std::string commit = revision;
    if (!isCommitHash(revision)) {
        fs::path ref = repo / "refs" / revision;
        if (!fs::is_regular_file(ref, ec)) return {};
        commit = readTrimmedFile(ref.string());
        if (!isCommitHash(commit)) return {};
    }
    fs::path snap = repo / "snapshots" / commit;
    return fs::is_directory(snap, ec) ? snap.string() : std::string();
}

std::string resolveModelPath(const std::string& pathOrRepoId, const std::string& cacheDir) {
    std::error_code ec;
    if (pathOrRepoId.empty() || fs::exists(pathOrRepoId, ec)) return pathOrRepoId;
    auto ref = parseRepoRef(pathOrRepoId);
    if (!ref) return pathOrRepoId;
    std::string snap = cachedSnapshot(cacheDir, ref->repoId, RepoType::Model, ref->revision);
    return snap.empty() ? pathOrRepoId : snap;
}

std::string modelSupportProblem(const std::string& modelDir, std::string* modelType, std::string* architecture) {
    fs::path cfgPath = fs::path(modelDir) / "config.json";
    std::error_code ec;
    if (!fs::exists(cfgPath, ec)) return "no config.json in the snapshot";
    nlohmann::json raw;
    try {
        raw = readJsonFile(cfgPath.string());
    } catch (const PeftError&) {
        return "config.json is not valid JSON";
    }
    std::string type = raw.is_object() && raw.value("model_type", nlohmann::json()).is_string()
        ? raw["model_type"].get<std::string>()
        : "";
    if (modelType) *modelType = type;
    if (architecture && raw.is_object() && raw.contains("architectures") && raw["architectures"].is_array() &&
        !raw["architectures"].empty() && raw["architectures"][0].is_string())
        *architecture = raw["architectures"][0].get<std::string>();
    try {
        ModelConfig::fromJson(raw, "config.json");
    } catch (const PeftError& e) {
        std::string msg = e.what();
        if (msg.find("model_type '") != std::string::npos)
            return (type.empty() ? "model_type" : type) + ": not supported yet";
        const std::string prefix = "config.json: ";
        if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
        return (type.empty() ? "" : type + ": ") + msg;
    }
    try {
        modelWeightFiles(modelDir);
    } catch (const PeftError&) {
        for (const char* pickle : {"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth"})
            if (fs::exists(fs::path(modelDir) / pickle, ec))
                return std::string("only ") + pickle + ": pickle files are refused (convert to safetensors)";
        return "no safetensors weights in the snapshot (or a shard is missing)";
    }
    return {};
}

std::vector<CachedRepo> listCache(const std::string& cacheDir) {
    std::vector<CachedRepo> out;
    std::error_code ec;
    if (!fs::is_directory(cacheDir, ec)) return out;
    for (const auto& entry : fs::directory_iterator(cacheDir, ec)) {
        if (!entry.is_directory(ec)) continue;
        std::string name = entry.path().filename().string();
        CachedRepo r;
        std::string rest;
        if (name.rfind("models--", 0) == 0) {
            r.type = RepoType::Model;
            rest = name.substr(8);
        } else if (name.rfind("datasets--", 0) == 0) {
            r.type = RepoType::Dataset;
            rest = name.substr(10);
        } else {
            continue;  // spaces, .locks, foreign folders
        }
        for (size_t p; (p = rest.find("--")) != std::string::npos;) rest.replace(p, 2, "/");
        r.repoId = rest;
        r.folder = entry.path().string();
        for (const auto& b : fs::directory_iterator(entry.path() / "blobs", ec))
            if (b.is_regular_file(ec)) r.sizeOnDisk += static_cast<int64_t>(b.file_size(ec));
        ec.clear();
        // Where symlinks are not available huggingface_hub moves the blob into the snapshot
        // instead; scan_cache_dir counts those files too (each snapshot file's resolved path).
        for (const auto& f : fs::recursive_directory_iterator(entry.path() / "snapshots", ec))
            if (!f.is_symlink(ec) && f.is_regular_file(ec)) r.sizeOnDisk += static_cast<int64_t>(f.file_size(ec));
        ec.clear();
        for (const auto& ref : fs::recursive_directory_iterator(entry.path() / "refs", ec))
            if (ref.is_regular_file(ec)) r.refs.push_back(fs::relative(ref.path(), entry.path() / "refs", ec).string());
        ec.clear();
        std::sort(r.refs.begin(), r.refs.end());
        r.snapshotDir = cachedSnapshot(cacheDir, r.repoId, r.type, "main");
        if (r.snapshotDir.empty()) {  // no refs/main: the newest snapshot
            fs::file_time_type newest{};
            for (const auto& s : fs::directory_iterator(entry.path() / "snapshots", ec)) {
                if (!s.is_directory(ec)) continue;
                auto t = fs::last_write_time(s.path(), ec);
                if (r.snapshotDir.empty() || t > newest) {
                    newest = t;
                    r.snapshotDir = s.path().string();
                }
            }
            ec.clear();
        }
        if (!r.snapshotDir.empty()) {
            r.commit = fs::path(r.snapshotDir).filename().string();
            for (const auto& f : fs::recursive_directory_iterator(r.snapshotDir, ec))
                if (!f.is_directory(ec)) ++r.fileCount;
            ec.clear();
        }
        if (r.type == RepoType::Model) {
            r.whyNot = r.snapshotDir.empty() ? "no snapshot downloaded"
                                             : modelSupportProblem(r.snapshotDir, &r.modelType, &r.architecture);
            r.supported = r.whyNot.empty();
        }
        out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const CachedRepo& a, const CachedRepo& b) {
        if (a.type != b.type) return a.type == RepoType::Model;
        return a.repoId < b.repoId;
    });
    return out;
}

}  // namespace peft::hub
