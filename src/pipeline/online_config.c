/* mote pipeline: the `mote learn` config (see online.h).
 *
 * Keys (unknown keys are errors so a typo cannot silently change a run):
 *   description  string, ignored
 *   task         "classify" (default) | "anomaly"
 *   backbone     object, optional (no backbone: the head or detector sits
 *                on the front-end features):
 *     train      `mote train` config; trained into OUT/backbone each run
 *     model      a .tflite instead of train;  dspcfg  its DSP config
 *     fit        or fit here on the pretrain features: {type "autoencoder"
 *                | "mlp", layers [hidden widths], epochs (100), lr
 *                (0.005), batch (32), seed (1)}; the features are
 *                standardized by a frozen standardizer fitted on the same
 *                data, which then runs in front of the int8 backbone
 *     tap        "penultimate" (default: the input of the last
 *                FULLY_CONNECTED) | tensor index | tensor name
 *   front        object, optional; default: the backbone's DSP config if it
 *                has one, else the window's values as they are:
 *     kind       "raw" | "dsp" | "bands"
 *     dspcfg     "dsp" without a backbone: a .dspcfg file
 *     bands      "bands": number of equal bands over the row (default 16)
 *     log_floor  "bands": floor before the log (default 1e-6)
 *   classes      classify: [names] the head starts with (required)
 *   max_classes  classify: rows allocated (default: classes + 1)
 *   head         lr (0.05), momentum (0), l2 (0), schedule "constant" |
 *                "invtime" | "step", decay, step_every, gamma
 *   standardizer warmup (samples before freezing, 0 = never; default 0),
 *                compensated (false), off (false)
 *   anomaly      detector "recon" (default) | "iforest";
 *                normal_classes [names] (required for anomaly);
 *                lr (0.1), normalized (true), adapt (true): recon output
 *                layer learning; learn_below (0 = off: the layer learns
 *                every sample not above the threshold; r in (0, 1]: only
 *                samples scoring below r * threshold, see
 *                mote_anomaly_ol_update_below); groups (16, 0 = no
 *                explanation);
 *                threshold {mode "quantile"|"sigma", quantile, margin, k,
 *                alpha, clear_ratio, warmup, raise_after, clear_after,
 *                learn_below, learn_limit (mote/anomaly.h),
 *                adapt (true)}; iforest {trees, psi, max_depth, seed}
 *   drift        detectors [{type "ph"|"adwin"|"ddm", input "error" |
 *                "confidence" | "score", ph: delta lambda warn min_samples
 *                direction; adwin: delta max_buckets max_rows clock
 *                min_sub; ddm: warn_sigma drift_sigma std_floor
 *                min_samples binary}];
 *                policy {on_warning, on_drift: [action names "event",
 *                "reset_standardizer", "boost_lr", "request_labels",
 *                "reset_threshold"], lr_boost, lr_samples, n_labels,
 *                cooldown}
 *   pretrain     {epochs (1), mix, segments}: replayed with every label
 *                before the stream (head warm start, threshold warm-up,
 *                forest growing); not logged
 *   stream       {seed (1), phases: [{name, mix "sequence" | "random" |
 *                "round_robin", repeat, block, length, labels, segments}]}
 *                segment: {dataset (spec path), split "train" | "val" |
 *                "test" | "all", classes [names], files [names],
 *                windows [from, to]}
 *   labels       "none" | {every, offset, rate, after, max, classes}
 *   report       {window (100), target (0.95), after_labels, class,
 *                after_class_labels} */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "online.h"
#include "online_internal.h"

typedef struct cctx {
    const char *file;
    char *msg;
    size_t size;
} cctx_t;

#define PATH_MAX_LEN 256

ONL_PRINTF(3, 4)
static mote_status_t cerr(const cctx_t *c, const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return tpu_fail(c->msg, c->size, MOTE_ERR_ARG, "%s: %s: %s", c->file, path, what);
}

/* path.key into dst; a path too long for it is cut (only messages use it). */
static void sub(char *dst, const char *path, const char *key)
{
    if (snprintf(dst, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key) >= PATH_MAX_LEN)
        dst[PATH_MAX_LEN - 1] = '\0';
}

static void sub_index(char *dst, const char *path, size_t i)
{
    if (snprintf(dst, PATH_MAX_LEN, "%s[%zu]", path, i) >= PATH_MAX_LEN)
        dst[PATH_MAX_LEN - 1] = '\0';
}

static mote_status_t check_keys(const cctx_t *c, json_t *obj, const char *path,
                                const char *const *keys)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj))
        return cerr(c, *path ? path : "(top)", "must be an object");
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i]) {
            char p[PATH_MAX_LEN];
            sub(p, path, k);
            return cerr(c, p, "unknown key");
        }
    }
    return MOTE_OK;
}

static mote_status_t get_num(const cctx_t *c, json_t *obj, const char *path, const char *key,
                             double lo, double hi, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MOTE_OK;
    char p[PATH_MAX_LEN];
    sub(p, path, key);
    if (!json_is_number(v))
        return cerr(c, p, "must be a number");
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return cerr(c, p, "%g is outside [%g, %g]", d, lo, hi);
    *out = d;
    return MOTE_OK;
}

static mote_status_t get_f(const cctx_t *c, json_t *obj, const char *path, const char *key,
                           double lo, double hi, float *out)
{
    double d = *out;
    mote_status_t st = get_num(c, obj, path, key, lo, hi, &d);
    *out = (float)d;
    return st;
}

static mote_status_t get_u32(const cctx_t *c, json_t *obj, const char *path, const char *key,
                             double lo, double hi, uint32_t *out)
{
    double d = *out;
    mote_status_t st = get_num(c, obj, path, key, lo, hi, &d);
    if (st == MOTE_OK && d != floor(d)) {
        char p[PATH_MAX_LEN];
        sub(p, path, key);
        return cerr(c, p, "must be an integer");
    }
    *out = (uint32_t)d;
    return st;
}

static mote_status_t get_u64(const cctx_t *c, json_t *obj, const char *path, const char *key,
                             uint64_t *out)
{
    uint32_t v = (uint32_t)(*out > UINT32_MAX ? UINT32_MAX : *out);
    mote_status_t st = get_u32(c, obj, path, key, 0, 4294967295.0, &v);
    *out = v;
    return st;
}

static mote_status_t get_bool(const cctx_t *c, json_t *obj, const char *path, const char *key,
                              int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MOTE_OK;
    if (!json_is_boolean(v)) {
        char p[PATH_MAX_LEN];
        sub(p, path, key);
        return cerr(c, p, "must be true or false");
    }
    *out = json_is_true(v);
    return MOTE_OK;
}

/* One of names[] (NULL-terminated) -> its index in *out. */
static mote_status_t get_enum(const cctx_t *c, json_t *obj, const char *path, const char *key,
                              const char *const *names, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MOTE_OK;
    char p[PATH_MAX_LEN];
    sub(p, path, key);
    const char *s = json_string_value(v);
    for (int i = 0; s && names[i]; i++)
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return MOTE_OK;
        }
    char list[256] = "";
    for (int i = 0; names[i]; i++)
        tpu_append(list, sizeof list, "%s\"%s\"", i ? ", " : "", names[i]);
    return cerr(c, p, "must be one of %s", list);
}

/* A path relative to the config's folder, malloc'ed into *out. */
static mote_status_t get_path(const cctx_t *c, json_t *obj, const char *path, const char *key,
                              char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MOTE_OK;
    char p[PATH_MAX_LEN];
    sub(p, path, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return cerr(c, p, "must be a non-empty string");
    *out = tpu_path_join(c->file, json_string_value(v));
    return *out ? MOTE_OK : tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
}

static mote_status_t get_names(const cctx_t *c, json_t *obj, const char *path, const char *key,
                               char ***out, size_t *n)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MOTE_OK;
    char p[PATH_MAX_LEN];
    sub(p, path, key);
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > MOTE_ONLINE_MAX_NAMES)
        return cerr(c, p, "must be a list of 1 to %d names", MOTE_ONLINE_MAX_NAMES);
    *out = calloc(json_array_size(v), sizeof **out);
    if (!*out)
        return tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || json_string_length(e) == 0)
            return cerr(c, p, "entry %zu must be a non-empty string", i);
        if (!((*out)[i] = tpu_strdup(json_string_value(e))))
            return tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
        *n = i + 1;
    }
    return MOTE_OK;
}

/* ---- sections ----------------------------------------------------------- */

static mote_status_t parse_labels(const cctx_t *c, json_t *v, const char *path,
                                  mote_online_labels_t *l)
{
    static const char *const keys[] = {"every", "offset", "rate", "after", "max", "classes", NULL};
    memset(l, 0, sizeof *l);
    if (json_is_string(v) && strcmp(json_string_value(v), "none") == 0) {
        l->none = 1;
        return MOTE_OK;
    }
    mote_status_t st = check_keys(c, v, path, keys);
    if (st == MOTE_OK)
        st = get_u32(c, v, path, "every", 0, 1e9, &l->every);
    if (st == MOTE_OK)
        st = get_u32(c, v, path, "offset", 0, 1e9, &l->offset);
    if (st == MOTE_OK)
        st = get_num(c, v, path, "rate", 0, 1, &l->rate);
    if (st == MOTE_OK)
        st = get_u64(c, v, path, "after", &l->after);
    if (st == MOTE_OK)
        st = get_u64(c, v, path, "max", &l->max);
    if (st == MOTE_OK)
        st = get_names(c, v, path, "classes", &l->classes, &l->n_classes);
    if (st == MOTE_OK && l->every == 0 && l->rate == 0)
        l->none = 1;
    return st;
}

static mote_status_t parse_segment(const cctx_t *c, json_t *v, const char *path,
                                   mote_online_segment_t *s)
{
    static const char *const keys[] = {"dataset", "split", "classes", "files", "windows", NULL};
    static const char *const splits[] = {"train", "val", "test", "all", NULL};
    mote_status_t st = check_keys(c, v, path, keys);
    int split = 3;
    if (st == MOTE_OK)
        st = get_path(c, v, path, "dataset", &s->dataset);
    if (st == MOTE_OK && !s->dataset)
        st = cerr(c, path, "needs \"dataset\"");
    if (st == MOTE_OK)
        st = get_enum(c, v, path, "split", splits, &split);
    s->all = split == 3;
    s->split = split == 3 ? MOTE_SPLIT_TRAIN : (mote_split_t)split;
    if (st == MOTE_OK)
        st = get_names(c, v, path, "classes", &s->classes, &s->n_classes);
    if (st == MOTE_OK)
        st = get_names(c, v, path, "files", &s->files, &s->n_files);
    json_t *w = json_object_get(v, "windows");
    if (st == MOTE_OK && w) {
        char p[PATH_MAX_LEN];
        sub(p, path, "windows");
        json_t *a = json_array_get(w, 0), *b = json_array_get(w, 1);
        if (json_array_size(w) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 0 || json_integer_value(b) <= json_integer_value(a))
            return cerr(c, p, "must be [from, to] with 0 <= from < to");
        s->from = (size_t)json_integer_value(a);
        s->to = (size_t)json_integer_value(b);
    }
    return st;
}

static mote_status_t parse_segments(const cctx_t *c, json_t *obj, const char *path,
                                    mote_online_phase_t *ph)
{
    char p[PATH_MAX_LEN];
    sub(p, path, "segments");
    json_t *v = json_object_get(obj, "segments");
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > MOTE_ONLINE_MAX_SEGMENTS)
        return cerr(c, p, "must be a list of 1 to %d segments", MOTE_ONLINE_MAX_SEGMENTS);
    ph->segments = calloc(json_array_size(v), sizeof *ph->segments);
    if (!ph->segments)
        return tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char q[PATH_MAX_LEN];
        sub_index(q, p, i);
        ph->n_segments = i + 1;
        mote_status_t st = parse_segment(c, e, q, &ph->segments[i]);
        if (st != MOTE_OK)
            return st;
    }
    return MOTE_OK;
}

static const char *const mix_names[] = {"sequence", "random", "round_robin", NULL};

static mote_status_t parse_phase(const cctx_t *c, json_t *v, const char *path,
                                 mote_online_phase_t *ph, size_t index)
{
    static const char *const keys[] = {"name", "mix", "repeat", "block", "length",
                                       "labels", "segments", NULL};
    mote_status_t st = check_keys(c, v, path, keys);
    int mix = MOTE_ONLINE_MIX_RANDOM;
    json_t *name = json_object_get(v, "name");
    char def[32];
    snprintf(def, sizeof def, "phase %zu", index + 1);
    ph->repeat = 1;
    if (st == MOTE_OK && name && !json_is_string(name))
        st = cerr(c, path, "name must be a string");
    if (st == MOTE_OK && !(ph->name = tpu_strdup(name ? json_string_value(name) : def)))
        st = tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
    if (st == MOTE_OK)
        st = get_enum(c, v, path, "mix", mix_names, &mix);
    ph->mix = (mote_online_mix_t)mix;
    if (st == MOTE_OK)
        st = get_u32(c, v, path, "repeat", 1, 1e6, &ph->repeat);
    if (st == MOTE_OK)
        st = get_u32(c, v, path, "block", 0, 1e6, &ph->block);
    if (st == MOTE_OK)
        st = get_u64(c, v, path, "length", &ph->length);
    if (st == MOTE_OK && ph->block && !ph->length)
        st = cerr(c, path, "\"block\" needs \"length\" (samples in the phase)");
    json_t *l = json_object_get(v, "labels");
    if (st == MOTE_OK && l) {
        char p[PATH_MAX_LEN];
        sub(p, path, "labels");
        ph->has_labels = 1;
        st = parse_labels(c, l, p, &ph->labels);
    }
    return st == MOTE_OK ? parse_segments(c, v, path, ph) : st;
}

static mote_status_t parse_stream(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"seed", "phases", NULL};
    json_t *v = json_object_get(root, "stream");
    if (!v)
        return cerr(c, "stream", "required");
    mote_status_t st = check_keys(c, v, "stream", keys);
    uint32_t seed = 1;
    if (st == MOTE_OK)
        st = get_u32(c, v, "stream", "seed", 0, 4294967295.0, &seed);
    cfg->seed = seed;
    json_t *ph = json_object_get(v, "phases");
    if (st == MOTE_OK && (!json_is_array(ph) || json_array_size(ph) == 0 ||
                          json_array_size(ph) > MOTE_ONLINE_MAX_PHASES))
        st = cerr(c, "stream.phases", "must be a list of 1 to %d phases", MOTE_ONLINE_MAX_PHASES);
    size_t i;
    json_t *e;
    json_array_foreach(ph, i, e) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "stream.phases[%zu]", i);
        if (st != MOTE_OK)
            break;
        cfg->n_phases = i + 1;
        st = parse_phase(c, e, p, &cfg->phases[i], i);
    }
    return st;
}

static mote_status_t parse_pretrain(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"epochs", "mix", "segments", NULL};
    json_t *v = json_object_get(root, "pretrain");
    cfg->pretrain_epochs = 1;
    if (!v)
        return MOTE_OK;
    mote_status_t st = check_keys(c, v, "pretrain", keys);
    int mix = MOTE_ONLINE_MIX_RANDOM;
    if (st == MOTE_OK)
        st = get_u32(c, v, "pretrain", "epochs", 1, 1000, &cfg->pretrain_epochs);
    if (st == MOTE_OK)
        st = get_enum(c, v, "pretrain", "mix", mix_names, &mix);
    cfg->pretrain.mix = (mote_online_mix_t)mix;
    cfg->pretrain.repeat = 1;
    if (st == MOTE_OK && !(cfg->pretrain.name = tpu_strdup("pretrain")))
        st = tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
    return st == MOTE_OK ? parse_segments(c, v, "pretrain", &cfg->pretrain) : st;
}

static mote_status_t parse_fit(const cctx_t *c, json_t *v, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"type", "layers", "epochs", "lr", "batch", "seed", NULL};
    static const char *const types[] = {"mlp", "autoencoder", NULL};
    const char *p = "backbone.fit";
    int type = 0;
    cfg->has_fit = 1;
    cfg->fit_epochs = 100;
    cfg->fit_batch = 32;
    cfg->fit_seed = 1;
    cfg->fit_lr = 0.005f;
    mote_status_t st = check_keys(c, v, p, keys);
    if (st == MOTE_OK)
        st = get_enum(c, v, p, "type", types, &type);
    cfg->fit_ae = type == 1;
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "epochs", 1, 100000, &cfg->fit_epochs);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "batch", 1, 65536, &cfg->fit_batch);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "seed", 0, 4294967295.0, &cfg->fit_seed);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "lr", 1e-9, 10, &cfg->fit_lr);
    json_t *l = json_object_get(v, "layers");
    if (st == MOTE_OK && (!json_is_array(l) || json_array_size(l) == 0 || json_array_size(l) > 8))
        return cerr(c, "backbone.fit.layers", "must be a list of 1 to 8 layer widths");
    size_t i;
    json_t *e;
    json_array_foreach(l, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 4096)
            return cerr(c, "backbone.fit.layers", "entry %zu must be an integer in [1, 4096]", i);
        cfg->fit_layers[i] = (int32_t)json_integer_value(e);
        cfg->n_fit_layers = i + 1;
    }
    return st;
}

static mote_status_t parse_backbone(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"train", "model", "dspcfg", "fit", "tap", NULL};
    json_t *v = json_object_get(root, "backbone");
    cfg->tap_index = -2;
    if (!v || json_is_null(v))
        return MOTE_OK;
    mote_status_t st = check_keys(c, v, "backbone", keys);
    if (st == MOTE_OK)
        st = get_path(c, v, "backbone", "train", &cfg->backbone_train);
    if (st == MOTE_OK)
        st = get_path(c, v, "backbone", "model", &cfg->backbone_model);
    if (st == MOTE_OK)
        st = get_path(c, v, "backbone", "dspcfg", &cfg->backbone_dspcfg);
    if (st == MOTE_OK && json_object_get(v, "fit"))
        st = parse_fit(c, json_object_get(v, "fit"), cfg);
    if (st == MOTE_OK && (!!cfg->backbone_train + !!cfg->backbone_model + cfg->has_fit) != 1)
        st = cerr(c, "backbone", "needs exactly one of \"train\", \"model\" and \"fit\"");
    json_t *tap = json_object_get(v, "tap");
    if (st != MOTE_OK || !tap)
        return st;
    if (json_is_integer(tap) && json_integer_value(tap) >= 0 && json_integer_value(tap) < 65536)
        cfg->tap_index = json_integer_value(tap);
    else if (json_is_string(tap) && strcmp(json_string_value(tap), "penultimate") != 0) {
        cfg->tap_index = -1;
        if (!(cfg->tap_name = tpu_strdup(json_string_value(tap))))
            return tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
    } else if (!json_is_string(tap))
        return cerr(c, "backbone.tap", "must be \"penultimate\", a tensor index or a tensor name");
    return MOTE_OK;
}

static mote_status_t parse_front(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"kind", "dspcfg", "bands", "log_floor", NULL};
    static const char *const kinds[] = {"raw", "dsp", "bands", NULL};
    json_t *v = json_object_get(root, "front");
    cfg->bands = 16;
    cfg->log_floor = 1e-6f;
    if (!v)
        return MOTE_OK;
    mote_status_t st = check_keys(c, v, "front", keys);
    int kind = 0;
    if (st == MOTE_OK && !json_object_get(v, "kind"))
        st = cerr(c, "front", "needs \"kind\"");
    if (st == MOTE_OK)
        st = get_enum(c, v, "front", "kind", kinds, &kind);
    cfg->front = (mote_online_front_t)kind;
    cfg->front_given = 1;
    if (st == MOTE_OK)
        st = get_path(c, v, "front", "dspcfg", &cfg->backbone_dspcfg);
    if (st == MOTE_OK)
        st = get_u32(c, v, "front", "bands", 1, MOTE_DSP_MAX_LIN_BANDS, &cfg->bands);
    if (st == MOTE_OK)
        st = get_f(c, v, "front", "log_floor", 1e-30, 1e30, &cfg->log_floor);
    if (st == MOTE_OK && cfg->front == MOTE_ONLINE_FRONT_DSP && !cfg->backbone_dspcfg &&
        !cfg->backbone_train)
        st = cerr(c, "front.dspcfg", "\"dsp\" needs a .dspcfg file (or a trained backbone's)");
    return st;
}

static mote_status_t parse_head(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"lr", "momentum", "l2", "schedule", "decay",
                                       "step_every", "gamma", NULL};
    static const char *const sched[] = {"constant", "invtime", "step", NULL};
    mote_learn_config_t *h = &cfg->head;
    h->lr = 0.05f;
    h->gamma = 1.0f;
    h->step_every = 1;
    json_t *v = json_object_get(root, "head");
    if (!v)
        return MOTE_OK;
    int s = 0;
    mote_status_t st = check_keys(c, v, "head", keys);
    if (st == MOTE_OK)
        st = get_f(c, v, "head", "lr", 1e-9, 1e3, &h->lr);
    if (st == MOTE_OK)
        st = get_f(c, v, "head", "momentum", 0, 0.999, &h->momentum);
    if (st == MOTE_OK)
        st = get_f(c, v, "head", "l2", 0, 1e3, &h->l2);
    if (st == MOTE_OK)
        st = get_enum(c, v, "head", "schedule", sched, &s);
    h->schedule = (uint8_t)s;
    if (st == MOTE_OK)
        st = get_f(c, v, "head", "decay", 0, 1e6, &h->decay);
    if (st == MOTE_OK)
        st = get_u32(c, v, "head", "step_every", 1, 1e9, &h->step_every);
    if (st == MOTE_OK)
        st = get_f(c, v, "head", "gamma", 1e-6, 1, &h->gamma);
    h->flags = h->momentum > 0 ? MOTE_LEARN_MOMENTUM : 0;
    return st;
}

static mote_status_t parse_classes(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"warmup", "compensated", "off", NULL};
    mote_status_t st = get_names(c, root, "", "classes", &cfg->classes, &cfg->n_classes);
    uint32_t maxc = (uint32_t)cfg->n_classes + 1;
    if (st == MOTE_OK)
        st = get_u32(c, root, "", "max_classes", 1, MOTE_LEARN_MAX_CLASSES, &maxc);
    if (st == MOTE_OK && cfg->task == MOTE_ONLINE_CLASSIFY && cfg->n_classes == 0)
        st = cerr(c, "classes", "required for task \"classify\"");
    if (st == MOTE_OK && maxc < cfg->n_classes)
        st = cerr(c, "max_classes", "%u is below the %zu classes", maxc, cfg->n_classes);
    cfg->head.max_classes = maxc;
    cfg->head.n_classes = (uint32_t)cfg->n_classes;
    json_t *v = json_object_get(root, "standardizer");
    if (st != MOTE_OK || !v)
        return st;
    st = check_keys(c, v, "standardizer", keys);
    if (st == MOTE_OK)
        st = get_u32(c, v, "standardizer", "warmup", 0, 4294967295.0, &cfg->std_warmup);
    if (st == MOTE_OK)
        st = get_bool(c, v, "standardizer", "compensated", &cfg->std_compensated);
    if (st == MOTE_OK)
        st = get_bool(c, v, "standardizer", "off", &cfg->std_off);
    return st;
}

static mote_status_t parse_threshold(const cctx_t *c, json_t *v, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"mode", "quantile", "margin", "k", "alpha", "clear_ratio",
                                       "warmup", "raise_after", "clear_after", "adapt", "learn_below",
                                       "learn_limit", NULL};
    static const char *const modes[] = {"quantile", "sigma", NULL};
    const char *p = "anomaly.threshold";
    mote_anomaly_thr_config_t *t = &cfg->thr;
    int mode = (int)t->mode;
    mote_status_t st = check_keys(c, v, p, keys);
    if (st == MOTE_OK)
        st = get_enum(c, v, p, "mode", modes, &mode);
    t->mode = (uint32_t)mode;
    if (st == MOTE_OK)
        st = get_f(c, v, p, "quantile", 1e-6, 0.999999, &t->quantile);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "margin", 1e-6, 1e6, &t->margin);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "k", 0, 1e6, &t->k);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "alpha", 0, 0.999999, &t->alpha);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "clear_ratio", 1e-6, 1, &t->clear_ratio);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "warmup", 0, 1e9, &t->warmup);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "raise_after", 1, 1e9, &t->raise_after);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "clear_after", 1, 1e9, &t->clear_after);
    if (st == MOTE_OK)
        st = get_bool(c, v, p, "adapt", &cfg->thr_adapt);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "learn_below", 0, 10, &t->learn_below);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "learn_limit", 0, 1e9, &t->learn_limit);
    return st;
}

static mote_status_t parse_iforest(const cctx_t *c, json_t *v, mote_iforest_params_t *f)
{
    static const char *const keys[] = {"trees", "psi", "max_depth", "seed", NULL};
    const char *p = "anomaly.iforest";
    uint32_t seed = (uint32_t)f->seed;
    mote_status_t st = check_keys(c, v, p, keys);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "trees", 1, MOTE_IFOREST_MAX_TREES, &f->n_trees);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "psi", 2, MOTE_IFOREST_MAX_PSI, &f->psi);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "max_depth", 0, MOTE_IFOREST_MAX_DEPTH, &f->max_depth);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "seed", 0, 4294967295.0, &seed);
    f->seed = seed;
    return st;
}

static mote_status_t parse_anomaly(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"detector", "normal_classes", "lr", "normalized", "adapt",
                                       "learn_below", "groups", "threshold", "iforest", NULL};
    static const char *const dets[] = {"recon", "iforest", NULL};
    mote_anomaly_thr_config_default(&cfg->thr);
    mote_iforest_params_default(&cfg->iforest);
    cfg->ol_lr = 0.1f;
    cfg->ol_normalized = 1;
    cfg->adapt = 1;
    cfg->ol_learn_below = 0.0f;
    cfg->thr_adapt = 1;
    cfg->groups = 16;
    json_t *v = json_object_get(root, "anomaly");
    if (!v)
        return cfg->task == MOTE_ONLINE_ANOMALY ? cerr(c, "anomaly", "required for task \"anomaly\"")
                                                : MOTE_OK;
    int det = 0;
    mote_status_t st = check_keys(c, v, "anomaly", keys);
    if (st == MOTE_OK)
        st = get_enum(c, v, "anomaly", "detector", dets, &det);
    cfg->anom = (mote_online_anom_t)det;
    if (st == MOTE_OK)
        st = get_names(c, v, "anomaly", "normal_classes", &cfg->normal, &cfg->n_normal);
    if (st == MOTE_OK && !cfg->normal)
        st = cerr(c, "anomaly.normal_classes", "required");
    if (st == MOTE_OK)
        st = get_f(c, v, "anomaly", "lr", 1e-9, 1e3, &cfg->ol_lr);
    if (st == MOTE_OK)
        st = get_bool(c, v, "anomaly", "normalized", &cfg->ol_normalized);
    if (st == MOTE_OK)
        st = get_bool(c, v, "anomaly", "adapt", &cfg->adapt);
    if (st == MOTE_OK)
        st = get_f(c, v, "anomaly", "learn_below", 0, 1, &cfg->ol_learn_below);
    if (st == MOTE_OK)
        st = get_u32(c, v, "anomaly", "groups", 0, 4096, &cfg->groups);
    if (st == MOTE_OK && json_object_get(v, "threshold"))
        st = parse_threshold(c, json_object_get(v, "threshold"), cfg);
    if (st == MOTE_OK && json_object_get(v, "iforest"))
        st = parse_iforest(c, json_object_get(v, "iforest"), &cfg->iforest);
    if (st == MOTE_OK && mote_anomaly_thr_init(&(mote_anomaly_thr_t){0}, &cfg->thr) != MOTE_OK)
        st = cerr(c, "anomaly.threshold", "inconsistent settings (see mote/anomaly.h)");
    return st;
}

/* ---- drift -------------------------------------------------------------- */

static mote_status_t parse_detector(const cctx_t *c, json_t *v, const char *p,
                                    mote_online_detector_t *d)
{
    static const char *const keys[] = {"type", "input", "delta", "lambda", "warn", "min_samples",
                                       "direction", "max_buckets", "max_rows", "clock", "min_sub",
                                       "warn_sigma", "drift_sigma", "std_floor", "binary", NULL};
    static const char *const types[] = {"ph", "adwin", "ddm", NULL};
    static const char *const inputs[] = {"error", "confidence", "score", NULL};
    int type = 2, input = 0, binary = 1;
    mote_drift_ph_config_default(&d->ph);
    mote_drift_adwin_config_default(&d->adwin);
    mote_drift_ddm_config_default(&d->ddm);
    mote_status_t st = check_keys(c, v, p, keys);
    if (st == MOTE_OK)
        st = get_enum(c, v, p, "type", types, &type);
    if (st == MOTE_OK)
        st = get_enum(c, v, p, "input", inputs, &input);
    d->kind = (mote_online_det_t)type;
    d->input = (mote_online_input_t)input;
    float delta = type == MOTE_ONLINE_DET_ADWIN ? d->adwin.delta : d->ph.delta;
    uint32_t min_samples = type == MOTE_ONLINE_DET_DDM ? d->ddm.min_samples : d->ph.min_samples;
    double dir = d->ph.direction;
    if (st == MOTE_OK)
        st = get_f(c, v, p, "delta", 0, 1e9, &delta);
    d->ph.delta = d->adwin.delta = delta;
    if (st == MOTE_OK)
        st = get_f(c, v, p, "lambda", 1e-9, 1e9, &d->ph.lambda);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "warn", 0, 1e9, &d->ph.warn);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "min_samples", 0, 1e9, &min_samples);
    d->ph.min_samples = d->ddm.min_samples = min_samples;
    if (st == MOTE_OK)
        st = get_num(c, v, p, "direction", -1, 1, &dir);
    d->ph.direction = (int32_t)dir;
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "max_buckets", 2, MOTE_DRIFT_ADWIN_MAX_BUCKETS, &d->adwin.max_buckets);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "max_rows", 1, MOTE_DRIFT_ADWIN_MAX_ROWS, &d->adwin.max_rows);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "clock", 1, 1e9, &d->adwin.clock);
    if (st == MOTE_OK)
        st = get_u32(c, v, p, "min_sub", 1, 1e9, &d->adwin.min_sub);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "warn_sigma", 1e-6, 1e6, &d->ddm.warn_sigma);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "drift_sigma", 1e-6, 1e6, &d->ddm.drift_sigma);
    if (st == MOTE_OK)
        st = get_f(c, v, p, "std_floor", 0, 1e9, &d->ddm.std_floor);
    if (st == MOTE_OK)
        st = get_bool(c, v, p, "binary", &binary);
    d->ddm.binary = (uint32_t)binary;
    if (st != MOTE_OK)
        return st;
    mote_drift_ph_t ph;
    mote_drift_ddm_t ddm;
    if ((type == MOTE_ONLINE_DET_PH && mote_drift_ph_init(&ph, &d->ph) != MOTE_OK) ||
        (type == MOTE_ONLINE_DET_DDM && mote_drift_ddm_init(&ddm, &d->ddm) != MOTE_OK) ||
        (type == MOTE_ONLINE_DET_ADWIN && mote_drift_adwin_state_size(&d->adwin) == 0))
        return cerr(c, p, "inconsistent detector settings (see mote/drift.h)");
    return MOTE_OK;
}

static mote_status_t get_actions(const cctx_t *c, json_t *obj, const char *path, const char *key,
                                 uint32_t *out)
{
    static const char *const acts[] = {"event", "reset_standardizer", "boost_lr",
                                       "request_labels", "reset_threshold", NULL};
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MOTE_OK;
    char p[PATH_MAX_LEN];
    sub(p, path, key);
    if (!json_is_array(v))
        return cerr(c, p, "must be a list of action names");
    *out = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        int a = -1;
        json_t *wrap = json_pack("{sO}", "a", e);
        mote_status_t st = wrap ? get_enum(c, wrap, p, "a", acts, &a)
                                : tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
        json_decref(wrap);
        if (st != MOTE_OK)
            return st;
        *out |= 1u << a;
    }
    return MOTE_OK;
}

static mote_status_t parse_drift(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"detectors", "policy", NULL};
    static const char *const pkeys[] = {"on_warning", "on_drift", "lr_boost", "lr_samples",
                                        "n_labels", "cooldown", NULL};
    mote_drift_policy_config_t *pc = &cfg->policy;
    memset(pc, 0, sizeof *pc);
    pc->on_drift = MOTE_DRIFT_ACT_EVENT;
    pc->lr_boost = 1.0f;
    json_t *v = json_object_get(root, "drift");
    if (!v)
        return MOTE_OK;
    mote_status_t st = check_keys(c, v, "drift", keys);
    json_t *dets = json_object_get(v, "detectors");
    if (st == MOTE_OK && (!json_is_array(dets) || json_array_size(dets) == 0 ||
                          json_array_size(dets) > MOTE_ONLINE_MAX_DETECTORS))
        st = cerr(c, "drift.detectors", "must be a list of 1 to %d detectors",
                  MOTE_ONLINE_MAX_DETECTORS);
    size_t i;
    json_t *e;
    json_array_foreach(dets, i, e) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "drift.detectors[%zu]", i);
        if (st != MOTE_OK)
            break;
        cfg->n_det = i + 1;
        st = parse_detector(c, e, p, &cfg->det[i]);
    }
    json_t *pol = json_object_get(v, "policy");
    if (st != MOTE_OK || !pol)
        return st;
    st = check_keys(c, pol, "drift.policy", pkeys);
    if (st == MOTE_OK)
        st = get_actions(c, pol, "drift.policy", "on_warning", &pc->on_warning);
    if (st == MOTE_OK)
        st = get_actions(c, pol, "drift.policy", "on_drift", &pc->on_drift);
    if (st == MOTE_OK)
        st = get_f(c, pol, "drift.policy", "lr_boost", 1, 1e6, &pc->lr_boost);
    if (st == MOTE_OK)
        st = get_u32(c, pol, "drift.policy", "lr_samples", 0, 1e9, &pc->lr_samples);
    if (st == MOTE_OK)
        st = get_u32(c, pol, "drift.policy", "n_labels", 0, 1e9, &pc->n_labels);
    if (st == MOTE_OK)
        st = get_u32(c, pol, "drift.policy", "cooldown", 0, 1e9, &pc->cooldown);
    return st;
}

static mote_status_t parse_report(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"window", "target", "after_labels", "class",
                                       "after_class_labels", NULL};
    cfg->window = 100;
    cfg->target = 0.95;
    json_t *v = json_object_get(root, "report");
    if (!v)
        return MOTE_OK;
    mote_status_t st = check_keys(c, v, "report", keys);
    if (st == MOTE_OK)
        st = get_u32(c, v, "report", "window", 1, 1e7, &cfg->window);
    if (st == MOTE_OK)
        st = get_num(c, v, "report", "target", 0, 1, &cfg->target);
    if (st == MOTE_OK)
        st = get_u64(c, v, "report", "after_labels", &cfg->after_labels);
    if (st == MOTE_OK)
        st = get_u64(c, v, "report", "after_class_labels", &cfg->after_class_labels);
    json_t *cls = json_object_get(v, "class");
    if (st == MOTE_OK && cls) {
        if (!json_is_string(cls))
            return cerr(c, "report.class", "must be a class name");
        if (!(cfg->watch_class = tpu_strdup(json_string_value(cls))))
            return tpu_fail(c->msg, c->size, MOTE_ERR_NOMEM, "out of memory");
    }
    return st;
}

/* ---- top level ---------------------------------------------------------- */

static mote_status_t parse_root(const cctx_t *c, json_t *root, mote_online_config_t *cfg)
{
    static const char *const keys[] = {"description", "task", "backbone", "front", "classes",
                                       "max_classes", "head", "standardizer", "anomaly",
                                       "drift", "pretrain", "stream", "labels", "report", NULL};
    static const char *const tasks[] = {"classify", "anomaly", NULL};
    int task = 0;
    mote_status_t st = check_keys(c, root, "", keys);
    if (st == MOTE_OK)
        st = get_enum(c, root, "", "task", tasks, &task);
    cfg->task = (mote_online_task_t)task;
    if (st == MOTE_OK)
        st = parse_backbone(c, root, cfg);
    if (st == MOTE_OK)
        st = parse_front(c, root, cfg);
    if (st == MOTE_OK)
        st = parse_head(c, root, cfg);
    if (st == MOTE_OK)
        st = parse_classes(c, root, cfg);
    if (st == MOTE_OK)
        st = parse_anomaly(c, root, cfg);
    if (st == MOTE_OK && cfg->task == MOTE_ONLINE_ANOMALY && cfg->anom == MOTE_ONLINE_ANOM_RECON &&
        !cfg->backbone_train && !cfg->backbone_model && !cfg->has_fit)
        st = cerr(c, "anomaly.detector", "\"recon\" needs an autoencoder backbone");
    if (st == MOTE_OK)
        st = parse_drift(c, root, cfg);
    if (st == MOTE_OK)
        st = parse_pretrain(c, root, cfg);
    if (st == MOTE_OK)
        st = parse_stream(c, root, cfg);
    json_t *l = json_object_get(root, "labels");
    if (st == MOTE_OK && l)
        st = parse_labels(c, l, "labels", &cfg->labels);
    else if (st == MOTE_OK)
        cfg->labels.none = 1;
    if (st == MOTE_OK)
        st = parse_report(c, root, cfg);
    return st;
}

mote_status_t mote_online_config_parse(const char *name, const char *json, size_t len,
                                       mote_online_config_t **out, char *msg, size_t msg_size)
{
    if (!name || !json || !out)
        return tpu_fail(msg, msg_size, MOTE_ERR_ARG, "mote_online_config_parse: NULL argument");
    *out = NULL;
    cctx_t c = {name, msg, msg_size};
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tpu_fail(msg, msg_size, MOTE_ERR_FORMAT, "%s:%d:%d: JSON syntax error: %s", name,
                        je.line, je.column, je.text);
    mote_online_config_t *cfg = calloc(1, sizeof *cfg);
    mote_status_t st = cfg && (cfg->path = tpu_strdup(name))
                           ? parse_root(&c, root, cfg)
                           : tpu_fail(msg, msg_size, MOTE_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (st != MOTE_OK) {
        mote_online_config_free(cfg);
        return st;
    }
    *out = cfg;
    return MOTE_OK;
}

mote_status_t mote_online_config_load(const char *path, mote_online_config_t **out, char *msg,
                                      size_t msg_size)
{
    char *buf = NULL;
    size_t len = 0;
    char m[MOTE_INGEST_MSG_LEN];
    if (!path || !out)
        return tpu_fail(msg, msg_size, MOTE_ERR_ARG, "mote_online_config_load: NULL argument");
    mote_status_t st = mote_ingest_slurp(path, &buf, &len, m, sizeof m);
    if (st != MOTE_OK)
        return tpu_fail(msg, msg_size, MOTE_ERR_IO, "%s", m);
    st = mote_online_config_parse(path, buf, len, out, msg, msg_size);
    free(buf);
    return st;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_phase(mote_online_phase_t *ph)
{
    for (size_t i = 0; i < ph->n_segments; i++) {
        free(ph->segments[i].dataset);
        free_names(ph->segments[i].classes, ph->segments[i].n_classes);
        free_names(ph->segments[i].files, ph->segments[i].n_files);
    }
    free(ph->segments);
    free_names(ph->labels.classes, ph->labels.n_classes);
    free(ph->name);
}

void mote_online_config_free(mote_online_config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->backbone_train);
    free(cfg->backbone_model);
    free(cfg->backbone_dspcfg);
    free(cfg->tap_name);
    free_names(cfg->classes, cfg->n_classes);
    free_names(cfg->normal, cfg->n_normal);
    free_phase(&cfg->pretrain);
    for (size_t i = 0; i < cfg->n_phases; i++)
        free_phase(&cfg->phases[i]);
    free_names(cfg->labels.classes, cfg->labels.n_classes);
    free(cfg->watch_class);
    free(cfg);
}
