/* mote fleet: `mote fed sim` config and data (see fed_sim.h).
 *
 * Config keys (unknown keys are errors):
 *   features        string, required: a `mote train` config whose dataset
 *                   and DSP give the feature vectors (relative to this file)
 *   backbone        string, optional: a frozen int8 backbone, as a `mote
 *                   train` config trained here into OUT/backbone or a
 *                   .tflite; its input must be the DSP feature vector, and
 *                   the head learns on the input of its last dense layer
 *   devices         simulated devices, 2..1024 (default 20)
 *   classes_per_device  classes each device holds (default 2)
 *   rounds          1..1000 (default 20)
 *   participants    devices selected per round (default: all)
 *   local_steps     SGD samples per device per round (default 100)
 *   lr, l2          head learning rate (0.05), L2 (0)
 *   mu              FedProx proximal weight (default 0.01; 0 = FedAvg)
 *   step            int8 quantization step of deltas (default 1/256)
 *   norm_bound      plain uploads above this L2 norm are rejected (default 3)
 *   drop            fraction of selected devices that drop after masking
 *                   each round (default 0.3)
 *   threshold       Shamir t (default: selected / 2 + 1)
 *   quorum          uploads needed to finish a round (default: threshold)
 *   malicious       devices sending a poisoned update in the "attack"
 *                   variant (default 2: one huge norm, one NaN step)
 *   central_epochs  epochs of the pooled reference head (default 20)
 *   dp              optional object {clip (<= 127 step), noise_multiplier,
 *                   delta}: adds the "dp" variant (clipped deltas, no error
 *                   feedback, unweighted average, Gaussian noise on the sum)
 *   seed            (default 1)
 *   description     ignored */
#define _POSIX_C_SOURCE 200809L
#include "fed_sim_int.h"

#include <jansson.h>
#include <sodium.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dataset.h"
#include "train_pipeline.h"
#include "train_util.h"

uint64_t fsim_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fsim_shuffle(uint32_t *v, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)(fsim_rand(&st) % i);
        const uint32_t t = v[i - 1];
        v[i - 1] = v[j], v[j] = t;
    }
}

/* ---- config ---- */

static const char *const keys[] = {
    "features", "devices", "classes_per_device", "rounds", "participants", "local_steps",
    "lr", "l2", "mu", "step", "norm_bound", "drop", "threshold", "quorum", "malicious",
    "central_epochs", "dp", "seed", "description", "backbone"};

static mote_status_t get_u32(json_t *o, const char *k, uint32_t lo, uint32_t hi, uint32_t *v,
                             const char *file, char *msg, size_t size)
{
    json_t *j = json_object_get(o, k);
    if (!j)
        return MOTE_OK;
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: %s: must be an integer in [%u, %u]", file,
                        k, lo, hi);
    *v = (uint32_t)json_integer_value(j);
    return MOTE_OK;
}

static mote_status_t get_f(json_t *o, const char *k, double lo, double hi, float *v,
                           const char *file, char *msg, size_t size)
{
    json_t *j = json_object_get(o, k);
    if (!j)
        return MOTE_OK;
    if (!json_is_number(j) || !(json_number_value(j) >= lo) || !(json_number_value(j) <= hi))
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: %s: must be a number in [%g, %g]", file,
                        k, lo, hi);
    *v = (float)json_number_value(j);
    return MOTE_OK;
}

static void defaults(fsim_cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->devices = 20, c->classes_per_device = 2, c->rounds = 20, c->local_steps = 100;
    c->lr = 0.05f, c->mu = 0.01f, c->step = 1.0f / 256.0f, c->norm_bound = 3.0f;
    c->drop = 0.3f, c->malicious = 2, c->central_epochs = 20, c->seed = 1;
}

static mote_status_t parse_dp(json_t *o, fsim_cfg_t *c, const char *f, char *msg, size_t size)
{
    json_t *d = json_object_get(o, "dp");
    if (!d || json_is_null(d))
        return MOTE_OK;
    c->dp = 1, c->dp_clip = 1.0f, c->dp_z = 1.0f, c->dp_delta = 1e-5;
    float delta = 1e-5f;
    mote_status_t st;
    if (!json_is_object(d))
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: dp: must be an object", f);
    if ((st = get_f(d, "clip", 1e-6, 1e6, &c->dp_clip, f, msg, size)) ||
        (st = get_f(d, "noise_multiplier", 1e-3, 1e3, &c->dp_z, f, msg, size)) ||
        (st = get_f(d, "delta", 1e-12, 0.5, &delta, f, msg, size)))
        return st;
    c->dp_delta = delta;
    if (c->dp_clip > 127.0f * c->step)
        return tpu_fail(msg, size, MOTE_ERR_ARG,
                        "%s: dp.clip: must be <= 127 * step (%g) so int8 never saturates", f,
                        127.0 * c->step);
    return MOTE_OK;
}

static mote_status_t check_keys(json_t *o, const char *f, char *msg, size_t size)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(keys[i], k) != 0)
            i++;
        if (i == sizeof keys / sizeof keys[0])
            return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: %s: unknown key", f, k);
    }
    return MOTE_OK;
}

static mote_status_t parse_numbers(json_t *o, fsim_cfg_t *c, const char *f, char *msg,
                                   size_t size)
{
    mote_status_t st;
    uint32_t seed = (uint32_t)c->seed;
    if ((st = get_u32(o, "devices", 2, MOTE_FED_MAX_DEVICES, &c->devices, f, msg, size)) ||
        (st = get_u32(o, "classes_per_device", 1, 64, &c->classes_per_device, f, msg, size)) ||
        (st = get_u32(o, "rounds", 1, MOTE_FED_SIM_MAX_ROUNDS, &c->rounds, f, msg, size)) ||
        (st = get_u32(o, "participants", 2, MOTE_FED_MAX_DEVICES, &c->participants, f, msg,
                      size)) ||
        (st = get_u32(o, "local_steps", 1, 1000000, &c->local_steps, f, msg, size)) ||
        (st = get_u32(o, "threshold", 1, MOTE_FED_MAX_DEVICES, &c->threshold, f, msg, size)) ||
        (st = get_u32(o, "quorum", 1, MOTE_FED_MAX_DEVICES, &c->quorum, f, msg, size)) ||
        (st = get_u32(o, "malicious", 0, 2, &c->malicious, f, msg, size)) ||
        (st = get_u32(o, "central_epochs", 1, 10000, &c->central_epochs, f, msg, size)) ||
        (st = get_u32(o, "seed", 0, 2147483647u, &seed, f, msg, size)) ||
        (st = get_f(o, "lr", 1e-6, 10, &c->lr, f, msg, size)) ||
        (st = get_f(o, "l2", 0, 10, &c->l2, f, msg, size)) ||
        (st = get_f(o, "mu", 0, 100, &c->mu, f, msg, size)) ||
        (st = get_f(o, "step", 1e-9, 1e3, &c->step, f, msg, size)) ||
        (st = get_f(o, "norm_bound", 0, 1e9, &c->norm_bound, f, msg, size)) ||
        (st = get_f(o, "drop", 0, 0.9, &c->drop, f, msg, size)))
        return st;
    c->seed = seed;
    return MOTE_OK;
}

static mote_status_t finish_cfg(fsim_cfg_t *c, const char *f, char *msg, size_t size)
{
    if (c->participants == 0 || c->participants > c->devices)
        c->participants = c->devices;
    if (c->threshold == 0)
        c->threshold = c->participants / 2 + 1;
    if (c->quorum == 0)
        c->quorum = c->threshold;
    const uint32_t drops = (uint32_t)lround(c->drop * c->participants);
    if (c->threshold > c->participants || c->threshold > c->participants - drops)
        return tpu_fail(msg, size, MOTE_ERR_ARG,
                        "%s: threshold: %u is more than the %u devices left after drops", f,
                        c->threshold, c->participants - drops);
    return MOTE_OK;
}

static mote_status_t parse_cfg(fsim_t *s, const char *path, char *msg, size_t size)
{
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e);
    if (!o)
        return tpu_fail(msg, size, e.line < 0 ? MOTE_ERR_IO : MOTE_ERR_FORMAT, "%s:%d:%d: %s",
                        path, e.line, e.column, e.text);
    fsim_cfg_t *c = &s->cfg;
    defaults(c);
    mote_status_t st = MOTE_OK;
    json_t *f = json_object_get(o, "features");
    if (!json_is_object(o))
        st = tpu_fail(msg, size, MOTE_ERR_ARG, "%s: must be a JSON object", path);
    else if (!json_is_string(f))
        st = tpu_fail(msg, size, MOTE_ERR_ARG, "%s: features: must be a string (a train config)",
                      path);
    if (!st && !(st = check_keys(o, path, msg, size)) &&
        !(st = parse_numbers(o, c, path, msg, size)) && !(st = parse_dp(o, c, path, msg, size)))
        st = finish_cfg(c, path, msg, size);
    json_t *b = json_object_get(o, "backbone");
    if (!st && b && !json_is_null(b) && !json_is_string(b))
        st = tpu_fail(msg, size, MOTE_ERR_ARG,
                      "%s: backbone: must be a string (a train config or a .tflite)", path);
    if (!st && !(c->features = tpu_path_join(path, json_string_value(f))))
        st = MOTE_ERR_NOMEM;
    if (!st && json_is_string(b) && !(c->backbone = tpu_path_join(path, json_string_value(b))))
        st = MOTE_ERR_NOMEM;
    json_decref(o);
    return st;
}

/* ---- data ---- */

/* Load the features of the train and test splits. */
static mote_status_t load_features(fsim_t *s, char *msg, size_t size)
{
    mote_train_config_t *tc = NULL;
    mote_dataset_t *ds = NULL;
    mote_train_data_t tr = {0}, te = {0};
    mote_dsp_config_t dsp;
    mote_status_t st = mote_train_config_load(s->cfg.features, &tc, msg, size);
    if (!st)
        st = mote_dataset_load(tc->dataset, NULL, &ds, msg, size);
    if (!st && tc->has_dsp)
        st = mote_train_resolve_dsp(tc, ds, &dsp, msg, size);
    if (!st)
        st = mote_train_features(ds, MOTE_SPLIT_TRAIN, tc->has_dsp ? &dsp : NULL,
                                 MOTE_TRAIN_LAYOUT_FLAT, &tr, msg, size);
    if (!st)
        st = mote_train_features(ds, MOTE_SPLIT_TEST, tc->has_dsp ? &dsp : NULL,
                                 MOTE_TRAIN_LAYOUT_FLAT, &te, msg, size);
    if (!st && (te.n == 0 || (size_t)tr.n != ds->n_windows[MOTE_SPLIT_TRAIN]))
        st = tpu_fail(msg, size, MOTE_ERR_ARG, "%s: needs train and test windows",
                      s->cfg.features);
    if (!st && !(s->load_tr = calloc((size_t)tr.n, sizeof *s->load_tr)))
        st = MOTE_ERR_NOMEM;
    if (!st) {
        for (int32_t i = 0; i < tr.n; i++) {
            const char *l = mote_dataset_meta(ds, ds->windows[MOTE_SPLIT_TRAIN][i].recording, "load");
            s->load_tr[i] = l ? atoi(l) : 0;
        }
        s->xtr = tr.x, s->ytr = tr.y, s->ntr = (size_t)tr.n, s->dim = tr.dim;
        s->xte = te.x, s->yte = te.y, s->nte = (size_t)te.n;
        s->n_classes = (uint32_t)ds->n_classes;
        s->window_bytes = 4.0 * (double)ds->window * (double)ds->n_channels;
        tr = (mote_train_data_t){0}, te = (mote_train_data_t){0};
    }
    mote_train_data_free(&tr), mote_train_data_free(&te);
    mote_dataset_free(ds);
    mote_train_config_free(tc);
    return st;
}

/* The k-th subset of `per` classes out of n (combinations in order). */
static uint32_t combo(uint32_t n, uint32_t per, uint32_t k)
{
    uint32_t count = 0;
    for (uint32_t m = 0; m < (1u << n); m++) {
        if ((uint32_t)__builtin_popcount(m) != per)
            continue;
        if (count++ == k)
            return m;
    }
    return (1u << n) - 1;
}

static uint32_t n_combos(uint32_t n, uint32_t per)
{
    uint32_t c = 0;
    for (uint32_t m = 0; m < (1u << n); m++)
        c += (uint32_t)__builtin_popcount(m) == per;
    return c;
}

/* Distinct loads in the training windows, sorted; returns how many. */
static size_t distinct_loads(const fsim_t *s, int *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ntr; i++) {
        size_t j = 0;
        while (j < n && out[j] != s->load_tr[i])
            j++;
        if (j == n && n < cap)
            out[n++] = s->load_tr[i];
    }
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && out[b - 1] > out[b]; b--) {
            const int t = out[b];
            out[b] = out[b - 1], out[b - 1] = t;
        }
    return n;
}

/* Non-IID slices: device d holds the (d mod C)-th class subset at load
 * (d / C) mod L; each window goes to one device holding its (class, load),
 * round-robin, so slices are disjoint. */
static mote_status_t partition(fsim_t *s, char *msg, size_t size)
{
    const fsim_cfg_t *c = &s->cfg;
    if (s->n_classes > 16 || c->classes_per_device > s->n_classes)
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: classes_per_device: 1..%u classes (at most 16)",
                        s->cfg_path, s->n_classes);
    int loads[64];
    const size_t nl = distinct_loads(s, loads, 64);
    const uint32_t nc = n_combos(s->n_classes, c->classes_per_device);
    if (!(s->dev = calloc(c->devices, sizeof *s->dev)))
        return MOTE_ERR_NOMEM;
    for (uint32_t d = 0; d < c->devices; d++) {
        s->dev[d].id = d + 1;
        s->dev[d].classes = combo(s->n_classes, c->classes_per_device, d % nc);
        s->dev[d].load = loads[(d / nc) % nl];
        if (!(s->dev[d].idx = malloc(s->ntr * sizeof *s->dev[d].idx)))
            return MOTE_ERR_NOMEM;
    }
    uint32_t *rr = calloc((size_t)s->n_classes * nl, sizeof *rr);
    if (!rr)
        return MOTE_ERR_NOMEM;
    for (size_t i = 0; i < s->ntr; i++) {
        uint32_t holders[MOTE_FED_MAX_DEVICES], nh = 0;
        for (uint32_t d = 0; d < c->devices; d++)
            if ((s->dev[d].classes >> s->ytr[i] & 1u) && s->dev[d].load == s->load_tr[i])
                holders[nh++] = d;
        if (nh == 0)
            continue;
        size_t li = 0;
        while (loads[li] != s->load_tr[i])
            li++;
        uint32_t *cell = &rr[(size_t)s->ytr[i] * nl + li];
        fsim_dev_t *dv = &s->dev[holders[(*cell)++ % nh]];
        dv->idx[dv->n++] = (uint32_t)i;
    }
    free(rr);
    for (uint32_t d = 0; d < c->devices; d++) {
        if (s->dev[d].n == 0)
            return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: device %u gets no windows", s->cfg_path,
                            d + 1);
        fsim_shuffle(s->dev[d].idx, s->dev[d].n, c->seed * 1000003u + d);
    }
    return MOTE_OK;
}

/* Round 0: every device sends n, sum x and sum x^2 per feature (doubles);
 * the server pools them into one mean and std that every device then
 * applies, so all heads see the same standardized features. */
static mote_status_t pool_stats(fsim_t *s)
{
    double *sum = calloc(2 * s->dim, sizeof *sum), n = 0;
    if (!sum)
        return MOTE_ERR_NOMEM;
    for (uint32_t d = 0; d < s->cfg.devices; d++)
        for (size_t k = 0; k < s->dev[d].n; k++, n++) {
            const float *x = s->xtr + (size_t)s->dev[d].idx[k] * s->dim;
            for (size_t j = 0; j < s->dim; j++)
                sum[j] += x[j], sum[s->dim + j] += (double)x[j] * x[j];
        }
    for (size_t j = 0; j < s->dim; j++) {
        const double m = sum[j] / n, v = sum[s->dim + j] / n - m * m;
        const double inv = v > 1e-12 ? 1.0 / sqrt(v) : 1.0;
        for (size_t i = 0; i < s->ntr; i++)
            s->xtr[i * s->dim + j] = (float)((s->xtr[i * s->dim + j] - m) * inv);
        for (size_t i = 0; i < s->nte; i++)
            s->xte[i * s->dim + j] = (float)((s->xte[i * s->dim + j] - m) * inv);
    }
    free(sum);
    return MOTE_OK;
}

static mote_status_t head_shape(fsim_t *s)
{
    mote_learn_config_default(&s->hcfg, (uint32_t)s->dim, s->n_classes);
    s->hcfg.lr = s->cfg.lr, s->hcfg.l2 = s->cfg.l2;
    mote_status_t st = mote_learn_config_validate(&s->hcfg);
    if (st)
        return st;
    s->n_params = s->n_classes * ((uint32_t)s->dim + 1u);
    mote_learn_head_t h;
    void *buf;
    if ((st = fsim_head(s, &h, &buf)) != MOTE_OK)
        return st;
    s->blob_len = mote_learn_save_size(&h, NULL);
    free(buf);
    uint8_t seed[32] = {0};
    memcpy(seed, &s->cfg.seed, sizeof s->cfg.seed);
    crypto_sign_seed_keypair(s->sign_pk, s->sign_sk, seed);
    return MOTE_OK;
}

mote_status_t fsim_load(fsim_t *s, const char *path, const char *out_dir, int quiet, char *msg,
                        size_t size)
{
    memset(s, 0, sizeof *s);
    s->cfg_path = path, s->quiet = quiet;
    if (sodium_init() < 0)
        return tpu_fail(msg, size, MOTE_ERR_STATE, "libsodium failed to initialize");
    mote_status_t st = parse_cfg(s, path, msg, size);
    if (!st)
        st = load_features(s, msg, size);
    if (!st)
        st = fsim_backbone(s, out_dir, msg, size);
    if (!st)
        st = partition(s, msg, size);
    if (!st)
        st = pool_stats(s);
    if (!st)
        st = head_shape(s);
    if (st == MOTE_ERR_NOMEM)
        tpu_fail(msg, size, st, "out of memory");
    return st;
}

void fsim_free(fsim_t *s)
{
    if (s->dev)
        for (uint32_t d = 0; d < s->cfg.devices; d++)
            free(s->dev[d].idx);
    free(s->dev), free(s->xtr), free(s->ytr), free(s->xte), free(s->yte), free(s->load_tr);
    free(s->cfg.features), free(s->cfg.backbone);
    memset(s, 0, sizeof *s);
}

mote_status_t fsim_head(const fsim_t *s, mote_learn_head_t *h, void **buf)
{
    const size_t n = mote_learn_head_size(s->hcfg.n_features, s->hcfg.max_classes, 0);
    if (!(*buf = calloc(1, n)))
        return MOTE_ERR_NOMEM;
    mote_status_t st = mote_learn_head_init(h, &s->hcfg, *buf, n);
    if (st)
        free(*buf), *buf = NULL;
    return st;
}

double fsim_accuracy(const fsim_t *s, const float *p)
{
    mote_learn_head_t h;
    void *buf;
    if (fsim_head(s, &h, &buf) != MOTE_OK)
        return NAN;
    mote_fed_params_set(&h, p);
    size_t ok = 0;
    for (size_t i = 0; i < s->nte; i++)
        ok += mote_learn_predict(&h, s->xte + i * s->dim, NULL) == (uint32_t)s->yte[i];
    free(buf);
    return (double)ok / (double)s->nte;
}
