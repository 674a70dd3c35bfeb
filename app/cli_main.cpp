// peft-studio-cli: headless entry point; every subcommand lives in core/cli.
#include "core/cli/commands.h"
#include "core/util/blas_tune.h"

int main(int argc, char** argv) {
    peft::tuneBlasKernels();  // before any BLAS call
    return peft::cli::runCli(argc, argv);
}
