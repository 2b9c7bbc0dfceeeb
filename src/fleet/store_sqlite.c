/* SQLite backend of the moted store (store.h). */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_backend.h"

static mote_status_t sq_fail(sqlite3 *db, const char *what, char *err, size_t errsz)
{
    snprintf(err, errsz, "sqlite: %s: %s", what, sqlite3_errmsg(db));
    return MOTE_ERR_IO;
}

static mote_status_t sq_bind(sqlite3 *db, sqlite3_stmt *st, const char *const *params, int n, char *err, size_t errsz)
{
    for (int i = 0; i < n; i++) {
        int rc =
            params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK)
            return sq_fail(db, "bind", err, errsz);
    }
    return MOTE_OK;
}

static int sq_row(sqlite3_stmt *st, mote_store_row_fn fn, void *user)
{
    const char *names[64], *vals[64];
    mote_store_type_t types[64];
    int nc = sqlite3_column_count(st);
    if (nc > 64)
        nc = 64;
    for (int c = 0; c < nc; c++) {
        names[c] = sqlite3_column_name(st, c);
        int t = sqlite3_column_type(st, c);
        types[c] = t == SQLITE_INTEGER ? MOTE_STORE_INT
                   : t == SQLITE_FLOAT ? MOTE_STORE_REAL
                   : t == SQLITE_NULL  ? MOTE_STORE_NULL
                                       : MOTE_STORE_TEXT;
        vals[c] = t == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, c);
    }
    return fn(user, nc, names, vals, types);
}

/* Prepared statements kept by SQL text. moted runs the same few dozen
 * statements all day (a deploy is five, a state report four), and
 * compiling one costs more than running it. Calls are serialized by the
 * store's mutex; a statement already stepping (a row callback running the
 * same SQL again) gets a fresh, uncached one. */
#define SQ_CACHE 64

typedef struct sq_entry {
    char *sql;
    sqlite3_stmt *st;
    int busy;
} sq_entry_t;

typedef struct sq_db {
    sqlite3 *db;
    sq_entry_t cache[SQ_CACHE];
    unsigned next;               /* round-robin victim */
} sq_db_t;

static sq_entry_t *sq_lookup(sq_db_t *d, const char *sql)
{
    for (unsigned i = 0; i < SQ_CACHE; i++)
        if (d->cache[i].sql && strcmp(d->cache[i].sql, sql) == 0)
            return &d->cache[i];
    return NULL;
}

/* A prepared statement for `sql`: cached when possible (*e set), else
 * one the caller finalizes (*e NULL). */
static sqlite3_stmt *sq_prepare(sq_db_t *d, const char *sql, sq_entry_t **e)
{
    *e = sq_lookup(d, sql);
    if (*e && !(*e)->busy)
        return (*e)->st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    char *copy = *e ? NULL : strdup(sql);
    *e = NULL;
    if (!copy)
        return st;
    sq_entry_t *v = &d->cache[d->next];
    d->next = (d->next + 1) % SQ_CACHE;
    if (v->busy) { /* in use further up the stack: leave it */
        free(copy);
        return st;
    }
    sqlite3_finalize(v->st);
    free(v->sql);
    v->sql = copy;
    v->st = st;
    *e = v;
    return st;
}

static mote_status_t sq_exec(void *h, const char *sql, const char *const *params, int n, mote_store_row_fn fn,
                             void *user, int64_t *changes, char *err, size_t errsz)
{
    sq_db_t *d = h;
    sq_entry_t *e = NULL;
    sqlite3_stmt *st = sq_prepare(d, sql, &e);
    if (!st)
        return sq_fail(d->db, "prepare", err, errsz);
    if (e)
        e->busy = 1;
    mote_status_t s = sq_bind(d->db, st, params, n, err, errsz);
    int rc = SQLITE_DONE, stop = 0;
    while (s == MOTE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!stop && fn)
            stop = sq_row(st, fn, user); /* keep stepping: RETURNING rows must all run */
    if (s == MOTE_OK && rc != SQLITE_DONE)
        s = sq_fail(d->db, "step", err, errsz);
    if (changes)
        *changes = sqlite3_changes(d->db);
    if (e) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        e->busy = 0;
    } else {
        sqlite3_finalize(st);
    }
    return s;
}

static void sq_close(void *h)
{
    sq_db_t *d = h;
    if (!d)
        return;
    for (unsigned i = 0; i < SQ_CACHE; i++) {
        sqlite3_finalize(d->cache[i].st);
        free(d->cache[i].sql);
    }
    sqlite3_close(d->db);
    free(d);
}

static const mote_store_backend_t SQLITE_BACKEND = {
    "sqlite",
    "INTEGER PRIMARY KEY AUTOINCREMENT",
    sq_exec,
    sq_close,
};

mote_status_t mote_store_sqlite_open(const char *path, const mote_store_backend_t **be, void **db, char *err,
                                     size_t errsz)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errsz, "sqlite: %s: %s", path, h ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return MOTE_ERR_IO;
    }
    /* WAL keeps readers (HTTP) from blocking the writer (MQTT); a busy
     * timeout covers another process briefly holding the file. */
    sqlite3_busy_timeout(h, 5000);
    char *e = NULL;
    if (sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL, NULL,
                     &e) != SQLITE_OK) {
        snprintf(err, errsz, "sqlite: %s: %s", path, e ? e : "pragma failed");
        sqlite3_free(e);
        sqlite3_close(h);
        return MOTE_ERR_IO;
    }
    sq_db_t *d = calloc(1, sizeof *d);
    if (!d) {
        sqlite3_close(h);
        snprintf(err, errsz, "sqlite: %s: out of memory", path);
        return MOTE_ERR_NOMEM;
    }
    d->db = h;
    *be = &SQLITE_BACKEND;
    *db = d;
    return MOTE_OK;
}
