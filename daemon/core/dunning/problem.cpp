#include "core/dunning/problem.hpp"

namespace relance::core::dunning {

std::string Problem::to_string() const {
  std::string text = file;
  if (line > 0) text += ":" + std::to_string(line);
  if (!key.empty()) text += (text.empty() ? "" : ": ") + key;
  text += (text.empty() ? "" : ": ") + message;
  return text;
}

Error to_error(const std::vector<Problem>& problems) {
  RELANCE_ASSERT(!problems.empty());
  std::string message;
  for (const Problem& problem : problems) {
    if (!message.empty()) message += "\n";
    message += problem.to_string();
  }
  return Error{"", message};
}

}  // namespace relance::core::dunning
