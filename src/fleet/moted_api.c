/* moted's HTTP/JSON API (docs/moted.md): devices, twins, events, models,
 * campaigns, health. Reads need the viewer role, writes engineer. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "console.h"
#include "moted_int.h"

/* ---- helpers ---- */

/* Send `o` (reference stolen) as the JSON body. */
static void reply(mote_http_resp_t *resp, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        mote_http_error(resp, 500, "out of memory");
        return;
    }
    free(resp->body);
    resp->body = s;
    resp->body_len = strlen(s);
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
}

static int http_status(mote_status_t st)
{
    switch (st) {
    case MOTE_ERR_ARG:
    case MOTE_ERR_FORMAT:
    case MOTE_ERR_LIMIT:
    case MOTE_ERR_CORRUPT: return 400;
    case MOTE_ERR_NOT_FOUND: return 404;
    case MOTE_ERR_STATE: return 409;
    default: return 500;
    }
}

static void fail(mote_http_resp_t *resp, mote_status_t st, const char *err)
{
    mote_http_error(resp, http_status(st), err);
}

/* The request body as a JSON object, or NULL after answering 400. */
static json_t *body_object(const mote_http_req_t *req, mote_http_resp_t *resp)
{
    json_error_t je;
    json_t *o = req->body_len ? json_loadb((const char *)req->body, req->body_len, 0, &je) : NULL;
    if (!req->body_len) {
        mote_http_error(resp, 400, "request body: a JSON object is required");
        return NULL;
    }
    if (!o || !json_is_object(o)) {
        char msg[300];
        if (o)
            snprintf(msg, sizeof msg, "request body: a JSON object is required");
        else
            snprintf(msg, sizeof msg, "request body: line %d column %d: %s", je.line, je.column, je.text);
        json_decref(o);
        mote_http_error(resp, 400, msg);
        return NULL;
    }
    return o;
}

/* Integer query parameter in [lo, hi] (dflt when absent); -1 after a 400. */
static int64_t query_int(const mote_http_req_t *req, const char *key, int64_t dflt, int64_t lo, int64_t hi,
                         mote_http_resp_t *resp)
{
    char buf[32], *end = NULL;
    int r = mote_http_query_get(req->query, key, buf, sizeof buf);
    if (r == 0)
        return dflt;
    long long v = r > 0 ? strtoll(buf, &end, 10) : 0;
    if (r < 0 || end == buf || *end || v < lo || v > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "query parameter '%s' must be an integer in %" PRId64 "..%" PRId64, key, lo, hi);
        mote_http_error(resp, 400, msg);
        return -1;
    }
    return v;
}

/* Split "/api/things/ID/sub" after `prefix`: id and sub ("" when absent).
 * Returns 0 when the rest is malformed. */
static int split_path(const char *path, const char *prefix, char *id, size_t idcap, char *sub, size_t subcap)
{
    const char *p = path + strlen(prefix);
    id[0] = sub[0] = '\0';
    if (*p == '\0')
        return 1;
    if (*p++ != '/')
        return 0;
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= idcap)
        return 0;
    memcpy(id, p, n);
    id[n] = '\0';
    if (slash) {
        if (strlen(slash + 1) >= subcap || strchr(slash + 1, '/'))
            return 0;
        snprintf(sub, subcap, "%s", slash + 1);
    }
    return 1;
}

static json_t *rows(mote_moted_t *m, const char *sql, const char *const *p, int n, mote_http_resp_t *resp)
{
    json_t *a = NULL;
    char err[256];
    if (mote_store_query_json(m->store, sql, p, n, &a, err, sizeof err) != MOTE_OK) {
        mote_moted_log(m, "api: %s", err);
        mote_http_error(resp, 500, "store error");
    }
    return a;
}

/* ---- devices ---- */

/* One row per device with the console's derived columns: health (offline
 * when not heard from for MOTED_OFFLINE_MS, else the kind of its latest
 * event if anomaly or drift, else online) and its latest event (ev_*,
 * body). Parameters: offline cutoff, q (x4), group (x4). */
#define MOTED_OFFLINE_MS 300000
#define DEVICE_ROWS                                                                                              \
    "SELECT d.id, d.class, d.grp AS \"group\", d.ram, d.flash, d.runtime, d.first_seen, d.last_seen,"             \
    " t.model, t.version, t.slot_state, t.ota_status, t.desired_model, t.desired_version,"                       \
    " CASE WHEN d.last_seen < CAST(? AS BIGINT) THEN 'offline' WHEN le.kind = 'anomaly' THEN 'anomaly'"         \
    " WHEN le.kind = 'drift' THEN 'drift' ELSE 'online' END AS health_state,"                                    \
    " le.id AS ev_id, le.seq AS ev_seq, le.ts AS ev_ts, le.kind AS ev_kind, le.body AS body,"                    \
    " le.received AS ev_received FROM devices d LEFT JOIN twin t ON t.device = d.id"                            \
    " LEFT JOIN events le ON le.id = (SELECT MAX(e.id) FROM events e WHERE e.device = d.id)"                     \
    " WHERE (CAST(? AS TEXT) = '' OR d.id LIKE ? OR d.class LIKE ? OR d.grp LIKE ?)"                             \
    " AND (CAST(? AS TEXT) = '' OR d.grp = ? OR substr(d.grp, 1, length(CAST(? AS TEXT)) + 1) = CAST(? AS TEXT) || '/')"
#define HEALTH_WHERE " WHERE (CAST(? AS TEXT) = '' OR x.health_state = ?)"

typedef struct dev_filter {
    char q[128], like[140], group[128], health[16], cutoff[24];
} dev_filter_t;

/* q, group and health from the query; 0 after answering 400. */
static int dev_filter_parse(const mote_http_req_t *req, dev_filter_t *f, mote_http_resp_t *resp)
{
    memset(f, 0, sizeof *f);
    if (mote_http_query_get(req->query, "q", f->q, sizeof f->q) < 0) {
        mote_http_error(resp, 400, "query parameter 'q' is malformed or longer than 127 bytes");
        return 0;
    }
    if (mote_http_query_get(req->query, "group", f->group, sizeof f->group) < 0) {
        mote_http_error(resp, 400, "query parameter 'group' is malformed or longer than 127 bytes");
        return 0;
    }
    int r = mote_http_query_get(req->query, "health", f->health, sizeof f->health);
    if (r < 0 || (r > 0 && f->health[0] && strcmp(f->health, "anomaly") && strcmp(f->health, "drift") &&
                  strcmp(f->health, "offline") && strcmp(f->health, "online"))) {
        mote_http_error(resp, 400, "query parameter 'health' must be anomaly, drift, offline or online");
        return 0;
    }
    snprintf(f->like, sizeof f->like, "%%%s%%", f->q);
    snprintf(f->cutoff, sizeof f->cutoff, "%" PRId64, mote_store_now_ms() - MOTED_OFFLINE_MS);
    return 1;
}

/* A row of DEVICE_ROWS as the API shows it: "health" and "last_event"
 * (the row of GET /api/events, or null) instead of the ev_* columns. */
static void device_row_fix(json_t *row)
{
    json_object_set(row, "health", json_object_get(row, "health_state"));
    json_t *id = json_object_get(row, "ev_id");
    json_t *ev = json_is_integer(id) ? json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "id", id, "device",
                                                 json_object_get(row, "id"), "seq", json_object_get(row, "ev_seq"),
                                                 "ts", json_object_get(row, "ev_ts"), "kind",
                                                 json_object_get(row, "ev_kind"), "body", json_object_get(row, "body"),
                                                 "received", json_object_get(row, "ev_received"))
                                     : json_null();
    json_object_set_new(row, "last_event", ev ? ev : json_null());
    static const char *const drop[] = {"health_state", "ev_id", "ev_seq", "ev_ts", "ev_kind", "body", "ev_received"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        json_object_del(row, drop[i]);
}

static void devices_list(mote_moted_t *m, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    int64_t off = query_int(req, "offset", 0, 0, INT32_MAX, resp);
    int64_t lim = off < 0 ? -1 : query_int(req, "limit", 100, 1, 1000, resp);
    dev_filter_t f;
    if (lim < 0 || !dev_filter_parse(req, &f, resp))
        return;
    char offs[24], lims[24], total[24];
    snprintf(offs, sizeof offs, "%" PRId64, off);
    snprintf(lims, sizeof lims, "%" PRId64, lim);
    const char *p[] = {f.cutoff, f.q,     f.like,  f.like,   f.like, f.group, f.group,
                       f.group,  f.group, f.health, f.health, lims,  offs};
    char err[256];
    if (mote_store_query_text(m->store, "SELECT COUNT(*) FROM (" DEVICE_ROWS ") AS x" HEALTH_WHERE, p, 11, total,
                              sizeof total, err, sizeof err) < 0) {
        mote_moted_log(m, "api: %s", err);
        mote_http_error(resp, 500, "store error");
        return;
    }
    json_t *a = rows(m, "SELECT * FROM (" DEVICE_ROWS ") AS x" HEALTH_WHERE " ORDER BY x.id LIMIT ? OFFSET ?", p, 13,
                     resp);
    if (!a)
        return;
    size_t i;
    json_t *row;
    json_array_foreach(a, i, row) device_row_fix(row);
    reply(resp, 200,
          json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)strtoll(total, NULL, 10), "offset", (json_int_t)off,
                    "limit", (json_int_t)lim, "devices", a));
}

static json_t *twin_json(json_t *row)
{
    json_t *o = json_object();
    json_object_set(o, "device", json_object_get(row, "device"));
    json_object_set_new(o, "desired",
                        json_pack("{s:O,s:O,s:O}", "model", json_object_get(row, "desired_model"), "version",
                                  json_object_get(row, "desired_version"), "campaign",
                                  json_object_get(row, "campaign")));
    json_object_set_new(
        o, "reported",
        json_pack("{s:O,s:O,s:{s:O,s:O},s:O,s:O,s:O,s:O,s:O}", "model", json_object_get(row, "model"), "version",
                  json_object_get(row, "version"), "previous", "model", json_object_get(row, "prev_model"), "version",
                  json_object_get(row, "prev_version"), "slot", json_object_get(row, "slot"), "slot_state",
                  json_object_get(row, "slot_state"), "ota_status", json_object_get(row, "ota_status"), "ota_version",
                  json_object_get(row, "ota_version"), "cmd_seq", json_object_get(row, "cmd_seq")));
    json_t *d = json_object_get(o, "desired"), *r = json_object_get(o, "reported");
    int same = json_equal(json_object_get(d, "model"), json_object_get(r, "model")) &&
               json_equal(json_object_get(d, "version"), json_object_get(r, "version"));
    json_object_set_new(o, "in_sync", json_boolean(same || json_integer_value(json_object_get(d, "version")) == 0));
    json_object_set(o, "state", json_object_get(row, "state"));
    json_object_set(o, "health", json_object_get(row, "health"));
    json_object_set(o, "sent_seq", json_object_get(row, "sent_seq"));
    json_object_set(o, "updated", json_object_get(row, "updated"));
    return o;
}

static json_t *twin_of(mote_moted_t *m, const char *id, mote_http_resp_t *resp)
{
    const char *p[] = {id};
    json_t *a = rows(m, "SELECT * FROM twin WHERE device = ?", p, 1, resp);
    if (!a)
        return NULL;
    json_t *t = json_array_size(a) ? twin_json(json_array_get(a, 0)) : json_null();
    json_decref(a);
    return t;
}

static void device_get(mote_moted_t *m, const char *id, mote_http_resp_t *resp)
{
    const char *p[] = {id};
    json_t *a = rows(m,
                     "SELECT id, td, class, grp AS \"group\", ram, flash, runtime, first_seen, last_seen, cmd_seq"
                     " FROM devices WHERE id = ?",
                     p, 1, resp);
    if (!a)
        return;
    if (json_array_size(a) == 0) {
        json_decref(a);
        {
            mote_http_error(resp, 404, "no such device");
            return;
        }
    }
    json_t *d = json_incref(json_array_get(a, 0));
    json_decref(a);
    json_t *t = twin_of(m, id, resp);
    if (!t) {
        json_decref(d);
        return;
    }
    json_object_set_new(d, "twin", t);
    reply(resp, 200, d);
}

static void device_twin(mote_moted_t *m, const char *id, mote_http_resp_t *resp)
{
    json_t *t = twin_of(m, id, resp);
    if (t && json_is_null(t)) {
        json_decref(t);
        {
            mote_http_error(resp, 404, "no twin for this device");
            return;
        }
    }
    if (t)
        reply(resp, 200, t);
}

static void device_events(mote_moted_t *m, const char *id, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    int64_t lim = query_int(req, "limit", 100, 1, 1000, resp);
    int64_t before = lim < 0 ? -1 : query_int(req, "before", INT64_MAX, 1, INT64_MAX, resp);
    if (before < 0)
        return;
    char ls[24], bs[24];
    snprintf(ls, sizeof ls, "%" PRId64, lim);
    snprintf(bs, sizeof bs, "%" PRId64, before);
    const char *p[] = {id, bs, ls};
    json_t *a = rows(m,
                     "SELECT id, device, seq, ts, kind, body, received FROM events WHERE device = ? AND id < ?"
                     " ORDER BY id DESC LIMIT ?",
                     p, 3, resp);
    if (a)
        reply(resp, 200, json_pack("{s:s,s:o}", "device", id, "events", a));
}

#define HISTORY_MAX 200 /* entries answered, the latest */

typedef struct history_scan {
    const char *dev;
    json_t *out; /* array, oldest first */
} history_scan_t;

/* A deploy or rollback entry of the device, as the device page lists it. */
static int history_entry(const mote_ledger_entry_t *e, void *ctx)
{
    history_scan_t *h = ctx;
    if (strcmp(e->kind, "deploy") != 0 && strcmp(e->kind, "rollback") != 0)
        return 0;
    json_t *b = json_loadb(e->body, e->body_len, 0, NULL);
    const char *dev = json_string_value(json_object_get(b, "device"));
    if (dev && strcmp(dev, h->dev) == 0) {
        const char *model = json_string_value(json_object_get(b, "model"));
        char mv[96] = "", hex[2 * MOTE_LEDGER_HASH_LEN + 1];
        if (model)
            snprintf(mv, sizeof mv, "%s@%" JSON_INTEGER_FORMAT, model,
                     json_integer_value(json_object_get(b, "version")));
        sodium_bin2hex(hex, sizeof hex, e->hash, sizeof e->hash);
        json_t *o = json_pack("{s:I,s:s?,s:s,s:I,s:s,s:O?,s:O?}", "ts", (json_int_t)e->ts, "model", mv[0] ? mv : NULL,
                              "what", e->kind, "seq", (json_int_t)e->seq, "hash", hex, "campaign",
                              json_object_get(b, "campaign"), "reason", json_object_get(b, "reason"));
        if (o)
            json_array_append_new(h->out, o);
        if (json_array_size(h->out) > HISTORY_MAX)
            json_array_remove(h->out, 0);
    }
    json_decref(b);
    return 0;
}

/* The device's model changes from moted's ledger (deploy and rollback
 * entries), oldest first. Read on each request: a ledger holds thousands
 * of entries, not millions, and this page is opened by a person. */
static void device_history(mote_moted_t *m, const char *id, mote_http_resp_t *resp)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/ledger.jsonl", m->state_dir);
    history_scan_t h = {id, json_array()};
    mote_ledger_result_t res;
    mote_status_t st = mote_ledger_scan_file(path, NULL, NULL, history_entry, &h, &res, err, sizeof err);
    if (st != MOTE_OK && st != MOTE_ERR_NOT_FOUND && res.n == 0) {
        json_decref(h.out);
        mote_moted_log(m, "api: history: %s", err);
        mote_http_error(resp, 500, "ledger unreadable");
        return;
    }
    reply(resp, 200, json_pack("{s:s,s:o,s:b}", "device", id, "history", h.out, "ledger", m->ledger != NULL));
}

static void device_deploy(mote_moted_t *m, const char *id, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    json_t *b = body_object(req, resp);
    if (!b)
        return;
    const char *model = json_string_value(json_object_get(b, "model"));
    json_int_t v = json_integer_value(json_object_get(b, "version"));
    char err[256];
    if (!model || v <= 0) {
        json_decref(b);
        {
            mote_http_error(resp, 400, "body needs 'model' (string) and 'version' (integer >= 1)");
            return;
        }
    }
    mote_status_t st = mote_moted_deploy(m, id, model, (uint64_t)v, NULL, err, sizeof err);
    if (st == MOTE_OK)
        reply(resp, 202, json_pack("{s:s,s:{s:s,s:I}}", "device", id, "desired", "model", model, "version", v));
    else
        fail(resp, st, err);
    json_decref(b);
}

static void device_rollback(mote_moted_t *m, const char *id, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    json_t *b = req->body_len ? body_object(req, resp) : json_object();
    if (!b)
        return;
    const char *reason = json_string_value(json_object_get(b, "reason"));
    char why[160], err[256];
    snprintf(why, sizeof why, "%s (by %s)", reason ? reason : "operator request", req->user ? req->user : "?");
    mote_status_t st = mote_moted_rollback(m, id, why, err, sizeof err);
    if (st == MOTE_OK)
        reply(resp, 202, json_pack("{s:s,s:s}", "device", id, "rollback", why));
    else
        fail(resp, st, err);
    json_decref(b);
}

static void h_devices(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = user;
    char id[MOTE_PROTO_ID_LEN], sub[16];
    if (!split_path(req->path, "/api/devices", id, sizeof id, sub, sizeof sub) || (id[0] && !mote_proto_id_valid(id))) {
        mote_http_error(resp, 404, "no such device path (ids are 1..48 of [a-z0-9_-])");
        return;
    }
    int get = strcmp(req->method, "GET") == 0;
    if (!id[0] && get) {
        devices_list(m, req, resp);
        return;
    }
    if (id[0] && !sub[0] && get) {
        device_get(m, id, resp);
        return;
    }
    if (strcmp(sub, "twin") == 0 && get) {
        device_twin(m, id, resp);
        return;
    }
    if (strcmp(sub, "events") == 0 && get) {
        device_events(m, id, req, resp);
        return;
    }
    if (strcmp(sub, "history") == 0 && get) {
        device_history(m, id, resp);
        return;
    }
    mote_http_error(resp, 404, "no such device path");
}

static void h_devices_write(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = user;
    char id[MOTE_PROTO_ID_LEN], sub[16];
    if (!split_path(req->path, "/api/devices", id, sizeof id, sub, sizeof sub) || !mote_proto_id_valid(id)) {
        mote_http_error(resp, 404, "no such device path (ids are 1..48 of [a-z0-9_-])");
        return;
    }
    if (strcmp(sub, "twin") == 0) {
        device_deploy(m, id, req, resp);
        return;
    }
    if (strcmp(sub, "rollback") == 0) {
        device_rollback(m, id, req, resp);
        return;
    }
    mote_http_error(resp, 404, "POST to /api/devices/ID/twin or /api/devices/ID/rollback");
}

/* ---- events ---- */

#define EVENT_COLS "SELECT id, device, seq, ts, kind, body, received FROM events"

/* The latest `n` events in id order: a page starts its live feed here
 * instead of reading the whole history. */
static void events_tail(mote_moted_t *m, int64_t n, mote_http_resp_t *resp)
{
    char ns[24];
    snprintf(ns, sizeof ns, "%" PRId64, n);
    const char *p[] = {ns};
    json_t *a = rows(m, "SELECT * FROM (" EVENT_COLS " ORDER BY id DESC LIMIT ?) AS x ORDER BY x.id", p, 1, resp);
    if (!a)
        return;
    json_t *last = json_array_get(a, json_array_size(a) - 1);
    json_int_t next = last ? json_integer_value(json_object_get(last, "id")) : 0;
    reply(resp, 200, json_pack("{s:o,s:I,s:I}", "events", a, "tail", (json_int_t)n, "next", next));
}

static void h_events(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = user;
    if (strcmp(req->path, "/api/events") != 0) {
        mote_http_error(resp, 404, "no such path");
        return;
    }
    int64_t tail = query_int(req, "tail", 0, 0, 5000, resp);
    int64_t since = tail < 0 ? -1 : query_int(req, "since", 0, 0, INT64_MAX, resp);
    int64_t lim = since < 0 ? -1 : query_int(req, "limit", 500, 1, 5000, resp);
    if (lim < 0)
        return;
    if (tail > 0) {
        events_tail(m, tail, resp);
        return;
    }
    char ss[24], ls[24];
    snprintf(ss, sizeof ss, "%" PRId64, since);
    snprintf(ls, sizeof ls, "%" PRId64, lim);
    const char *p[] = {ss, ls};
    json_t *a = rows(m, "SELECT id, device, seq, ts, kind, body, received FROM events WHERE id > ? ORDER BY id LIMIT ?",
                     p, 2, resp);
    if (!a)
        return;
    json_t *last = json_array_get(a, json_array_size(a) - 1);
    json_int_t next = last ? json_integer_value(json_object_get(last, "id")) : since;
    reply(resp, 200, json_pack("{s:o,s:I}", "events", a, "next", next));
}

/* ---- models ---- */

static void models_post(mote_moted_t *m, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    json_t *b = body_object(req, resp);
    if (!b)
        return;
    const char *dir = json_string_value(json_object_get(b, "dir"));
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *target = json_string_value(json_object_get(b, "target"));
    json_t *vj = json_object_get(b, "version");
    json_int_t v = vj ? json_integer_value(vj) : 0;
    char err[300];
    if (!dir || !name || !target || (vj && v <= 0)) {
        json_decref(b);
        {
            mote_http_error(resp, 400,
                            "body needs 'dir', 'name', 'target' (strings) and optionally 'version'"
                            " (integer >= 1)");
            return;
        }
    }
    mote_store_model_t md;
    mote_status_t st = mote_moted_model_register(m, dir, name, (uint64_t)v, target, &md, err, sizeof err);
    json_decref(b);
    if (st != MOTE_OK) {
        fail(resp, st == MOTE_ERR_IO ? MOTE_ERR_ARG : st, err);
        return;
    }
    reply(resp, 201,
          json_pack("{s:s,s:I,s:s,s:s,s:I}", "name", md.name, "version", (json_int_t)md.version, "target", md.target,
                    "sha256", md.sha256, "size", (json_int_t)md.size));
}

static void h_models(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = user;
    char name[64], sub[8];
    if (!split_path(req->path, "/api/models", name, sizeof name, sub, sizeof sub) || sub[0]) {
        mote_http_error(resp, 404, "no such model path");
        return;
    }
    if (strcmp(req->method, "POST") == 0) {
        if (name[0]) {
            mote_http_error(resp, 405, "POST to /api/models");
            return;
        }
        {
            models_post(m, req, resp);
            return;
        }
    }
    const char *p[] = {name, name};
    json_t *a = rows(m,
                     "SELECT name, version, target, sha256, size, registered, card FROM models"
                     " WHERE (CAST(? AS TEXT) = '' OR name = ?) ORDER BY name, version",
                     p, 2, resp);
    if (!a)
        return;
    if (name[0] && json_array_size(a) == 0) {
        json_decref(a);
        {
            mote_http_error(resp, 404, "no such model");
            return;
        }
    }
    reply(resp, 200, json_pack("{s:o}", "models", a));
}

static void h_models_write(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    h_models(user, req, resp);
}

/* ---- campaigns ---- */

static void campaign_get(mote_moted_t *m, const char *id, mote_http_resp_t *resp)
{
    const char *p[] = {id};
    json_t *a = rows(m, "SELECT * FROM campaigns WHERE id = ?", p, 1, resp);
    if (!a)
        return;
    if (json_array_size(a) == 0) {
        json_decref(a);
        {
            mote_http_error(resp, 404, "no such campaign");
            return;
        }
    }
    json_t *c = json_incref(json_array_get(a, 0));
    json_decref(a);
    json_t *d = rows(m,
                     "SELECT device, stage, state, seq, sent_at, updated, reason FROM campaign_devices"
                     " WHERE campaign = ? ORDER BY stage, device",
                     p, 1, resp);
    if (!d) {
        json_decref(c);
        return;
    }
    json_t *counts = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(d, i, row)
    {
        const char *s = json_string_value(json_object_get(row, "state"));
        json_int_t n = json_integer_value(json_object_get(counts, s ? s : "?"));
        json_object_set_new(counts, s ? s : "?", json_integer(n + 1));
    }
    json_object_set_new(c, "counts", counts);
    json_object_set_new(c, "devices", d);
    reply(resp, 200, c);
}

static void h_campaigns(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = user;
    char id[64], sub[8];
    if (!split_path(req->path, "/api/campaigns", id, sizeof id, sub, sizeof sub) || sub[0]) {
        mote_http_error(resp, 404, "no such campaign path");
        return;
    }
    if (id[0]) {
        campaign_get(m, id, resp);
        return;
    }
    json_t *a = rows(m,
                     "SELECT id, model, version, state, stage, stages, max_fail_pct, stage_timeout_s, reason,"
                     " created, updated FROM campaigns ORDER BY created DESC",
                     NULL, 0, resp);
    if (a)
        reply(resp, 200, json_pack("{s:o}", "campaigns", a));
}

static void h_campaigns_write(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_moted_t *m = user;
    char id[64], sub[8], err[300];
    if (!split_path(req->path, "/api/campaigns", id, sizeof id, sub, sizeof sub)) {
        mote_http_error(resp, 404, "no such campaign path");
        return;
    }
    if (id[0] && strcmp(sub, "stop") == 0) {
        mote_status_t st = mote_campaign_stop(m, id, req->user, err, sizeof err);
        if (st != MOTE_OK) {
            fail(resp, st, err);
            return;
        }
        {
            campaign_get(m, id, resp);
            return;
        }
    }
    if (id[0]) {
        mote_http_error(resp, 404, "POST to /api/campaigns or /api/campaigns/ID/stop");
        return;
    }
    json_t *b = body_object(req, resp);
    if (!b)
        return;
    char cid[64];
    mote_status_t st = mote_campaign_create(m, b, req->user, cid, err, sizeof err);
    json_decref(b);
    if (st != MOTE_OK) {
        fail(resp, st, err);
        return;
    }
    campaign_get(m, cid, resp);
    if (resp->status == 200)
        resp->status = 201;
}

/* ---- health ---- */

static void h_health(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    (void)req;
    mote_moted_t *m = user;
    mote_moted_stats_t s;
    mote_moted_stats(m, &s);
    char n[24], err[128];
    int ok = mote_store_query_text(m->store, "SELECT COUNT(*) FROM devices", NULL, 0, n, sizeof n, err, sizeof err) > 0;
    reply(resp, ok ? 200 : 503,
          json_pack("{s:s,s:s,s:b,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "status", ok ? "ok" : "store unavailable", "store",
                    mote_store_kind(m->store), "mqtt", s.connected, "devices", (json_int_t)strtoll(n, NULL, 10),
                    "stats", "messages", (json_int_t)s.messages, "bad", (json_int_t)s.bad, "events",
                    (json_int_t)s.events, "duplicates", (json_int_t)s.duplicates, "chunks", (json_int_t)s.chunks,
                    "commands", (json_int_t)s.commands));
}

mote_status_t mote_moted_routes(mote_moted_t *m, mote_http_t *srv)
{
    mote_status_t st = MOTE_OK;
    struct {
        const char *method, *prefix, *role;
        mote_http_handler_fn fn;
    } r[] = {
        {"GET", "/api/health", NULL, h_health},
        {"GET", "/api/devices", "viewer", h_devices},
        {"POST", "/api/devices", "engineer", h_devices_write},
        {"GET", "/api/events", "viewer", h_events},
        {"GET", "/api/stream", "viewer", mote_console_events_stream},
        {"GET", "/api/models", "viewer", h_models},
        {"POST", "/api/models", "engineer", h_models_write},
        {"GET", "/api/campaigns", "viewer", h_campaigns},
        {"POST", "/api/campaigns", "engineer", h_campaigns_write},
    };
    for (size_t i = 0; st == MOTE_OK && i < sizeof r / sizeof r[0]; i++)
        st = mote_http_route(srv, r[i].method, r[i].prefix, r[i].role, r[i].fn, m);
    return st;
}
