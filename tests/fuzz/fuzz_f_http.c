/* libFuzzer target: arbitrary requests through moted's HTTP router, role
 * checks and API handlers (src/fleet/http.c, moted_api.c, campaign.c),
 * without a socket, against an in-memory SQLite store seeded with a device,
 * a twin, events and a model. Input: lines "METHOD", "PATH", "QUERY",
 * "AUTHORIZATION" then the body (missing lines are empty). Contract
 * checked: every answer has a status in 100..599; every 4xx/5xx answer is a
 * JSON object with an "error" string; every 2xx answer is valid JSON; a
 * streamed answer (GET /api/stream) starts with well-formed Server-Sent
 * Events whose data lines are JSON objects. The QUERY line also goes
 * through mote_http_parse_event_id (the Last-Event-ID parser), checked
 * against strtoull. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "http.h"
#include "moted.h"

#define ENGINEER "fuzz-engineer-token-0000"
#define VIEWER "fuzz-viewer-token-00000000"

static mote_moted_t *moted;
static mote_http_t *srv;

static void seed_store(mote_store_t *s)
{
    char err[256];
    int ins;
    mote_store_device_upsert(s, "dev-1", "{\"id\":\"urn:mote:dev:dev-1\"}", "gw", "g", 1, 2, "0.1.0", 1, err,
                             sizeof err);
    mote_store_event_insert(s, "dev-1", 1, 1, "anomaly", "{\"seq\":1,\"score\":0.5}", 1, &ins, err, sizeof err);
    mote_store_twin_desired(s, "dev-1", "m", 1, NULL, 1, err, sizeof err);
    mote_store_model_t m = {"m", 1, "gw", "/nonexistent.bundle", "", 10};
    memset(m.sha256, 'a', 64);
    m.sha256[64] = '\0';
    mote_store_model_insert(s, &m, "{\"name\":\"m\"}", 1, err, sizeof err);
}

static void init(void)
{
    if (moted)
        return;
    static char dir[] = "/tmp/fuzz-moted-XXXXXX";
    uint8_t pk[32], sk[64];
    char err[256];
    if (sodium_init() < 0 || !mkdtemp(dir))
        abort();
    crypto_sign_keypair(pk, sk);
    mote_moted_config_t cfg = {.state_dir = dir, .db_url = ":memory:", .fleet_sk = sk, .no_ledger = 1};
    if (mote_moted_create(&moted, &cfg, err, sizeof err) != MOTE_OK || mote_http_create(&srv) != MOTE_OK ||
        mote_http_add_token(srv, ENGINEER, "erin", "engineer") != MOTE_OK ||
        mote_http_add_token(srv, VIEWER, "vera", "viewer") != MOTE_OK || mote_moted_routes(moted, srv) != MOTE_OK)
        abort();
    seed_store(mote_moted_store(moted));
}

/* Every complete line of an SSE chunk: "", a ": comment", "retry: N",
 * "event: event", "id: N" or "data: {json object}". */
static void check_sse(char *buf, size_t n)
{
    char *line = buf, *end = buf + n;
    for (char *nl; line < end && (nl = memchr(line, '\n', (size_t)(end - line))); line = nl + 1) {
        *nl = '\0';
        uint64_t id;
        if (!line[0] || line[0] == ':' || strcmp(line, "event: event") == 0)
            continue;
        if (strncmp(line, "retry: ", 7) == 0 || strncmp(line, "id: ", 4) == 0) {
            if (mote_http_parse_event_id(strchr(line, ' ') + 1, &id) != 0)
                abort();
            continue;
        }
        if (strncmp(line, "data: ", 6) != 0)
            abort();
        json_t *j = json_loads(line + 6, 0, NULL);
        if (!json_is_object(j))
            abort();
        json_decref(j);
    }
}

/* Two chunks at most: both come without waiting (the greeting and what
 * the store already holds); a third could block. */
static void drain_stream(mote_http_resp_t *resp)
{
    static char buf[8192];
    for (int i = 0; i < 2; i++) {
        long n = resp->stream(resp->stream_ctx, buf, sizeof buf);
        if (n < 0 || (size_t)n > sizeof buf)
            abort();
        if (n == 0)
            break;
        check_sse(buf, (size_t)n);
    }
}

/* mote_http_parse_event_id agrees with a plain decimal reading. */
static void check_event_id(const char *s)
{
    uint64_t id = 0;
    int r = mote_http_parse_event_id(s, &id);
    const char *d = s + strspn(s, " ");
    size_t nd = strspn(d, "0123456789");
    int want = nd > 0 && nd <= 19 && d[nd] == '\0' && strtoull(d, NULL, 10) <= (uint64_t)INT64_MAX;
    if ((r == 0) != want || (want && id != strtoull(d, NULL, 10)))
        abort();
}

/* Next '\n'-terminated field of [*p, end) as a NUL-terminated copy. */
static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p += nl ? n + 1 : n;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    const uint8_t *p = data, *end = data + size;
    char *method = field(&p, end), *path = field(&p, end), *query = field(&p, end), *auth = field(&p, end);
    size_t blen = (size_t)(end - p);
    uint8_t *body = blen ? malloc(blen) : NULL; /* exact size: ASan sees any overread */
    if (blen)
        memcpy(body, p, blen);
    mote_http_req_t req = {method, path, query, "application/json", "", body, blen, NULL, NULL, "", "", "", ""};
    mote_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    if (path[0] == '/') /* the server only ever passes absolute paths */
        mote_http_dispatch(srv, &req, auth[0] ? auth : NULL, &resp);
    else
        mote_http_error(&resp, 400, "bad path");
    if (resp.status < 100 || resp.status > 599)
        abort();
    check_event_id(query);
    if (resp.stream) {
        if (resp.status != 200 || strcmp(resp.content_type, "text/event-stream") != 0)
            abort();
        drain_stream(&resp);
        mote_http_resp_free(&resp);
    }
    json_t *j = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    if (!j && strcmp(resp.content_type, "application/json") == 0)
        abort();
    if (resp.status >= 400 && !json_is_string(json_object_get(j, "error")))
        abort();
    json_decref(j);
    mote_http_resp_free(&resp);
    free(body);
    free(method);
    free(path);
    free(query);
    free(auth);
    return 0;
}
