// One HTTP request over libcurl, redirects NOT followed (the Hub client decides which to follow
// and which headers go along). The only file that talks to libcurl; without libcurl at build
// time every request throws a PeftError saying so.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace peft::hub {

struct HttpResponse;

struct HttpRequest {
    std::string method = "GET";  // GET | HEAD
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // never logged (may hold a token)
    int64_t rangeFrom = -1;                                    // >= 0: "Range: bytes=N-"
    // Receives the body; returning false aborts the transfer (e.g. a write failed).
    std::function<bool(const char* data, size_t size)> sink;
    // Called once with the status and headers before the first body byte reaches the sink.
    std::function<bool(const HttpResponse&)> onStart;
    // Called as bytes arrive; returning false aborts (cancel).
    std::function<bool(int64_t received)> progress;
    long connectTimeoutSeconds = 20;
    long stallSeconds = 60;  // abort when under 1 byte/s for this long
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased; the last value wins
    std::string body;                            // when the request had no sink
    std::string header(const std::string& lowerName) const {
        auto it = headers.find(lowerName);
        return it == headers.end() ? std::string() : it->second;
    }
};

// What went wrong below HTTP: no connection, a cut transfer, an abort by a callback.
enum class TransportError { None, Network, Aborted };

struct HttpResult {
    HttpResponse response;
    TransportError error = TransportError::None;
    std::string errorText;  // libcurl's words, with the host
};

HttpResult httpRequest(const HttpRequest& request);

// True when libcurl was found at build time.
bool httpAvailable();

// "https://a.b:8080/x" -> "a.b:8080" (what decides whether a redirect changes host).
std::string urlHostPort(const std::string& url);
// Resolves a Location header against the request URL (absolute, "/path" or "path").
std::string resolveLocation(const std::string& base, const std::string& location);

}  // namespace peft::hub
