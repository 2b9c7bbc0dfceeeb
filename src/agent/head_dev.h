/* mote agent: a federated head on the device (docs/agent.md "Federated
 * head"). A model package made by `mote fed package` carries, in its model
 * card's "head" object, a softmax head (mote_learn_save state blob, hex)
 * trained on the backbone's tap: the input of the .tflite's last
 * FULLY_CONNECTED layer. When present, the device classifies with the
 * head on those features (standardized by the blob's frozen statistics)
 * instead of the model's own softmax, and names classes from the head.
 *
 * Split like device.h: mote_head_dev_t is the parsed, immutable head
 * shared by every device on a model; mote_head_run_t is one device's
 * working copy (about 4 (classes + 3) features bytes). */
#ifndef MOTE_HEAD_DEV_H
#define MOTE_HEAD_DEV_H

#include <stddef.h>
#include <stdint.h>
#include "mote/learn.h"
#include "mote/model.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_HEAD_MAX_CLASSES 32
#define MOTE_HEAD_NAME_LEN 64

typedef struct mote_head_dev {
    uint8_t *blob;                 /* state blob, heap, owned */
    size_t len;
    mote_learn_blob_info_t info;
    uint32_t tap_tensor, n_features;
    uint32_t round;                /* federated round and global version, from the card */
    uint64_t version;
    uint32_t n_classes;
    char classes[MOTE_HEAD_MAX_CLASSES][MOTE_HEAD_NAME_LEN];
} mote_head_dev_t;

/* Parse a model card (JSON text, card_len bytes) and, when it has a
 * "head" object, check the head against the model `net` (loaded, not
 * necessarily prepared) and return it in *out (caller frees with
 * mote_head_dev_free); *out stays NULL without a head. Refused, with msg
 * naming the field: a state that is not hex or not a valid blob
 * (MOTE_ERR_FORMAT or the blob validator's status), a head that is not
 * softmax, whose input width differs from the tap's or whose class count
 * differs from its "classes" list (MOTE_ERR_SHAPE), more than
 * MOTE_HEAD_MAX_CLASSES classes (MOTE_ERR_LIMIT). */
mote_status_t mote_head_dev_parse(const char *card, size_t card_len, const mote_model_t *net,
                                  mote_head_dev_t **out, char *msg, size_t msg_size);

/* Free a parsed head (NULL is ignored). */
void mote_head_dev_free(mote_head_dev_t *h);

/* One device's head: weights, standardizer, tap and scratch. */
typedef struct mote_head_run {
    mote_learn_head_t head;
    mote_learn_std_t std;
    int has_std;
    mote_learn_tap_t tap;
    void *head_buf, *std_buf;
    float *x, *p;                  /* tapped features; class probabilities */
} mote_head_run_t;

/* Restore hd into r and bind the tap on `net` (prepared, caller-owned,
 * must outlive r). Errors: MOTE_ERR_NOMEM, the learn API's. */
mote_status_t mote_head_run_init(mote_head_run_t *r, const mote_head_dev_t *hd, const mote_model_t *net);

/* Run `net` (its input already set) reading the tap, standardize, and
 * classify with the head: returns the class, *conf its probability. */
mote_status_t mote_head_run_classify(mote_head_run_t *r, mote_model_t *net, uint32_t *cls, float *conf);

/* Release r's buffers. */
void mote_head_run_free(mote_head_run_t *r);

#ifdef __cplusplus
}
#endif
#endif
