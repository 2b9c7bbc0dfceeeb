/* mote agent: the device's signal path, from a window of samples to a
 * decision, on the real libmote code a microcontroller would run.
 *
 *   window (frame_len samples) -> mote_dsp_frame (the package's .dspcfg)
 *   -> quantize -> int8 .tflite (mote_model_invoke) -> class + confidence
 *   -> streaming standardizer of the features, frozen after `warmup`
 *      windows (mote_learn_std): the device's own baseline
 *   -> anomaly score = mean squared z-score of the features, judged by an
 *      adaptive threshold calibrated on the next `warmup` windows, then
 *      frozen (mote_anomaly_thr), or a fixed threshold
 *   -> Page-Hinkley drift detector on the score (mote_drift_ph)
 *   -> explanation: each feature group's share of the squared deviation
 *      (mote_anomaly_explain against the baseline mean), top 4 named
 *      ("band 2500-2625 Hz").
 *
 * A model (mote_device_model_t) is immutable once loaded and can be shared
 * by any number of devices (mote-sim); each device (mote_device_t) holds
 * only its own arena, DSP scratch and statistics (about 6 KB). */
#ifndef MOTE_DEVICE_H
#define MOTE_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include "mote/anomaly.h"
#include "mote/drift.h"
#include "mote/dsp.h"
#include "mote/learn.h"
#include "mote/model.h"
#include "mote/status.h"
#include "head_dev.h"
#include "proto.h"
#include "slots.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_DEVICE_MAX_CLASSES 32
#define MOTE_DEVICE_MAX_FEATURES 512
#define MOTE_DEVICE_MSG_LEN 256

/* A loaded model package: .tflite, .dspcfg and the model card's class
 * names. Reference counted; all fields read-only after load. */
typedef struct mote_device_model {
    uint8_t *tflite;               /* heap, owned */
    size_t tflite_len;
    mote_dsp_config_t dsp;
    float *window, *twiddles;      /* DSP tables, shared by every device */
    uint32_t n_features;
    mote_proto_model_t id;         /* name (model card) and bundle version */
    uint32_t n_classes;
    char classes[MOTE_DEVICE_MAX_CLASSES][MOTE_PROTO_LABEL_LEN];
    int normal;                    /* index of class "normal", -1 if none */
    size_t arena_bytes;            /* mote_model_arena_size */
    uint16_t *groups;              /* explanation groups: one per feature */
    uint8_t digest[32];            /* SHA-256 of the three payloads + version */
    mote_head_dev_t *head;         /* federated head from the card, or NULL (owned) */
    unsigned refs;
} mote_device_model_t;

/* Load from payload bytes (copied): tflite, dspcfg, model card JSON (its
 * "name" and "output.classes" are read, and "head" when present: then
 * the classes are the head's, head_dev.h). `version` is the bundle's.
 * *out has one reference. Errors: the runtime's status for a model it
 * refuses, the DSP parser's, MOTE_ERR_FORMAT for a card without classes,
 * MOTE_ERR_SHAPE when the model's input size differs from the DSP's
 * feature count or a head does not fit the model's tap (the agent's health
 * check then rolls the update back); msg names the payload. */
mote_status_t mote_device_model_load(const uint8_t *tflite, size_t tflite_len, const uint8_t *dspcfg,
                                     size_t dspcfg_len, const char *card, size_t card_len,
                                     uint64_t version, mote_device_model_t **out, char *msg,
                                     size_t msg_size);

/* Load the active slot's model (payloads ending .tflite, .dspcfg, .json).
 * MOTE_ERR_NOT_FOUND when the store has no model. */
mote_status_t mote_device_model_from_slots(mote_slots_t *s, mote_device_model_t **out, char *msg,
                                           size_t msg_size);

/* Another reference / drop one (frees at zero). NULL is ignored. */
mote_device_model_t *mote_device_model_ref(mote_device_model_t *m);
void mote_device_model_unref(mote_device_model_t *m);

/* Tuning of the decision layer (zero fields take the defaults). */
typedef struct mote_device_config {
    uint32_t warmup;        /* windows for the baseline and again for the threshold (64) */
    double threshold;       /* > 0: fixed anomaly threshold on the score; 0: adaptive */
    uint32_t debounce;      /* windows of a new class before it is reported (3) */
    float ph_delta;         /* Page-Hinkley on the score: tolerated rise (0.5) */
    float ph_lambda;        /* alarm level (50) */
} mote_device_config_t;

/* What one window produced. */
#define MOTE_DEVICE_F_ANOMALY 0x1u /* an anomaly was raised by this window */
#define MOTE_DEVICE_F_CLASS 0x2u   /* the reported class changed */
#define MOTE_DEVICE_F_DRIFT 0x4u   /* the drift detector fired */
#define MOTE_DEVICE_F_WARM 0x8u    /* baseline and threshold are learned */

typedef struct mote_device_result {
    uint32_t flags;
    int cls, prev_cls;     /* reported (debounced) class; prev before a change, -1 none */
    int raw_cls;           /* this window's argmax */
    float confidence;      /* probability of raw_cls, 0..1 */
    float score;           /* anomaly score (0 while warming up) */
    float threshold;       /* in force; +inf while warming up */
    uint32_t n_top;        /* explanation: features with the largest shares */
    uint32_t top[4];
    float share[4];
    mote_dsp_stats_t stats; /* of the raw window */
} mote_device_result_t;

typedef struct mote_device {
    mote_device_model_t *model; /* one reference held */
    mote_device_config_t cfg;
    mote_model_t net;
    uint8_t *arena;             /* heap, 16-aligned */
    mote_dsp_t dsp;
    void *dsp_state;
    float *feat, *z, *zero, *share;
    mote_learn_std_t std;
    void *std_buf;
    mote_head_run_t head;       /* used when model->head */
    int has_head;
    mote_anomaly_thr_t thr;
    mote_drift_ph_t ph;
    uint64_t windows;
    int cls, cand;              /* reported class, candidate */
    uint32_t cand_run;
    char msg[MOTE_DEVICE_MSG_LEN];
} mote_device_t;

/* Set up a device on `model` (takes its own reference). Errors: the
 * runtime's (arena), MOTE_ERR_ARG, MOTE_ERR_NOMEM. */
mote_status_t mote_device_init(mote_device_t *d, mote_device_model_t *model,
                               const mote_device_config_t *cfg);
/* Release everything d holds. */
void mote_device_free(mote_device_t *d);

/* Process one window of frame_len samples (model->dsp.frame_len). */
mote_status_t mote_device_window(mote_device_t *d, const float *x, mote_device_result_t *r);

/* Fill the explanation and feature summary of an event from a result. */
void mote_device_explain(const mote_device_t *d, const mote_device_result_t *r,
                         mote_proto_event_t *e);

/* Name of feature i of the model's vector ("band 125-250 Hz", "rms"). */
void mote_device_feature_name(const mote_device_model_t *m, uint32_t i, char *buf, size_t cap);

/* Anomaly score bin of the heartbeat histogram: width threshold/8 from 0,
 * the last bin open (0..MOTE_PROTO_HIST_BINS-1). */
uint32_t mote_device_hist_bin(float score, float threshold);

#ifdef __cplusplus
}
#endif
#endif
