#include "leadpipe/testing/openapi.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "leadpipe/testing/infra.hpp"

namespace leadpipe::testing {

// A deliberately small reader for the layout our documents use: `paths:` at
// column 0, each path at two spaces, each operation at four.
std::set<std::string> openapi_operations(const std::string& file) {
  std::ifstream in(source_dir() + "/proto/openapi/" + file);
  if (!in) throw std::runtime_error("cannot read proto/openapi/" + file);
  std::set<std::string> ops;
  std::string line;
  std::string path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') {
      in_paths = line.rfind("paths:", 0) == 0;
      continue;
    }
    if (!in_paths) continue;
    if (line.size() > 3 && line.compare(0, 3, "  /") == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.size() > 5 && line.compare(0, 4, "    ") == 0 && line[4] != ' ' && !path.empty()) {
      const auto colon = line.find(':');
      std::string method = line.substr(4, colon - 4);
      static const std::set<std::string> methods{"get", "post", "put", "patch", "delete"};
      if (methods.count(method)) {
        std::transform(method.begin(), method.end(), method.begin(), ::toupper);
        ops.insert(method + " " + path);
      }
    }
  }
  return ops;
}

}  // namespace leadpipe::testing
