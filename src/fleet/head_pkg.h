/* mote fleet: a model package that carries a federated head
 * (`mote fed package`, docs/federated.md "Deploying the federated head").
 *
 * Input: a trained package folder (NAME.tflite, NAME.dspcfg, NAME.json
 * from `mote train`: the backbone the federated config used) and a head
 * state blob (mote_learn_save, "MOTL"), optionally with its fleet
 * signature (mote_fed_global_sign). Output: a new package folder with the
 * same .tflite and .dspcfg, the head as NAME.head.motl, and a model card
 * whose "head" object describes the head and carries its bytes (hex), so
 * that any registration path that bundles the three usual files (moted's
 * included) ships the head too.
 *
 * The heads of `moted --fed` learn on standardized features (the pooled
 * statistics of round 0) and are saved without a standardizer; the device
 * must standardize the same way, so those statistics are recomputed here
 * from the federated config and written into the blob's standardizer
 * section (frozen). A head whose input width differs from the backbone's
 * tap (the input of its last FULLY_CONNECTED layer) is refused. */
#ifndef MOTE_HEAD_PKG_H
#define MOTE_HEAD_PKG_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_HEAD_PKG_MSG_LEN 1024

/* What to package. Paths stay caller-owned. */
typedef struct mote_head_pkg_opts {
    const char *pkg_dir;    /* backbone package folder (required) */
    const char *name;       /* NAME of NAME.tflite; NULL: the folder's only .tflite */
    const char *head;       /* .motl state blob (required) */
    const char *sig;        /* 64-byte signature file; NULL: HEAD's .sig beside it if present */
    const char *pk;         /* fleet public key (PREFIX.pk); required to verify a signature */
    uint32_t round;         /* round and version the signature covers */
    uint64_t version;
    const char *fed_config; /* `moted --fed` config: pooled standardization; NULL if the blob has one */
    const char *out_dir;    /* created if missing (required) */
} mote_head_pkg_opts_t;

/* What was written. */
typedef struct mote_head_pkg_result {
    char name[128];
    uint32_t n_features, n_classes, tap_tensor;
    int signed_ok;          /* 1: signature verified, 0: none given */
    int pooled_std;         /* 1: statistics recomputed from fed_config */
    double accuracy;        /* with pooled_std: the packaged head on the config's raw test
                               features, as a device computes it (0..1); else -1 */
    size_t head_bytes;      /* NAME.head.motl */
    char blake2b[65];       /* BLAKE2b-256 of the blob as trained (hex, as the ledger's fl_round "head") */
} mote_head_pkg_result_t;

/* Check and write the package. Errors: MOTE_ERR_ARG (options), MOTE_ERR_IO,
 * MOTE_ERR_VERIFY (signature), MOTE_ERR_SHAPE (head width vs the tap, class
 * count vs the card, standardizer size), MOTE_ERR_FORMAT (card), the blob
 * validator's; msg (size bytes) names the file and the field. */
mote_status_t mote_head_pkg_write(const mote_head_pkg_opts_t *o, mote_head_pkg_result_t *r, char *msg,
                                  size_t size);

#ifdef __cplusplus
}
#endif
#endif
