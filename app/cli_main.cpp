// peft-studio-cli: headless entry point; every subcommand lives in core/cli.
#include "core/cli/commands.h"

int main(int argc, char** argv) { return peft::cli::runCli(argc, argv); }
