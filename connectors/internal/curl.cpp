#include "connectors/internal/curl.hpp"

#include <mutex>

#include "core/assert.hpp"

namespace relance::connectors::internal {

void curl_global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Without this libcurl would initialise lazily inside the first curl_easy_init, racing when
    // two sinks start at once. Failure here means no TLS backend: nothing can be delivered.
    const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    RELANCE_ASSERT(code == CURLE_OK);
  });
}

CurlEasy make_curl_easy() {
  curl_global_init_once();
  return CurlEasy(curl_easy_init());
}

bool CurlList::append(const std::string& item) {
  curl_slist* next = curl_slist_append(list_, item.c_str());
  if (next == nullptr) return false;
  list_ = next;
  return true;
}

std::string curl_error_text(CURLcode code, const char* error_buffer) {
  if (error_buffer != nullptr && error_buffer[0] != '\0') return error_buffer;
  return curl_easy_strerror(code);
}

}  // namespace relance::connectors::internal
