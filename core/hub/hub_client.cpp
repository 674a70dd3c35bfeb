// The Hub download client (hub_client.h). The protocol follows huggingface_hub's file_download.py:
// HEAD /{repo}/resolve/{rev}/{file} (relative redirects followed) gives X-Repo-Commit, the ETag
// (X-Linked-Etag for LFS files: their sha256) and X-Linked-Size; an absolute redirect is the CDN
// the GET goes to, without the Authorization header when the host changes. The body goes to
// blobs/<etag>.incomplete (resumed with Range), is checked, renamed to blobs/<etag>, and
// snapshots/<commit>/<file> becomes a relative symlink to it.
#include "core/hub/hub_client.h"

#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/budget/budget.h"
#include "core/hub/http_client.h"
#include "core/util/atomic_file.h"
#include "core/util/no_room.h"
#include "core/util/sha256.h"

namespace peft::hub {

namespace fs = std::filesystem;

namespace {

// Percent-encodes everything but unreserved characters (and '/' when `keepSlash`).
std::string quote(const std::string& s, bool keepSlash) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// huggingface_hub's _normalize_etag: drop a weak "W/" prefix and the quotes.
std::string normalizeEtag(std::string e) {
    e.erase(0, e.find_first_not_of(" \t"));
    e.erase(e.find_last_not_of(" \t") + 1);
    if (e.rfind("W/", 0) == 0) e = e.substr(2);
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    return e;
}

bool safeBlobName(const std::string& e) {
    if (e.empty() || e.size() > 128) return false;
    return std::all_of(e.begin(), e.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

bool isSha256Hex(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

double nowSeconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool safeRepoPath(const std::string& f) {
    if (f.empty() || f[0] == '/' || f.find('\\') != std::string::npos) return false;
    for (const auto& part : fs::path(f))
        if (part == ".." || part == ".") return false;
    return true;
}

// refs/<revision> holds the commit hash, no newline, as huggingface_hub writes it.
void writeRef(const fs::path& storage, const std::string& revision, const std::string& commit) {
    if (revision == commit || revision.find("..") != std::string::npos) return;
    fs::path ref = storage / "refs" / revision;
    std::error_code ec;
    if (readTrimmedFile(ref.string()) == commit) return;
    fs::create_directories(ref.parent_path(), ec);
    writeFileAtomic(ref.string(), commit);
}

// snapshots/<commit>/<file> -> ../../blobs/<etag> (relative, so the cache can move), made under a
// temporary name and renamed into place.
void linkPointer(const fs::path& blob, const fs::path& pointer) {
    std::error_code ec;
    fs::create_directories(pointer.parent_path(), ec);
    if (ec)
        fail(pointer.parent_path().string(), "cannot create the snapshot folder (" + ec.message() + ")",
             "Check the cache folder's permissions.");
    fs::path rel = fs::relative(blob, pointer.parent_path(), ec);
    fs::path tmp = pointer;
    tmp += ".peft-link.tmp";
    fs::remove(tmp, ec);
    fs::create_symlink(rel, tmp, ec);
    if (ec) {  // a filesystem without symlinks: copy, as huggingface_hub does on Windows
        ec.clear();
        fs::copy_file(blob, tmp, fs::copy_options::overwrite_existing, ec);
        if (ec)
            fail(pointer.string(), "cannot link or copy the blob (" + ec.message() + ")",
                 "Check free space and permissions.");
    }
    fs::rename(tmp, pointer, ec);
    if (ec) fail(pointer.string(), "cannot place the snapshot file (" + ec.message() + ")", "");
}

}  // namespace

HubOptions HubOptions::fromEnvironment() {
    HubOptions o;
    std::string ep = envValue("HF_ENDPOINT");
    if (!ep.empty()) {
        while (!ep.empty() && ep.back() == '/') ep.pop_back();
        o.endpoint = ep;
    }
    o.cacheDir = defaultCacheDir();
    o.token = envValue("HF_TOKEN");
    if (o.token.empty()) o.token = envValue("HUGGING_FACE_HUB_TOKEN");
    if (o.token.empty()) {
        std::string path = envValue("HF_TOKEN_PATH");
        if (path.empty()) path = (fs::path(hfHomeDir()) / "token").string();
        o.token = readTrimmedFile(path);
    }
    std::string off = envValue("HF_HUB_OFFLINE");
    std::transform(off.begin(), off.end(), off.begin(), [](unsigned char c) { return std::toupper(c); });
    o.offline = off == "1" || off == "ON" || off == "YES" || off == "TRUE";
    return o;
}

std::vector<std::string> defaultIncludes(RepoType type) {
    if (type == RepoType::Dataset) return {"*.json", "*.jsonl", "*.csv", "*.tsv", "*.parquet"};
    return {"config.json",
            "generation_config.json",
            "*.safetensors",
            "*.safetensors.index.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "tokenizer.model",
            "vocab.json",
            "merges.txt",
            "added_tokens.json",
            "chat_template.jinja",
            "chat_template.json"};
}

bool matchesAny(const std::string& file, const std::vector<std::string>& globs) {
    for (const auto& g : globs)
        if (::fnmatch(g.c_str(), file.c_str(), 0) == 0) return true;
    return false;
}

struct HubClient::Meta {
    std::string commit;
    std::string etag;
    std::string location;  // where the GET goes
    int64_t size = -1;
    bool lfs = false;
};

HubClient::HubClient(HubOptions options) : m_opt(std::move(options)) {
    if (m_opt.cacheDir.empty()) m_opt.cacheDir = defaultCacheDir();
    while (!m_opt.endpoint.empty() && m_opt.endpoint.back() == '/') m_opt.endpoint.pop_back();
}

std::vector<std::pair<std::string, std::string>> HubClient::authHeaders(bool withToken) const {
    std::vector<std::pair<std::string, std::string>> h;
    if (withToken && !m_opt.token.empty()) h.emplace_back("Authorization", "Bearer " + m_opt.token);
    return h;
}

void HubClient::checkCancel() const {
    if (m_cancel && m_cancel->load()) throw DownloadCancelled();
}

void HubClient::failHttp(long status, const std::string& url, const std::string& what, const std::string& errorCode,
                         const std::string& errorMessage) const {
    std::string repoPage = m_opt.endpoint + "/" + m_repoFolder;
    std::string detail = errorMessage.empty() ? "" : " (" + errorMessage + ")";
    if (status == 401)
        fail(what,
             "the Hub answered 401 Unauthorized: the repo is gated or private, or the token is wrong" + detail +
                 (m_opt.token.empty() ? "; no token was sent" : ""),
             "Set HF_TOKEN (or save the token in " + (fs::path(hfHomeDir()) / "token").string() +
                 ") to a token from https://huggingface.co/settings/tokens, and accept the licence on the model page " +
                 repoPage + ".");
    if (status == 403)
        fail(what, "the Hub answered 403 Forbidden: this is a gated repo and your account has no access yet" + detail,
             "Accept the licence on the model page " + repoPage +
                 " (access may need the authors' approval), and use a token with read access to gated repos.");
    if (status == 404) {
        std::string fix = errorCode == "RevisionNotFound"
            ? "Check the --revision (a branch, tag or commit of the repo)."
            : errorCode == "EntryNotFound" ? "The file is not in this revision of the repo; check --include."
                                           : "Check the repo id's spelling and --repo-type (model or dataset); "
                                             "a private repo also answers 404 without a token (set HF_TOKEN).";
        fail(what,
             "the Hub answered 404 Not Found" + (errorCode.empty() ? std::string() : " [" + errorCode + "]") + detail,
             fix);
    }
    if (status == 416)
        fail(what, "the server refused to resume the download (416)", "Run the download again; it restarts the file.");
    fail(what, "the Hub answered HTTP " + std::to_string(status) + " for " + urlHostPort(url) + detail,
         status >= 500 ? "The Hub or mirror is having trouble; try again later, or set HF_ENDPOINT to a mirror."
                       : "Check the repo id and revision.");
}

RepoInfo HubClient::repoInfo(const std::string& repoId, RepoType type, const std::string& revision) {
    m_repoFolder = (type == RepoType::Dataset ? "datasets/" : "") + repoId;
    std::string url = m_opt.endpoint + "/api/" + (type == RepoType::Dataset ? "datasets" : "models") + "/" + repoId +
        "/revision/" + quote(revision, false) + "?blobs=true";
    const std::string what = repoId + "@" + revision;
    HttpResult r;
    for (int hop = 0;; ++hop) {
        checkCancel();
        spdlog::debug("hub: GET {}", url);
        HttpRequest req;
        req.url = url;
        req.headers = authHeaders(true);
        r = httpRequest(req);
        if (r.error != TransportError::None)
            fail(what, "could not reach the Hub: " + r.errorText,
                 "Check the internet connection or proxy (HTTPS_PROXY), set HF_ENDPOINT to a mirror, or use what is "
                 "already cached with HF_HUB_OFFLINE=1.");
        long s = r.response.status;
        if (s >= 300 && s < 400 && hop < 5 && !r.response.header("location").empty()) {
            std::string next = resolveLocation(url, r.response.header("location"));
            if (urlHostPort(next) != urlHostPort(url)) break;  // the API never leaves the endpoint
            url = next;
            continue;
        }
        break;
    }
    const HttpResponse& resp = r.response;
    if (resp.status != 200)
        failHttp(resp.status, url, what, resp.header("x-error-code"), resp.header("x-error-message"));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(resp.body);
    } catch (const std::exception& e) {
        fail(what, std::string("the Hub's repo listing is not JSON (") + e.what() + ")",
             "Check HF_ENDPOINT: it must be a Hub or a Hub mirror.");
    }
    RepoInfo info;
    if (!j.is_object() || !j.contains("sha") || !j["sha"].is_string() || !isCommitHash(j["sha"].get<std::string>()))
        fail(what, "the Hub's repo listing has no commit hash ('sha')",
             "Check HF_ENDPOINT: it must be a Hub or a Hub mirror.");
    info.commit = j["sha"].get<std::string>();
    if (j.contains("siblings") && j["siblings"].is_array())
        for (const auto& s : j["siblings"]) {
            if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
            RepoFile f;
            f.name = s["rfilename"].get<std::string>();
            if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<int64_t>();
            if (s.contains("lfs") && s["lfs"].is_object()) {
                const auto& l = s["lfs"];
                if (l.contains("sha256") && l["sha256"].is_string()) f.sha256 = l["sha256"].get<std::string>();
                if (l.contains("size") && l["size"].is_number_integer()) f.size = l["size"].get<int64_t>();
            }
            info.files.push_back(f);
        }
    return info;
}

HubClient::Meta HubClient::headFile(const std::string& startUrl, const std::string& what) {
    std::string url = startUrl;
    for (int hop = 0;; ++hop) {
        checkCancel();
        spdlog::debug("hub: HEAD {}", url);
        HttpRequest req;
        req.method = "HEAD";
        req.url = url;
        req.headers = authHeaders(true);
        req.headers.emplace_back("Accept-Encoding", "identity");
        HttpResult r = httpRequest(req);
        if (r.error != TransportError::None)
            fail(what, "could not reach the Hub: " + r.errorText,
                 "Check the internet connection or proxy (HTTPS_PROXY), set HF_ENDPOINT to a mirror, or use what is "
                 "already cached with HF_HUB_OFFLINE=1.");
        const HttpResponse& resp = r.response;
        long s = resp.status;
        std::string loc = resp.header("location");
        bool redirect = s >= 300 && s < 400 && !loc.empty();
        // Relative redirects (a renamed repo) are followed; an absolute one is the CDN the GET goes to.
        if (redirect && loc.find("://") == std::string::npos && hop < 5) {
            url = resolveLocation(url, loc);
            continue;
        }
        if (s >= 400) failHttp(s, url, what, resp.header("x-error-code"), resp.header("x-error-message"));
        Meta m;
        m.commit = resp.header("x-repo-commit");
        std::string linked = resp.header("x-linked-etag");
        m.lfs = !linked.empty();
        m.etag = normalizeEtag(linked.empty() ? resp.header("etag") : linked);
        m.location = redirect ? resolveLocation(url, loc) : url;
        std::string size = resp.header("x-linked-size");
        if (size.empty()) size = resp.header("content-length");
        if (!size.empty()) m.size = std::strtoll(size.c_str(), nullptr, 10);
        if (m.commit.empty() || !isCommitHash(m.commit))
            fail(what, "the server sent no X-Repo-Commit header",
                 "Check HF_ENDPOINT: it must be a Hub or a Hub mirror.");
        if (!safeBlobName(m.etag))
            fail(what, "the server sent no usable ETag ('" + m.etag.substr(0, 80) + "')",
                 "Check HF_ENDPOINT: it must be a Hub or a Hub mirror.");
        return m;
    }
}

void HubClient::report(const std::string& file) {
    if (!m_progress) return;
    double now = nowSeconds();
    if (now - m_lastReport < 0.1 && (m_bytesTotal == 0 || m_bytesNow < m_bytesTotal)) return;
    m_lastReport = now;
    DownloadProgress p;
    p.file = file;
    p.fileIndex = m_fileIndex;
    p.fileCount = m_fileCount;
    p.bytesDone = m_bytesNow;
    p.bytesTotal = m_bytesTotal;
    double elapsed = now - m_startTime;
    int64_t moved = m_bytesNow - m_bytesAtStart;
    p.bytesPerSecond = elapsed > 0.2 ? moved / elapsed : 0;
    if (p.bytesPerSecond > 0 && m_bytesTotal > 0)
        p.etaSeconds = std::max<double>(0, (m_bytesTotal - m_bytesNow) / p.bytesPerSecond);
    m_progress(p);
}

void HubClient::fetchBody(const std::string& startUrl, bool sendToken, const std::string& incomplete,
                          int64_t expectedSize, const std::string& what) {
    std::string url = startUrl;
    const std::string fileName = fs::path(what).filename().string();
    for (int attempt = 0, hops = 0;; ++attempt) {
        checkCancel();
        std::error_code ec;
        int64_t have = fs::exists(incomplete, ec) ? static_cast<int64_t>(fs::file_size(incomplete, ec)) : 0;
        if (expectedSize >= 0 && have > expectedSize) {  // a stale partial file from another version
            fs::remove(incomplete, ec);
            have = 0;
        }
        if (expectedSize >= 0 && have == expectedSize && have > 0) return;
        FILE* out = std::fopen(incomplete.c_str(), "ab");
        if (!out)
            fail(incomplete, std::string("cannot write the download (") + std::strerror(errno) + ")",
                 "Check the cache folder's permissions and free space, or pick another with --cache-dir.");
        int writeErrno = 0;
        int64_t written = have;
        HttpRequest req;
        req.url = url;
        req.headers = authHeaders(sendToken);
        req.headers.emplace_back("Accept-Encoding", "identity");
        if (have > 0) req.rangeFrom = have;
        req.onStart = [&](const HttpResponse& r) {
            if (r.status == 200 && have > 0) {  // the server ignored Range: start the file again
                out = std::freopen(incomplete.c_str(), "wb", out);
                if (!out) {
                    writeErrno = errno;
                    return false;
                }
                written = 0;
            }
            return true;
        };
        req.sink = [&](const char* data, size_t n) {
            if (std::fwrite(data, 1, n, out) != n) {
                writeErrno = errno ? errno : EIO;
                return false;
            }
            written += static_cast<int64_t>(n);
            m_bytesNow += static_cast<int64_t>(n);
            m_bytesFetched += static_cast<int64_t>(n);
            m_fetchedBody = true;
            return true;
        };
        req.progress = [&](int64_t) {
            if (m_cancel && m_cancel->load()) return false;
            report(fileName);
            return true;
        };
        spdlog::debug("hub: GET {}{}", url,
                      have > 0 ? " (resuming at byte " + std::to_string(have) + ")" : std::string());
        HttpResult r = httpRequest(req);
        if (out && std::fclose(out) != 0 && !writeErrno) writeErrno = errno;
        if (writeErrno) {
            std::string need =
                expectedSize > 0 ? " (" + budget::humanBytes(expectedSize - written) + " still to write)" : "";
            // `what` names the repo file; `incomplete` (a blob named by its etag) says where it went.
            const std::string why = isNoRoomError(writeErrno) ? noRoomReason(writeErrno) : std::strerror(writeErrno);
            fail(what, "writing the download to " + incomplete + " failed: " + why + need,
                 isNoRoomError(writeErrno)
                     ? noRoomHint(writeErrno, "download into another cache with --cache-dir (or HF_HUB_CACHE)") +
                         " The download resumes where it stopped."
                     : "Check the cache folder's disk and permissions.");
        }
        if (r.error == TransportError::Aborted || (m_cancel && m_cancel->load())) throw DownloadCancelled();
        long s = r.response.status;
        if (r.error == TransportError::None && s >= 300 && s < 400 && !r.response.header("location").empty() &&
            hops < 5) {
            std::string next = resolveLocation(url, r.response.header("location"));
            if (urlHostPort(next) != urlHostPort(url)) sendToken = false;  // never hand the token to another host
            url = next;
            ++hops;
            --attempt;
            continue;
        }
        if (r.error == TransportError::None && s >= 400) {
            if (s == 416 && have > 0) {  // the partial file does not fit what the server has: restart it
                fs::remove(incomplete, ec);
                if (attempt < m_opt.retries) continue;
            }
            failHttp(s, url, what, r.response.header("x-error-code"), r.response.header("x-error-message"));
        }
        bool complete = r.error == TransportError::None && (expectedSize < 0 || written == expectedSize);
        if (complete) return;
        if (attempt >= m_opt.retries) {
            if (r.error == TransportError::Network)
                fail(what, "the download failed after " + std::to_string(attempt + 1) + " attempts: " + r.errorText,
                     "Check the internet connection and run the download again: it resumes where it stopped.");
            fail(what,
                 "the server sent " + std::to_string(written) + " bytes, expected " + std::to_string(expectedSize),
                 "Run the download again: it resumes where it stopped.");
        }
        spdlog::warn("hub: {}: transfer cut at {} of {} bytes ({}); resuming", fileName, written, expectedSize,
                     r.errorText.empty() ? "short body" : r.errorText);
    }
}

std::string HubClient::downloadFile(const std::string& repoId, RepoType type, const std::string& revision,
                                    const std::string& filename, const std::string& expectedSha256) {
    const std::string what = repoId + "@" + revision + ": " + filename;
    if (!safeRepoPath(filename)) fail(what, "the file name points outside the repo", "Refused.");
    m_repoFolder = (type == RepoType::Dataset ? "datasets/" : "") + repoId;
    fs::path storage = fs::path(m_opt.cacheDir) / repoFolderName(repoId, type);
    if (m_opt.offline) {
        std::string snap = cachedSnapshot(m_opt.cacheDir, repoId, type, revision);
        std::error_code ec;
        if (!snap.empty() && fs::exists(fs::path(snap) / filename, ec)) return (fs::path(snap) / filename).string();
        fail(what, "HF_HUB_OFFLINE is set and the file is not in the cache " + m_opt.cacheDir,
             "Unset HF_HUB_OFFLINE to download it, or copy the model into the cache.");
    }
    std::error_code ec;
    if (isCommitHash(revision)) {
        fs::path pointer = storage / "snapshots" / revision / filename;
        if (fs::exists(pointer, ec)) return pointer.string();
    }
    std::string url = m_opt.endpoint + (type == RepoType::Dataset ? "/datasets/" : "/") + repoId + "/resolve/" +
        quote(revision, false) + "/" + quote(filename, true);
    Meta meta = headFile(url, what);
    if (isCommitHash(revision) && meta.commit != revision)
        fail(what, "the server answered for commit " + meta.commit + ", not " + revision, "Check HF_ENDPOINT.");
    writeRef(storage, revision, meta.commit);
    fs::path pointer = storage / "snapshots" / meta.commit / filename;
    fs::path blob = storage / "blobs" / meta.etag;
    if (fs::exists(pointer, ec)) return pointer.string();
    if (!fs::exists(blob, ec)) {
        fs::create_directories(blob.parent_path(), ec);
        if (ec)
            fail(blob.parent_path().string(), "cannot create the cache folder (" + ec.message() + ")",
                 "Check permissions, or pick another cache with --cache-dir (or HF_HUB_CACHE).");
        int64_t have = 0;
        std::string incomplete = blob.string() + ".incomplete";
        if (fs::exists(incomplete, ec)) have = static_cast<int64_t>(fs::file_size(incomplete, ec));
        if (meta.size > 0) {
            auto space = fs::space(blob.parent_path(), ec);
            if (!ec && static_cast<int64_t>(space.available) < meta.size - have)
                fail(blob.parent_path().string(),
                     "not enough free space for " + filename + ": it needs " + budget::humanBytes(meta.size - have) +
                         ", the disk has " + budget::humanBytes(static_cast<int64_t>(space.available)),
                     "Free space there, or download into another cache with --cache-dir (or HF_HUB_CACHE).");
        }
        spdlog::info("hub: downloading {} ({})", filename,
                     meta.size >= 0 ? budget::humanBytes(meta.size) : "size unknown");
        bool sameHost = urlHostPort(meta.location) == urlHostPort(url);
        fetchBody(meta.location, sameHost, incomplete, meta.size, what);
        // LFS files are named by their sha256: the bytes must hash to it (and to what the listing said).
        std::string want = meta.lfs && isSha256Hex(meta.etag) ? meta.etag : expectedSha256;
        if (!want.empty() || !expectedSha256.empty()) {
            std::string got = sha256File(incomplete);
            for (const std::string& w : {want, expectedSha256})
                if (!w.empty() && got != w) {
                    fs::remove(incomplete, ec);
                    fail(what, "the downloaded file is corrupt: its sha256 is " + got + ", the Hub lists " + w,
                         "The partial file was deleted; run the download again. If it happens again, the mirror "
                         "(HF_ENDPOINT) or a proxy is altering the file.");
                }
        }
        fs::rename(incomplete, blob, ec);
        if (ec) fail(blob.string(), "cannot move the finished download into place (" + ec.message() + ")", "");
    }
    linkPointer(blob, pointer);
    return pointer.string();
}

SnapshotResult HubClient::downloadSnapshot(const SnapshotRequest& request) {
    const std::vector<std::string> globs = request.include.empty() ? defaultIncludes(request.type) : request.include;
    const std::string what = request.repoId + "@" + request.revision;
    SnapshotResult res;
    if (!parseRepoRef(request.repoId) || request.repoId.find('@') != std::string::npos)
        fail(request.repoId, "is not a Hub repo id", "Write it as ORG/NAME, e.g. HuggingFaceTB/SmolLM2-135M.");
    if (m_opt.offline) {
        res.snapshotDir = cachedSnapshot(m_opt.cacheDir, request.repoId, request.type, request.revision);
        if (res.snapshotDir.empty())
            fail(what, "HF_HUB_OFFLINE is set and this revision is not in the cache " + m_opt.cacheDir,
                 "Unset HF_HUB_OFFLINE to download it.");
        res.commit = fs::path(res.snapshotDir).filename().string();
        std::error_code ec;
        for (const auto& f : fs::recursive_directory_iterator(res.snapshotDir, ec)) {
            std::string rel = fs::relative(f.path(), res.snapshotDir, ec).generic_string();
            if (!f.is_directory(ec) && matchesAny(rel, globs)) res.files.push_back(rel);
        }
        return res;
    }
    RepoInfo info = repoInfo(request.repoId, request.type, request.revision);
    res.commit = info.commit;
    fs::path storage = fs::path(m_opt.cacheDir) / repoFolderName(request.repoId, request.type);
    std::error_code ec;
    fs::create_directories(storage, ec);
    if (ec)
        fail(storage.string(), "cannot create the cache folder (" + ec.message() + ")",
             "Check permissions, or pick another cache with --cache-dir (or HF_HUB_CACHE).");
    writeRef(storage, request.revision, info.commit);
    std::vector<RepoFile> wanted;
    for (const auto& f : info.files)
        if (matchesAny(f.name, globs)) wanted.push_back(f);
    if (wanted.empty()) {
        std::string list;
        for (size_t i = 0; i < info.files.size() && i < 20; ++i) list += (i ? ", " : "") + info.files[i].name;
        fail(what,
             "no file of the repo matches " + std::string(request.include.empty() ? "the default set" : "--include"),
             "The repo holds: " + (list.empty() ? std::string("nothing") : list) + ". Pick files with --include GLOB.");
    }
    m_fileCount = static_cast<int>(wanted.size());
    m_bytesTotal = 0;
    m_bytesNow = 0;
    for (const auto& f : wanted) {
        bool present = fs::exists(storage / "snapshots" / info.commit / f.name, ec);
        if (f.size > 0) {
            m_bytesTotal += f.size;
            if (present) m_bytesNow += f.size;
        }
    }
    m_bytesAtStart = m_bytesNow;
    m_startTime = nowSeconds();
    m_lastReport = 0;
    m_fileIndex = 0;
    for (const auto& f : wanted) {
        ++m_fileIndex;
        checkCancel();
        int64_t before = m_bytesNow;
        bool present = fs::exists(storage / "snapshots" / info.commit / f.name, ec);
        m_fetchedBody = false;
        int64_t fetchedBefore = m_bytesFetched;
        downloadFile(request.repoId, request.type, info.commit, f.name, f.sha256);
        if (m_fetchedBody) {
            ++res.filesDownloaded;
            res.bytesDownloaded += m_bytesFetched - fetchedBefore;
        }
        // Files already present or of unknown size still move the bar to where it should be.
        if (!present && f.size > 0) m_bytesNow = before + f.size;
        res.files.push_back(f.name);
        m_lastReport = 0;
        report(f.name);
    }
    res.snapshotDir = (storage / "snapshots" / info.commit).string();
    return res;
}

}  // namespace peft::hub
