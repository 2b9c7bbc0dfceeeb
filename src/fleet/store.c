/* moted's store: schema, locking, JSON rows and the fleet's statements
 * (store.h). The SQL below runs unchanged on SQLite and PostgreSQL. */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store_backend.h"

struct mote_store {
    const mote_store_backend_t *be;
    void *db;
    pthread_mutex_t mu; /* recursive: a transaction holds it across calls */
};

/* One statement per entry; "%s" is the backend's auto-increment key. */
static const char *const SCHEMA[] = {
    "CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, td TEXT, class TEXT NOT NULL DEFAULT '',"
    " grp TEXT NOT NULL DEFAULT '', ram BIGINT NOT NULL DEFAULT 0, flash BIGINT NOT NULL DEFAULT 0,"
    " runtime TEXT NOT NULL DEFAULT '', first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " cmd_seq BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS models (name TEXT NOT NULL, version BIGINT NOT NULL, target TEXT NOT NULL,"
    " card TEXT, bundle_path TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL,"
    " registered BIGINT NOT NULL, PRIMARY KEY (name, version))",
    "CREATE TABLE IF NOT EXISTS twin (device TEXT PRIMARY KEY, desired_model TEXT NOT NULL DEFAULT '',"
    " desired_version BIGINT NOT NULL DEFAULT 0, campaign TEXT NOT NULL DEFAULT '',"
    " model TEXT NOT NULL DEFAULT '', version BIGINT NOT NULL DEFAULT 0, prev_model TEXT NOT NULL DEFAULT '',"
    " prev_version BIGINT NOT NULL DEFAULT 0, slot TEXT NOT NULL DEFAULT '', slot_state TEXT NOT NULL DEFAULT '',"
    " ota_status TEXT NOT NULL DEFAULT '', ota_version BIGINT NOT NULL DEFAULT 0,"
    " cmd_seq BIGINT NOT NULL DEFAULT 0, cmd_status TEXT NOT NULL DEFAULT '', sent_seq BIGINT NOT NULL DEFAULT 0,"
    " sent_at BIGINT NOT NULL DEFAULT 0,"
    " state TEXT, health TEXT, updated BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS events (id %s, device TEXT NOT NULL, seq BIGINT NOT NULL, ts BIGINT NOT NULL,"
    " kind TEXT NOT NULL, body TEXT NOT NULL, received BIGINT NOT NULL, UNIQUE (device, seq))",
    "CREATE TABLE IF NOT EXISTS campaigns (id TEXT PRIMARY KEY, model TEXT NOT NULL, version BIGINT NOT NULL,"
    " target TEXT NOT NULL, stages TEXT NOT NULL, max_fail_pct BIGINT NOT NULL,"
    " stage_timeout_s BIGINT NOT NULL, state TEXT NOT NULL, stage BIGINT NOT NULL DEFAULT 0,"
    " reason TEXT NOT NULL DEFAULT '', created BIGINT NOT NULL, updated BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS campaign_devices (campaign TEXT NOT NULL, device TEXT NOT NULL,"
    " stage BIGINT NOT NULL, state TEXT NOT NULL, seq BIGINT NOT NULL DEFAULT 0,"
    " sent_at BIGINT NOT NULL DEFAULT 0, updated BIGINT NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (campaign, device))",
    "CREATE INDEX IF NOT EXISTS events_device ON events (device, id)",
    "CREATE INDEX IF NOT EXISTS cdev_device ON campaign_devices (device)",
};

/* Columns that hold JSON text and are embedded parsed in JSON rows. */
static const char *const JSON_COLUMNS[] = {"td", "card", "state", "health", "body", "target", "stages"};

int64_t mote_store_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static mote_status_t create_schema(mote_store_t *s, char *err, size_t errsz)
{
    for (size_t i = 0; i < sizeof SCHEMA / sizeof SCHEMA[0]; i++) {
        char sql[1024];
        snprintf(sql, sizeof sql, SCHEMA[i], s->be->serial_type);
        mote_status_t st = mote_store_exec(s, sql, NULL, 0, NULL, NULL, NULL, err, errsz);
        if (st != MOTE_OK)
            return st;
    }
    return MOTE_OK;
}

mote_status_t mote_store_open(mote_store_t **out, const char *url, char *err, size_t errsz)
{
    *out = NULL;
    mote_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "store: out of memory");
        return MOTE_ERR_NOMEM;
    }
    int pg = strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
    mote_status_t st = pg ? mote_store_pg_open(url, &s->be, &s->db, err, errsz)
                          : mote_store_sqlite_open(url, &s->be, &s->db, err, errsz);
    if (st != MOTE_OK) {
        free(s);
        return st;
    }
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &a);
    pthread_mutexattr_destroy(&a);
    st = create_schema(s, err, errsz);
    if (st != MOTE_OK) {
        mote_store_close(s);
        return st;
    }
    *out = s;
    return MOTE_OK;
}

void mote_store_close(mote_store_t *s)
{
    if (!s)
        return;
    s->be->close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *mote_store_kind(const mote_store_t *s)
{
    return s->be->name;
}

mote_status_t mote_store_exec(mote_store_t *s, const char *sql, const char *const *params, int n, mote_store_row_fn fn,
                              void *user, int64_t *changes, char *err, size_t errsz)
{
    pthread_mutex_lock(&s->mu);
    mote_status_t st = s->be->exec(s->db, sql, params, n, fn, user, changes, err, errsz);
    pthread_mutex_unlock(&s->mu);
    return st;
}

mote_status_t mote_store_begin(mote_store_t *s, char *err, size_t errsz)
{
    pthread_mutex_lock(&s->mu);
    mote_status_t st = s->be->exec(s->db, "BEGIN", NULL, 0, NULL, NULL, NULL, err, errsz);
    if (st != MOTE_OK)
        pthread_mutex_unlock(&s->mu);
    return st;
}

mote_status_t mote_store_commit(mote_store_t *s, char *err, size_t errsz)
{
    mote_status_t st = s->be->exec(s->db, "COMMIT", NULL, 0, NULL, NULL, NULL, err, errsz);
    if (st != MOTE_OK) {
        char e2[64];
        s->be->exec(s->db, "ROLLBACK", NULL, 0, NULL, NULL, NULL, e2, sizeof e2);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

void mote_store_rollback(mote_store_t *s)
{
    char e[64];
    s->be->exec(s->db, "ROLLBACK", NULL, 0, NULL, NULL, NULL, e, sizeof e);
    pthread_mutex_unlock(&s->mu);
}

/* ---- rows as JSON ---- */

static int is_json_column(const char *name)
{
    for (size_t i = 0; i < sizeof JSON_COLUMNS / sizeof JSON_COLUMNS[0]; i++)
        if (strcmp(name, JSON_COLUMNS[i]) == 0)
            return 1;
    return 0;
}

static json_t *cell_json(const char *name, const char *v, mote_store_type_t t)
{
    if (!v)
        return json_null();
    if (t == MOTE_STORE_INT)
        return json_integer(strtoll(v, NULL, 10));
    if (t == MOTE_STORE_REAL)
        return json_real(strtod(v, NULL));
    if (is_json_column(name)) {
        json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);
        if (j)
            return j;
    }
    return json_string(v);
}

static int row_to_json(void *user, int ncol, const char *const *names, const char *const *vals,
                       const mote_store_type_t *types)
{
    json_t *o = json_object();
    for (int c = 0; c < ncol; c++)
        json_object_set_new(o, names[c], cell_json(names[c], vals[c], types[c]));
    json_array_append_new(user, o);
    return 0;
}

mote_status_t mote_store_query_json(mote_store_t *s, const char *sql, const char *const *params, int n, json_t **rows,
                                    char *err, size_t errsz)
{
    json_t *a = json_array();
    mote_status_t st = mote_store_exec(s, sql, params, n, row_to_json, a, NULL, err, errsz);
    if (st != MOTE_OK) {
        json_decref(a);
        a = NULL;
    }
    *rows = a;
    return st;
}

typedef struct text_out {
    char *buf;
    size_t cap;
    int found;
} text_out_t;

static int first_text(void *user, int ncol, const char *const *names, const char *const *vals,
                      const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    text_out_t *o = user;
    o->found = 1;
    snprintf(o->buf, o->cap, "%s", ncol > 0 && vals[0] ? vals[0] : "");
    return 1;
}

int mote_store_query_text(mote_store_t *s, const char *sql, const char *const *params, int n, char *buf, size_t cap,
                          char *err, size_t errsz)
{
    text_out_t o = {buf, cap, 0};
    if (cap)
        buf[0] = '\0';
    mote_status_t st = mote_store_exec(s, sql, params, n, first_text, &o, NULL, err, errsz);
    return st != MOTE_OK ? st : o.found;
}

/* ---- fleet statements ---- */

#define U64S(name, v) \
    char name[24];    \
    snprintf(name, sizeof name, "%" PRIu64, (uint64_t)(v))
#define I64S(name, v) \
    char name[24];    \
    snprintf(name, sizeof name, "%" PRId64, (int64_t)(v))

mote_status_t mote_store_device_upsert(mote_store_t *s, const char *id, const char *td_json, const char *cls,
                                       const char *group, uint64_t ram, uint64_t flash, const char *runtime,
                                       int64_t now, char *err, size_t errsz)
{
    U64S(r, ram);
    U64S(f, flash);
    I64S(t, now);
    const char *p[] = {id, td_json, cls, group, r, f, runtime, t, t};
    return mote_store_exec(s,
                           "INSERT INTO devices (id, td, class, grp, ram, flash, runtime, first_seen, last_seen)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET td = excluded.td,"
                           " class = excluded.class, grp = excluded.grp, ram = excluded.ram,"
                           " flash = excluded.flash, runtime = excluded.runtime, last_seen = excluded.last_seen",
                           p, 9, NULL, NULL, NULL, err, errsz);
}

mote_status_t mote_store_device_touch(mote_store_t *s, const char *id, int64_t now, char *err, size_t errsz)
{
    I64S(t, now);
    const char *p[] = {id, t, t};
    return mote_store_exec(s,
                           "INSERT INTO devices (id, first_seen, last_seen) VALUES (?, ?, ?)"
                           " ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                           p, 3, NULL, NULL, NULL, err, errsz);
}

mote_status_t mote_store_cmd_seq_next(mote_store_t *s, const char *dev, uint64_t *seq, char *err, size_t errsz)
{
    mote_status_t st = mote_store_device_touch(s, dev, mote_store_now_ms(), err, errsz);
    if (st != MOTE_OK)
        return st;
    /* One atomic statement, so two moted instances never hand out the same seq. */
    char buf[24];
    const char *p[] = {dev};
    int r = mote_store_query_text(s, "UPDATE devices SET cmd_seq = cmd_seq + 1 WHERE id = ? RETURNING cmd_seq", p, 1,
                                  buf, sizeof buf, err, errsz);
    if (r < 0)
        return (mote_status_t)r;
    if (r == 0) {
        snprintf(err, errsz, "store: device '%s' vanished", dev);
        return MOTE_ERR_NOT_FOUND;
    }
    *seq = strtoull(buf, NULL, 10);
    return MOTE_OK;
}

mote_status_t mote_store_event_insert(mote_store_t *s, const char *dev, uint64_t seq, int64_t ts, const char *kind,
                                      const char *json, int64_t now, int *inserted, char *err, size_t errsz)
{
    U64S(q, seq);
    I64S(t, ts);
    I64S(n, now);
    const char *p[] = {dev, q, t, kind, json, n};
    int64_t ch = 0;
    mote_status_t st = mote_store_exec(s,
                                       "INSERT INTO events (device, seq, ts, kind, body, received)"
                                       " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device, seq) DO NOTHING",
                                       p, 6, NULL, NULL, &ch, err, errsz);
    *inserted = st == MOTE_OK && ch > 0;
    return st;
}

static mote_status_t twin_ensure(mote_store_t *s, const char *dev, char *err, size_t errsz)
{
    const char *p[] = {dev};
    return mote_store_exec(s, "INSERT INTO twin (device) VALUES (?) ON CONFLICT (device) DO NOTHING", p, 1, NULL, NULL,
                           NULL, err, errsz);
}

mote_status_t mote_store_twin_reported(mote_store_t *s, const char *dev, const mote_store_reported_t *r, int64_t now,
                                       char *err, size_t errsz)
{
    mote_status_t st = twin_ensure(s, dev, err, errsz);
    if (st != MOTE_OK)
        return st;
    U64S(v, r->version);
    U64S(pv, r->prev_version);
    U64S(ov, r->ota_version);
    U64S(cs, r->cmd_seq);
    I64S(t, now);
    char slot[2] = {r->slot, 0};
    const char *p[] = {
        r->model, v,  r->prev_model, pv, slot, r->slot_state, r->ota_status, ov, cs, r->cmd_status, r->state_json,
        t,        dev};
    return mote_store_exec(s,
                           "UPDATE twin SET model = ?, version = ?, prev_model = ?, prev_version = ?, slot = ?,"
                           " slot_state = ?, ota_status = ?, ota_version = ?, cmd_seq = ?, cmd_status = ?, state = ?,"
                           " updated = ?"
                           " WHERE device = ?",
                           p, 13, NULL, NULL, NULL, err, errsz);
}

mote_status_t mote_store_twin_desired(mote_store_t *s, const char *dev, const char *model, uint64_t version,
                                      const char *campaign, int64_t now, char *err, size_t errsz)
{
    mote_status_t st = twin_ensure(s, dev, err, errsz);
    if (st != MOTE_OK)
        return st;
    U64S(v, version);
    I64S(t, now);
    const char *p[] = {model, v, campaign ? campaign : "", t, dev};
    return mote_store_exec(s,
                           "UPDATE twin SET desired_model = ?, desired_version = ?, campaign = ?, updated = ?"
                           " WHERE device = ?",
                           p, 5, NULL, NULL, NULL, err, errsz);
}

mote_status_t mote_store_twin_health(mote_store_t *s, const char *dev, const char *hb_json, int64_t now, char *err,
                                     size_t errsz)
{
    mote_status_t st = twin_ensure(s, dev, err, errsz);
    if (st != MOTE_OK)
        return st;
    I64S(t, now);
    const char *p[] = {hb_json, t, dev};
    return mote_store_exec(s, "UPDATE twin SET health = ?, updated = ? WHERE device = ?", p, 3, NULL, NULL, NULL, err,
                           errsz);
}

mote_status_t mote_store_twin_sent(mote_store_t *s, const char *dev, uint64_t seq, int64_t now, char *err, size_t errsz)
{
    mote_status_t st = twin_ensure(s, dev, err, errsz);
    if (st != MOTE_OK)
        return st;
    U64S(q, seq);
    I64S(t, now);
    const char *p[] = {q, t, dev};
    return mote_store_exec(s, "UPDATE twin SET sent_seq = ?, sent_at = ? WHERE device = ?", p, 3, NULL, NULL, NULL, err,
                           errsz);
}

static void copy_col(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v ? v : "");
}

static uint64_t u64_col(const char *v)
{
    return v ? strtoull(v, NULL, 10) : 0;
}

static int twin_row(void *user, int ncol, const char *const *names, const char *const *v,
                    const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    mote_store_twin_t *t = user;
    if (ncol < 14)
        return 1;
    copy_col(t->desired_model, sizeof t->desired_model, v[0]);
    t->desired_version = u64_col(v[1]);
    copy_col(t->campaign, sizeof t->campaign, v[2]);
    copy_col(t->model, sizeof t->model, v[3]);
    t->version = u64_col(v[4]);
    copy_col(t->prev_model, sizeof t->prev_model, v[5]);
    t->prev_version = u64_col(v[6]);
    copy_col(t->slot_state, sizeof t->slot_state, v[7]);
    copy_col(t->ota_status, sizeof t->ota_status, v[8]);
    t->ota_version = u64_col(v[9]);
    t->cmd_seq = u64_col(v[10]);
    t->sent_seq = u64_col(v[11]);
    t->sent_at = (int64_t)u64_col(v[12]);
    copy_col(t->cmd_status, sizeof t->cmd_status, v[13]);
    return 1;
}

typedef struct found {
    void *dst;
    int found;
    int (*fill)(void *, int, const char *const *, const char *const *, const mote_store_type_t *);
} found_t;

static int found_row(void *user, int ncol, const char *const *names, const char *const *v,
                     const mote_store_type_t *types)
{
    found_t *f = user;
    f->found = 1;
    return f->fill(f->dst, ncol, names, v, types);
}

int mote_store_twin_get(mote_store_t *s, const char *dev, mote_store_twin_t *t, char *err, size_t errsz)
{
    memset(t, 0, sizeof *t);
    found_t f = {t, 0, twin_row};
    const char *p[] = {dev};
    mote_status_t st = mote_store_exec(s,
                                       "SELECT desired_model, desired_version, campaign, model, version, prev_model,"
                                       " prev_version, slot_state, ota_status, ota_version, cmd_seq, sent_seq,"
                                       " sent_at, cmd_status FROM twin WHERE device = ?",
                                       p, 1, found_row, &f, NULL, err, errsz);
    return st != MOTE_OK ? st : f.found;
}

mote_status_t mote_store_model_insert(mote_store_t *s, const mote_store_model_t *m, const char *card_json, int64_t now,
                                      char *err, size_t errsz)
{
    U64S(v, m->version);
    U64S(sz, m->size);
    I64S(t, now);
    const char *p[] = {m->name, v, m->target, card_json, m->bundle_path, m->sha256, sz, t};
    int64_t ch = 0;
    mote_status_t st = mote_store_exec(s,
                                       "INSERT INTO models (name, version, target, card, bundle_path, sha256, size,"
                                       " registered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                                       " ON CONFLICT (name, version) DO NOTHING",
                                       p, 8, NULL, NULL, &ch, err, errsz);
    if (st == MOTE_OK && ch == 0) {
        snprintf(err, errsz, "model %s version %" PRIu64 " is already registered", m->name, m->version);
        return MOTE_ERR_STATE;
    }
    return st;
}

static int model_row(void *user, int ncol, const char *const *names, const char *const *v,
                     const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    mote_store_model_t *m = user;
    if (ncol < 6)
        return 1;
    copy_col(m->name, sizeof m->name, v[0]);
    m->version = u64_col(v[1]);
    copy_col(m->target, sizeof m->target, v[2]);
    copy_col(m->bundle_path, sizeof m->bundle_path, v[3]);
    copy_col(m->sha256, sizeof m->sha256, v[4]);
    m->size = u64_col(v[5]);
    return 1;
}

static int model_query(mote_store_t *s, const char *where, const char *const *p, int n, mote_store_model_t *m,
                       char *err, size_t errsz)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT name, version, target, bundle_path, sha256, size FROM models WHERE %s", where);
    memset(m, 0, sizeof *m);
    found_t f = {m, 0, model_row};
    mote_status_t st = mote_store_exec(s, sql, p, n, found_row, &f, NULL, err, errsz);
    return st != MOTE_OK ? st : f.found;
}

int mote_store_model_get(mote_store_t *s, const char *name, uint64_t version, mote_store_model_t *m, char *err,
                         size_t errsz)
{
    U64S(v, version);
    const char *p[] = {name, v};
    return model_query(s, "name = ? AND version = ?", p, 2, m, err, errsz);
}

int mote_store_model_by_sha(mote_store_t *s, const char *sha_hex, mote_store_model_t *m, char *err, size_t errsz)
{
    const char *p[] = {sha_hex};
    return model_query(s, "sha256 = ?", p, 1, m, err, errsz);
}

int64_t mote_store_model_latest(mote_store_t *s, const char *name, char *err, size_t errsz)
{
    char buf[24];
    const char *p[] = {name};
    int r =
        mote_store_query_text(s, "SELECT MAX(version) FROM models WHERE name = ?", p, 1, buf, sizeof buf, err, errsz);
    if (r < 0)
        return r;
    return (int64_t)strtoull(buf, NULL, 10);
}
