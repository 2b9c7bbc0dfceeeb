/* PostgreSQL backend of the moted store (store.h), through libpq. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_backend.h"

/* PostgreSQL type oids that become JSON numbers. */
enum { OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_NUMERIC = 1700 };

/* The fleet's SQL uses '?' placeholders (SQLite style); libpq wants $n.
 * None of our statements has a '?' inside a string literal. */
static char *pg_placeholders(const char *sql)
{
    size_t n = strlen(sql), cap = n * 4 + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (sql[i] == '?')
            o += (size_t)snprintf(out + o, cap - o, "$%d", ++k);
        else
            out[o++] = sql[i];
    }
    out[o] = '\0';
    return out;
}

static mote_store_type_t pg_type(Oid t)
{
    switch (t) {
    case OID_INT8:
    case OID_INT2:
    case OID_INT4: return MOTE_STORE_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC: return MOTE_STORE_REAL;
    default: return MOTE_STORE_TEXT;
    }
}

static void pg_rows(PGresult *r, mote_store_row_fn fn, void *user)
{
    const char *names[64], *vals[64];
    mote_store_type_t types[64];
    int nc = PQnfields(r);
    if (nc > 64)
        nc = 64;
    for (int c = 0; c < nc; c++)
        names[c] = PQfname(r, c);
    for (int row = 0; row < PQntuples(r); row++) {
        for (int c = 0; c < nc; c++) {
            int null = PQgetisnull(r, row, c);
            vals[c] = null ? NULL : PQgetvalue(r, row, c);
            types[c] = null ? MOTE_STORE_NULL : pg_type(PQftype(r, c));
        }
        if (fn(user, nc, names, vals, types))
            break;
    }
}

static mote_status_t pg_exec(void *h, const char *sql, const char *const *params, int n, mote_store_row_fn fn,
                             void *user, int64_t *changes, char *err, size_t errsz)
{
    PGconn *c = h;
    if (PQstatus(c) != CONNECTION_OK)
        PQreset(c); /* the server restarted: one reconnect attempt per statement */
    char *q = pg_placeholders(sql);
    if (!q) {
        snprintf(err, errsz, "postgresql: out of memory");
        return MOTE_ERR_NOMEM;
    }
    PGresult *r = PQexecParams(c, q, n, NULL, params, NULL, NULL, 0);
    free(q);
    ExecStatusType st = PQresultStatus(r);
    mote_status_t s = MOTE_OK;
    if (st == PGRES_TUPLES_OK) {
        if (fn)
            pg_rows(r, fn, user);
    } else if (st != PGRES_COMMAND_OK) {
        snprintf(err, errsz, "postgresql: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        size_t l = strlen(err);
        if (l && err[l - 1] == '\n')
            err[l - 1] = '\0';
        s = MOTE_ERR_IO;
    }
    if (changes)
        *changes = s == MOTE_OK ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return s;
}

static void pg_close(void *h)
{
    PQfinish(h);
}

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg; /* "relation already exists, skipping" notices are expected */
    (void)msg;
}

static const mote_store_backend_t PG_BACKEND = {
    "postgresql",
    "BIGSERIAL PRIMARY KEY",
    pg_exec,
    pg_close,
};

mote_status_t mote_store_pg_open(const char *url, const mote_store_backend_t **be, void **db, char *err, size_t errsz)
{
    PGconn *c = PQconnectdb(url);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errsz, "postgresql: cannot connect: %s", c ? PQerrorMessage(c) : "out of memory");
        size_t l = strlen(err);
        if (l && err[l - 1] == '\n')
            err[l - 1] = '\0';
        PQfinish(c);
        return MOTE_ERR_IO;
    }
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    *be = &PG_BACKEND;
    *db = c;
    return MOTE_OK;
}
