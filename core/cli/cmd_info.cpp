// `peft-studio-cli info`: runtime facts and, with --model, a model folder's summary; with --load,
// the time and resident memory it takes to load the weights and make them usable (benchmarks).
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/model_config.h"
#include "core/model/loader.h"
#include "core/util/error.h"
#include "core/util/cpu_cores.h"
#include "core/util/runtime_info.h"

namespace peft::cli {

namespace {
double rssMib(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string k = std::string(key) + ":";
    while (std::getline(in, line))
        if (line.rfind(k, 0) == 0) return std::atof(line.c_str() + k.size()) / 1024.0;
    return 0;
}

// Reads one byte of every page of every parameter: what the first forward pass would fault in
// for weights that are still only mapped from the file. Returns a checksum so it is not elided.
unsigned touchWeights(CausalLMImpl& model) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    unsigned sum = 0;
    for (const auto& p : model.parameters()) {
        const auto* b = static_cast<const volatile unsigned char*>(p.data_ptr());
        const size_t n = static_cast<size_t>(p.numel()) * p.element_size();
        for (size_t i = 0; i < n; i += page) sum += b[i];
        if (n) sum += b[n - 1];
    }
    return sum;
}
}  // namespace

int cmdInfo(const std::vector<std::string>& argv) {
    Args a(argv, {"model", "precision"}, {"load"}, "info");
    std::cout << versionLine() << "\n";
    std::string why;
    resolveThreadCount(0, &why);
    std::cout << "threads: " << at::get_num_threads() << " (" << why << ")\n";
    if (a.has("model")) {
        ModelConfig c = ModelConfig::load(a.get("model"));
        std::cout << "model_type: " << c.modelType << "\nlayers: " << c.numLayers << "\nhidden: " << c.hiddenSize
                  << "\nheads: " << c.numHeads << " (kv " << c.numKvHeads << ")\nvocab: " << c.vocabSize << "\n";
    }
    if (a.has("load")) {
        if (!a.has("model")) fail("info --load", "needs --model DIR", "Give the model folder to load.");
        // Load, then make every weight resident, then one 1-token forward pass: the three costs
        // of "the model is ready", each timed; RSS before anything and at the peak.
        using Clock = std::chrono::steady_clock;
        const double rssStart = rssMib("VmRSS");
        ModelOptions mo;
        mo.dtype = parseDtype(a.get("precision", "bf16"));
        const auto t0 = Clock::now();
        LoadedModel lm = loadModel(a.get("model"), mo);
        const auto t1 = Clock::now();
        const unsigned check = touchWeights(*lm.model);
        const auto t2 = Clock::now();
        {
            torch::NoGradGuard ng;
            torch::Tensor logits = lm.model->forward(torch::zeros({1, 1}, torch::kInt64));
            if (!logits.isfinite().all().item<bool>()) std::cout << "warning: non-finite logits\n";
        }
        const auto t3 = Clock::now();
        auto secs = [](Clock::time_point x, Clock::time_point y) {
            return std::chrono::duration<double>(y - x).count();
        };
        std::cout << "file_bytes: " << lm.bytesOnDisk << "\nload_s: " << secs(t0, t1) << "\ntouch_s: " << secs(t1, t2)
                  << "\nforward_s: " << secs(t2, t3) << "\nrss_start_mib: " << rssStart
                  << "\nrss_loaded_mib: " << rssMib("VmRSS") << "\npeak_rss_mib: " << rssMib("VmHWM")
                  << "\nchecksum: " << check << "\n";
    }
    return 0;
}

}  // namespace peft::cli
