/* mote fleet: MQTT topics and message codecs (docs/fleet-protocol.md).
 *
 * Every payload that crosses the broker is built and parsed here, by both
 * the device side (mote-agent, mote-sim) and the manager (moted). Decoders
 * take untrusted bytes of any length: they validate everything, never read
 * past `len`, and on error return a negative mote_status_t with a message
 * naming the field ("evt: field 'seq' missing", "cmd: bad signature").
 * Encoders write into a caller buffer and fail with MOTE_ERR_LIMIT when it
 * is too small. Nothing here allocates memory that outlives a call. */
#ifndef MOTE_PROTO_H
#define MOTE_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_PROTO_ID_LEN 49       /* device id, 1..48 chars, with NUL */
#define MOTE_PROTO_NAME_LEN 64     /* model / class / group names, with NUL */
#define MOTE_PROTO_LABEL_LEN 48    /* feature and class labels, with NUL */
#define MOTE_PROTO_REASON_LEN 160
#define MOTE_PROTO_MAX_EXPLAIN 4
#define MOTE_PROTO_MAX_SUMMARY 8
#define MOTE_PROTO_HIST_BINS 16
#define MOTE_PROTO_MAX_CHUNK 65536
#define MOTE_PROTO_CHUNK_HDR 56    /* magic 8 + sha 32 + offset 8 + total 8 */
#define MOTE_PROTO_CMD_SIG 64
#define MOTE_PROTO_TOPIC_LEN 128
#define MOTE_PROTO_MAX_OPS 64
#define MOTE_PROTO_MAX_SENSORS 8

/* Message kinds, which are also the topic suffixes. */
typedef enum mote_proto_topic {
    MOTE_TOPIC_TD, MOTE_TOPIC_EVT, MOTE_TOPIC_HB, MOTE_TOPIC_STATE,
    MOTE_TOPIC_OTA_REQ, MOTE_TOPIC_FL_UP, MOTE_TOPIC_CMD, MOTE_TOPIC_OTA_DATA,
    MOTE_TOPIC_COUNT
} mote_proto_topic_t;

/* "mote/v1/d/<id>/<suffix>" into buf. MOTE_ERR_ARG for an invalid id. */
mote_status_t mote_proto_topic(char *buf, size_t cap, const char *dev_id, mote_proto_topic_t t);
/* Split a topic: device id and kind. MOTE_ERR_CORRUPT when not ours. */
mote_status_t mote_proto_topic_parse(const char *topic, char dev_id[MOTE_PROTO_ID_LEN],
                                     mote_proto_topic_t *t);
/* 1..48 of [a-z0-9_-]. */
int mote_proto_id_valid(const char *id);

typedef struct mote_proto_model {
    char name[MOTE_PROTO_NAME_LEN]; /* "" = none */
    uint64_t version;               /* 0 = none */
} mote_proto_model_t;

typedef enum mote_proto_evt_kind {
    MOTE_EVT_ANOMALY, MOTE_EVT_CLASS, MOTE_EVT_DRIFT, MOTE_EVT_OTA
} mote_proto_evt_kind_t;

typedef struct mote_proto_event {
    uint64_t seq;
    int64_t ts;                     /* Unix ms */
    mote_proto_evt_kind_t kind;
    mote_proto_model_t model;
    double score, threshold;        /* anomaly */
    char cls[MOTE_PROTO_LABEL_LEN], prev_cls[MOTE_PROTO_LABEL_LEN]; /* class */
    char detector[MOTE_PROTO_LABEL_LEN];                            /* drift */
    uint32_t n_explain;
    struct { char feature[MOTE_PROTO_LABEL_LEN]; double share; } explain[MOTE_PROTO_MAX_EXPLAIN];
    uint32_t n_summary;
    struct { char name[MOTE_PROTO_LABEL_LEN]; double value; } summary[MOTE_PROTO_MAX_SUMMARY];
} mote_proto_event_t;

typedef struct mote_proto_heartbeat {
    uint64_t seq;
    int64_t ts;
    uint64_t uptime_s;
    mote_proto_model_t model;
    char slot;                      /* 'a' or 'b' */
    char slot_state[16];            /* confirmed | pending | rolled_back | empty */
    uint32_t arena;                 /* bytes */
    uint64_t windows, events, queue;
    uint32_t hist[MOTE_PROTO_HIST_BINS];
    uint32_t period_s;
} mote_proto_heartbeat_t;

typedef struct mote_proto_state {
    int64_t ts;
    mote_proto_model_t model, previous;
    char slot;
    char slot_state[16];
    uint64_t cmd_seq;
    char cmd_status[16];            /* ok | refused | failed | "" */
    char reason[MOTE_PROTO_REASON_LEN];
    struct {
        char status[16];            /* idle | downloading | installed | confirmed | rolled_back | refused | failed */
        uint64_t version, offset, total;
        char reason[MOTE_PROTO_REASON_LEN];
    } ota;
    uint32_t heartbeat_s;
    double event_threshold;         /* 0 = model default */
} mote_proto_state_t;

typedef struct mote_proto_ota_req {
    uint8_t bundle[32];             /* SHA-256 of the whole bundle */
    uint64_t offset;
    uint32_t len;                   /* 1..MOTE_PROTO_MAX_CHUNK */
} mote_proto_ota_req_t;

typedef struct mote_proto_chunk {
    uint8_t bundle[32];
    uint64_t offset, total;
    const uint8_t *data;            /* points into the decoded buffer */
    uint32_t len;
} mote_proto_chunk_t;

typedef enum mote_proto_op {
    MOTE_OP_DEPLOY, MOTE_OP_ROLLBACK, MOTE_OP_CONFIG, MOTE_OP_FL_ROUND
} mote_proto_op_t;

typedef struct mote_proto_cmd {
    char dev[MOTE_PROTO_ID_LEN];
    uint64_t seq;
    int64_t ts;
    mote_proto_op_t op;
    /* deploy */
    mote_proto_model_t model;
    uint8_t bundle[32];
    uint64_t size;
    uint32_t chunk;
    char campaign[MOTE_PROTO_NAME_LEN];
    /* rollback */
    char reason[MOTE_PROTO_REASON_LEN];
    /* config (0 / negative = unchanged) */
    uint32_t heartbeat_s;
    double event_threshold;
    /* fl_round (docs/federated.md): round >= 1; the rest optional (0 when
     * absent): local samples to train, deadline (Unix ms), FedProx mu,
     * quantization step, global version to train from, the device's id in
     * the round roster */
    uint64_t round;
    uint32_t fl_steps, fl_id;
    int64_t fl_deadline_ms;
    double fl_mu, fl_step;
    uint64_t fl_version;
} mote_proto_cmd_t;

/* Device facts from a Thing Description (the registry keeps the JSON). */
typedef struct mote_proto_td {
    char id[MOTE_PROTO_ID_LEN];     /* from "urn:mote:dev:<id>" */
    char title[MOTE_PROTO_NAME_LEN];
    char device_class[MOTE_PROTO_NAME_LEN];
    char group[MOTE_PROTO_NAME_LEN];
    uint64_t ram_bytes, flash_bytes;
    char runtime[16];
    uint32_t n_ops;
    char ops[MOTE_PROTO_MAX_OPS][32];
    uint32_t n_sensors;
    struct {
        char type[32], quantity[32], location[32];
        double rate_hz;
    } sensors[MOTE_PROTO_MAX_SENSORS];
    mote_proto_model_t model;
    int trainable_head;
} mote_proto_td_t;

/* JSON encoders: write a NUL-terminated object, *len excludes the NUL. */
mote_status_t mote_proto_event_encode(const mote_proto_event_t *e, char *buf, size_t cap, size_t *len);
mote_status_t mote_proto_heartbeat_encode(const mote_proto_heartbeat_t *h, char *buf, size_t cap, size_t *len);
mote_status_t mote_proto_state_encode(const mote_proto_state_t *s, char *buf, size_t cap, size_t *len);
mote_status_t mote_proto_ota_req_encode(const mote_proto_ota_req_t *r, char *buf, size_t cap, size_t *len);
/* `broker` is put into the forms' hrefs ("127.0.0.1:8883"). */
mote_status_t mote_proto_td_encode(const mote_proto_td_t *td, const char *broker, char *buf, size_t cap,
                                   size_t *len);

/* Decoders: untrusted bytes (not NUL-terminated), `err` gets the reason. */
mote_status_t mote_proto_event_decode(const void *buf, size_t len, mote_proto_event_t *e, char *err, size_t errsz);
mote_status_t mote_proto_heartbeat_decode(const void *buf, size_t len, mote_proto_heartbeat_t *h, char *err,
                                          size_t errsz);
mote_status_t mote_proto_state_decode(const void *buf, size_t len, mote_proto_state_t *s, char *err, size_t errsz);
mote_status_t mote_proto_ota_req_decode(const void *buf, size_t len, mote_proto_ota_req_t *r, char *err,
                                        size_t errsz);
mote_status_t mote_proto_td_decode(const void *buf, size_t len, mote_proto_td_t *td, char *err, size_t errsz);

/* Binary chunk: header + data into buf (cap >= MOTE_PROTO_CHUNK_HDR + len). */
mote_status_t mote_proto_chunk_encode(const mote_proto_chunk_t *c, uint8_t *buf, size_t cap, size_t *len);
mote_status_t mote_proto_chunk_decode(const void *buf, size_t len, mote_proto_chunk_t *c, char *err, size_t errsz);

/* Signed command: signature ‖ JSON body. `sk` is the 64-byte fleet key. */
mote_status_t mote_proto_cmd_encode(const mote_proto_cmd_t *c, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
                                    uint8_t *buf, size_t cap, size_t *len);
/* Verifies the signature against `pk` first, then decodes the body. It
 * does not check `dev` or `seq`: the receiver compares them with its own id
 * and its last accepted seq (MOTE_ERR_VERIFY for a bad signature). */
mote_status_t mote_proto_cmd_decode(const void *buf, size_t len, const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                                    mote_proto_cmd_t *c, char *err, size_t errsz);

const char *mote_proto_evt_kind_str(mote_proto_evt_kind_t k);
const char *mote_proto_op_str(mote_proto_op_t op);

#ifdef __cplusplus
}
#endif
#endif
