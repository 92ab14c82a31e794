#pragma once
// libcurl plumbing shared by the sinks that speak through it (SMTP, HTTP): one global init per
// process and owning handles, so no early return can leak a handle or a header list.

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>

namespace relance::connectors::internal {

// curl_global_init is not thread-safe in every libcurl build: run it exactly once, before the
// first handle exists.
void curl_global_init_once();

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

// A fresh easy handle, with the process-wide init done; null only when libcurl is out of memory.
CurlEasy make_curl_easy();

class CurlList {
 public:
  CurlList() = default;
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;
  ~CurlList() { curl_slist_free_all(list_); }
  // False when libcurl is out of memory.
  bool append(const std::string& item);
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// The text of a libcurl error: the handle's error buffer when it says something, else the
// generic sentence for the code.
std::string curl_error_text(CURLcode code, const char* error_buffer);

}  // namespace relance::connectors::internal
