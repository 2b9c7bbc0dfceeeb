/* mote: on-device learning (TinyOL) on top of a frozen backbone.
 *
 * A small trainable head sits on a feature vector: the dequantized output
 * of any tensor of a prepared model (the "backbone tap") or a DSP feature
 * vector. The pieces, each usable alone:
 *
 *   tap          int8 / int16 / float tensor -> float features
 *   standardizer running mean and variance per feature (Welford), optional
 *                freezing, standardize in place
 *   head         softmax regression (classes) or linear regression (outputs),
 *                trained per sample by SGD with momentum, L2 and a
 *                learning-rate schedule; classes can be added at run time
 *   metrics      streaming accuracy, confusion matrix, per-class recall, over
 *                all labelled samples and over a sliding window
 *   explain      top-k contributions w[c][j] * x[j] for one class
 *   state blob   versioned, little-endian, CRC-checked bytes of a head (and
 *                optionally its standardizer), for saving and for a fleet
 *
 * Typical loop, per feature vector x (n_features floats):
 *   mote_learn_std_push(&std, x);                 // update stats, standardize
 *   uint32_t c = mote_learn_predict(&head, x, p); // every sample
 *   if (label arrived) {
 *       mote_learn_metrics_add(&met, label, c);   // test, then train
 *       mote_learn_update(&head, x, label);
 *   }
 *
 * Memory: nothing is allocated. Each object is a small struct of pointers
 * into a caller buffer whose size a *_size() function gives exactly; the
 * buffer must be 4-byte aligned and outlive the object. No globals: any
 * number of heads can run side by side. All arithmetic is IEEE single
 * precision without libm, so given the same inputs a head evolves
 * bit-identically on the host and on a Cortex-M4F (FMA contraction off, as
 * GCC's -std=c11 default, and flush-to-zero off).
 *
 * Errors: functions that can fail return a negative mote_status_t and leave
 * the object unchanged; functions that cannot fail (after validation at
 * init) return void or a value. */
#ifndef MOTE_LEARN_H
#define MOTE_LEARN_H

#include <stddef.h>
#include <stdint.h>
#include "mote/model.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capacity limits. Training keeps one float per class on the stack, so
 * MOTE_LEARN_MAX_CLASSES bounds stack use (4 bytes each). */
#ifndef MOTE_LEARN_MAX_CLASSES
#define MOTE_LEARN_MAX_CLASSES 64u
#endif
#define MOTE_LEARN_MAX_FEATURES 65535u

/* ------------------------------------------------------------------ */
/* Backbone tap                                                        */

/* A tensor of a prepared model bound for reading as floats. Fields are
 * private. Holds no model memory of its own: data stays in the arena. */
typedef struct mote_learn_tap {
    const void *data;
    float *out;
    float scale;
    int32_t zero_point;
    uint32_t n;
    uint32_t producer; /* operator writing the tensor; UINT32_MAX if none */
    uint8_t type;      /* mote_dtype_t */
} mote_learn_tap_t;

/* Bind tensor `tensor_index` of the prepared model m to the destination
 * out[0..n) (caller-owned, must outlive the tap). n must equal the
 * tensor's element count. Accepted: MOTE_F32 (copied), MOTE_I8 and MOTE_I16
 * with one (per-tensor) scale > 0, read as (q - zero_point) * scale.
 * Errors: MOTE_ERR_ARG (NULL, bad index), MOTE_ERR_STATE (model not
 * prepared), MOTE_ERR_TYPE (other types), MOTE_ERR_QUANT (missing,
 * non-finite or per-channel scale), MOTE_ERR_SHAPE (n differs). */
mote_status_t mote_learn_tap_init(mote_learn_tap_t *t, const mote_model_t *m,
                                  uint32_t tensor_index, float *out, uint32_t n);

/* Dequantize the tensor's current contents into t->out. After
 * mote_model_invoke() this is only meaningful for tensors whose arena
 * space the planner does not reuse later in the graph (graph outputs, or
 * the last layers); for any other tensor read it with the hook below. */
void mote_learn_tap_read(const mote_learn_tap_t *t);

/* An op hook (mote_op_hook_t) that reads the tap right after the operator
 * producing its tensor, before the planner reuses that memory:
 *   mote_model_invoke_hooked(&m, mote_learn_tap_hook, &tap);
 * `tap` is a mote_learn_tap_t *. A tensor no operator writes (a model
 * input, a constant) is never read by the hook: read it with
 * mote_learn_tap_read() before invoking, since operators may run in
 * place over their inputs. */
void mote_learn_tap_hook(void *tap, uint32_t op_index, const mote_model_t *m);

/* One-shot: init and read. Same errors as mote_learn_tap_init(). */
mote_status_t mote_learn_tap(const mote_model_t *m, uint32_t tensor_index, float *out,
                             uint32_t n);

/* ------------------------------------------------------------------ */
/* Streaming standardizer                                              */

/* Flags of mote_learn_std_init(). */
#define MOTE_LEARN_STD_COMPENSATED 0x1u /* 16 instead of 8 bytes a feature */

/* Running mean and population variance (ddof = 0) of each feature, by
 * Welford's update in single precision (the Cortex-M4F has no double
 * unit). Two accuracies:
 *   - compact (flags 0), 8 bytes a feature: plain float Welford. As n
 *     grows, the m2 sum and (with a large |mean| / std) the mean lose the
 *     low bits of each increment: measured variance error 8e-5 relative
 *     after 5e3 samples of 1e4 + N(0, 1), 1.6e-2 after 1e7 samples of any
 *     feature. Meant for a warm-up (freeze_after up to ~1e4) then freeze.
 *   - MOTE_LEARN_STD_COMPENSATED, 16 bytes a feature: mean and sum of
 *     squared deviations are each kept as an unevaluated sum of two floats
 *     (error-free TwoSum updates), about 44 significant bits; over 1e7
 *     samples of 1e4 + N(0, 1) mean and variance match a two-pass double
 *     computation to 1e-6 relative (tests/unit/test_learn_std.c).
 * The count saturates at 2^32 - 1 samples; further samples are ignored. */
typedef struct mote_learn_std {
    float *mean, *m2;       /* high parts, n_features each */
    float *mean_lo, *m2_lo; /* compensation, or NULL when compact */
    uint32_t n_features;
    uint32_t count;         /* samples accumulated since reset */
    uint32_t freeze_after;  /* 0: never freeze by itself */
    uint8_t frozen;
    uint8_t flags;
} mote_learn_std_t;

/* Exact bytes of state for n_features (>= 1) features: 8 per feature, 16
 * with MOTE_LEARN_STD_COMPENSATED. 0 if an argument is out of range. */
size_t mote_learn_std_size(uint32_t n_features, uint32_t flags);

/* Lay out the statistics in buf (len >= mote_learn_std_size(), 4-byte
 * aligned, caller-owned) and reset. freeze_after > 0 freezes the
 * statistics when the count reaches it (warm-up); unfreezing afterwards
 * resumes accumulation for good.
 * Errors: MOTE_ERR_ARG (NULL, n_features 0 or > MOTE_LEARN_MAX_FEATURES,
 * unknown flags), MOTE_ERR_ARENA, MOTE_ERR_ALIGN. */
mote_status_t mote_learn_std_init(mote_learn_std_t *s, uint32_t n_features, uint32_t flags,
                                  uint32_t freeze_after, void *buf, size_t len);

/* Accumulate one sample x[0..n_features) unless frozen. */
void mote_learn_std_update(mote_learn_std_t *s, const float *x);

/* Standardize x in place with the current statistics: (x - mean) / std.
 * A feature with zero variance (constant so far, or fewer than 2 samples)
 * is only centred; with no samples x is left unchanged. */
void mote_learn_std_apply(const mote_learn_std_t *s, float *x);

/* Update then apply: the usual per-sample call. */
void mote_learn_std_push(mote_learn_std_t *s, float *x);

/* Freeze (frozen != 0) or resume accumulation; apply keeps working. */
void mote_learn_std_freeze(mote_learn_std_t *s, int frozen);

/* Forget all samples and unfreeze, so the statistics warm up again
 * (re-freezing after freeze_after samples if that was set). */
void mote_learn_std_reset(mote_learn_std_t *s);

/* Mean and population variance of feature i (< n_features); 0, 0 before
 * the first sample. Either pointer may be NULL. */
void mote_learn_std_stats(const mote_learn_std_t *s, uint32_t i, float *mean, float *var);

/* ------------------------------------------------------------------ */
/* Trainable head                                                      */

typedef enum mote_learn_kind {
    MOTE_LEARN_SOFTMAX = 0, /* multi-class logistic regression, labels */
    MOTE_LEARN_LINEAR = 1,  /* multi-output linear regression, targets */
} mote_learn_kind_t;

/* Learning rate after t updates (t counts from 0). */
typedef enum mote_learn_schedule {
    MOTE_LEARN_LR_CONSTANT = 0, /* lr */
    MOTE_LEARN_LR_INVTIME = 1,  /* lr / (1 + decay * t) */
    MOTE_LEARN_LR_STEP = 2,     /* lr * gamma ^ floor(t / step_every) */
} mote_learn_schedule_t;

/* Flags of the head configuration. */
#define MOTE_LEARN_MOMENTUM 0x1u /* keep a velocity buffer (doubles the RAM) */

typedef struct mote_learn_config {
    uint8_t kind;          /* mote_learn_kind_t */
    uint8_t schedule;      /* mote_learn_schedule_t */
    uint8_t flags;         /* MOTE_LEARN_MOMENTUM */
    uint32_t n_features;   /* inputs, [1, MOTE_LEARN_MAX_FEATURES] */
    uint32_t max_classes;  /* rows allocated, [1, MOTE_LEARN_MAX_CLASSES] */
    uint32_t n_classes;    /* rows active at init, [1, max_classes] */
    float lr;              /* (0, 1e3], finite */
    float momentum;        /* [0, 1); > 0 needs MOTE_LEARN_MOMENTUM */
    float l2;              /* >= 0: adds l2 * w to each weight's gradient
                              (biases are not decayed) */
    float decay;           /* >= 0, used by MOTE_LEARN_LR_INVTIME */
    uint32_t step_every;   /* >= 1 with MOTE_LEARN_LR_STEP */
    float gamma;           /* (0, 1] with MOTE_LEARN_LR_STEP */
} mote_learn_config_t;

/* The head. Weights are float32, row-major: class (or output) c has its
 * row at w + c * n_features, so a row never moves when classes are added.
 * Fields are private except through the accessors below. */
typedef struct mote_learn_head {
    mote_learn_config_t cfg; /* cfg.n_classes is the current class count */
    float *w, *b;            /* max_classes x n_features; max_classes */
    float *vw, *vb;          /* velocities, or NULL without momentum */
    uint32_t steps;          /* updates so far: drives the schedule */
} mote_learn_head_t;

/* A valid starting configuration: softmax, constant lr 0.01, no momentum,
 * no L2, the given sizes, all max_classes active. */
void mote_learn_config_default(mote_learn_config_t *cfg, uint32_t n_features,
                               uint32_t max_classes);

/* Check every field; MOTE_ERR_ARG for a value out of its documented range,
 * MOTE_ERR_UNSUPPORTED for an unknown kind, schedule or flag. */
mote_status_t mote_learn_config_validate(const mote_learn_config_t *cfg);

/* Exact state bytes of a head: 4 * max_classes * (n_features + 1), twice
 * that with MOTE_LEARN_MOMENTUM. Example: 64 features, 8 classes, no
 * momentum: 2080 bytes (plus the 60-byte handle on a 32-bit target).
 * 0 if a size is out of range. */
size_t mote_learn_head_size(uint32_t n_features, uint32_t max_classes, uint32_t flags);

/* Validate cfg, lay out the head in buf (len >= mote_learn_head_size(),
 * 4-byte aligned, caller-owned) with all weights, biases and velocities
 * zero and the schedule at t = 0. Errors: validate's, MOTE_ERR_ARENA,
 * MOTE_ERR_ALIGN, MOTE_ERR_ARG for NULL. */
mote_status_t mote_learn_head_init(mote_learn_head_t *h, const mote_learn_config_t *cfg,
                                   void *buf, size_t len);

/* Activate the next class row (zero weights, bias and velocity; earlier
 * rows are not touched) and return its index in *cls (may be NULL).
 * MOTE_ERR_FULL when n_classes == max_classes. */
mote_status_t mote_learn_add_class(mote_learn_head_t *h, uint32_t *cls);

/* Forward pass on x[0..n_features). Softmax: out[0..n_classes) receives
 * the class probabilities; linear: the predicted outputs. Returns the
 * argmax (lowest index on ties). out may be NULL. */
uint32_t mote_learn_predict(const mote_learn_head_t *h, const float *x, float *out);

/* One SGD step of a softmax head on (x, label): cross-entropy gradient,
 * plus L2, momentum and the scheduled learning rate; then t += 1.
 * Errors (head untouched): MOTE_ERR_STATE for a linear head, MOTE_ERR_ARG
 * for label >= n_classes or a non-finite x. Cost: 2 n_classes n_features
 * multiply-adds plus n_classes exponentials. */
mote_status_t mote_learn_update(mote_learn_head_t *h, const float *x, uint32_t label);

/* One SGD step of a linear head on (x, target[0..n_classes)), loss
 * 0.5 * sum (y - target)^2. Errors (head untouched): MOTE_ERR_STATE for a
 * softmax head, MOTE_ERR_ARG for a non-finite x or target. */
mote_status_t mote_learn_update_target(mote_learn_head_t *h, const float *x,
                                       const float *target);

/* The learning rate the next update will use. */
float mote_learn_lr(const mote_learn_head_t *h);

/* Set the base learning rate (cfg.lr: what the schedule starts from and
 * scales), e.g. a drift policy's temporary boost. The schedule's position
 * and the weights are kept. lr must be finite, in (0, 1e3]; else
 * MOTE_ERR_ARG (also for NULL) and the head is unchanged. */
mote_status_t mote_learn_set_lr(mote_learn_head_t *h, float lr);

/* Restart the schedule at t = 0 (e.g. after adding a class, so it is
 * learned at the initial rate). Weights are kept. */
void mote_learn_schedule_restart(mote_learn_head_t *h);

/* Current class (output) count. */
uint32_t mote_learn_class_count(const mote_learn_head_t *h);

/* The weight matrix, row-major n_classes x n_features (row stride
 * n_features floats), and the n_classes biases; logits are w x + b. */
const float *mote_learn_weights(const mote_learn_head_t *h);
const float *mote_learn_biases(const mote_learn_head_t *h);

/* ------------------------------------------------------------------ */
/* Explanation                                                         */

typedef struct mote_learn_contrib {
    uint32_t feature;  /* index into x */
    float value;       /* w[cls][feature] * x[feature], a logit term */
    const char *name;  /* names[feature], or NULL without names */
} mote_learn_contrib_t;

/* The k features with the largest |w[cls][j] * x[j]| (signed values;
 * ties keep the lower index first), written to out[0..k) by decreasing
 * magnitude; returns how many were written (min(k, n_features), 0 if cls
 * >= n_classes). names (n_features strings) stays caller-owned and may be
 * NULL; out[i].name points into it. Cost: n_features * k compares. */
uint32_t mote_learn_explain(const mote_learn_head_t *h, const float *x, uint32_t cls,
                            const char *const *names, mote_learn_contrib_t *out, uint32_t k);

/* ------------------------------------------------------------------ */
/* Streaming metrics                                                   */

typedef enum mote_learn_scope {
    MOTE_LEARN_ALL = 0,    /* every labelled sample since reset */
    MOTE_LEARN_WINDOW = 1, /* the last `window` labelled samples */
} mote_learn_scope_t;

/* Prequential metrics: record (truth, prediction) for each labelled sample
 * before training on it. Fields are private. */
typedef struct mote_learn_metrics {
    uint32_t *confusion; /* max_classes x max_classes, [truth][pred] */
    uint8_t *ring;       /* window pairs (truth, pred) */
    uint32_t max_classes, window;
    uint32_t head;       /* next ring slot */
    uint32_t filled;     /* ring entries in use, <= window */
    uint32_t total;      /* labelled samples recorded (saturates) */
} mote_learn_metrics_t;

/* Exact bytes for max_classes in [1, min(255, MOTE_LEARN_MAX_CLASSES)]
 * and window >= 0 (0: no window): 4 max_classes^2 + 2 window, rounded up
 * to 4. 0 if out of range. */
size_t mote_learn_metrics_size(uint32_t max_classes, uint32_t window);

/* Errors: MOTE_ERR_ARG, MOTE_ERR_ARENA, MOTE_ERR_ALIGN. Starts empty. */
mote_status_t mote_learn_metrics_init(mote_learn_metrics_t *m, uint32_t max_classes,
                                      uint32_t window, void *buf, size_t len);

/* Record one labelled sample. MOTE_ERR_ARG if truth or pred >= max_classes
 * (nothing recorded). Counts saturate at 2^32 - 1. */
mote_status_t mote_learn_metrics_add(mote_learn_metrics_t *m, uint32_t truth, uint32_t pred);

/* Forget everything recorded. */
void mote_learn_metrics_reset(mote_learn_metrics_t *m);

/* Labelled samples in the scope. */
uint32_t mote_learn_metrics_count(const mote_learn_metrics_t *m, mote_learn_scope_t scope);

/* Fraction of correct predictions in the scope; 0 when it is empty. */
float mote_learn_metrics_accuracy(const mote_learn_metrics_t *m, mote_learn_scope_t scope);

/* Samples of class `truth` predicted as `pred` in the scope (0 if out of
 * range). The window is scanned: O(window). */
uint32_t mote_learn_metrics_confusion(const mote_learn_metrics_t *m, mote_learn_scope_t scope,
                                      uint32_t truth, uint32_t pred);

/* Recall of class cls in the scope: correct / labelled as cls; -1 when
 * no sample of cls is in the scope (undefined), or cls out of range. */
float mote_learn_metrics_recall(const mote_learn_metrics_t *m, mote_learn_scope_t scope,
                                uint32_t cls);

/* ------------------------------------------------------------------ */
/* State blob                                                          */

/* Saved state, version 1, little-endian, 4-byte fields, any alignment:
 *   0  "MOTL"            4  u16 version (1)     6  u16 header bytes (64)
 *   8  u32 total bytes, CRC included
 *  12  u8 kind  13 u8 schedule  14 u8 sections  15 u8 0
 *      sections: bit0 velocities, bit1 standardizer, bit2 standardizer
 *      compensated, bit3 standardizer frozen; other bits 0
 *  16  u16 n_features   18 u16 max_classes (of the saver)   20 u16 n_classes
 *  22  u16 0            24 u32 steps (t)
 *  28  f32 lr, momentum, l2, decay    44 u32 step_every   48 f32 gamma
 *  52  u32 standardizer count     56 u32 standardizer freeze_after
 *  60  u32 0
 *  64  f32 W[n_classes][n_features]  (row-major, class by class)
 *      f32 b[n_classes]
 *      with velocities: f32 VW[n_classes][n_features], f32 VB[n_classes]
 *      with standardizer: f32 mean[n_f], m2[n_f], and if compensated
 *      mean_lo[n_f], m2_lo[n_f] (sum of squared deviations m2 = n var)
 *  end - 4: u32 CRC-32 (IEEE 802.3, as zlib.crc32) of all bytes before it
 * A fleet server can average W and b of blobs with equal n_features and
 * n_classes and send the result back as a blob (recompute the CRC). */
#define MOTE_LEARN_STATE_VERSION 1u
#define MOTE_LEARN_STATE_HEADER 64u

/* Where things are in a validated blob. Offsets are from the blob start. */
typedef struct mote_learn_blob_info {
    uint32_t total;          /* bytes, CRC included */
    uint8_t kind, schedule, sections;
    uint32_t n_features, max_classes, n_classes, steps;
    uint32_t std_count, std_freeze_after;
    mote_learn_config_t cfg; /* hyper-parameters as saved */
    uint32_t off_w, off_b;   /* weights, biases */
    uint32_t off_vw, off_vb; /* velocities, 0 if absent */
    uint32_t off_std;        /* standardizer arrays, 0 if absent */
} mote_learn_blob_info_t;

#define MOTE_LEARN_SECT_VELOCITY 0x1u
#define MOTE_LEARN_SECT_STD 0x2u
#define MOTE_LEARN_SECT_STD_COMPENSATED 0x4u
#define MOTE_LEARN_SECT_STD_FROZEN 0x8u

/* Bytes mote_learn_save() writes for h and s (s may be NULL). */
size_t mote_learn_save_size(const mote_learn_head_t *h, const mote_learn_std_t *s);

/* Write the head (and the standardizer s unless NULL) to out[0..out_len);
 * *written (may be NULL) receives the byte count. Errors: MOTE_ERR_ARG,
 * MOTE_ERR_SHAPE (s has another feature count than h), MOTE_ERR_ARENA
 * (out_len < mote_learn_save_size()). */
mote_status_t mote_learn_save(const mote_learn_head_t *h, const mote_learn_std_t *s, void *out,
                              size_t out_len, size_t *written);

/* Fully validate untrusted bytes as a state blob and describe them.
 * Errors, in the order checked: MOTE_ERR_ARG (NULL), MOTE_ERR_TRUNCATED
 * (len below the header or the total it states), MOTE_ERR_CORRUPT (magic,
 * header size, total too small), MOTE_ERR_VERSION, MOTE_ERR_VERIFY (CRC),
 * MOTE_ERR_CORRUPT (a field: unknown kind / schedule / section bits,
 * non-zero reserved bytes, sizes out of range, total disagreeing with the
 * sizes, hyper-parameters out of range, a non-finite number, a negative
 * m2), MOTE_ERR_LIMIT (n_classes above MOTE_LEARN_MAX_CLASSES of this
 * build). Trailing bytes after `total` are ignored. msg (msg_len bytes, may
 * be NULL) receives a message naming the field. */
mote_status_t mote_learn_blob_info(const void *buf, size_t len, mote_learn_blob_info_t *info,
                                   char *msg, size_t msg_len);

/* Validate a blob (as mote_learn_blob_info) and load it into h, and into s
 * when s is not NULL (a standardizer section is skipped when s is NULL).
 * The blob's hyper-parameters, class count, weights, velocities and step
 * count replace h's, so training continues bit-identically; rows above
 * n_classes are zeroed. Further errors: MOTE_ERR_SHAPE (kind, n_features
 * or velocity presence differ from h; s given but the blob has no
 * standardizer, or one of another size or accuracy), MOTE_ERR_LIMIT
 * (n_classes > h's max_classes). On any error h and s are unchanged. */
mote_status_t mote_learn_restore(mote_learn_head_t *h, mote_learn_std_t *s, const void *buf,
                                 size_t len, char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif
#endif
