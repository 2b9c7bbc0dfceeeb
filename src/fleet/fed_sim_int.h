/* mote fleet: pieces shared by the fed_sim*.c files (private to the
 * simulation; not a public API). */
#ifndef MOTE_FED_SIM_INT_H
#define MOTE_FED_SIM_INT_H

#include <stdint.h>
#include <stdio.h>
#include "fed.h"
#include "fed_sim.h"
#include "mote/learn.h"

/* The parsed config. */
typedef struct fsim_cfg {
    char *features;            /* `mote train` config: dataset + DSP */
    char *backbone;            /* frozen int8 backbone: a `mote train` config
                                  or a .tflite; NULL: DSP features only */
    uint32_t devices, classes_per_device, rounds, participants, local_steps;
    uint32_t threshold, quorum, central_epochs, malicious;
    float lr, l2, mu, step, norm_bound, drop;
    int dp;
    float dp_clip, dp_z;
    double dp_delta;
    uint64_t seed;
} fsim_cfg_t;

/* One simulated device: its slice of the training windows. */
typedef struct fsim_dev {
    uint32_t id;               /* roster id (index + 1) */
    uint32_t *idx;             /* rows of the training matrix, shuffled */
    size_t n, pos;             /* slice size, next local sample */
    uint32_t classes;          /* bit c: holds class c */
    int load;
} fsim_dev_t;

/* Data and state of a whole simulation. */
typedef struct fsim {
    fsim_cfg_t cfg;
    const char *cfg_path;
    float *xtr, *xte;          /* features, standardized after round 0 */
    int32_t *ytr, *yte;
    int *load_tr;              /* load of each training window's recording */
    size_t ntr, nte, dim;
    uint32_t n_classes;
    double window_bytes;       /* raw bytes of one window (f32 samples) */
    fsim_dev_t *dev;
    mote_learn_config_t hcfg;
    uint32_t n_params;
    size_t blob_len;           /* bytes of a saved head (global broadcast) */
    uint8_t sign_pk[32], sign_sk[64];
    FILE *ledger;
    uint8_t ledger_prev[32];
    int quiet;
} fsim_t;

/* fed_sim.c; out_dir (may be NULL) receives a trained backbone */
mote_status_t fsim_load(fsim_t *s, const char *path, const char *out_dir, int quiet, char *msg,
                        size_t size);
void fsim_free(fsim_t *s);
/* A zeroed head of the configured shape; free(*buf) afterwards. */
mote_status_t fsim_head(const fsim_t *s, mote_learn_head_t *h, void **buf);
/* Accuracy of parameters p on the test set. */
double fsim_accuracy(const fsim_t *s, const float *p);
/* splitmix64 step: the simulation's only randomness besides libsodium. */
uint64_t fsim_rand(uint64_t *state);
/* Shuffle v[0..n) with a generator seeded by seed. */
void fsim_shuffle(uint32_t *v, size_t n, uint64_t seed);

/* fed_sim_backbone.c: replace the features by the backbone's tap (no-op
 * without cfg.backbone). */
mote_status_t fsim_backbone(fsim_t *s, const char *out_dir, char *msg, size_t size);

/* fed_sim_run.c */
mote_status_t fsim_reference(fsim_t *s, mote_fed_sim_result_t *r, char *msg, size_t size);
mote_status_t fsim_variant(fsim_t *s, const char *name, int masked, int attack, int dp,
                           mote_fed_sim_variant_t *v, char *msg, size_t size);

/* fed_sim_report.c */
mote_status_t fsim_write(const fsim_t *s, const mote_fed_sim_result_t *r, const char *dir,
                         char *msg, size_t size);
mote_status_t fsim_ledger_add(fsim_t *s, const char *variant, const mote_fed_sim_round_t *rd,
                              const uint32_t *rejected_ids, uint32_t n_rej, const uint8_t *blob,
                              size_t blob_len, uint64_t version);

#endif
