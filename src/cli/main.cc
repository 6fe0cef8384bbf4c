// The halfcast command (see command.h for the subcommands and exit codes).
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return halfcast::cli::Main(args, std::cout, std::cerr);
}
