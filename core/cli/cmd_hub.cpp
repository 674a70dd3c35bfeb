// `peft-studio-cli models` (what the Hugging Face cache holds) and `peft-studio-cli download`
// (a model or dataset from the Hub into that cache, with a progress bar; Ctrl-C cancels).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/budget/budget.h"
#include "core/hub/hub_cache.h"
#include "core/hub/hub_client.h"

namespace peft::cli {

namespace {

std::atomic<bool> g_cancel{false};
void onInterrupt(int) { g_cancel.store(true); }

std::string clock(double seconds) {
    if (seconds < 0) return "--:--";
    long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

}  // namespace

int cmdModels(const std::vector<std::string>& argv) {
    Args a(argv, {"cache-dir"}, {"json", "datasets"}, "models");
    const std::string cache = a.get("cache-dir", hub::defaultCacheDir());
    auto repos = hub::listCache(cache);
    if (a.has("json")) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : repos)
            out.push_back({{"repo_id", r.repoId},
                           {"repo_type", hub::repoTypeName(r.type)},
                           {"snapshot", r.snapshotDir},
                           {"commit", r.commit},
                           {"refs", r.refs},
                           {"size_on_disk", r.sizeOnDisk},
                           {"files", r.fileCount},
                           {"model_type", r.modelType},
                           {"architecture", r.architecture},
                           {"supported", r.supported},
                           {"why_not", r.whyNot}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "Hugging Face cache: " << cache << "\n";
    int shown = 0;
    for (const auto& r : repos) {
        if (r.type == hub::RepoType::Dataset && !a.has("datasets")) continue;
        ++shown;
        std::string id = r.repoId + (r.type == hub::RepoType::Dataset ? " (dataset)" : "");
        std::printf("  %-44s %9s  %-22s %s\n", id.c_str(), budget::humanBytes(r.sizeOnDisk).c_str(),
                    (r.architecture.empty() ? r.modelType : r.architecture).c_str(),
                    r.type == hub::RepoType::Dataset ? ""
                        : r.supported                ? "supported"
                                                     : ("not supported: " + r.whyNot).c_str());
    }
    if (!shown) std::cout << "  (no models cached; fetch one with `peft-studio-cli download ORG/NAME`)\n";
    std::cout << "Use a model with --model ORG/NAME[@revision].\n";
    return 0;
}

int cmdDownload(const std::vector<std::string>& argv) {
    Args a(argv, {"revision", "include", "cache-dir", "repo-type"}, {"quiet"}, "download");
    if (a.positional().size() != 1)
        fail("download", "expects one repo id",
             "Usage: peft-studio-cli download ORG/NAME [--revision R] [--include GLOB]...");
    hub::SnapshotRequest req;
    req.repoId = a.positional()[0];
    req.revision = a.get("revision", "main");
    if (auto at = req.repoId.find('@'); at != std::string::npos && !a.has("revision")) {
        req.revision = req.repoId.substr(at + 1);
        req.repoId = req.repoId.substr(0, at);
    }
    req.include = a.getAll("include");
    req.type = hub::parseRepoType(a.get("repo-type", "model"));
    hub::HubOptions opt = hub::HubOptions::fromEnvironment();
    if (a.has("cache-dir")) opt.cacheDir = a.get("cache-dir");
    hub::HubClient client(opt);
    const bool tty = ::isatty(STDERR_FILENO) && !a.has("quiet");
    std::signal(SIGINT, onInterrupt);
    client.setCancelFlag(&g_cancel);
    if (tty)
        client.setProgress([](const hub::DownloadProgress& p) {
            const int width = 24;
            double frac = p.bytesTotal > 0 ? std::min(1.0, double(p.bytesDone) / double(p.bytesTotal)) : 0;
            std::string bar(static_cast<size_t>(frac * width), '#');
            bar.resize(width, '.');
            std::string name = p.file.size() > 28 ? "..." + p.file.substr(p.file.size() - 25) : p.file;
            std::fprintf(stderr, "\r[%s] %s / %s  %s/s  ETA %s  %s (%d/%d)\033[K", bar.c_str(),
                         budget::humanBytes(p.bytesDone).c_str(), budget::humanBytes(p.bytesTotal).c_str(),
                         budget::humanBytes(static_cast<int64_t>(p.bytesPerSecond)).c_str(),
                         clock(p.etaSeconds).c_str(), name.c_str(), p.fileIndex, p.fileCount);
            std::fflush(stderr);
        });
    hub::SnapshotResult res;
    try {
        res = client.downloadSnapshot(req);
    } catch (const hub::DownloadCancelled&) {
        if (tty) std::fprintf(stderr, "\n");
        std::cerr << "download cancelled; run the same command again to resume.\n";
        return 130;
    }
    if (tty) std::fprintf(stderr, "\n");
    std::signal(SIGINT, SIG_DFL);
    std::cout << req.repoId << "@" << req.revision << " (commit " << res.commit << "): " << res.files.size()
              << " files, " << res.filesDownloaded << " downloaded (" << budget::humanBytes(res.bytesDownloaded)
              << ")\n"
              << res.snapshotDir << "\n";
    if (req.type == hub::RepoType::Model) {
        std::string why = hub::modelSupportProblem(res.snapshotDir);
        if (!why.empty()) std::cout << "note: PEFT Studio cannot train this model: " << why << "\n";
    }
    return 0;
}

}  // namespace peft::cli
