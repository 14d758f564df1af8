#include "cli/commands/http_call.h"

#include <algorithm>

#include "core/http/url.h"

namespace cairn::cli {

Result<api::HttpResult> http_call(const ClientFlags& flags, const std::string& method, std::string target,
                                  const std::string& body, bool allow_404) {
  CAIRN_TRY(auto client, flags.client());
  if (!flags.datacenter.empty()) {
    target += (target.find('?') == std::string::npos ? "?" : "&");
    target += "dc=" + http::percent_encode(flags.datacenter);
  }
  CAIRN_TRY(auto res, client.request(method, target, body));
  if (res.status == 200 || (allow_404 && res.status == 404)) return res;
  std::string text = res.body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return Error(errc::io_error, "Unexpected response code: " + std::to_string(res.status) + " (" + text + ")");
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows, size_t gap) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + gap, ' ');
    }
    // Empty trailing cells leave no trailing blanks.
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
}

}  // namespace cairn::cli
