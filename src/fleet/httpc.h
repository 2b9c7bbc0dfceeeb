/* mote fleet: a minimal blocking HTTP/1.1 client for `mote fleet` and the
 * tests (plain http:// only: moted listens on the loopback interface). */
#ifndef MOTE_HTTPC_H
#define MOTE_HTTPC_H

#include <stddef.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_HTTPC_MAX_RESP (64u * 1024u * 1024u) /* bytes of a response we accept */

typedef struct mote_httpc_resp {
    int status;        /* HTTP status code */
    char *body;        /* malloc'ed, NUL-terminated; free with mote_httpc_free */
    size_t len;        /* body bytes, without the NUL */
} mote_httpc_resp_t;

/* Send one request to `url` ("http://HOST:PORT", optionally with a path
 * prefix) + `path` ("/api/devices?limit=5"). `token` (may be NULL) goes in
 * "Authorization: Bearer"; `body` (may be NULL) is sent as JSON.
 * timeout_ms bounds connecting and each read/write (0: 30000). Errors:
 * MOTE_ERR_ARG (bad URL), MOTE_ERR_IO (connect/read/write, message names
 * the address), MOTE_ERR_FORMAT (not an HTTP response), MOTE_ERR_LIMIT. */
mote_status_t mote_httpc_request(const char *url, const char *method, const char *path, const char *token,
                                 const char *body, size_t body_len, unsigned timeout_ms, mote_httpc_resp_t *out,
                                 char *err, size_t errsz);
void mote_httpc_free(mote_httpc_resp_t *r);

#ifdef __cplusplus
}
#endif
#endif
