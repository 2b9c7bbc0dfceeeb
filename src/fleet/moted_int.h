/* mote fleet: moted internals shared by moted.c, moted_api.c, campaign.c
 * and ota_server.c. */
#ifndef MOTE_MOTED_INT_H
#define MOTE_MOTED_INT_H

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include "ledger.h"
#include "moted.h"
#include "proto.h"

typedef struct moted_evq moted_evq_t;

struct mote_moted {
    mote_moted_config_t cfg;
    char state_dir[512];
    char host[256], user[128], pass[256], cafile[512], cert[512], key[512], client_id[64];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    mote_store_t *store;
    mote_ledger_t *ledger;
    struct mosquitto *mq;
    pthread_t ticker;
    int ticker_running;
    atomic_int stop;
    atomic_int connected;
    atomic_uint_fast64_t n_msg, n_bad, n_evt, n_dup, n_chunk, n_cmd;
    pthread_mutex_t log_mu;
    pthread_mutex_t cmd_mu;  /* recursive: a twin is read and its command sent as one step */
    moted_evq_t *evq;        /* event writer (moted_events.c), NULL when not started */
    struct mote_fl *fl;      /* federated rounds (fl_server.c), NULL when off */
    /* Bundles recently asked for, by hash (ota_server.c; MQTT thread only):
     * a registered bundle never changes, and a chunk answered without the
     * store never waits behind a writer's transaction. */
    mote_store_model_t ota_cache[4];
    unsigned ota_cache_n, ota_cache_next;
};

/* Publish `len` bytes on `topic` at QoS `qos`; MOTE_ERR_IO if not queued. */
mote_status_t moted_publish(mote_moted_t *m, const char *topic, const void *buf, size_t len, int qos);

/* Answer a chunk request (ota_server.c). */
void mote_ota_serve(mote_moted_t *m, const char *dev, const mote_proto_ota_req_t *req);

/* A device connected or reported state: send deploy/rollback when its
 * reported model differs from the desired one (see moted.c). `on_connect`
 * is 1 for a Thing Description. */
void moted_reconcile(mote_moted_t *m, const char *dev, int on_connect);
/* Event writer (moted_events.c): start its thread; queue one event (the
 * JSON is copied; blocks while the queue is full); stop after draining. */
mote_status_t moted_evq_start(mote_moted_t *m);
void moted_evq_put(mote_moted_t *m, const char *dev, uint64_t seq, int64_t ts, const char *kind, const char *json);
/* Heartbeat (re-encoded JSON) and state report (decoded, and re-encoded
 * JSON) for the writer: stored in its next batch, in arrival order per device. */
void moted_evq_put_hb(mote_moted_t *m, const char *dev, const char *json);
void moted_evq_put_state(mote_moted_t *m, const char *dev, const mote_proto_state_t *s, const char *json);
/* After a state report is committed: graph deployment and reconciliation (moted.c). */
void moted_state_applied(mote_moted_t *m, const char *dev, const mote_proto_state_t *s);
void moted_evq_stop(mote_moted_t *m);

/* Reconcile online devices that never answered their last command. */
void moted_reconcile_sweep(mote_moted_t *m);

#endif
