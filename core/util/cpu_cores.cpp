// Usable CPU cores (see cpu_cores.h): affinity mask, SMT siblings from /sys topology, cgroup quota.
#include "core/util/cpu_cores.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/util/error.h"

namespace peft {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The file's text, or nullopt when it cannot be read.
std::optional<std::string> readText(const fs::path& p) {
    std::ifstream in(p);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

long long parseNonNegative(const std::string& s, const std::string& where, const std::string& what) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
        fail(where, "expected " + what + ", found '" + s + "'");
    return std::stoll(s);
}

// The quota (in CPUs) that applies to cgroup `rel` under `mount`: the smallest over the cgroup and
// its parents, since each level caps the ones below it.
std::optional<double> walkQuota(const fs::path& mount, std::string rel, bool v2) {
    std::error_code ec;
    if (!fs::is_directory(mount, ec)) return std::nullopt;
    fs::path dir = mount / fs::path(rel).relative_path();
    // In a container the cgroup path names the host's hierarchy while the mount shows only ours.
    if (!fs::is_directory(dir, ec)) dir = mount;
    std::optional<double> best;
    for (;;) {
        std::optional<double> q;
        if (v2) {
            if (auto t = readText(dir / "cpu.max")) q = parseCpuMax(*t, (dir / "cpu.max").string());
        } else {
            auto quota = readText(dir / "cpu.cfs_quota_us"), period = readText(dir / "cpu.cfs_period_us");
            if (quota && period) q = parseCfsQuota(*quota, *period, (dir / "cpu.cfs_quota_us").string());
        }
        if (q && (!best || *q < *best)) best = q;
        if (dir == mount || !dir.has_parent_path() || dir.parent_path() == dir) break;
        dir = dir.parent_path();
        if (dir.string().size() < mount.string().size()) break;
    }
    return best;
}

std::optional<double> cgroupQuota(const fs::path& root) {
    auto self = readText(root / "proc/self/cgroup");
    if (!self) return std::nullopt;
    std::istringstream in(*self);
    std::string line;
    std::optional<double> best;
    auto take = [&](std::optional<double> q) {
        if (q && (!best || *q < *best)) best = q;
    };
    while (std::getline(in, line)) {
        // "hierarchy-id:controllers:path"; v2 is "0::path".
        size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1), path = trim(line.substr(b + 1));
        if (controllers.empty()) {
            take(walkQuota(root / "sys/fs/cgroup", path, true));
        } else {
            std::istringstream cs(controllers);
            std::string c;
            bool cpu = false;
            while (std::getline(cs, c, ',')) cpu = cpu || c == "cpu";
            if (!cpu) continue;
            for (const std::string& m : {controllers, std::string("cpu"), std::string("cpu,cpuacct")})
                if (auto q = walkQuota(root / "sys/fs/cgroup" / m, path, false)) {
                    take(q);
                    break;
                }
        }
    }
    return best;
}

}  // namespace

std::string CpuCount::describe() const {
    std::string s = std::to_string(physical) + " physical core" + (physical == 1 ? "" : "s") + " of " +
        std::to_string(allowed) + " allowed CPU" + (allowed == 1 ? "" : "s") + ", ";
    if (!quota) return s + "no cgroup quota";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "cgroup quota %.2f CPUs", *quota);
    return s + buf;
}

std::set<int> parseCpuList(const std::string& text, const std::string& where) {
    std::set<int> out;
    const std::string t = trim(text);
    if (t.empty()) return out;
    std::istringstream in(t);
    std::string part;
    while (std::getline(in, part, ',')) {
        part = trim(part);
        const size_t dash = part.find('-');
        const std::string what = "a CPU list such as 0-3,8";
        long long lo = parseNonNegative(dash == std::string::npos ? part : part.substr(0, dash), where, what);
        long long hi = dash == std::string::npos ? lo : parseNonNegative(part.substr(dash + 1), where, what);
        if (hi < lo || hi > 65535) fail(where, "CPU range '" + part + "' is not a rising range below 65536");
        for (long long c = lo; c <= hi; ++c) out.insert(static_cast<int>(c));
    }
    return out;
}

std::optional<double> parseCpuMax(const std::string& text, const std::string& where) {
    std::istringstream in(trim(text));
    std::string quota, period, extra;
    in >> quota >> period >> extra;
    if (quota.empty() || !extra.empty()) fail(where, "expected '<quota|max> <period>', found '" + trim(text) + "'");
    if (quota == "max") return std::nullopt;
    const long long q = parseNonNegative(quota, where, "a quota in microseconds or 'max'");
    const long long p = period.empty() ? 100000 : parseNonNegative(period, where, "a period in microseconds");
    if (p == 0) fail(where, "the period is 0");
    return static_cast<double>(q) / static_cast<double>(p);
}

std::optional<double> parseCfsQuota(const std::string& quotaUs, const std::string& periodUs, const std::string& where) {
    const std::string q = trim(quotaUs);
    if (q == "-1") return std::nullopt;
    const long long quota = parseNonNegative(q, where, "a quota in microseconds or -1");
    const long long period = parseNonNegative(trim(periodUs), where, "a period in microseconds");
    if (period == 0) fail(where, "the period is 0");
    return static_cast<double>(quota) / static_cast<double>(period);
}

CpuCount countCpus(const std::set<int>& allowed, const std::string& rootDir) {
    const fs::path root(rootDir.empty() ? "/" : rootDir);
    CpuCount c;
    c.allowed = std::max<int>(1, static_cast<int>(allowed.size()));
    // A core is named by the lowest CPU among its SMT siblings.
    std::set<int> cores;
    for (int cpu : allowed) {
        const fs::path topo = root / "sys/devices/system/cpu" / ("cpu" + std::to_string(cpu)) / "topology";
        int key = cpu;
        for (const char* f : {"core_cpus_list", "thread_siblings_list"}) {
            auto t = readText(topo / f);
            if (!t) continue;
            try {
                std::set<int> sib = parseCpuList(*t, (topo / f).string());
                if (!sib.empty()) key = *sib.begin();
            } catch (const PeftError&) {
                // unreadable topology: count the CPU as its own core
            }
            break;
        }
        cores.insert(key);
    }
    c.physical = std::max<int>(1, static_cast<int>(cores.size()));
    try {
        c.quota = cgroupQuota(root);
    } catch (const PeftError&) {
        c.quota.reset();  // a cgroup file we cannot read is no limit we can honour
    }
    c.usable = c.physical;
    if (c.quota) c.usable = std::min(c.usable, std::max(1, static_cast<int>(std::floor(*c.quota + 1e-9))));
    return c;
}

const CpuCount& processCpus() {
    static const CpuCount c = [] {
        std::set<int> allowed;
        cpu_set_t set;
        CPU_ZERO(&set);
        if (::sched_getaffinity(0, sizeof(set), &set) == 0) {
            for (int i = 0; i < CPU_SETSIZE; ++i)
                if (CPU_ISSET(i, &set)) allowed.insert(i);
        }
        if (allowed.empty()) {
            const unsigned n = std::max(1u, std::thread::hardware_concurrency());
            for (unsigned i = 0; i < n; ++i) allowed.insert(static_cast<int>(i));
        }
        return countCpus(allowed, "/");
    }();
    return c;
}

int resolveThreadCount(long long requested, std::string* why) {
    if (requested > 0) {
        if (why) *why = "as requested";
        return static_cast<int>(std::min<long long>(requested, 4096));
    }
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
        char* end = nullptr;
        const long v = std::strtol(env, &end, 10);
        if (end && *end == '\0' && v > 0) {
            if (why) *why = "auto: OMP_NUM_THREADS=" + std::string(env);
            return static_cast<int>(std::min<long>(v, 4096));
        }
    }
    const CpuCount& c = processCpus();
    if (why) *why = "auto: " + c.describe();
    return c.usable;
}

}  // namespace peft
