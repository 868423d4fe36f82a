#ifndef HADRON_CCURL_H
#define HADRON_CCURL_H

// libcurl for the Kubernetes API client, loaded with dlopen on first use rather than linked.
//
// One `hadron` executable serves every tier, but only the operator and the `--kubernetes` modes talk to
// the API server. Linking libcurl made every gateway and storage process map libcurl and its TLS, LDAP,
// Kerberos and SSH stacks (about 5.4 MiB resident in an idle gateway, against a 40 MiB budget); loading it
// on demand leaves them out of processes that never need it.
//
// The header of libcurl gives the types and constants; every call goes through a function this target
// defines, which calls the symbol resolved by `hadron_curl_load`. The typed setopt/getinfo wrappers also
// stand in for libcurl's variadic calls, which Swift cannot import, and fix the argument type, so Swift
// callers cannot pass a long where libcurl expects a pointer.

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stddef.h>

/// Loads libcurl (`libcurl.so.4`) and runs `curl_global_init` once per process; safe from any thread.
/// Returns NULL on success, or a message saying what failed (the same message on every later call).
const char *hadron_curl_load(void);

typedef size_t (*hadron_curl_data_callback)(char *data, size_t size, size_t count, void *context);

CURL *hadron_curl_easy_init(void);
void hadron_curl_easy_cleanup(CURL *handle);
const char *hadron_curl_easy_strerror(CURLcode code);

CURLcode hadron_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode hadron_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode hadron_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode hadron_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode hadron_curl_easy_setopt_data_function(CURL *handle, CURLoption option, hadron_curl_data_callback callback);
/// In-memory PEM (CA bundle, client certificate, client key); libcurl copies the bytes.
CURLcode hadron_curl_easy_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length);
CURLcode hadron_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);

CURLM *hadron_curl_multi_init(void);
CURLMcode hadron_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode hadron_curl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode hadron_curl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode hadron_curl_multi_perform(CURLM *multi, int *running);
CURLMcode hadron_curl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *ready);
CURLMcode hadron_curl_multi_wakeup(CURLM *multi);
CURLMsg *hadron_curl_multi_info_read(CURLM *multi, int *queued);
const char *hadron_curl_multi_strerror(CURLMcode code);
/// `CURLMsg.data` is a union; Swift sees it awkwardly, so read the result code here.
CURLcode hadron_curl_msg_result(const CURLMsg *message);

struct curl_slist *hadron_curl_slist_append(struct curl_slist *list, const char *text);
void hadron_curl_slist_free_all(struct curl_slist *list);

#endif
