/* GET /api/stream: moted's stored events as Server-Sent Events
 * (docs/console.md). Runs on the connection's own thread (http.c).
 *
 * The stream does not hook into the event writer: it reads the store
 * when moted's count of inserted events moves (an atomic load, no lock),
 * and every few seconds regardless, so events written by another moted
 * sharing a PostgreSQL database still arrive, a little later. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "console.h"
#include "moted_int.h"

#define STREAM_BATCH 200           /* events per store read */
#define STREAM_REREAD_MS 3000      /* store read without a count change (other writers) */
#define STREAM_KEEPALIVE_MS 15000  /* comment line on an idle stream */
#define STREAM_MAX_TAIL 1000       /* ?tail= bound */
#define STREAM_RETRY_MS 2000       /* the client's reconnect delay */

typedef struct ev_stream {
    mote_moted_t *m;
    uint64_t last;       /* id of the last event queued */
    uint64_t seen_evt;   /* m->n_evt at the last store read */
    int more;            /* the last read was a full batch: read again at once */
    int64_t read_ms;     /* monotonic ms of the last store read */
    int64_t send_ms;     /* monotonic ms of the last bytes handed out */
    char *buf;           /* formatted messages not yet handed out */
    size_t len, off, cap;
} ev_stream_t;

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int buf_put(ev_stream_t *s, const char *text, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return -1;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

/* One SSE message per row; compact JSON has no raw newline, so the row
 * fits one data line. */
static int put_rows(ev_stream_t *s, json_t *a)
{
    size_t i;
    json_t *row;
    json_array_foreach(a, i, row)
    {
        json_int_t id = json_integer_value(json_object_get(row, "id"));
        char *data = json_dumps(row, JSON_COMPACT);
        char head[64];
        int hn = snprintf(head, sizeof head, "id: %" JSON_INTEGER_FORMAT "\nevent: event\ndata: ", id);
        int bad = !data || buf_put(s, head, (size_t)hn) || buf_put(s, data, strlen(data)) || buf_put(s, "\n\n", 2);
        free(data);
        if (bad)
            return -1;
        if (id > 0 && (uint64_t)id > s->last)
            s->last = (uint64_t)id;
    }
    return 0;
}

/* Queue the events after s->last (one batch). 0, or -1 on a store error. */
static int read_more(ev_stream_t *s)
{
    char since[24], lim[24], err[256];
    snprintf(since, sizeof since, "%" PRIu64, s->last);
    snprintf(lim, sizeof lim, "%d", STREAM_BATCH);
    const char *p[] = {since, lim};
    s->seen_evt = atomic_load(&s->m->n_evt); /* before the read: a later commit triggers the next one */
    s->read_ms = mono_ms();
    json_t *a = NULL;
    if (mote_store_query_json(s->m->store,
                              "SELECT id, device, seq, ts, kind, body, received FROM events WHERE id > ?"
                              " ORDER BY id LIMIT ?",
                              p, 2, &a, err, sizeof err) != MOTE_OK) {
        mote_moted_log(s->m, "stream: %s", err);
        return -1;
    }
    s->more = json_array_size(a) == STREAM_BATCH;
    int r = put_rows(s, a);
    json_decref(a);
    return r;
}

static long hand_out(ev_stream_t *s, char *out, size_t cap)
{
    size_t n = s->len - s->off < cap ? s->len - s->off : cap;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    if (s->off == s->len)
        s->off = s->len = 0;
    s->send_ms = mono_ms();
    return (long)n;
}

static long stream_next(void *ctx, char *out, size_t cap)
{
    ev_stream_t *s = ctx;
    if (s->off < s->len)
        return hand_out(s, out, cap);
    int64_t now = mono_ms();
    if (s->more || atomic_load(&s->m->n_evt) != s->seen_evt || now - s->read_ms >= STREAM_REREAD_MS) {
        if (read_more(s) != 0)
            return -1; /* the client reconnects with Last-Event-ID */
        if (s->len)
            return hand_out(s, out, cap);
    }
    if (now - s->send_ms >= STREAM_KEEPALIVE_MS) {
        if (buf_put(s, ": keepalive\n\n", 13) != 0)
            return -1;
        return hand_out(s, out, cap);
    }
    struct timespec d = {0, MOTE_HTTP_STREAM_WAIT_MS * 1000000L};
    nanosleep(&d, NULL);
    return 0;
}

static void stream_done(void *ctx)
{
    ev_stream_t *s = ctx;
    if (s) {
        free(s->buf);
        free(s);
    }
}

/* Where the stream starts: Last-Event-ID (a reconnect) wins over ?since=;
 * with neither, after the newest event, preceded by the latest ?tail=N.
 * Sets *tail to the number of events to send first. 0, or an HTTP status
 * after answering. */
static int stream_start(mote_moted_t *m, const mote_http_req_t *req, uint64_t *start, int *tail,
                        mote_http_resp_t *resp)
{
    char v[32];
    *tail = 0;
    if (req->last_event_id && req->last_event_id[0]) {
        if (mote_http_parse_event_id(req->last_event_id, start) != 0) {
            mote_http_error(resp, 400, "header 'Last-Event-ID' must be a decimal event id");
            return 400;
        }
        return 0;
    }
    int r = mote_http_query_get(req->query, "since", v, sizeof v);
    if (r != 0) {
        if (r < 0 || mote_http_parse_event_id(v, start) != 0) {
            mote_http_error(resp, 400, "query parameter 'since' must be a decimal event id");
            return 400;
        }
        return 0;
    }
    r = mote_http_query_get(req->query, "tail", v, sizeof v);
    uint64_t t = 0;
    if (r != 0 && (r < 0 || mote_http_parse_event_id(v, &t) != 0 || t > STREAM_MAX_TAIL)) {
        mote_http_error(resp, 400, "query parameter 'tail' must be an integer in 0..1000");
        return 400;
    }
    *tail = (int)t;
    char max[24], err[256];
    if (mote_store_query_text(m->store, "SELECT COALESCE(MAX(id), 0) FROM events", NULL, 0, max, sizeof max, err,
                              sizeof err) < 0) {
        mote_moted_log(m, "stream: %s", err);
        mote_http_error(resp, 500, "store error");
        return 500;
    }
    *start = strtoull(max, NULL, 10);
    return 0;
}

/* The latest `n` events up to and including id `upto`, queued in order. */
static int queue_tail(ev_stream_t *s, int n, uint64_t upto)
{
    char ns[24], us[24], err[256];
    snprintf(ns, sizeof ns, "%d", n);
    snprintf(us, sizeof us, "%" PRIu64, upto);
    const char *p[] = {us, ns};
    json_t *a = NULL;
    if (mote_store_query_json(s->m->store,
                              "SELECT * FROM (SELECT id, device, seq, ts, kind, body, received FROM events"
                              " WHERE id <= ? ORDER BY id DESC LIMIT ?) AS x ORDER BY x.id",
                              p, 2, &a, err, sizeof err) != MOTE_OK) {
        mote_moted_log(s->m, "stream: %s", err);
        return -1;
    }
    int r = put_rows(s, a);
    json_decref(a);
    s->last = upto;
    return r;
}

void mote_console_events_stream(void *moted, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = moted;
    if (strcmp(req->path, "/api/stream") != 0) {
        mote_http_error(resp, 404, "no such path");
        return;
    }
    uint64_t start = 0;
    int tail = 0;
    if (stream_start(m, req, &start, &tail, resp) != 0)
        return;
    ev_stream_t *s = calloc(1, sizeof *s);
    char hello[64];
    int hn = snprintf(hello, sizeof hello, ": mote events\nretry: %d\n\n", STREAM_RETRY_MS);
    int ok = s && buf_put(s, hello, (size_t)hn) == 0;
    if (ok) {
        s->m = m;
        s->last = start;
        s->more = 1; /* read what follows `start` on the first call */
        s->send_ms = mono_ms();
        ok = tail == 0 || queue_tail(s, tail, start) == 0;
    }
    if (!ok) {
        mote_http_error(resp, 500, s ? "store error" : "out of memory");
        stream_done(s);
        return;
    }
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "text/event-stream");
    snprintf(resp->headers, sizeof resp->headers, "X-Accel-Buffering: no\r\n");
    resp->stream = stream_next;
    resp->stream_done = stream_done;
    resp->stream_ctx = s;
}
