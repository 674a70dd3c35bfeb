// How many CPU cores this process may really use: the affinity mask, the cgroup CPU quota (v2
// cpu.max, v1 cfs quota) and SMT siblings (two hyper-threads of one core count once). No LibTorch.
#pragma once
#include <optional>
#include <set>
#include <string>

namespace peft {

struct CpuCount {
    int allowed = 1;               // logical CPUs in the affinity mask
    int physical = 1;              // distinct physical cores among them
    std::optional<double> quota;   // cgroup quota in CPUs (cpu.max "200000 100000" -> 2.0); none = unlimited
    int usable = 1;                // min(physical, quota rounded down, at least 1): the default thread count
    std::string describe() const;  // "2 physical cores of 2 allowed CPUs, no cgroup quota"
};

// "0-3,8,10-11" (the kernel's cpu list format, as in /sys/.../thread_siblings_list and
// /sys/fs/cgroup/cpuset.cpus). Throws PeftError naming `where` on anything else.
std::set<int> parseCpuList(const std::string& text, const std::string& where);
// cgroup v2 cpu.max: "max 100000" -> none; "150000 100000" -> 1.5 CPUs. Throws on bad text.
std::optional<double> parseCpuMax(const std::string& text, const std::string& where);
// cgroup v1: cpu.cfs_quota_us ("-1" = none) and cpu.cfs_period_us. Throws on bad text.
std::optional<double> parseCfsQuota(const std::string& quotaUs, const std::string& periodUs, const std::string& where);

// Counts for the CPUs in `allowed`, reading topology and cgroup files under `root` ("/" for the
// real system; tests give a folder laid out like it: sys/devices/system/cpu/cpuN/topology/...,
// proc/self/cgroup, sys/fs/cgroup/...). Missing files mean "no information": every allowed CPU
// is its own core, no quota.
CpuCount countCpus(const std::set<int>& allowed, const std::string& root);

// This process: sched_getaffinity + countCpus("/"). Computed once.
const CpuCount& processCpus();

// The intra-op thread count for a setting: requested > 0 is taken as is; 0 (auto) is
// OMP_NUM_THREADS when set to a positive integer (the user's explicit choice), else
// processCpus().usable. `why` (optional) gets a phrase for the log.
int resolveThreadCount(long long requested, std::string* why = nullptr);

}  // namespace peft
