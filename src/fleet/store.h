/* mote fleet: moted's persistent store, on SQLite (embedded file, the
 * default) or PostgreSQL (libpq, shared by several moted instances).
 *
 * Both backends sit behind one small vtable that runs a parameterized SQL
 * statement and hands back rows as text. The statements of the fleet are
 * written once, in the common subset of both dialects (`?` placeholders,
 * INSERT ... ON CONFLICT, UPDATE ... RETURNING); only the schema's
 * auto-increment column differs. Every race that matters between two moted
 * instances (event deduplication, command sequence numbers, campaign stage
 * claims) is settled by a single atomic statement, not by process locks.
 *
 * Tables (see store.c for the DDL): devices, models, twin, events,
 * campaigns, campaign_devices. All times are Unix milliseconds.
 *
 * Thread safety: a store may be used from several threads; calls are
 * serialized by a recursive mutex, which mote_store_begin() holds until
 * mote_store_commit()/mote_store_rollback(). */
#ifndef MOTE_STORE_H
#define MOTE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_STORE_ERR_LEN 256
#define MOTE_STORE_MAX_PARAMS 16

/* Column types handed to row callbacks. */
typedef enum mote_store_type { MOTE_STORE_NULL, MOTE_STORE_INT, MOTE_STORE_REAL, MOTE_STORE_TEXT } mote_store_type_t;

/* One result row: `ncol` columns, names and values as text (NULL for SQL
 * NULL). Pointers are valid during the call only. Return non-zero to stop. */
typedef int (*mote_store_row_fn)(void *user, int ncol, const char *const *names, const char *const *vals,
                                 const mote_store_type_t *types);

/* A backend: runs one statement with `n` text parameters (NULL = SQL NULL),
 * calls `fn` per row (may be NULL) and sets *changes to the rows changed. */
typedef struct mote_store_backend {
    const char *name; /* "sqlite" | "postgresql" */
    const char *serial_type; /* DDL of an auto-increment primary key */
    mote_status_t (*exec)(void *db, const char *sql, const char *const *params, int n, mote_store_row_fn fn,
                          void *user, int64_t *changes, char *err, size_t errsz);
    void (*close)(void *db);
} mote_store_backend_t;

typedef struct mote_store mote_store_t;

/* Open `url`: "postgresql://..." / "postgres://..." selects PostgreSQL,
 * anything else is a SQLite file path (created if absent). Creates the
 * tables when missing. *out is owned by the caller (mote_store_close). */
mote_status_t mote_store_open(mote_store_t **out, const char *url, char *err, size_t errsz);
void mote_store_close(mote_store_t *s);
/* "sqlite" or "postgresql". */
const char *mote_store_kind(const mote_store_t *s);

/* Run one statement (see mote_store_backend_t). `changes` may be NULL. */
mote_status_t mote_store_exec(mote_store_t *s, const char *sql, const char *const *params, int n,
                              mote_store_row_fn fn, void *user, int64_t *changes, char *err, size_t errsz);
/* Run a query and return its rows as a new JSON array of objects (column
 * name -> value; integer columns become JSON integers, and the columns whose
 * names are listed in store.c as holding JSON are embedded parsed). */
mote_status_t mote_store_query_json(mote_store_t *s, const char *sql, const char *const *params, int n,
                                    json_t **rows, char *err, size_t errsz);
/* First column of the first row as text into buf ("" and 0 when no row).
 * Returns 1 when a row was found, 0 when none, negative on error. */
int mote_store_query_text(mote_store_t *s, const char *sql, const char *const *params, int n, char *buf,
                          size_t cap, char *err, size_t errsz);

/* Transactions (nesting is not supported). The store stays locked for the
 * calling thread in between. */
mote_status_t mote_store_begin(mote_store_t *s, char *err, size_t errsz);
mote_status_t mote_store_commit(mote_store_t *s, char *err, size_t errsz);
void mote_store_rollback(mote_store_t *s);

/* ---- fleet operations ---- */

/* Current Unix time in ms. */
int64_t mote_store_now_ms(void);

/* Insert or update a device from its Thing Description (JSON kept as is);
 * first_seen is set once, last_seen every time. */
mote_status_t mote_store_device_upsert(mote_store_t *s, const char *id, const char *td_json, const char *cls,
                                       const char *group, uint64_t ram, uint64_t flash, const char *runtime,
                                       int64_t now, char *err, size_t errsz);
/* last_seen = now; creates a bare device row when unknown. */
mote_status_t mote_store_device_touch(mote_store_t *s, const char *id, int64_t now, char *err, size_t errsz);
/* Next command sequence number for `dev` (>= 1, persisted, atomic). */
mote_status_t mote_store_cmd_seq_next(mote_store_t *s, const char *dev, uint64_t *seq, char *err, size_t errsz);

/* Store an event once: *inserted is 1 when new, 0 when (dev, seq) was
 * already there (a redelivery). */
mote_status_t mote_store_event_insert(mote_store_t *s, const char *dev, uint64_t seq, int64_t ts, const char *kind,
                                      const char *json, int64_t now, int *inserted, char *err, size_t errsz);

/* Twin: what the device reported (last state message, JSON kept). */
typedef struct mote_store_reported {
    const char *model;       /* "" none */
    uint64_t version;
    const char *prev_model;
    uint64_t prev_version;
    char slot;               /* 'a' | 'b' | 0 */
    const char *slot_state;
    const char *ota_status;
    uint64_t ota_version;
    uint64_t cmd_seq;
    const char *cmd_status;  /* of the command cmd_seq: ok | refused | failed | "" */
    const char *state_json;
} mote_store_reported_t;
mote_status_t mote_store_twin_reported(mote_store_t *s, const char *dev, const mote_store_reported_t *r, int64_t now,
                                       char *err, size_t errsz);
/* Desired model (model "" / version 0 = none) and the campaign that set it (may be NULL). */
mote_status_t mote_store_twin_desired(mote_store_t *s, const char *dev, const char *model, uint64_t version,
                                      const char *campaign, int64_t now, char *err, size_t errsz);
/* Last heartbeat JSON. */
mote_status_t mote_store_twin_health(mote_store_t *s, const char *dev, const char *hb_json, int64_t now, char *err,
                                     size_t errsz);
/* Remember that a command (deploy/rollback) was sent with `seq` at `now`. */
mote_status_t mote_store_twin_sent(mote_store_t *s, const char *dev, uint64_t seq, int64_t now, char *err,
                                   size_t errsz);

/* The parts of a twin the reconciler needs. */
typedef struct mote_store_twin {
    char desired_model[64];
    uint64_t desired_version;
    char campaign[64];
    char model[64];
    uint64_t version;
    char prev_model[64];
    uint64_t prev_version;
    char slot_state[16];
    char ota_status[16];
    uint64_t ota_version;
    uint64_t cmd_seq;        /* last command the device accepted/answered */
    uint64_t sent_seq;       /* last command sent */
    int64_t sent_at;         /* ms */
    char cmd_status[16];     /* the device's answer to cmd_seq */
} mote_store_twin_t;
/* 1 found, 0 no twin, negative error. */
int mote_store_twin_get(mote_store_t *s, const char *dev, mote_store_twin_t *t, char *err, size_t errsz);

/* A registered model version. */
typedef struct mote_store_model {
    char name[64];
    uint64_t version;
    char target[64];
    char bundle_path[512];
    char sha256[65];         /* hex */
    uint64_t size;           /* bytes */
} mote_store_model_t;
mote_status_t mote_store_model_insert(mote_store_t *s, const mote_store_model_t *m, const char *card_json,
                                      int64_t now, char *err, size_t errsz);
/* 1 found, 0 unknown, negative error. */
int mote_store_model_get(mote_store_t *s, const char *name, uint64_t version, mote_store_model_t *m, char *err,
                         size_t errsz);
int mote_store_model_by_sha(mote_store_t *s, const char *sha_hex, mote_store_model_t *m, char *err, size_t errsz);
/* Highest registered version of `name` (0 when none), or negative error. */
int64_t mote_store_model_latest(mote_store_t *s, const char *name, char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
