// `peft-studio-cli dataset`: import a dataset file and print its validation report (text or JSON).
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/cli/dataset_args.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdDataset(const std::vector<std::string>& argv) {
    Args a(argv,
           {"file", "format", "tokenizer", "max-length", "template", "train-on", "validation-file", "validation-split",
            "column", "seed"},
           {"json", "packing", "stop-on-error"}, "dataset");
    data::DatasetConfig cfg = datasetFromArgs(a, "file");
    cfg.packing = a.has("packing");
    cfg.validationSplit = a.getDouble("validation-split", 0.1);
    if (a.has("validation-file")) cfg.validationPath = a.get("validation-file");
    if (a.has("stop-on-error")) cfg.onError = "stop";
    for (const auto& m : a.getAll("column")) {
        auto eq = m.find('=');
        if (eq == std::string::npos)
            fail("dataset", "--column expects FIELD=COLUMN, got '" + m + "'", "E.g. --column output=response.");
        cfg.columnMapping[m.substr(0, eq)] = m.substr(eq + 1);
    }
    // Validate through the same strict reader the run config uses.
    cfg = data::DatasetConfig::fromJson(cfg.toJson(), "dataset options");

    std::shared_ptr<Tokenizer> tok;
    if (a.has("tokenizer")) tok = Tokenizer::load(a.get("tokenizer"));
    data::PrepareOptions opts;
    opts.seed = static_cast<uint64_t>(a.getInt("seed", 42));
    data::PreparedDataset pd = data::prepareDataset(cfg, tok.get(), opts);
    if (a.has("json")) std::cout << pd.report.toJson().dump(2) << "\n";
    else std::cout << pd.report.toText();
    return 0;
}

}  // namespace peft::cli
