/* mote fleet: in-process federated learning simulation (`mote fed sim`).
 *
 * Devices and the server run in one process but talk only through the
 * calls and bytes the fleet uses (fed.h, fedupdate.h, secagg.h, shamir.h):
 * every update is encoded, decoded and aggregated as it would cross the
 * broker, and every byte that would be sent is counted.
 *
 * Data: the windows of a dataset spec turned into DSP features by the
 * pipeline (mote_train_features with the DSP of a `mote train` config),
 * optionally passed through a frozen int8 backbone run by libmote with a
 * tap on one tensor. The training split is cut into non-IID device slices
 * (each device holds some classes at some loads); the test split is the
 * common evaluation set.
 *
 * A run: round 0 pools feature statistics (count, sums, sums of squares)
 * for standardization; then for each variant (secure aggregation on, off,
 * under attack, with differential privacy) `rounds` rounds of select ->
 * broadcast signed global -> local FedProx training -> int8 delta with
 * error feedback -> (masked) upload -> drop-outs at random after masking
 * -> deadline -> Shamir recovery -> FedAvg -> ledger; plus a head trained
 * centrally on the pooled device data and local-only heads, for
 * reference. Config keys: top of fed_sim.c and docs/federated.md. */
#ifndef MOTE_FED_SIM_H
#define MOTE_FED_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_FED_SIM_MSG_LEN 1536
#define MOTE_FED_SIM_MAX_ROUNDS 1000u
#define MOTE_FED_SIM_MAX_VARIANTS 4

/* Options of one run (zero-initialize for defaults). */
typedef struct mote_fed_sim_opts {
    const char *out_dir;  /* created if missing; NULL: nothing written */
    int quiet;            /* no progress on stderr */
    int has_rounds;       /* override the config's round count */
    uint32_t rounds;
} mote_fed_sim_opts_t;

/* One round of one variant as measured. */
typedef struct mote_fed_sim_round {
    uint32_t round;
    uint32_t selected, received, dropped, recovered, rejected;
    int ok;               /* the round produced a new global */
    double accuracy;      /* global head on the test set after the round */
    double bytes_up, bytes_down; /* mean per selected device this round */
    double epsilon;       /* DP budget spent so far, or NaN */
} mote_fed_sim_round_t;

typedef struct mote_fed_sim_variant {
    char name[16];        /* "secagg", "plain", "attack", "dp" */
    int masked;
    mote_fed_sim_round_t *rounds;
    uint32_t n_rounds;
    double final_accuracy;
    double up_per_device;   /* bytes a device sends in the whole training
                               (mean over devices; round 0 not included) */
    double down_per_device; /* bytes a device receives, likewise */
    float *global;        /* final parameters (n_params) */
} mote_fed_sim_variant_t;

/* Everything a run measured. Free with mote_fed_sim_result_free. */
typedef struct mote_fed_sim_result {
    uint32_t n_devices, n_features, n_classes, n_params;
    uint64_t n_train, n_test;   /* pooled device windows, test windows */
    double central_accuracy;    /* head trained on the pooled device data */
    double local_mean, local_min, local_max; /* local-only heads on the test set */
    mote_fed_sim_variant_t var[MOTE_FED_SIM_MAX_VARIANTS];
    uint32_t n_var;
    int bit_identical;          /* secagg and plain globals equal, -1 if not run */
    double raw_bytes_per_device; /* uploading the raw training windows, mean */
    double stats_up, stats_down;   /* round 0 bytes per device */
    int64_t rounds_to_target;   /* first round within 1 point of central, -1 */
    double seconds;
} mote_fed_sim_result_t;

/* Run the simulation described by the JSON config at config_path.
 * Errors: MOTE_ERR_IO, MOTE_ERR_FORMAT, MOTE_ERR_ARG (a config value,
 * named by its JSON key), the pipeline's, MOTE_ERR_NOMEM; msg explains. */
mote_status_t mote_fed_sim_run(const char *config_path, const mote_fed_sim_opts_t *opts,
                               mote_fed_sim_result_t *res, char *msg, size_t msg_size);

/* Human-readable summary. */
void mote_fed_sim_print(FILE *f, const mote_fed_sim_result_t *res);

void mote_fed_sim_result_free(mote_fed_sim_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
