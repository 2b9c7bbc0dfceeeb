/* mote pipeline: replay recordings as a stream through the on-device
 * learning code (host only). This is the library behind `mote learn`.
 *
 * Per stream sample (one dataset window), in the order a device runs it:
 *
 *   window -> front end (mote/dsp.h: the packaged .dspcfg, band energies
 *   of a spectrum row, or the raw values) -> [int8 backbone: quantize with
 *   the input tensor's scale and zero point, mote_model_invoke_hooked with
 *   a mote_learn_tap_t on one tensor] -> features
 *   classify: standardizer (mote_learn_std) -> softmax head
 *             (mote_learn_predict; mote_learn_update when a label arrives;
 *             mote_learn_add_class for a label of a class the head lacks)
 *   anomaly:  reconstruction through the backbone's last dense layer kept
 *             learning (mote_anomaly_ol) or an Isolation Forest
 *             (mote_iforest_score) -> adaptive threshold (mote_anomaly_thr)
 *   -> drift detectors (mote/drift.h) on the error / confidence / score
 *   stream -> policy (mote_drift_policy_apply) whose actions the engine
 *   carries out: boost the learning rate, request labels, re-warm the
 *   standardizer or the threshold.
 *
 * Only the orchestration (reading windows, the label schedule, logging)
 * is host code; every number a device would compute comes from libmote.
 *
 * The config is a JSON file; every key is listed at the top of
 * online_config.c and in examples/online/README.md. Unknown keys are
 * errors and messages name the file and the JSON path ("cfg.json:
 * stream.phases[1].segments[0].split: ...").
 *
 * Errors: a failing call returns a negative mote_status_t and writes a
 * NUL-terminated explanation (at most msg_size bytes; MOTE_ONLINE_MSG_LEN
 * is always enough) to msg when it is not NULL. */
#ifndef MOTE_ONLINE_H
#define MOTE_ONLINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "dataset.h"
#include "iforest_train.h"
#include "mote/anomaly.h"
#include "mote/drift.h"
#include "mote/dsp.h"
#include "mote/learn.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_ONLINE_MSG_LEN 1536
#define MOTE_ONLINE_MAX_PHASES 16
#define MOTE_ONLINE_MAX_SEGMENTS 64
#define MOTE_ONLINE_MAX_DETECTORS 4
#define MOTE_ONLINE_MAX_NAMES 64

typedef enum mote_online_task {
    MOTE_ONLINE_CLASSIFY = 0, /* softmax head on the features */
    MOTE_ONLINE_ANOMALY = 1,  /* anomaly score + adaptive threshold */
} mote_online_task_t;

/* What turns one window into the feature vector (before the backbone). */
typedef enum mote_online_front {
    MOTE_ONLINE_FRONT_RAW = 0,   /* the window's values as they are */
    MOTE_ONLINE_FRONT_DSP = 1,   /* mote_dsp_extract with a DSP config */
    MOTE_ONLINE_FRONT_BANDS = 2, /* a magnitude-spectrum row: log energy of
                                    linear bands of |X|^2 (mote_dsp_linbands) */
} mote_online_front_t;

/* How the sources (one recording's windows each) of a phase are merged. */
typedef enum mote_online_mix {
    MOTE_ONLINE_MIX_SEQUENCE = 0, /* one recording after the other */
    MOTE_ONLINE_MIX_RANDOM = 1,   /* next window from a source drawn with
                                     probability proportional to what it has
                                     left, so all end together; each source
                                     keeps its time order */
    MOTE_ONLINE_MIX_ROUND_ROBIN = 2,
} mote_online_mix_t;

/* Windows of some recordings of one dataset spec. */
typedef struct mote_online_segment {
    char *dataset;      /* spec path, resolved against the config's folder */
    int all;            /* every window of the usable range, ignoring splits */
    mote_split_t split; /* else: the windows of this split */
    char **classes;     /* keep recordings of these classes (NULL: all) */
    size_t n_classes;
    char **files;       /* keep recordings with these "file" values (NULL: all) */
    size_t n_files;
    size_t from, to;    /* window range inside each recording; to == 0: to the end */
} mote_online_segment_t;

/* When labels arrive. A sample gets its label when the policy asked for
 * labels (always), or when the schedule picks it: index >= after, fewer
 * than max labels given so far (0: no limit), its class in `classes` (or
 * no class list), and either every > 0 and (index - offset) % every == 0,
 * or rate > 0 and a seeded draw below rate. none: only on request. */
typedef struct mote_online_labels {
    int none;
    uint32_t every, offset;
    double rate;
    uint64_t after;
    uint64_t max;
    char **classes;
    size_t n_classes;
} mote_online_labels_t;

typedef struct mote_online_phase {
    char *name;
    mote_online_mix_t mix;
    uint32_t repeat;               /* replay the sources this many times (>= 1) */
    uint32_t block;                /* > 0: repeat as random blocks of this many
                                      consecutive windows instead (long
                                      stationary replays) */
    uint64_t length;               /* with block: samples in the phase */
    mote_online_segment_t *segments;
    size_t n_segments;
    int has_labels;                /* labels below override the config's */
    mote_online_labels_t labels;
} mote_online_phase_t;

typedef enum mote_online_input {
    MOTE_ONLINE_IN_ERROR = 0,      /* 0/1 mistakes on labelled samples */
    MOTE_ONLINE_IN_CONFIDENCE = 1, /* 1 - top probability, every sample */
    MOTE_ONLINE_IN_SCORE = 2,      /* anomaly score, every sample */
} mote_online_input_t;

typedef enum mote_online_det {
    MOTE_ONLINE_DET_PH = 0,
    MOTE_ONLINE_DET_ADWIN = 1,
    MOTE_ONLINE_DET_DDM = 2,
} mote_online_det_t;

typedef struct mote_online_detector {
    mote_online_det_t kind;
    mote_online_input_t input;
    mote_drift_ph_config_t ph;
    mote_drift_adwin_config_t adwin;
    mote_drift_ddm_config_t ddm;
} mote_online_detector_t;

typedef enum mote_online_anom {
    MOTE_ONLINE_ANOM_RECON = 0,   /* backbone = autoencoder */
    MOTE_ONLINE_ANOM_IFOREST = 1, /* forest grown on the pretrain features */
} mote_online_anom_t;

/* A parsed config (read-only for callers; owns its strings). */
typedef struct mote_online_config {
    char *path;
    mote_online_task_t task;
    /* backbone: trained here from a `mote train` config, or a given model */
    char *backbone_train; /* train config path, or NULL */
    char *backbone_model; /* .tflite path, or NULL */
    char *backbone_dspcfg; /* .dspcfg path for a given model, or NULL */
    /* or fitted here on the pretrain features (standardized by a frozen
     * mote_learn_std that then runs in front of it): */
    int has_fit;
    int fit_ae;           /* autoencoder (else classifier of `classes`) */
    int32_t fit_layers[8]; /* hidden dense widths, each followed by a relu */
    size_t n_fit_layers;
    uint32_t fit_epochs, fit_batch, fit_seed;
    float fit_lr;
    int64_t tap_index;    /* >= 0: this tensor; -1: by name; -2: penultimate */
    char *tap_name;
    /* front end */
    mote_online_front_t front;
    int front_given;      /* else derived from the backbone */
    mote_dsp_config_t dsp; /* MOTE_ONLINE_FRONT_DSP without a backbone .dspcfg */
    uint32_t bands;       /* BANDS: number of bands over the row */
    float log_floor;
    /* classify */
    char **classes;       /* head classes at start */
    size_t n_classes;
    mote_learn_config_t head;
    uint32_t std_warmup;  /* standardizer freeze_after (0: never frozen) */
    int std_compensated;
    int std_off;          /* no standardizer */
    /* anomaly */
    mote_online_anom_t anom;
    char **normal;        /* classes that count as normal */
    size_t n_normal;
    float ol_lr;
    int ol_normalized;
    int adapt;            /* recon: output layer keeps learning on samples not flagged */
    float ol_learn_below; /* recon: 0, or learn only below this fraction of the threshold */
    mote_anomaly_thr_config_t thr;
    int thr_adapt;        /* 0: the threshold is frozen after pretraining */
    mote_iforest_params_t iforest;
    uint32_t groups;      /* explanation groups over the features (0: none) */
    /* drift */
    mote_online_detector_t det[MOTE_ONLINE_MAX_DETECTORS];
    size_t n_det;
    mote_drift_policy_config_t policy;
    /* data */
    mote_online_phase_t pretrain;  /* n_segments 0: none */
    uint32_t pretrain_epochs;
    mote_online_phase_t phases[MOTE_ONLINE_MAX_PHASES];
    size_t n_phases;
    mote_online_labels_t labels;
    uint64_t seed;
    /* report */
    uint32_t window;       /* rolling accuracy window, samples */
    double target;         /* accuracy goal for "labels to target" */
    uint64_t after_labels; /* accuracy after this many labels */
    char *watch_class;     /* class whose labels are counted (new class) */
    uint64_t after_class_labels;
} mote_online_config_t;

/* Parse a config held in memory; `name` starts messages and its folder
 * anchors relative paths. Free with mote_online_config_free. Errors:
 * MOTE_ERR_FORMAT (JSON syntax, line:column), MOTE_ERR_ARG (a value,
 * naming its JSON path), MOTE_ERR_NOMEM. */
mote_status_t mote_online_config_parse(const char *name, const char *json, size_t len,
                                       mote_online_config_t **out, char *msg, size_t msg_size);
/* Read and parse a config file (MOTE_ERR_IO if it cannot be read). */
mote_status_t mote_online_config_load(const char *path, mote_online_config_t **out, char *msg,
                                      size_t msg_size);
void mote_online_config_free(mote_online_config_t *cfg);

/* Options of one run (zero-initialize for defaults). */
typedef struct mote_online_opts {
    const char *out_dir; /* created if missing; NULL: no files written */
    int has_seed;        /* override the config's stream seed */
    uint64_t seed;
    uint64_t limit;      /* > 0: stop each phase after this many samples */
    int quiet;           /* no progress on stderr */
} mote_online_opts_t;

/* Flags of one logged sample. */
#define MOTE_ONLINE_F_LABEL 0x01u   /* its label arrived (and was learned) */
#define MOTE_ONLINE_F_DRIFT 0x02u   /* a detector fired and the policy acted */
#define MOTE_ONLINE_F_ANOMALY 0x04u /* score above the threshold */
#define MOTE_ONLINE_F_ADDED 0x08u   /* a class was added for its label */
#define MOTE_ONLINE_F_ALARM 0x10u   /* the threshold's alarm is active */

/* One stream sample as logged. */
typedef struct mote_online_sample {
    uint32_t phase;
    int32_t truth;    /* index into mote_online_result_t.names */
    int32_t pred;     /* head prediction (names index), -1 for anomaly */
    int32_t backbone; /* the backbone's own class (names index) or -1 */
    float score;      /* top probability, or the anomaly score */
    float threshold;  /* anomaly threshold in force (inf in warm-up) */
    uint32_t flags;
} mote_online_sample_t;

/* Per-phase figures. */
typedef struct mote_online_phase_result {
    char *name;
    uint64_t first, n;     /* sample index range */
    uint64_t labels;
    double accuracy;       /* head, every sample (prequential) */
    double backbone_acc;   /* the backbone's own output, or NaN */
    uint64_t drifts;       /* policy actions in the phase */
    int64_t first_drift;   /* samples from the phase start, or -1 */
    uint64_t normal, flagged_normal, anomalous, flagged_anomalous; /* anomaly */
    double auc;            /* anomaly: NaN unless both kinds occur */
} mote_online_phase_result_t;

/* Everything a run measured. Free with mote_online_result_free. */
typedef struct mote_online_result {
    mote_online_task_t task;
    char **names;          /* class names seen (head classes first) */
    size_t n_names;
    mote_online_sample_t *log;
    uint64_t n;
    mote_online_phase_result_t *phases;
    size_t n_phases;
    uint64_t pretrain_samples;
    double pretrain_acc;   /* head after pretraining, on the pretrain data */
    uint32_t n_features;   /* head / detector input size */
    uint64_t labels;
    double accuracy, backbone_acc;
    double acc_after_labels;   /* samples after label no. after_labels, NaN if never */
    int64_t at_after_labels;   /* sample index where that count was reached */
    double acc_after_class;    /* after label no. after_class_labels of watch_class */
    int64_t at_after_class;
    int64_t labels_to_target;  /* labels given when the rolling accuracy last
                                  rose to >= target for good; -1 if never */
    uint64_t drifts;
    uint64_t classes_added;
    /* what the device itself can know: prequential accuracy on labelled
     * samples (mote_learn_metrics), all of them and the last `window` */
    double device_acc, device_acc_window;
    double auc;                /* anomaly: all samples after pretraining */
    size_t state_bytes;        /* head + standardizer blob, classify */
    double seconds;
} mote_online_result_t;

/* Run the whole replay: train the backbone when the config says so (into
 * out_dir/backbone), pretrain, stream, and write into out_dir:
 * stream.csv, stream.svg/.png (rolling accuracy or score over time with
 * drift points, class additions and label arrivals), summary.json, and
 * for a classifier head_pretrained.motl / head_final.motl (state blobs). */
mote_status_t mote_online_run(const mote_online_config_t *cfg, const mote_online_opts_t *opts,
                              mote_online_result_t *res, char *msg, size_t msg_size);
void mote_online_result_free(mote_online_result_t *res);

/* Human-readable summary on f. */
mote_status_t mote_online_print_summary(FILE *f, const mote_online_config_t *cfg,
                                        const mote_online_result_t *res, char *msg,
                                        size_t msg_size);

/* The stream log as CSV: index, phase, true, predicted, score, threshold,
 * label_arrived, drift, anomaly, class_added, alarm, backbone. */
mote_status_t mote_online_write_csv(const char *path, const mote_online_result_t *res,
                                    char *msg, size_t msg_size);
/* The chart (path ends in .svg or .png): rolling accuracy (classify) or
 * score and threshold (anomaly), with drift and class-added marks, phase
 * starts and label arrivals shaded. */
mote_status_t mote_online_plot(const char *path, const mote_online_config_t *cfg,
                               const mote_online_result_t *res, char *msg, size_t msg_size);
/* The summary as JSON. */
mote_status_t mote_online_write_json(const char *path, const mote_online_config_t *cfg,
                                     const mote_online_result_t *res, char *msg,
                                     size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
