// libcurl behind http_client.h: one easy handle per request, no automatic redirects.
#include "core/hub/http_client.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "core/util/error.h"

#ifdef PEFT_HAVE_CURL
#include <curl/curl.h>
#endif

namespace peft::hub {

std::string urlHostPort(const std::string& url) {
    auto scheme = url.find("://");
    size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    size_t end = url.find_first_of("/?#", start);
    std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto at = host.rfind('@');
    if (at != std::string::npos) host = host.substr(at + 1);
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    return host;
}

std::string resolveLocation(const std::string& base, const std::string& location) {
    if (location.find("://") != std::string::npos) return location;
    auto scheme = base.find("://");
    size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    size_t pathStart = base.find('/', start);
    std::string origin = pathStart == std::string::npos ? base : base.substr(0, pathStart);
    if (!location.empty() && location[0] == '/') return origin + location;
    std::string path = pathStart == std::string::npos ? "/" : base.substr(pathStart);
    path = path.substr(0, path.find_first_of("?#"));
    return origin + path.substr(0, path.rfind('/') + 1) + location;
}

#ifdef PEFT_HAVE_CURL

namespace {

struct Transfer {
    const HttpRequest* request;
    HttpResponse* response;
    int64_t received = 0;
    bool aborted = false;
    bool started = false;
};

size_t onBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t bytes = size * n;
    // Error bodies (4xx/5xx) are kept for their message, never fed to the sink.
    if (t->request->sink && t->response->status < 300) {
        if (!t->started) {
            t->started = true;
            if (t->request->onStart && !t->request->onStart(*t->response)) {
                t->aborted = true;
                return 0;
            }
        }
        if (!t->request->sink(data, bytes)) {
            t->aborted = true;
            return 0;
        }
    } else if (t->response->body.size() < (1 << 20)) {
        t->response->body.append(data, bytes);
    }
    t->received += static_cast<int64_t>(bytes);
    return bytes;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new status line (after a 100 Continue, say)
        t->response->headers.clear();
        auto sp = line.find(' ');
        if (sp != std::string::npos) t->response->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
        return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) return size * n;
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto notSpace = [](unsigned char c) { return !std::isspace(c); };
    value.erase(value.begin(), std::find_if(value.begin(), value.end(), notSpace));
    value.erase(std::find_if(value.rbegin(), value.rend(), notSpace).base(), value.end());
    t->response->headers[name] = value;
    return size * n;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (t->request->progress && !t->request->progress(t->received)) {
        t->aborted = true;
        return 1;
    }
    return 0;
}

void globalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

bool httpAvailable() { return true; }

HttpResult httpRequest(const HttpRequest& request) {
    globalInit();
    HttpResult result;
    CURL* curl = curl_easy_init();
    if (!curl) fail("libcurl", "could not create a transfer handle", "");
    Transfer t{&request, &result.response};
    struct curl_slist* headers = nullptr;
    for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "peft-studio/" PEFT_STUDIO_VERSION " (libcurl)");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request.connectTimeoutSeconds);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request.stallSeconds);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    // The Hub may compress JSON; file bodies must arrive byte for byte (their size and hash count).
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);
    if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    std::string range;
    if (request.rangeFrom >= 0) {
        range = std::to_string(request.rangeFrom) + "-";
        curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    }
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code) result.response.status = code;
    if (rc != CURLE_OK) {
        result.error = t.aborted || rc == CURLE_ABORTED_BY_CALLBACK ? TransportError::Aborted : TransportError::Network;
        result.errorText = (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc))) + " (" +
            urlHostPort(request.url) + ")";
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}

#else

bool httpAvailable() { return false; }

HttpResult httpRequest(const HttpRequest& request) {
    fail(request.url, "this build of PEFT Studio has no HTTP client (libcurl was not found when it was built)",
         "Install libcurl4-openssl-dev and rebuild, or download the model with another tool into the Hugging Face "
         "cache.");
}

#endif

}  // namespace peft::hub
