// extract-cli: the CLI mode of contact-extractor without the service's
// Kafka/PostgreSQL dependencies, for the accuracy scorer, the benchmark and
// the fuzz corpus. `extract-cli [extract] [--region CC]` reads JSON lines on
// stdin exactly like `contact-extractor extract`.
#include <cstring>
#include <iostream>
#include <string>

#include "leadpipe/extract/cli.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::string region = "ID";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "extract") == 0) continue;
    if (std::strcmp(argv[i], "--region") == 0 && i + 1 < argc) {
      region = argv[++i];
      continue;
    }
    std::cerr << "usage: extract-cli [extract] [--region CC] < conversations.jsonl\n";
    return 2;
  }
  try {
    return leadpipe::extract::run_cli(std::cin, std::cout, region);
  } catch (const std::exception& e) {  // unknown region
    std::cerr << "extract-cli: " << e.what() << '\n';
    return 2;
  }
}
