#include "leadpipe/httpclient/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace leadpipe::httpclient {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error(Error::Kind::other, "curl_global_init failed");
  });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The URL as it may appear in an error message: no credentials, no query
// (provider tokens sometimes travel there).
std::string redact_url(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  const auto scheme = out.find("://");
  const auto host_start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto path_start = out.find('/', host_start);
  const auto at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
  if (at != std::string::npos && at >= host_start) out.erase(host_start, at + 1 - host_start);
  return out;
}

struct Exchange {
  ClientResponse response;
  std::size_t max_body = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const std::size_t n = size * nmemb;
  if (x->response.body.size() + n > x->max_body) {
    x->too_large = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  x->response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const std::size_t n = size * nmemb;
  const std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: an interim (1xx) response's headers are dropped.
    x->response.headers.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;  // blank line or junk
  std::string name = to_lower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  auto [it, inserted] = x->response.headers.try_emplace(std::move(name), value);
  if (!inserted) it->second.append(", ").append(value);
  return n;
}

Error::Kind classify(CURLcode code, bool too_large) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error::Kind::timeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Error::Kind::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return Error::Kind::tls;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Error::Kind::invalid;
    case CURLE_WRITE_ERROR:
      return too_large ? Error::Kind::too_large : Error::Kind::other;
    default:
      return Error::Kind::other;
  }
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

const std::string* ClientResponse::header(std::string_view name) const {
  auto it = headers.find(to_lower(name));
  return it == headers.end() ? nullptr : &it->second;
}

struct Client::Impl {
  ClientOptions options;
  std::mutex mu;
  std::vector<CURL*> idle;  // handles keep their connection cache between requests

  CURL* acquire() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    CURL* h = curl_easy_init();
    if (!h) throw Error(Error::Kind::other, "curl_easy_init failed");
    return h;
  }

  void release(CURL* h) {
    // Forget the request's options (they point at its buffers), keep the
    // handle's live connections and caches.
    curl_easy_reset(h);
    {
      std::lock_guard lock(mu);
      if (idle.size() < options.max_idle_handles) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  ~Impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->options = std::move(options);
}

Client::~Client() = default;

ClientResponse Client::request(std::string_view method, const std::string& url, const Headers& headers,
                               const std::string& body, std::chrono::milliseconds timeout) {
  const std::string where = std::string(method) + " " + redact_url(url);
  if (method.empty() || method.find_first_of(" \r\n\t") != std::string_view::npos) {
    throw Error(Error::Kind::invalid, "invalid HTTP method '" + std::string(method) + "'");
  }
  if (timeout.count() <= 0) throw Error(Error::Kind::invalid, where + ": timeout must be positive");

  std::unique_ptr<curl_slist, SlistDeleter> list;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (!next) throw Error(Error::Kind::other, "curl_slist_append failed");
    (void)list.release();
    list.reset(next);
  };
  for (const auto& [name, value] : headers) {
    if (name.empty() || name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      throw Error(Error::Kind::invalid, where + ": invalid header '" + name + "'");
    }
    // "Name;" is curl's way to send a header with an empty value.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  // Never wait for "100 Continue": not every provider answers it.
  append("Expect:");

  CURL* h = impl_->acquire();
  struct Release {
    Impl* impl;
    CURL* h;
    ~Release() { impl->release(h); }
  } release{impl_.get(), h};

  Exchange x;
  x.max_body = impl_->options.max_response_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = static_cast<long>(timeout.count());
  const long connect_ms = static_cast<long>(std::min(impl_->options.connect_timeout, timeout).count());
  const std::string method_str(method);

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, impl_->options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);

  const bool sends_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_str.c_str());
  } else if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_str.c_str());
  }

  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    const Error::Kind kind = classify(code, x.too_large);
    std::string msg = where + ": " + curl_easy_strerror(code);
    if (kind == Error::Kind::too_large) {
      msg += " (response body over " + std::to_string(x.max_body) + " bytes)";
    } else if (errbuf[0] != '\0') {
      msg += std::string(" (") + errbuf + ")";
    }
    if (kind == Error::Kind::timeout) msg += " after " + std::to_string(timeout.count()) + " ms";
    throw Error(kind, msg);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  x.response.status = static_cast<int>(status);
  return std::move(x.response);
}

ClientResponse request(std::string_view method, const std::string& url, const Headers& headers,
                       const std::string& body, std::chrono::milliseconds timeout) {
  static Client client;
  return client.request(method, url, headers, body, timeout);
}

}  // namespace leadpipe::httpclient
