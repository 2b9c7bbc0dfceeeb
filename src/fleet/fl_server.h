/* mote fleet: moted's federated round coordinator over MQTT
 * (docs/federated.md, "Over MQTT").
 *
 * Each round: the roster is every registered device whose Thing
 * Description says mote:trainableHead; the signed global head goes out
 * retained on mote/v1/fl/global, a signed fl_round command to each roster
 * device; uploads on mote/v1/d/<id>/fl/up go through mote_fed_round_add
 * (roster, round, version, step, norm bound; refusals logged); the round
 * closes when every device answered or at the deadline, FedAvg gives the
 * next version, and an `fl_round` ledger entry records it. Secure rounds
 * (fl_secure.h) first relay keys and encrypted shares, then the masked
 * uploads, then the revealed shares that remove the masks; they are not
 * resumed after a restart (the round then fails at its deadline). The open round
 * (roster, deadline, every upload's bytes) and the global head live in
 * moted's store (tables fl_state, fl_updates), so a killed moted resumes
 * the round where it was. Data (head shape, test split for the accuracy
 * per round) come from a `mote fed sim` configuration.
 *
 * Threads: the MQTT thread calls mote_fl_on_up, the ticker mote_fl_tick,
 * HTTP handlers the routes; one mutex serializes them. */
#ifndef MOTE_FL_SERVER_H
#define MOTE_FL_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "moted.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mote_fl_config {
    const char *config;      /* `mote fed sim` JSON; its backbone must be a .tflite (or none) */
    const char *out_dir;     /* rounds.csv and global_final.motl/.sig; NULL: none */
    uint32_t rounds;         /* run until this round number is finished (0: only on request) */
    uint32_t deadline_ms;    /* per round; 0: 5000 */
    uint32_t min_devices;    /* wait for this many trainable devices; 0: the config's devices */
} mote_fl_config_t;

typedef struct mote_fl mote_fl_t;

/* Load the data, create the tables, resume a round found open in the
 * store, and attach to m (whose ticker and MQTT thread then drive it).
 * Call before mote_moted_start. Errors: MOTE_ERR_ARG, the data loader's,
 * the store's, MOTE_ERR_NOMEM; err explains. */
mote_status_t mote_fl_create(mote_moted_t *m, const mote_fl_config_t *cfg, mote_fl_t **out, char *err,
                             size_t errsz);
/* Detach and free; call after mote_moted_stop (no thread may use it). */
void mote_fl_destroy(mote_fl_t *fl);

/* An upload arrived from device `dev` (untrusted bytes). */
void mote_fl_on_up(mote_fl_t *fl, const char *dev, const void *buf, size_t len);
/* Start, close and finish rounds as their time comes (moted's ticker). */
void mote_fl_tick(mote_fl_t *fl);
/* More rounds, and the settings of the rounds still to begin. */
typedef struct mote_fl_request {
    uint32_t rounds;         /* 1..1000 more after the current target */
    uint32_t steps;          /* local samples per round, 0: unchanged */
    uint32_t min_devices;    /* trainable devices to wait for, 0: unchanged */
    double mu;               /* FedProx mu, < 0: unchanged */
    const char *group;       /* roster only from this group; "": all; NULL: unchanged */
    int secure;              /* > 0: secure aggregation from the next round on; < 0: plain; 0: unchanged */
} mote_fl_request_t;

/* Queue r->rounds more rounds; *first (may be NULL) gets the number of
 * the first of them. MOTE_ERR_ARG for a value out of range. */
mote_status_t mote_fl_request(mote_fl_t *fl, const mote_fl_request_t *r, uint32_t *first);
/* Status as a new JSON object: round, version, open, secure (the open
 * round's mode, else the next one's), target, accuracy, roster size,
 * received, rejected. */
json_t *mote_fl_status(mote_fl_t *fl);
/* {"rounds": [...]}: every finished round (round, state done|failed,
 * version, clients, reported, dropped, rejected, accuracy, bytes_up,
 * bytes_down, started, finished) and the open one (state open). */
json_t *mote_fl_rounds(mote_fl_t *fl);

/* GET /api/fed and /api/fed/rounds (viewer); POST /api/fed/rounds
 * (engineer) with {"rounds", "steps", "mu", "min_clients", "group",
 * "secure"}, all optional ("secure": true runs the rounds begun from then
 * on with secure aggregation, false plain). Register before
 * mote_moted_routes. */
mote_status_t mote_fl_routes(mote_fl_t *fl, mote_http_t *srv);

#ifdef __cplusplus
}
#endif
#endif
