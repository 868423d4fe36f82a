#ifndef HADRON_CCURL_SHIM_H
#define HADRON_CCURL_SHIM_H

// Typed wrappers over libcurl's variadic calls, which Swift cannot import
// (curl_easy_setopt, curl_easy_getinfo, curl_multi_setopt). Each wrapper fixes the argument type, so
// Swift callers cannot pass a long where libcurl expects a pointer.

#include <curl/curl.h>

typedef size_t (*hadron_curl_data_callback)(char *data, size_t size, size_t count, void *context);
typedef int (*hadron_curl_xferinfo_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow,
                                             curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode hadron_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hadron_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hadron_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hadron_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hadron_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hadron_curl_easy_setopt_data_function(CURL *handle, CURLoption option,
                                                             hadron_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode hadron_curl_easy_setopt_xferinfo_function(CURL *handle,
                                                                 hadron_curl_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/// In-memory PEM (CA bundle, client certificate, client key); libcurl copies the bytes.
static inline CURLcode hadron_curl_easy_setopt_blob(CURL *handle, CURLoption option, const void *data,
                                                    size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(handle, option, &blob);
}

static inline CURLcode hadron_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode hadron_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode hadron_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// `CURLMsg.data` is a union; Swift sees it awkwardly, so read the result code here.
static inline CURLcode hadron_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
