/* mote fleet: the manager daemon's core, as a library (the executable is
 * main_moted.c; tests and the fuzz target embed it).
 *
 * moted listens to every device over MQTT (docs/fleet-protocol.md), keeps
 * the registry, the twins and the events in a store (store.h), serves
 * bundle chunks, sends signed commands, reconciles devices whose reported
 * model differs from the desired one, drives rollout campaigns
 * (campaign.c) and answers the HTTP/JSON API (moted_api.c, docs/moted.md).
 *
 * Threads: libmosquitto's network thread handles messages; a ticker
 * thread advances campaigns; HTTP handlers run on the server's threads.
 * All state lives in the store, so two instances on one PostgreSQL
 * database cooperate (shared subscriptions split the messages). */
#ifndef MOTE_MOTED_H
#define MOTE_MOTED_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "http.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_MOTED_ERR_LEN 256

typedef struct mote_moted_config {
    const char *state_dir;     /* required, existing: bundles/, ledger.jsonl, moted.db */
    const char *db_url;        /* NULL: SQLite file <state_dir>/moted.db */
    const char *broker_host;   /* NULL: no MQTT (API only, for tests and fuzzing) */
    int broker_port;           /* 1..65535 */
    const char *user, *pass;   /* MQTT credentials, may be NULL */
    const char *cafile;        /* TLS when set; cert/key optional (client certificate) */
    const char *cert, *key;
    const char *client_id;     /* NULL: "moted"; a fixed id keeps the broker session across restarts */
    const uint8_t *fleet_sk;   /* 64-byte Ed25519 secret key (copied); signs bundles and commands */
    int shared;                /* subscribe as $share/moted/... (several instances) */
    uint32_t chunk;            /* bytes per chunk request a deploy asks for; 0: 16384 */
    uint32_t resend_ms;        /* minimum gap between two commands to one device; 0: 5000 */
    uint32_t tick_ms;          /* campaign ticker period; 0: 200 */
    uint32_t claim_batch;      /* devices per deploy batch (one transaction, one ledger fsync); 0: 256 */
    int no_ledger;             /* 1: do not open the ledger (fuzzing) */
    struct mote_graph *graph;  /* knowledge graph fed with TDs, cards, deployments; NULL: none (caller-owned) */
} mote_moted_config_t;

typedef struct mote_moted mote_moted_t;

/* Counters since start (approximate under concurrency). */
typedef struct mote_moted_stats {
    uint64_t messages;         /* MQTT messages received */
    uint64_t bad;              /* refused: undecodable, wrong id */
    uint64_t events;           /* events stored */
    uint64_t duplicates;       /* redelivered events ignored */
    uint64_t chunks;           /* chunks sent */
    uint64_t commands;         /* commands sent */
    int connected;             /* to the broker now */
} mote_moted_stats_t;

/* Open the store and the ledger; nothing runs yet. */
mote_status_t mote_moted_create(mote_moted_t **out, const mote_moted_config_t *cfg, char *err, size_t errsz);
/* Connect to the broker (retrying in the background) and start the ticker. */
mote_status_t mote_moted_start(mote_moted_t *m, char *err, size_t errsz);
/* Stop MQTT and the ticker; the store stays open. Safe to call twice. */
void mote_moted_stop(mote_moted_t *m);
/* Stop and free everything. NULL is fine. */
void mote_moted_destroy(mote_moted_t *m);

/* Register the /api routes on `srv` (see docs/moted.md). */
mote_status_t mote_moted_routes(mote_moted_t *m, mote_http_t *srv);

mote_store_t *mote_moted_store(mote_moted_t *m);
void mote_moted_stats(mote_moted_t *m, mote_moted_stats_t *st);

/* Register a model package folder (mote train --out DIR): DIR/NAME.tflite,
 * optional DIR/NAME.dspcfg and DIR/NAME.json (model card). Builds a bundle
 * signed with the fleet key for device class `target`, stores it under
 * <state_dir>/bundles and records the model. version 0: latest + 1.
 * *out (may be NULL) gets the stored model. */
mote_status_t mote_moted_model_register(mote_moted_t *m, const char *dir, const char *name, uint64_t version,
                                        const char *target, mote_store_model_t *out, char *err, size_t errsz);

/* Set a device's desired model and send `deploy` now. campaign may be NULL. */
mote_status_t mote_moted_deploy(mote_moted_t *m, const char *dev, const char *model, uint64_t version,
                                const char *campaign, char *err, size_t errsz);
/* Result of one device of a deploy batch: the command's seq and whether
 * it went out (st, why: the reason when not). */
typedef struct mote_moted_deploy_result {
    uint64_t seq;
    mote_status_t st;
    char why[160];
} mote_moted_deploy_result_t;

/* Deploy one model version to n devices as one batch: one store
 * transaction, one ledger fsync (an entry per device), then a signed
 * command per device. res[n] (caller-owned) gets each device's outcome.
 * Returns non-OK only when nothing was sent (model unknown, store error). */
mote_status_t mote_moted_deploy_many(mote_moted_t *m, const char *const *devs, size_t n, const char *model,
                                     uint64_t version, const char *campaign, mote_moted_deploy_result_t *res,
                                     char *err, size_t errsz);
/* Send `rollback` (reason: text) to a device; the desired model becomes
 * its previous one so reconciliation does not undo the rollback. */
mote_status_t mote_moted_rollback(mote_moted_t *m, const char *dev, const char *reason, char *err, size_t errsz);

/* Append a ledger entry (kind per ledger.h, body a JSON object); logs and
 * returns the error when the ledger refuses. Thread-safe. */
mote_status_t mote_moted_ledger(mote_moted_t *m, const char *kind, json_t *body);

/* Log a line to stderr with a timestamp. */
void mote_moted_log(mote_moted_t *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- campaigns (campaign.c) ---- */

/* Create a campaign from its JSON spec:
 *   {"model": NAME, "version": N, "target": {"group": G} | {"class": C} |
 *    {"devices": [ids]} | {"sparql": "SELECT ?dev ..."}, "stages": [10, 50, 100] (cumulative % of the
 *    targets, last 100), "max_fail_pct": 0..100, "stage_timeout_s": N}
 * Devices of another class than the bundle's target are left out (an
 * explicit list with one is refused). A SPARQL target (needs the graph)
 * takes the first variable of each result row as a device id or an
 * "urn:mote:dev:ID" IRI. id_out gets the new id. */
mote_status_t mote_campaign_create(mote_moted_t *m, const json_t *spec, const char *user, char id_out[64],
                                   char *err, size_t errsz);
/* Same with the targets given as a list of device ids (the hook for
 * selecting devices by a knowledge-graph query). */
mote_status_t mote_campaign_create_for(mote_moted_t *m, const json_t *spec, const char *const *devices, size_t n,
                                       const char *user, char id_out[64], char *err, size_t errsz);
/* Emergency stop: abort now, rolling back devices that switched. */
mote_status_t mote_campaign_stop(mote_moted_t *m, const char *id, const char *user, char *err, size_t errsz);
/* Advance every running campaign once (the ticker calls this). */
void mote_campaign_tick(mote_moted_t *m);
/* A device reported state: update its campaign rows. */
void mote_campaign_on_state(mote_moted_t *m, const char *dev, const void *state /* mote_proto_state_t */);

#ifdef __cplusplus
}
#endif
#endif
