#pragma once
// leadctl extractor config set|show — per-tenant contact-extractor settings
// (extraction.tenant_settings; see services/contact-extractor/README.md).
#include <map>
#include <string>
#include <vector>

namespace leadpipe::leadctl {

// positional[0] == "extractor". Returns the exit code; throws
// std::invalid_argument for usage errors.
int cmd_extractor(const std::vector<std::string>& positional, const std::map<std::string, std::string>& options,
                  const std::string& pg_url);

}  // namespace leadpipe::leadctl
