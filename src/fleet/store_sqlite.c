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

static mote_status_t sq_exec(void *h, const char *sql, const char *const *params, int n, mote_store_row_fn fn,
                             void *user, int64_t *changes, char *err, size_t errsz)
{
    sqlite3 *db = h;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_fail(db, "prepare", err, errsz);
    mote_status_t s = sq_bind(db, st, params, n, err, errsz);
    int rc = SQLITE_DONE, stop = 0;
    while (s == MOTE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!stop && fn)
            stop = sq_row(st, fn, user); /* keep stepping: RETURNING rows must all run */
    if (s == MOTE_OK && rc != SQLITE_DONE)
        s = sq_fail(db, "step", err, errsz);
    if (changes)
        *changes = sqlite3_changes(db);
    sqlite3_finalize(st);
    return s;
}

static void sq_close(void *h)
{
    sqlite3_close(h);
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
    *be = &SQLITE_BACKEND;
    *db = h;
    return MOTE_OK;
}
