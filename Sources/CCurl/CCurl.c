#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// The libcurl entry points, resolved once by `load`. Declared with libcurl's own prototypes, so a
// mismatch with the header is a compile error, not a crash.
static struct {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_multi_init) *multi_init;
    __typeof__(curl_multi_setopt) *multi_setopt;
    __typeof__(curl_multi_add_handle) *multi_add_handle;
    __typeof__(curl_multi_remove_handle) *multi_remove_handle;
    __typeof__(curl_multi_perform) *multi_perform;
    __typeof__(curl_multi_poll) *multi_poll;
    __typeof__(curl_multi_wakeup) *multi_wakeup;
    __typeof__(curl_multi_info_read) *multi_info_read;
    __typeof__(curl_multi_strerror) *multi_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
} curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[512];
static int failed;

#define RESOLVE(library, field, symbol)                                                                   \
    do {                                                                                                  \
        curl.field = (__typeof__(curl.field))dlsym(library, symbol);                                      \
        if (curl.field == NULL) {                                                                         \
            snprintf(failure, sizeof failure, "libcurl.so.4 has no %s: %s", symbol, dlerror());          \
            failed = 1;                                                                                   \
            return;                                                                                       \
        }                                                                                                 \
    } while (0)

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(failure, sizeof failure,
                 "cannot load libcurl, which talking to the Kubernetes API needs (Debian: apt-get install libcurl4): %s",
                 dlerror());
        failed = 1;
        return;
    }
    RESOLVE(library, global_init, "curl_global_init");
    RESOLVE(library, easy_init, "curl_easy_init");
    RESOLVE(library, easy_cleanup, "curl_easy_cleanup");
    RESOLVE(library, easy_strerror, "curl_easy_strerror");
    RESOLVE(library, easy_setopt, "curl_easy_setopt");
    RESOLVE(library, easy_getinfo, "curl_easy_getinfo");
    RESOLVE(library, multi_init, "curl_multi_init");
    RESOLVE(library, multi_setopt, "curl_multi_setopt");
    RESOLVE(library, multi_add_handle, "curl_multi_add_handle");
    RESOLVE(library, multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(library, multi_perform, "curl_multi_perform");
    RESOLVE(library, multi_poll, "curl_multi_poll");
    RESOLVE(library, multi_wakeup, "curl_multi_wakeup");
    RESOLVE(library, multi_info_read, "curl_multi_info_read");
    RESOLVE(library, multi_strerror, "curl_multi_strerror");
    RESOLVE(library, slist_append, "curl_slist_append");
    RESOLVE(library, slist_free_all, "curl_slist_free_all");
    CURLcode code = curl.global_init(CURL_GLOBAL_ALL);
    if (code != CURLE_OK) {
        snprintf(failure, sizeof failure, "curl_global_init: %s", curl.easy_strerror(code));
        failed = 1;
    }
}

const char *hadron_curl_load(void) {
    pthread_once(&once, load);
    return failed ? failure : NULL;
}

CURL *hadron_curl_easy_init(void) { return curl.easy_init(); }
void hadron_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
const char *hadron_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }

CURLcode hadron_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode hadron_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode hadron_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode hadron_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode hadron_curl_easy_setopt_data_function(CURL *handle, CURLoption option, hadron_curl_data_callback callback) {
    return curl.easy_setopt(handle, option, callback);
}

CURLcode hadron_curl_easy_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl.easy_setopt(handle, option, &blob);
}

CURLcode hadron_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl.easy_getinfo(handle, info, value);
}

CURLM *hadron_curl_multi_init(void) { return curl.multi_init(); }

CURLMcode hadron_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl.multi_setopt(multi, option, value);
}

CURLMcode hadron_curl_multi_add_handle(CURLM *multi, CURL *handle) { return curl.multi_add_handle(multi, handle); }
CURLMcode hadron_curl_multi_remove_handle(CURLM *multi, CURL *handle) { return curl.multi_remove_handle(multi, handle); }
CURLMcode hadron_curl_multi_perform(CURLM *multi, int *running) { return curl.multi_perform(multi, running); }

CURLMcode hadron_curl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *ready) {
    return curl.multi_poll(multi, extra, count, timeout_ms, ready);
}

CURLMcode hadron_curl_multi_wakeup(CURLM *multi) { return curl.multi_wakeup(multi); }
CURLMsg *hadron_curl_multi_info_read(CURLM *multi, int *queued) { return curl.multi_info_read(multi, queued); }
const char *hadron_curl_multi_strerror(CURLMcode code) { return curl.multi_strerror(code); }
CURLcode hadron_curl_msg_result(const CURLMsg *message) { return message->data.result; }

struct curl_slist *hadron_curl_slist_append(struct curl_slist *list, const char *text) {
    return curl.slist_append(list, text);
}

void hadron_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }
