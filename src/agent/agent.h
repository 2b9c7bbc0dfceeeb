/* mote agent: the device side of the fleet (docs/agent.md).
 *
 * One mote_agent_t is one device: its state folder (A/B model slots, event
 * queue, accepted command seq, download in progress), its signal path
 * (device.h) and one MQTT v5 connection (libmosquitto). The core never
 * blocks and owns no thread: a caller feeds samples (mote_agent_feed),
 * watches the socket (mote_agent_fd, mote_agent_want_write) with poll(),
 * and calls mote_agent_io on readiness and mote_agent_step about every
 * 100 ms. mote-agent runs one; mote-sim runs thousands in one loop.
 *
 * What it does, per docs/fleet-protocol.md: on connect, the retained Thing
 * Description and state, then the queued events at QoS 1 (removed from the
 * disk queue on PUBACK only), a heartbeat every heartbeat_s; windows that
 * raise an anomaly, change the class or trip the drift detector become
 * events. Commands are verified (fleet key signature, device id, seq above
 * the last accepted one, persisted) and refusals reported in `state`.
 * `deploy` downloads the bundle chunk by chunk into the inactive slot
 * (resuming after a restart), commits, switches, runs the health check,
 * then confirms or rolls back; every step is reported in `state`. */
#ifndef MOTE_AGENT_H
#define MOTE_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include "device.h"
#include "equeue.h"
#include "proto.h"
#include "slots.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_AGENT_PATH_LEN 400
#define MOTE_AGENT_MAX_INFLIGHT 64

typedef void (*mote_agent_log_fn)(void *user, const char *line);

struct mote_agent;

/* Models loaded by a set of agents, shared when their bytes are equal. */
typedef struct mote_agent_cache {
    mote_device_model_t **m;
    size_t n, cap;
} mote_agent_cache_t;

/* Drop the cache's references (models still used by agents stay). */
void mote_agent_cache_clear(mote_agent_cache_t *c);

typedef struct mote_agent_config {
    const char *id;            /* device id, 1..48 of [a-z0-9_-] */
    const char *host;          /* broker */
    int port;
    const char *user, *pass;   /* NULL: user = id, no password */
    const char *cafile;        /* TLS when set */
    const char *cert, *key;    /* TLS client certificate (optional) */
    const uint8_t *fleet_pk;   /* 32 bytes, caller-owned, must outlive the agent */
    const char *state_dir;     /* existing folder, owned by this agent */
    const char *device_class;  /* "cwru-gw" when NULL */
    const char *group;         /* "default" when NULL */
    uint64_t ram_bytes;        /* announced in the TD (mote:ramBytes), 65536 when 0 */
    uint32_t heartbeat_s;      /* 60 when 0 */
    uint32_t keepalive_s;      /* MQTT keepalive, 30 when 0 */
    uint32_t retry_ms;         /* chunk request timeout, 5000 when 0 */
    uint32_t max_inflight;     /* events in flight, 1..MOTE_AGENT_MAX_INFLIGHT (16) */
    mote_equeue_sync_t sync;   /* fsync policy of all device storage: event queue, A/B slots, state files */
    mote_device_config_t device;
    mote_agent_cache_t *cache; /* may be NULL */
    mote_agent_log_fn log;     /* may be NULL */
    void *log_user;
    /* Federated rounds (docs/agent.md): a verified, accepted fl_round
     * command, and each message on mote/v1/fl/global (untrusted bytes: the
     * callee checks the fleet signature). NULL fl_round: the command is
     * refused and the broadcast topic is not subscribed. */
    void (*fl_round)(void *user, struct mote_agent *a, const mote_proto_cmd_t *c, int64_t now_ms);
    void (*fl_global)(void *user, struct mote_agent *a, const void *buf, size_t len, int64_t now_ms);
    void *fl_user;
} mote_agent_config_t;

typedef struct mote_agent_ota {
    int active;
    uint64_t version, size, offset;
    uint32_t chunk;
    uint8_t bundle[32];
    int64_t req_ms;            /* when the outstanding request was sent, 0: none */
    uint32_t tries;
} mote_agent_ota_t;

typedef struct mote_agent_stats {
    uint64_t windows;          /* processed since start */
    uint64_t events;           /* queued since start */
    uint64_t published;        /* event publishes (incl. resends) */
    uint64_t acked;            /* PUBACKs of events */
    uint64_t heartbeats;
    uint64_t connects, disconnects;
    uint64_t bytes_evt, bytes_hb;       /* payload bytes sent */
    uint64_t by_kind[4];       /* events queued per mote_proto_evt_kind_t */
    uint64_t cmd_refused;
    uint64_t bytes_fl;         /* federated update bytes published */
} mote_agent_stats_t;

typedef struct mote_agent {
    mote_agent_config_t cfg;
    char id[MOTE_PROTO_ID_LEN];
    char dir[MOTE_AGENT_PATH_LEN];
    char broker[80];
    struct mosquitto *mq;
    int connected;             /* CONNACK received */
    int64_t next_connect_ms;
    uint32_t backoff_ms;
    mote_equeue_t q;
    uint64_t sent_after;       /* events up to this seq were published on this connection */
    struct { int mid; uint64_t seq; } inflight[MOTE_AGENT_MAX_INFLIGHT];
    uint32_t n_inflight;
    mote_slots_t slots;
    char slots_dir[MOTE_AGENT_PATH_LEN + 24];
    mote_bundle_key_t key;     /* the fleet key, as the slots want it */
    int slots_open;
    mote_device_t dev;
    int has_dev;
    float *win;                /* frame_len samples */
    uint32_t fill;
    /* reported state */
    mote_proto_model_t previous;
    uint64_t cmd_seq;
    char cmd_status[16];
    char reason[MOTE_PROTO_REASON_LEN];
    char ota_status[16];
    char ota_reason[MOTE_PROTO_REASON_LEN];
    mote_agent_ota_t ota;
    uint32_t heartbeat_s;
    double event_threshold;
    int state_dirty;
    /* heartbeat */
    int64_t start_ms, last_hb_ms;
    uint64_t hb_seq;
    uint32_t hist[MOTE_PROTO_HIST_BINS];
    float last_threshold;
    mote_agent_stats_t st;
    char msg[512];
} mote_agent_t;

/* Open the state folder (slots/, queue/ and small files, created as
 * needed), boot the slots (health check of a pending model, confirm or
 * roll back), load the active model, resume an interrupted download. The
 * MQTT connection is made by mote_agent_step. Errors: MOTE_ERR_ARG (bad
 * id or missing field), MOTE_ERR_IO, those of the queue and the slots;
 * the message is in a->msg. */
mote_status_t mote_agent_open(mote_agent_t *a, const mote_agent_config_t *cfg);
/* Disconnect and release everything; the state folder keeps it all. */
void mote_agent_close(mote_agent_t *a);

/* Push samples of the sensor stream (any count). Each complete window
 * (frame_len samples, hop from the .dspcfg) runs the signal path; events
 * go to the disk queue. Samples are dropped while no model is installed.
 * now_ms: Unix milliseconds, used as event time. */
mote_status_t mote_agent_feed(mote_agent_t *a, const float *x, size_t n, int64_t now_ms);

/* Samples per hop (the caller's pacing unit), 0 without a model. */
uint32_t mote_agent_hop(const mote_agent_t *a);

/* Timers: connect / reconnect with backoff, heartbeat, event publishing,
 * chunk request retries, MQTT keepalive. Call every ~100 ms. */
void mote_agent_step(mote_agent_t *a, int64_t now_ms);

/* Socket to poll (-1 when not connected) and whether to poll for POLLOUT. */
int mote_agent_fd(const mote_agent_t *a);
int mote_agent_want_write(const mote_agent_t *a);
/* The socket is readable and/or writable. */
void mote_agent_io(mote_agent_t *a, int readable, int writable, int64_t now_ms);

/* Publish a federated update on mote/v1/d/<id>/fl/up at QoS 1 (libmosquitto
 * keeps it until PUBACK while connected). MOTE_ERR_STATE when not
 * connected, MOTE_ERR_IO when the client refuses it. */
mote_status_t mote_agent_publish_fl(mote_agent_t *a, const void *buf, size_t len);

/* Events waiting for a PUBACK. */
size_t mote_agent_pending(const mote_agent_t *a);

/* Unix time in milliseconds (CLOCK_REALTIME). */
int64_t mote_agent_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
