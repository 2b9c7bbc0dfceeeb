/* mote fleet: MQTT topics and message codecs (docs/fleet-protocol.md).
 *
 * JSON goes through jansson. Decoders reject rather than guess: a missing
 * required field, a wrong type, a negative count, a non-finite number or a
 * string longer than its fixed field is an error naming the message and the
 * field. Optional fields keep their zero value. */
#include "proto.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "mote/v1/d/"

static const char *const topic_suffix[MOTE_TOPIC_COUNT] = {
    [MOTE_TOPIC_TD] = "td",           [MOTE_TOPIC_EVT] = "evt",
    [MOTE_TOPIC_HB] = "hb",           [MOTE_TOPIC_STATE] = "state",
    [MOTE_TOPIC_OTA_REQ] = "ota/req", [MOTE_TOPIC_FL_UP] = "fl/up",
    [MOTE_TOPIC_CMD] = "cmd",         [MOTE_TOPIC_OTA_DATA] = "ota/data",
};

static const char *const evt_kind_name[] = {
    [MOTE_EVT_ANOMALY] = "anomaly", [MOTE_EVT_CLASS] = "class",
    [MOTE_EVT_DRIFT] = "drift",     [MOTE_EVT_OTA] = "ota",
};

static const char *const op_name[] = {
    [MOTE_OP_DEPLOY] = "deploy", [MOTE_OP_ROLLBACK] = "rollback",
    [MOTE_OP_CONFIG] = "config", [MOTE_OP_FL_ROUND] = "fl_round",
};

static const uint8_t chunk_magic[8] = {'M', 'O', 'T', 'E', 'C', 'H', 'K', '1'};
static const char cmd_domain[] = "mote-cmd-v1";

/* ---- small helpers ------------------------------------------------------ */

static mote_status_t fail(char *err, size_t errsz, mote_status_t st, const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return st;
}

int mote_proto_id_valid(const char *id)
{
    if (!id)
        return 0;
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok || n >= MOTE_PROTO_ID_LEN - 1)
            return 0;
    }
    return n > 0;
}

mote_status_t mote_proto_topic(char *buf, size_t cap, const char *dev_id, mote_proto_topic_t t)
{
    if (!buf || (unsigned)t >= MOTE_TOPIC_COUNT || !mote_proto_id_valid(dev_id))
        return MOTE_ERR_ARG;
    int n = snprintf(buf, cap, PREFIX "%s/%s", dev_id, topic_suffix[t]);
    return (n < 0 || (size_t)n >= cap) ? MOTE_ERR_LIMIT : MOTE_OK;
}

mote_status_t mote_proto_topic_parse(const char *topic, char dev_id[MOTE_PROTO_ID_LEN], mote_proto_topic_t *t)
{
    if (!topic || !dev_id || !t)
        return MOTE_ERR_ARG;
    size_t plen = strlen(PREFIX);
    if (strncmp(topic, PREFIX, plen) != 0)
        return MOTE_ERR_CORRUPT;
    const char *id = topic + plen, *slash = strchr(id, '/');
    if (!slash || slash == id || (size_t)(slash - id) >= MOTE_PROTO_ID_LEN)
        return MOTE_ERR_CORRUPT;
    char tmp[MOTE_PROTO_ID_LEN];
    memcpy(tmp, id, (size_t)(slash - id));
    tmp[slash - id] = '\0';
    if (!mote_proto_id_valid(tmp))
        return MOTE_ERR_CORRUPT;
    for (int k = 0; k < MOTE_TOPIC_COUNT; k++) {
        if (strcmp(slash + 1, topic_suffix[k]) == 0) {
            memcpy(dev_id, tmp, sizeof tmp);
            *t = (mote_proto_topic_t)k;
            return MOTE_OK;
        }
    }
    return MOTE_ERR_CORRUPT;
}

const char *mote_proto_evt_kind_str(mote_proto_evt_kind_t k)
{
    return (unsigned)k < sizeof evt_kind_name / sizeof *evt_kind_name ? evt_kind_name[k] : "?";
}

const char *mote_proto_op_str(mote_proto_op_t op)
{
    return (unsigned)op < sizeof op_name / sizeof *op_name ? op_name[op] : "?";
}

static void hex_encode(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- JSON encoding ------------------------------------------------------ */

/* 1 when every real in `v` reads back exactly from 15 significant digits.
 * Agents round scores and shares to a few digits; printing those with 15
 * digits instead of jansson's 17 keeps "0.093" from becoming
 * "0.092999999999999999" and nearly halves an event on the wire. */
static int reals_fit_15(json_t *v)
{
    if (json_is_real(v)) {
        char t[40];
        snprintf(t, sizeof t, "%.15g", json_real_value(v));
        return strtod(t, NULL) == json_real_value(v);
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!reals_fit_15(json_array_get(v, i)))
                return 0;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *it;
        json_object_foreach(v, k, it) {
            if (!reals_fit_15(it))
                return 0;
        }
    }
    return 1;
}

/* Serialize and release `o`; MOTE_ERR_LIMIT when it does not fit. Numbers
 * always read back to the same double. */
static mote_status_t dump(json_t *o, char *buf, size_t cap, size_t *len)
{
    if (!o)
        return MOTE_ERR_NOMEM;
    size_t flags = JSON_COMPACT | (reals_fit_15(o) ? JSON_REAL_PRECISION(15) : 0);
    size_t n = json_dumpb(o, NULL, 0, flags);
    mote_status_t st = MOTE_OK;
    if (n == 0)
        st = MOTE_ERR_NOMEM;
    else if (!buf || n + 1 > cap)
        st = MOTE_ERR_LIMIT;
    else {
        json_dumpb(o, buf, n, flags);
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    json_decref(o);
    return st;
}

/* Bounded copy of a fixed char field (the field may lack a NUL). */
static json_t *jstr(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);
    size_t n = end ? (size_t)(end - s) : cap;
    return json_stringn(s, n);
}
#define JSTR(field) jstr((field), sizeof(field))

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *model_json(const mote_proto_model_t *m)
{
    if (m->name[0] == '\0' && m->version == 0)
        return json_null();
    return json_pack("{s:o,s:I}", "name", JSTR(m->name), "version", (json_int_t)m->version);
}

mote_status_t mote_proto_event_encode(const mote_proto_event_t *e, char *buf, size_t cap, size_t *len)
{
    if (!e || (unsigned)e->kind > MOTE_EVT_OTA || e->n_explain > MOTE_PROTO_MAX_EXPLAIN ||
        e->n_summary > MOTE_PROTO_MAX_SUMMARY)
        return MOTE_ERR_ARG;
    json_t *o = json_pack("{s:I,s:I,s:s,s:o}", "seq", (json_int_t)e->seq, "ts", (json_int_t)e->ts, "kind",
                          evt_kind_name[e->kind], "model", model_json(&e->model));
    if (!o)
        return MOTE_ERR_NOMEM;
    if (e->kind == MOTE_EVT_ANOMALY) {
        json_object_set_new(o, "score", jnum(e->score));
        json_object_set_new(o, "threshold", jnum(e->threshold));
    }
    if (e->cls[0])
        json_object_set_new(o, "class", JSTR(e->cls));
    if (e->prev_cls[0])
        json_object_set_new(o, "prev_class", JSTR(e->prev_cls));
    if (e->detector[0])
        json_object_set_new(o, "detector", JSTR(e->detector));
    json_t *ex = json_array(), *su = json_array();
    for (uint32_t i = 0; i < e->n_explain; i++)
        json_array_append_new(ex, json_pack("{s:o,s:o}", "feature", JSTR(e->explain[i].feature), "share",
                                            jnum(e->explain[i].share)));
    for (uint32_t i = 0; i < e->n_summary; i++)
        json_array_append_new(su, json_pack("{s:o,s:o}", "name", JSTR(e->summary[i].name), "value",
                                            jnum(e->summary[i].value)));
    json_object_set_new(o, "explain", ex);
    json_object_set_new(o, "summary", su);
    return dump(o, buf, cap, len);
}

static const char *slot_str(char slot)
{
    return slot == 'b' ? "b" : "a";
}

mote_status_t mote_proto_heartbeat_encode(const mote_proto_heartbeat_t *h, char *buf, size_t cap, size_t *len)
{
    if (!h)
        return MOTE_ERR_ARG;
    json_t *hist = json_array();
    for (int i = 0; i < MOTE_PROTO_HIST_BINS; i++)
        json_array_append_new(hist, json_integer(h->hist[i]));
    json_t *o = json_pack("{s:I,s:I,s:I,s:o,s:s,s:o,s:I,s:I,s:I,s:I,s:o,s:I}", "seq", (json_int_t)h->seq, "ts",
                          (json_int_t)h->ts, "uptime_s", (json_int_t)h->uptime_s, "model", model_json(&h->model),
                          "slot", slot_str(h->slot), "slot_state", JSTR(h->slot_state), "arena",
                          (json_int_t)h->arena, "windows", (json_int_t)h->windows, "events",
                          (json_int_t)h->events, "queue", (json_int_t)h->queue, "hist", hist, "period_s",
                          (json_int_t)h->period_s);
    return dump(o, buf, cap, len);
}

mote_status_t mote_proto_state_encode(const mote_proto_state_t *s, char *buf, size_t cap, size_t *len)
{
    if (!s)
        return MOTE_ERR_ARG;
    json_t *ota = json_pack("{s:o,s:I,s:I,s:I,s:o}", "status", JSTR(s->ota.status), "version",
                            (json_int_t)s->ota.version, "offset", (json_int_t)s->ota.offset, "total",
                            (json_int_t)s->ota.total, "reason", JSTR(s->ota.reason));
    json_t *cfg = json_pack("{s:I,s:o}", "heartbeat_s", (json_int_t)s->heartbeat_s, "event_threshold",
                            jnum(s->event_threshold));
    json_t *o = json_pack("{s:I,s:o,s:o,s:s,s:o,s:I,s:o,s:o,s:o,s:o}", "ts", (json_int_t)s->ts, "model",
                          model_json(&s->model), "previous", model_json(&s->previous), "slot", slot_str(s->slot),
                          "slot_state", JSTR(s->slot_state), "cmd_seq", (json_int_t)s->cmd_seq, "cmd_status",
                          JSTR(s->cmd_status), "reason", JSTR(s->reason), "ota", ota, "config", cfg);
    return dump(o, buf, cap, len);
}

mote_status_t mote_proto_ota_req_encode(const mote_proto_ota_req_t *r, char *buf, size_t cap, size_t *len)
{
    if (!r || r->len == 0 || r->len > MOTE_PROTO_MAX_CHUNK)
        return MOTE_ERR_ARG;
    char hex[65];
    hex_encode(r->bundle, 32, hex);
    json_t *o = json_pack("{s:s,s:I,s:I}", "bundle", hex, "offset", (json_int_t)r->offset, "len",
                          (json_int_t)r->len);
    return dump(o, buf, cap, len);
}

static json_t *td_form(const char *broker, const char *id, const char *suffix, const char *op)
{
    char href[256];
    snprintf(href, sizeof href, "mqtt://%s/" PREFIX "%s/%s", broker, id, suffix);
    return json_pack("[{s:s,s:s,s:s}]", "href", href, "op", op, "contentType", "application/json");
}

static json_t *td_affordance(const char *broker, const char *id, const char *suffix, const char *op,
                             const char *title)
{
    return json_pack("{s:s,s:o}", "title", title, "forms", td_form(broker, id, suffix, op));
}

static json_t *td_mote_terms(const mote_proto_td_t *td)
{
    json_t *ops = json_array(), *sensors = json_array();
    for (uint32_t i = 0; i < td->n_ops && i < MOTE_PROTO_MAX_OPS; i++)
        json_array_append_new(ops, JSTR(td->ops[i]));
    for (uint32_t i = 0; i < td->n_sensors && i < MOTE_PROTO_MAX_SENSORS; i++)
        json_array_append_new(sensors,
                              json_pack("{s:o,s:o,s:o,s:o}", "type", JSTR(td->sensors[i].type), "quantity",
                                        JSTR(td->sensors[i].quantity), "location", JSTR(td->sensors[i].location),
                                        "rateHz", jnum(td->sensors[i].rate_hz)));
    return json_pack("{s:o,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:b}", "mote:deviceClass", JSTR(td->device_class),
                     "mote:group", JSTR(td->group), "mote:ramBytes", (json_int_t)td->ram_bytes, "mote:flashBytes",
                     (json_int_t)td->flash_bytes, "mote:runtime", JSTR(td->runtime), "mote:ops", ops,
                     "mote:sensors", sensors, "mote:model", model_json(&td->model), "mote:trainableHead",
                     td->trainable_head ? 1 : 0);
}

mote_status_t mote_proto_td_encode(const mote_proto_td_t *td, const char *broker, char *buf, size_t cap,
                                   size_t *len)
{
    if (!td || !broker || !mote_proto_id_valid(td->id))
        return MOTE_ERR_ARG;
    char urn[80];
    snprintf(urn, sizeof urn, "urn:mote:dev:%s", td->id);
    const char *id = td->id;
    json_t *o = json_pack(
        "{s:[s,{s:s}],s:s,s:o,s:{s:{s:s}},s:s,s:{s:o,s:o},s:{s:o,s:o,s:o},s:{s:o,s:o}}", "@context",
        "https://www.w3.org/2022/wot/td/v1.1", "mote", "https://w3id.org/mote#", "id", urn, "title",
        JSTR(td->title), "securityDefinitions", "basic_sc", "scheme", "basic", "security", "basic_sc", "properties",
        "health", td_affordance(broker, id, "hb", "observeproperty", "Heartbeat and health"), "model",
        td_affordance(broker, id, "state", "observeproperty", "Reported state"), "events", "anomaly",
        td_affordance(broker, id, "evt", "subscribeevent", "Anomaly"), "classChange",
        td_affordance(broker, id, "evt", "subscribeevent", "Class change"), "drift",
        td_affordance(broker, id, "evt", "subscribeevent", "Drift"), "actions", "deploy",
        td_affordance(broker, id, "cmd", "invokeaction", "Deploy a model"), "rollback",
        td_affordance(broker, id, "cmd", "invokeaction", "Roll back the model"));
    if (!o)
        return MOTE_ERR_NOMEM;
    json_t *terms = td_mote_terms(td);
    if (!terms) {
        json_decref(o);
        return MOTE_ERR_NOMEM;
    }
    json_object_update(o, terms);
    json_decref(terms);
    return dump(o, buf, cap, len);
}

/* ---- JSON decoding ------------------------------------------------------ */

typedef struct dec {
    const char *msg;   /* message name for errors */
    char *err;
    size_t errsz;
    mote_status_t st;  /* first error */
} dec_t;

static int derr(dec_t *d, const char *field, const char *what)
{
    if (d->st == MOTE_OK)
        d->st = fail(d->err, d->errsz, MOTE_ERR_FORMAT, "%s: field '%s' %s", d->msg, field, what);
    return -1;
}

static json_t *parse(dec_t *d, const void *buf, size_t len)
{
    if (!buf && len) {
        d->st = fail(d->err, d->errsz, MOTE_ERR_ARG, "%s: no buffer", d->msg);
        return NULL;
    }
    json_error_t je;
    json_t *o = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        d->st = fail(d->err, d->errsz, MOTE_ERR_FORMAT, "%s: invalid JSON at byte %d: %s", d->msg, je.position,
                     je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        d->st = fail(d->err, d->errsz, MOTE_ERR_FORMAT, "%s: not a JSON object", d->msg);
        return NULL;
    }
    return o;
}

static json_t *field(dec_t *d, json_t *o, const char *key, int required)
{
    json_t *v = json_object_get(o, key);
    if (v && json_is_null(v))
        v = NULL;
    if (!v && required)
        derr(d, key, "missing");
    return v;
}

static int get_u64f(dec_t *d, json_t *o, const char *key, int required, uint64_t *out)
{
    json_t *v = field(d, o, key, required);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return derr(d, key, "is not a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_u32f(dec_t *d, json_t *o, const char *key, int required, uint32_t *out)
{
    uint64_t v = 0;
    if (get_u64f(d, o, key, required, &v))
        return -1;
    if (v > UINT32_MAX)
        return derr(d, key, "is out of range");
    if (json_object_get(o, key))
        *out = (uint32_t)v;
    return 0;
}

static int get_i64f(dec_t *d, json_t *o, const char *key, int required, int64_t *out)
{
    json_t *v = field(d, o, key, required);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_integer(v))
        return derr(d, key, "is not an integer");
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_num(dec_t *d, json_t *o, const char *key, int required, double *out)
{
    json_t *v = field(d, o, key, required);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return derr(d, key, "is not a finite number");
    *out = json_number_value(v);
    return 0;
}

static int get_str(dec_t *d, json_t *o, const char *key, int required, char *out, size_t cap)
{
    json_t *v = field(d, o, key, required);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_string(v))
        return derr(d, key, "is not a string");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap)
        return derr(d, key, "is too long");
    if (memchr(s, '\0', n))
        return derr(d, key, "contains a NUL byte");
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int get_model(dec_t *d, json_t *o, const char *key, int required, mote_proto_model_t *m)
{
    json_t *v = field(d, o, key, required);
    memset(m, 0, sizeof *m);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_object(v))
        return derr(d, key, "is not an object");
    dec_t sub = *d;
    sub.msg = key;
    sub.st = MOTE_OK;
    if (get_str(&sub, v, "name", 1, m->name, sizeof m->name) || get_u64f(&sub, v, "version", 1, &m->version)) {
        if (d->st == MOTE_OK) {
            char inner[MOTE_PROTO_REASON_LEN];
            snprintf(inner, sizeof inner, "%s", d->err ? d->err : "");
            d->st = fail(d->err, d->errsz, MOTE_ERR_FORMAT, "%s: %s", d->msg, inner);
        }
        return -1;
    }
    return 0;
}

static int get_enum(dec_t *d, json_t *o, const char *key, const char *const *names, int n, int *out)
{
    char s[32];
    if (get_str(d, o, key, 1, s, sizeof s))
        return -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return derr(d, key, "has an unknown value");
}

static int get_slot(dec_t *d, json_t *o, char *slot)
{
    char s[4] = "";
    if (get_str(d, o, "slot", 0, s, sizeof s))
        return -1;
    if (s[0] && strcmp(s, "a") != 0 && strcmp(s, "b") != 0)
        return derr(d, "slot", "is not 'a' or 'b'");
    *slot = s[0] ? s[0] : 'a';
    return 0;
}

static mote_status_t finish(dec_t *d, json_t *o)
{
    json_decref(o);
    if (d->st == MOTE_OK && d->err && d->errsz)
        d->err[0] = '\0';
    return d->st;
}

static int event_lists(dec_t *d, json_t *o, mote_proto_event_t *e)
{
    json_t *ex = field(d, o, "explain", 0), *su = field(d, o, "summary", 0);
    if (ex && (!json_is_array(ex) || json_array_size(ex) > MOTE_PROTO_MAX_EXPLAIN))
        return derr(d, "explain", "is not an array of at most 4 items");
    if (su && (!json_is_array(su) || json_array_size(su) > MOTE_PROTO_MAX_SUMMARY))
        return derr(d, "summary", "is not an array of at most 8 items");
    for (size_t i = 0; ex && i < json_array_size(ex); i++) {
        json_t *it = json_array_get(ex, i);
        if (!json_is_object(it))
            return derr(d, "explain", "item is not an object");
        if (get_str(d, it, "feature", 1, e->explain[i].feature, sizeof e->explain[i].feature) ||
            get_num(d, it, "share", 1, &e->explain[i].share))
            return -1;
        e->n_explain++;
    }
    for (size_t i = 0; su && i < json_array_size(su); i++) {
        json_t *it = json_array_get(su, i);
        if (!json_is_object(it))
            return derr(d, "summary", "item is not an object");
        if (get_str(d, it, "name", 1, e->summary[i].name, sizeof e->summary[i].name) ||
            get_num(d, it, "value", 1, &e->summary[i].value))
            return -1;
        e->n_summary++;
    }
    return 0;
}

mote_status_t mote_proto_event_decode(const void *buf, size_t len, mote_proto_event_t *e, char *err, size_t errsz)
{
    dec_t d = {"evt", err, errsz, MOTE_OK};
    if (!e)
        return fail(err, errsz, MOTE_ERR_ARG, "evt: no output");
    memset(e, 0, sizeof *e);
    json_t *o = parse(&d, buf, len);
    if (!o)
        return d.st;
    int kind = 0;
    if (get_u64f(&d, o, "seq", 1, &e->seq) || get_i64f(&d, o, "ts", 1, &e->ts) ||
        get_enum(&d, o, "kind", evt_kind_name, 4, &kind) || get_model(&d, o, "model", 0, &e->model))
        return finish(&d, o);
    e->kind = (mote_proto_evt_kind_t)kind;
    int need_score = e->kind == MOTE_EVT_ANOMALY;
    if (get_num(&d, o, "score", need_score, &e->score) || get_num(&d, o, "threshold", 0, &e->threshold) ||
        get_str(&d, o, "class", e->kind == MOTE_EVT_CLASS, e->cls, sizeof e->cls) ||
        get_str(&d, o, "prev_class", 0, e->prev_cls, sizeof e->prev_cls) ||
        get_str(&d, o, "detector", e->kind == MOTE_EVT_DRIFT, e->detector, sizeof e->detector))
        return finish(&d, o);
    event_lists(&d, o, e);
    return finish(&d, o);
}

static int get_hist(dec_t *d, json_t *o, uint32_t hist[MOTE_PROTO_HIST_BINS])
{
    json_t *v = field(d, o, "hist", 0);
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) != MOTE_PROTO_HIST_BINS)
        return derr(d, "hist", "is not an array of 16 counts");
    for (size_t i = 0; i < MOTE_PROTO_HIST_BINS; i++) {
        json_t *c = json_array_get(v, i);
        if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) > UINT32_MAX)
            return derr(d, "hist", "holds a count that is not a non-negative 32-bit integer");
        hist[i] = (uint32_t)json_integer_value(c);
    }
    return 0;
}

mote_status_t mote_proto_heartbeat_decode(const void *buf, size_t len, mote_proto_heartbeat_t *h, char *err,
                                          size_t errsz)
{
    dec_t d = {"hb", err, errsz, MOTE_OK};
    if (!h)
        return fail(err, errsz, MOTE_ERR_ARG, "hb: no output");
    memset(h, 0, sizeof *h);
    json_t *o = parse(&d, buf, len);
    if (!o)
        return d.st;
    if (get_u64f(&d, o, "seq", 1, &h->seq) || get_i64f(&d, o, "ts", 1, &h->ts) ||
        get_u64f(&d, o, "uptime_s", 1, &h->uptime_s) || get_model(&d, o, "model", 0, &h->model) ||
        get_slot(&d, o, &h->slot) || get_str(&d, o, "slot_state", 0, h->slot_state, sizeof h->slot_state) ||
        get_u32f(&d, o, "arena", 0, &h->arena) || get_u64f(&d, o, "windows", 0, &h->windows) ||
        get_u64f(&d, o, "events", 0, &h->events) || get_u64f(&d, o, "queue", 0, &h->queue) ||
        get_hist(&d, o, h->hist) || get_u32f(&d, o, "period_s", 0, &h->period_s))
        return finish(&d, o);
    return finish(&d, o);
}

static int state_ota(dec_t *d, json_t *o, mote_proto_state_t *s)
{
    json_t *v = field(d, o, "ota", 0);
    if (!v)
        return 0;
    if (!json_is_object(v))
        return derr(d, "ota", "is not an object");
    return get_str(d, v, "status", 1, s->ota.status, sizeof s->ota.status) ||
                   get_u64f(d, v, "version", 0, &s->ota.version) || get_u64f(d, v, "offset", 0, &s->ota.offset) ||
                   get_u64f(d, v, "total", 0, &s->ota.total) ||
                   get_str(d, v, "reason", 0, s->ota.reason, sizeof s->ota.reason)
               ? -1
               : 0;
}

static int state_config(dec_t *d, json_t *o, mote_proto_state_t *s)
{
    json_t *v = field(d, o, "config", 0);
    if (!v)
        return 0;
    if (!json_is_object(v))
        return derr(d, "config", "is not an object");
    return get_u32f(d, v, "heartbeat_s", 0, &s->heartbeat_s) ||
                   get_num(d, v, "event_threshold", 0, &s->event_threshold)
               ? -1
               : 0;
}

mote_status_t mote_proto_state_decode(const void *buf, size_t len, mote_proto_state_t *s, char *err, size_t errsz)
{
    dec_t d = {"state", err, errsz, MOTE_OK};
    if (!s)
        return fail(err, errsz, MOTE_ERR_ARG, "state: no output");
    memset(s, 0, sizeof *s);
    json_t *o = parse(&d, buf, len);
    if (!o)
        return d.st;
    if (get_i64f(&d, o, "ts", 1, &s->ts) || get_model(&d, o, "model", 0, &s->model) ||
        get_model(&d, o, "previous", 0, &s->previous) || get_slot(&d, o, &s->slot) ||
        get_str(&d, o, "slot_state", 0, s->slot_state, sizeof s->slot_state) ||
        get_u64f(&d, o, "cmd_seq", 0, &s->cmd_seq) ||
        get_str(&d, o, "cmd_status", 0, s->cmd_status, sizeof s->cmd_status) ||
        get_str(&d, o, "reason", 0, s->reason, sizeof s->reason) || state_ota(&d, o, s) || state_config(&d, o, s))
        return finish(&d, o);
    return finish(&d, o);
}

static int get_hash(dec_t *d, json_t *o, const char *key, uint8_t out[32])
{
    char hex[65];
    if (get_str(d, o, key, 1, hex, sizeof hex))
        return -1;
    if (hex_decode(hex, out, 32))
        return derr(d, key, "is not 64 hex digits");
    return 0;
}

mote_status_t mote_proto_ota_req_decode(const void *buf, size_t len, mote_proto_ota_req_t *r, char *err,
                                        size_t errsz)
{
    dec_t d = {"ota/req", err, errsz, MOTE_OK};
    if (!r)
        return fail(err, errsz, MOTE_ERR_ARG, "ota/req: no output");
    memset(r, 0, sizeof *r);
    json_t *o = parse(&d, buf, len);
    if (!o)
        return d.st;
    if (get_hash(&d, o, "bundle", r->bundle) || get_u64f(&d, o, "offset", 1, &r->offset) ||
        get_u32f(&d, o, "len", 1, &r->len))
        return finish(&d, o);
    if (r->len == 0 || r->len > MOTE_PROTO_MAX_CHUNK)
        derr(&d, "len", "is not in 1..65536");
    return finish(&d, o);
}

/* ---- Thing Description -------------------------------------------------- */

static int td_context(dec_t *d, json_t *o)
{
    static const char td11[] = "https://www.w3.org/2022/wot/td/v1.1";
    json_t *c = field(d, o, "@context", 1);
    if (!c)
        return -1;
    if (json_is_string(c))
        return strcmp(json_string_value(c), td11) == 0 ? 0 : derr(d, "@context", "is not the TD 1.1 context");
    if (!json_is_array(c))
        return derr(d, "@context", "is not a string or an array");
    for (size_t i = 0; i < json_array_size(c); i++) {
        json_t *it = json_array_get(c, i);
        if (json_is_string(it) && strcmp(json_string_value(it), td11) == 0)
            return 0;
    }
    return derr(d, "@context", "does not contain the TD 1.1 context");
}

static int td_id(dec_t *d, json_t *o, mote_proto_td_t *td)
{
    char urn[80];
    static const char pre[] = "urn:mote:dev:";
    if (get_str(d, o, "id", 1, urn, sizeof urn))
        return -1;
    if (strncmp(urn, pre, sizeof pre - 1) != 0 || !mote_proto_id_valid(urn + sizeof pre - 1))
        return derr(d, "id", "is not urn:mote:dev:<id> with an id of 1-48 [a-z0-9_-]");
    /* mote_proto_id_valid bounds the length below sizeof td->id */
    memcpy(td->id, urn + sizeof pre - 1, strlen(urn + sizeof pre - 1) + 1);
    return 0;
}

static int td_ops(dec_t *d, json_t *o, mote_proto_td_t *td)
{
    json_t *v = field(d, o, "mote:ops", 1);
    if (!v)
        return -1;
    if (!json_is_array(v) || json_array_size(v) > MOTE_PROTO_MAX_OPS)
        return derr(d, "mote:ops", "is not an array of at most 64 operator names");
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *it = json_array_get(v, i);
        if (!json_is_string(it) || json_string_length(it) == 0 || json_string_length(it) >= sizeof td->ops[0] ||
            memchr(json_string_value(it), '\0', json_string_length(it)))
            return derr(d, "mote:ops", "holds an item that is not an operator name");
        memcpy(td->ops[i], json_string_value(it), json_string_length(it) + 1);
        td->n_ops++;
    }
    return 0;
}

static int td_sensors(dec_t *d, json_t *o, mote_proto_td_t *td)
{
    json_t *v = field(d, o, "mote:sensors", 1);
    if (!v)
        return -1;
    if (!json_is_array(v) || json_array_size(v) > MOTE_PROTO_MAX_SENSORS)
        return derr(d, "mote:sensors", "is not an array of at most 8 sensors");
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *it = json_array_get(v, i);
        if (!json_is_object(it))
            return derr(d, "mote:sensors", "holds an item that is not an object");
        if (get_str(d, it, "type", 1, td->sensors[i].type, sizeof td->sensors[i].type) ||
            get_str(d, it, "quantity", 0, td->sensors[i].quantity, sizeof td->sensors[i].quantity) ||
            get_str(d, it, "location", 0, td->sensors[i].location, sizeof td->sensors[i].location) ||
            get_num(d, it, "rateHz", 0, &td->sensors[i].rate_hz))
            return -1;
        if (td->sensors[i].rate_hz < 0)
            return derr(d, "rateHz", "is negative");
        td->n_sensors++;
    }
    return 0;
}

static int td_security(dec_t *d, json_t *o)
{
    json_t *defs = field(d, o, "securityDefinitions", 1), *sec = field(d, o, "security", 1);
    if (!defs || !sec)
        return -1;
    if (!json_is_object(defs) || json_object_size(defs) == 0)
        return derr(d, "securityDefinitions", "is not a non-empty object");
    if (!json_is_string(sec) && !json_is_array(sec))
        return derr(d, "security", "is not a string or an array");
    return 0;
}

mote_status_t mote_proto_td_decode(const void *buf, size_t len, mote_proto_td_t *td, char *err, size_t errsz)
{
    dec_t d = {"td", err, errsz, MOTE_OK};
    if (!td)
        return fail(err, errsz, MOTE_ERR_ARG, "td: no output");
    memset(td, 0, sizeof *td);
    json_t *o = parse(&d, buf, len);
    if (!o)
        return d.st;
    json_t *th = NULL;
    if (td_context(&d, o) || td_id(&d, o, td) || get_str(&d, o, "title", 1, td->title, sizeof td->title) ||
        td_security(&d, o) ||
        get_str(&d, o, "mote:deviceClass", 1, td->device_class, sizeof td->device_class) ||
        get_str(&d, o, "mote:group", 0, td->group, sizeof td->group) ||
        get_u64f(&d, o, "mote:ramBytes", 1, &td->ram_bytes) ||
        get_u64f(&d, o, "mote:flashBytes", 1, &td->flash_bytes) ||
        get_str(&d, o, "mote:runtime", 1, td->runtime, sizeof td->runtime) || td_ops(&d, o, td) ||
        td_sensors(&d, o, td) || get_model(&d, o, "mote:model", 0, &td->model))
        return finish(&d, o);
    th = field(&d, o, "mote:trainableHead", 0);
    if (th && !json_is_boolean(th))
        derr(&d, "mote:trainableHead", "is not a boolean");
    td->trainable_head = th ? json_is_true(th) : 0;
    if (d.st == MOTE_OK && td->device_class[0] == '\0')
        derr(&d, "mote:deviceClass", "is empty");
    return finish(&d, o);
}

/* ---- binary chunk ------------------------------------------------------- */

mote_status_t mote_proto_chunk_encode(const mote_proto_chunk_t *c, uint8_t *buf, size_t cap, size_t *len)
{
    if (!c || !buf || c->len > MOTE_PROTO_MAX_CHUNK || (c->len && !c->data) || c->offset > c->total ||
        c->len > c->total - c->offset)
        return MOTE_ERR_ARG;
    size_t n = MOTE_PROTO_CHUNK_HDR + c->len;
    if (n > cap)
        return MOTE_ERR_LIMIT;
    memcpy(buf, chunk_magic, 8);
    memcpy(buf + 8, c->bundle, 32);
    put_u64(buf + 40, c->offset);
    put_u64(buf + 48, c->total);
    if (c->len)
        memcpy(buf + MOTE_PROTO_CHUNK_HDR, c->data, c->len);
    if (len)
        *len = n;
    return MOTE_OK;
}

mote_status_t mote_proto_chunk_decode(const void *buf, size_t len, mote_proto_chunk_t *c, char *err, size_t errsz)
{
    const uint8_t *p = buf;
    if (!c || (!buf && len))
        return fail(err, errsz, MOTE_ERR_ARG, "ota/data: no buffer");
    memset(c, 0, sizeof *c);
    if (len < MOTE_PROTO_CHUNK_HDR)
        return fail(err, errsz, MOTE_ERR_TRUNCATED, "ota/data: %zu bytes, header needs %d", len,
                    MOTE_PROTO_CHUNK_HDR);
    if (memcmp(p, chunk_magic, 8) != 0)
        return fail(err, errsz, MOTE_ERR_CORRUPT, "ota/data: bad magic at byte 0");
    size_t n = len - MOTE_PROTO_CHUNK_HDR;
    uint64_t off = get_u64(p + 40), total = get_u64(p + 48);
    if (n > MOTE_PROTO_MAX_CHUNK)
        return fail(err, errsz, MOTE_ERR_LIMIT, "ota/data: %zu data bytes, at most %d", n, MOTE_PROTO_MAX_CHUNK);
    if (off > total || n > total - off)
        return fail(err, errsz, MOTE_ERR_CORRUPT, "ota/data: offset %llu + %zu bytes past total %llu",
                    (unsigned long long)off, n, (unsigned long long)total);
    memcpy(c->bundle, p + 8, 32);
    c->offset = off;
    c->total = total;
    c->len = (uint32_t)n;
    c->data = p + MOTE_PROTO_CHUNK_HDR;
    if (err && errsz)
        err[0] = '\0';
    return MOTE_OK;
}

/* ---- signed command ----------------------------------------------------- */

static json_t *cmd_args(const mote_proto_cmd_t *c)
{
    char hex[65];
    switch (c->op) {
    case MOTE_OP_DEPLOY:
        hex_encode(c->bundle, 32, hex);
        return json_pack("{s:o,s:I,s:s,s:I,s:I,s:o}", "model", JSTR(c->model.name), "version",
                         (json_int_t)c->model.version, "bundle", hex, "size", (json_int_t)c->size, "chunk",
                         (json_int_t)c->chunk, "campaign", c->campaign[0] ? JSTR(c->campaign) : json_null());
    case MOTE_OP_ROLLBACK:
        return json_pack("{s:o}", "reason", JSTR(c->reason));
    case MOTE_OP_CONFIG:
        return json_pack("{s:I,s:o}", "heartbeat_s", (json_int_t)c->heartbeat_s, "event_threshold",
                         jnum(c->event_threshold));
    case MOTE_OP_FL_ROUND:
        return json_pack("{s:I,s:I,s:I,s:o,s:o,s:I,s:I}", "round", (json_int_t)c->round, "steps",
                         (json_int_t)c->fl_steps, "deadline_ms", (json_int_t)c->fl_deadline_ms, "mu",
                         jnum(c->fl_mu), "step", jnum(c->fl_step), "version", (json_int_t)c->fl_version, "id",
                         (json_int_t)c->fl_id);
    }
    return NULL;
}

mote_status_t mote_proto_cmd_encode(const mote_proto_cmd_t *c, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
                                    uint8_t *buf, size_t cap, size_t *len)
{
    if (!c || !sk || !buf || (unsigned)c->op > MOTE_OP_FL_ROUND || !mote_proto_id_valid(c->dev))
        return MOTE_ERR_ARG;
    if (c->op == MOTE_OP_DEPLOY && (c->chunk == 0 || c->chunk > MOTE_PROTO_MAX_CHUNK || c->model.version == 0))
        return MOTE_ERR_ARG;
    json_t *o = json_pack("{s:s,s:I,s:I,s:s}", "dev", c->dev, "seq", (json_int_t)c->seq, "ts", (json_int_t)c->ts,
                          "op", op_name[c->op]);
    json_t *args = cmd_args(c);
    if (!o || !args) {
        json_decref(o);
        json_decref(args);
        return MOTE_ERR_NOMEM;
    }
    json_object_update(o, args);
    json_decref(args);
    if (cap < MOTE_PROTO_CMD_SIG + 1) {
        json_decref(o);
        return MOTE_ERR_LIMIT;
    }
    size_t blen = 0;
    mote_status_t st = dump(o, (char *)buf + MOTE_PROTO_CMD_SIG, cap - MOTE_PROTO_CMD_SIG, &blen);
    if (st != MOTE_OK)
        return st;
    crypto_sign_state s;
    crypto_sign_init(&s);
    crypto_sign_update(&s, (const uint8_t *)cmd_domain, sizeof cmd_domain - 1);
    crypto_sign_update(&s, buf + MOTE_PROTO_CMD_SIG, blen);
    crypto_sign_final_create(&s, buf, NULL, sk);
    if (len)
        *len = MOTE_PROTO_CMD_SIG + blen;
    return MOTE_OK;
}

static int cmd_body(dec_t *d, json_t *o, mote_proto_cmd_t *c)
{
    int op = 0;
    if (get_str(d, o, "dev", 1, c->dev, sizeof c->dev) || get_u64f(d, o, "seq", 1, &c->seq) ||
        get_i64f(d, o, "ts", 1, &c->ts) || get_enum(d, o, "op", op_name, 4, &op))
        return -1;
    c->op = (mote_proto_op_t)op;
    switch (c->op) {
    case MOTE_OP_DEPLOY:
        if (get_str(d, o, "model", 1, c->model.name, sizeof c->model.name) ||
            get_u64f(d, o, "version", 1, &c->model.version) || get_hash(d, o, "bundle", c->bundle) ||
            get_u64f(d, o, "size", 1, &c->size) || get_u32f(d, o, "chunk", 1, &c->chunk) ||
            get_str(d, o, "campaign", 0, c->campaign, sizeof c->campaign))
            return -1;
        if (c->chunk == 0 || c->chunk > MOTE_PROTO_MAX_CHUNK)
            return derr(d, "chunk", "is not in 1..65536");
        if (c->model.version == 0)
            return derr(d, "version", "is 0");
        return 0;
    case MOTE_OP_ROLLBACK:
        return get_str(d, o, "reason", 0, c->reason, sizeof c->reason);
    case MOTE_OP_CONFIG:
        return get_u32f(d, o, "heartbeat_s", 0, &c->heartbeat_s) ||
                       get_num(d, o, "event_threshold", 0, &c->event_threshold)
                   ? -1
                   : 0;
    case MOTE_OP_FL_ROUND:
        return get_u64f(d, o, "round", 1, &c->round) || get_u32f(d, o, "steps", 0, &c->fl_steps) ||
                       get_i64f(d, o, "deadline_ms", 0, &c->fl_deadline_ms) ||
                       get_num(d, o, "mu", 0, &c->fl_mu) || get_num(d, o, "step", 0, &c->fl_step) ||
                       get_u64f(d, o, "version", 0, &c->fl_version) || get_u32f(d, o, "id", 0, &c->fl_id)
                   ? -1
                   : 0;
    }
    return -1;
}

mote_status_t mote_proto_cmd_decode(const void *buf, size_t len, const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                                    mote_proto_cmd_t *c, char *err, size_t errsz)
{
    const uint8_t *p = buf;
    if (!c || !pk || (!buf && len))
        return fail(err, errsz, MOTE_ERR_ARG, "cmd: no buffer");
    memset(c, 0, sizeof *c);
    if (len <= MOTE_PROTO_CMD_SIG)
        return fail(err, errsz, MOTE_ERR_TRUNCATED, "cmd: %zu bytes, a signed command needs more than %d", len,
                    MOTE_PROTO_CMD_SIG);
    crypto_sign_state s;
    crypto_sign_init(&s);
    crypto_sign_update(&s, (const uint8_t *)cmd_domain, sizeof cmd_domain - 1);
    crypto_sign_update(&s, p + MOTE_PROTO_CMD_SIG, len - MOTE_PROTO_CMD_SIG);
    if (crypto_sign_final_verify(&s, p, pk) != 0)
        return fail(err, errsz, MOTE_ERR_VERIFY, "cmd: bad signature (not signed by the fleet key)");
    dec_t d = {"cmd", err, errsz, MOTE_OK};
    json_t *o = parse(&d, p + MOTE_PROTO_CMD_SIG, len - MOTE_PROTO_CMD_SIG);
    if (!o)
        return d.st;
    cmd_body(&d, o, c);
    return finish(&d, o);
}
