#pragma once
// Files compiled into a binary by the CMake function leadpipe_embed().
#include <string_view>
#include <vector>

namespace leadpipe::embedded {

struct File {
  std::string_view name;      // file name without directories, e.g. "0001_init.sql"
  std::string_view contents;  // exact bytes of the file
};

}  // namespace leadpipe::embedded

// Each leadpipe_embed(target SYMBOL ...) defines:
//   const std::vector<leadpipe::embedded::File>& leadpipe::embedded::SYMBOL();
#define LEADPIPE_DECLARE_EMBEDDED(symbol) \
  namespace leadpipe::embedded {          \
  const std::vector<File>& symbol();      \
  }
