/* A model package carrying a federated head (head_pkg.h). */
#define _POSIX_C_SOURCE 200809L
#include "head_pkg.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fed.h"
#include "fed_sim_int.h"
#include "keys.h"
#include "mote/learn.h"
#include "mote/model.h"
#include "train_pipeline.h"
#include "train_util.h"

#define MAX_FILE (64u << 20)
enum { BUILTIN_FULLY_CONNECTED = 9 };

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf_t;

/* 16-aligned (the runtime loads a .tflite in place), NUL-terminated. */
static mote_status_t slurp(const char *path, buf_t *b, char *msg, size_t size)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    b->p = NULL, b->n = 0;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= (long)MAX_FILE &&
        fseek(f, 0, SEEK_SET) == 0 && (b->p = aligned_alloc(16, ((size_t)n + 16) / 16 * 16)) != NULL &&
        fread(b->p, 1, (size_t)n, f) == (size_t)n) {
        fclose(f);
        b->p[n] = 0;
        b->n = (size_t)n;
        return MOTE_OK;
    }
    int e = errno;
    if (f)
        fclose(f);
    free(b->p);
    b->p = NULL;
    return tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot read (%s)", path,
                    n > (long)MAX_FILE ? "too large" : strerror(e));
}

static mote_status_t spill(const char *dir, const char *name, const char *ext, const void *p, size_t n, char *msg,
                           size_t size)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        int e = errno;
        if (f)
            fclose(f);
        return tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot write (%s)", path, strerror(e));
    }
    return MOTE_OK;
}

/* The folder's only NAME.tflite, so a `mote train --out` folder needs no name. */
static mote_status_t find_name(const char *dir, char *name, size_t cap, char *msg, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot open the package folder (%s)", dir, strerror(errno));
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 7 && n - 7 < cap && strcmp(e->d_name + n - 7, ".tflite") == 0 && found++ == 0)
            snprintf(name, cap, "%.*s", (int)(n - 7), e->d_name);
    }
    closedir(d);
    if (found == 1)
        return MOTE_OK;
    return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: %s .tflite in the package folder; name one with --name", dir,
                    found ? "more than one" : "no");
}

/* Width of the backbone tap: the input of the last FULLY_CONNECTED, as
 * `mote fed sim`, moted and the device read it. */
static mote_status_t tap_width(const buf_t *t, const char *path, uint32_t *tensor, uint32_t *n, char *msg,
                               size_t size)
{
    mote_model_t m;
    mote_status_t st = mote_model_load(&m, t->p, t->n);
    if (st != MOTE_OK)
        return tpu_fail(msg, size, st, "%s: %s", path, mote_model_error(&m));
    mote_op_info_t info;
    mote_tensor_t ten;
    for (uint32_t op = mote_model_op_count(&m); op-- > 0;) {
        if (mote_model_op(&m, op, &info) != MOTE_OK || info.builtin != BUILTIN_FULLY_CONNECTED)
            continue;
        if (mote_model_tensor(&m, (uint32_t)info.inputs[0], &ten) != MOTE_OK)
            break;
        *tensor = (uint32_t)info.inputs[0];
        *n = (uint32_t)(ten.bytes / (ten.type == MOTE_F32 ? 4 : ten.type == MOTE_I16 ? 2 : 1));
        return MOTE_OK;
    }
    return tpu_fail(msg, size, MOTE_ERR_NOT_FOUND, "%s: no FULLY_CONNECTED layer to tap", path);
}

static mote_status_t check_sig(const mote_head_pkg_opts_t *o, const buf_t *head, int *ok, char *msg, size_t size)
{
    char def[1200];
    const char *sig = o->sig;
    size_t hl = strlen(o->head);
    if (!sig && hl > 5 && strcmp(o->head + hl - 5, ".motl") == 0) {
        snprintf(def, sizeof def, "%.*s.sig", (int)(hl - 5), o->head);
        FILE *f = fopen(def, "rb");
        if (f)
            fclose(f), sig = def;
    }
    *ok = 0;
    if (!sig)
        return MOTE_OK;
    if (!o->pk)
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: a signature is present: give --pk (the fleet key) to verify it",
                        sig);
    uint8_t pk[32];
    char err[256];
    if (mote_key_load_pk(o->pk, pk, err, sizeof err) != MOTE_OK)
        return tpu_fail(msg, size, MOTE_ERR_IO, "%s: %s", o->pk, err);
    buf_t s;
    mote_status_t st = slurp(sig, &s, msg, size);
    if (st != MOTE_OK)
        return st;
    if (s.n != 64)
        st = tpu_fail(msg, size, MOTE_ERR_FORMAT, "%s: a signature is 64 bytes, not %zu", sig, s.n);
    else if (mote_fed_global_verify(pk, o->round, o->version, head->p, head->n, s.p) != MOTE_OK)
        st = tpu_fail(msg, size, MOTE_ERR_VERIFY,
                      "%s: signature does not match the head for round %u version %llu and key %s", sig, o->round,
                      (unsigned long long)o->version, o->pk);
    free(s.p);
    *ok = st == MOTE_OK;
    return st;
}

/* ---- pooled standardization (round 0 of `moted --fed`) ---- */

/* The raw DSP features of the config's training and test splits. */
static mote_status_t raw_features(const char *features, fsim_t *t, char *msg, size_t size)
{
    mote_train_config_t *tc = NULL;
    mote_dataset_t *ds = NULL;
    mote_train_data_t tr = {0}, te = {0};
    mote_dsp_config_t dsp;
    mote_status_t st = mote_train_config_load(features, &tc, msg, size);
    if (!st)
        st = mote_dataset_load(tc->dataset, NULL, &ds, msg, size);
    if (!st && tc->has_dsp)
        st = mote_train_resolve_dsp(tc, ds, &dsp, msg, size);
    for (int k = 0; k < 2 && !st; k++)
        st = mote_train_features(ds, k ? MOTE_SPLIT_TEST : MOTE_SPLIT_TRAIN, tc->has_dsp ? &dsp : NULL,
                                 MOTE_TRAIN_LAYOUT_FLAT, k ? &te : &tr, msg, size);
    if (!st) {
        t->xtr = tr.x, t->ntr = (size_t)tr.n, t->dim = tr.dim;
        t->xte = te.x, t->yte = te.y, t->nte = (size_t)te.n;
        tr.x = te.x = NULL, te.y = NULL;
    }
    mote_train_data_free(&tr), mote_train_data_free(&te);
    mote_dataset_free(ds);
    mote_train_config_free(tc);
    return st;
}

/* Accuracy of the head with its standardizer on the raw tapped test
 * features: what a device sees, so it should match the server's figure. */
static double accuracy(const fsim_t *t, const mote_learn_head_t *h, const mote_learn_std_t *std)
{
    float *x = malloc(t->dim * sizeof *x);
    size_t ok = 0;
    for (size_t i = 0; x && i < t->nte; i++) {
        memcpy(x, t->xte + i * t->dim, t->dim * sizeof *x);
        mote_learn_std_apply(std, x);
        ok += mote_learn_predict(h, x, NULL) == (uint32_t)t->yte[i];
    }
    free(x);
    return x && t->nte ? (double)ok / (double)t->nte : -1.0;
}

/* Mean and m2 (n var) of the tapped features over the devices' slices,
 * as fed_sim.c's pool_stats computes them (doubles; a variance at or
 * below 1e-12 means "centre only", m2 = 0). */
static mote_status_t pooled(const fsim_t *s, const fsim_t *t, mote_learn_std_t *std)
{
    double *sum = calloc(2 * t->dim, sizeof *sum), n = 0;
    if (!sum)
        return MOTE_ERR_NOMEM;
    for (uint32_t d = 0; d < s->cfg.devices; d++)
        for (size_t k = 0; k < s->dev[d].n; k++, n++) {
            const float *x = t->xtr + (size_t)s->dev[d].idx[k] * t->dim;
            for (size_t j = 0; j < t->dim; j++)
                sum[j] += x[j], sum[t->dim + j] += (double)x[j] * x[j];
        }
    for (size_t j = 0; j < t->dim; j++) {
        const double m = sum[j] / n, v = sum[t->dim + j] / n - m * m;
        std->mean[j] = (float)m;
        std->m2[j] = v > 1e-12 ? (float)(v * n) : 0.0f;
    }
    std->count = (uint32_t)n;
    std->frozen = 1;
    free(sum);
    return MOTE_OK;
}

/* Rewrite the head blob with the pooled statistics as its standardizer. */
/* The statistics are only right for the backbone the rounds ran on. */
static mote_status_t same_backbone(const fsim_t *s, const char *cfg, const buf_t *tflite, char *msg, size_t size)
{
    buf_t b;
    if (!s->cfg.backbone)
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: has no backbone; the head cannot ride on one", cfg);
    mote_status_t st = slurp(s->cfg.backbone, &b, msg, size);
    if (st == MOTE_OK && (b.n != tflite->n || memcmp(b.p, tflite->p, b.n) != 0))
        st = tpu_fail(msg, size, MOTE_ERR_ARG, "%s: its backbone %s is not the package's .tflite", cfg,
                      s->cfg.backbone);
    free(b.p);
    return st;
}

static mote_status_t add_std(const char *cfg, const buf_t *tflite, const mote_learn_blob_info_t *bi, buf_t *head,
                             double *acc, char *msg, size_t size)
{
    fsim_t s, t;
    memset(&t, 0, sizeof t);
    mote_status_t st = fsim_load(&s, cfg, NULL, 1, msg, size);
    if (st != MOTE_OK)
        return st;
    if ((st = same_backbone(&s, cfg, tflite, msg, size)) != MOTE_OK) {
        fsim_free(&s);
        return st;
    }
    t.cfg.backbone = s.cfg.backbone, t.cfg_path = cfg;
    st = raw_features(s.cfg.features, &t, msg, size);
    if (!st)
        st = fsim_backbone(&t, NULL, msg, size);
    if (!st && t.dim != bi->n_features)
        st = tpu_fail(msg, size, MOTE_ERR_SHAPE, "%s: its features have %zu values, the head takes %u", cfg, t.dim,
                      bi->n_features);
    mote_learn_config_t hc = bi->cfg;
    hc.max_classes = hc.n_classes = bi->n_classes;
    const size_t hs = mote_learn_head_size(bi->n_features, bi->n_classes, hc.flags);
    const size_t ss = mote_learn_std_size(bi->n_features, 0);
    void *hb = aligned_alloc(16, (hs + 15) / 16 * 16), *sb = aligned_alloc(16, (ss + 15) / 16 * 16);
    mote_learn_head_t h;
    mote_learn_std_t std;
    if (!st && (!hb || !sb))
        st = MOTE_ERR_NOMEM;
    if (!st && !(st = mote_learn_head_init(&h, &hc, hb, hs)) &&
        !(st = mote_learn_restore(&h, NULL, head->p, head->n, msg, size)) &&
        !(st = mote_learn_std_init(&std, bi->n_features, 0, 0, sb, ss)) && !(st = pooled(&s, &t, &std))) {
        buf_t out = {aligned_alloc(16, (mote_learn_save_size(&h, &std) + 16) / 16 * 16), 0};
        *acc = accuracy(&t, &h, &std);
        if (!out.p || (st = mote_learn_save(&h, &std, out.p, mote_learn_save_size(&h, &std), &out.n)) != MOTE_OK)
            free(out.p), st = st ? st : MOTE_ERR_NOMEM;
        else
            free(head->p), *head = out;
    }
    free(hb), free(sb);
    t.cfg.backbone = NULL;
    free(t.xtr), free(t.xte), free(t.yte);
    fsim_free(&s);
    return st;
}

/* ---- card ---- */

static json_t *hexstr(const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    sodium_bin2hex(h, 2 * n + 1, p, n);
    json_t *j = json_string(h);
    free(h);
    return j;
}

static mote_status_t write_card(const mote_head_pkg_opts_t *o, const buf_t *card, const buf_t *head,
                                const mote_head_pkg_result_t *r, char *msg, size_t size)
{
    json_error_t je;
    json_t *c = json_loadb((const char *)card->p, card->n, 0, &je);
    json_t *cls = c ? json_object_get(json_object_get(c, "output"), "classes") : NULL;
    if (!c || !json_is_array(cls) || json_array_size(cls) != r->n_classes) {
        json_decref(c);
        return tpu_fail(msg, size, MOTE_ERR_SHAPE, "%s/%s.json: %s", o->pkg_dir, r->name,
                        !c ? je.text : "'output.classes' must name as many classes as the head has");
    }
    char file[160];
    snprintf(file, sizeof file, "%s.head.motl", r->name);
    json_t *h = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:O,s:s,s:s,s:s,s:b,s:o}", "file", file, "format",
                          "MOTL v1", "bytes", (json_int_t)head->n, "round", (json_int_t)o->round, "version",
                          (json_int_t)o->version, "features", (json_int_t)r->n_features, "tap_tensor",
                          (json_int_t)r->tap_tensor, "tap", "input of the last FULLY_CONNECTED", "classes", cls,
                          "blake2b", r->blake2b, "standardizer", r->pooled_std ? "pooled (fed config)" : "in the blob",
                          "signature", r->signed_ok ? "verified" : "none", "signed", r->signed_ok, "state",
                          hexstr(head->p, head->n));
    mote_status_t st = h ? MOTE_OK : MOTE_ERR_NOMEM;
    char *text = NULL;
    if (!st && json_object_set_new(c, "head", h) == 0 && (text = json_dumps(c, JSON_INDENT(1))) != NULL)
        st = spill(o->out_dir, r->name, ".json", text, strlen(text), msg, size);
    else if (!st)
        st = MOTE_ERR_NOMEM;
    free(text);
    json_decref(c);
    return st;
}

static mote_status_t check_head(const buf_t *head, const char *path, mote_learn_blob_info_t *bi, char *msg,
                                size_t size)
{
    char why[200] = "";
    mote_status_t st = mote_learn_blob_info(head->p, head->n, bi, why, sizeof why);
    if (st != MOTE_OK)
        return tpu_fail(msg, size, st, "%s: not a head state blob: %s", path, why);
    if (bi->kind != MOTE_LEARN_SOFTMAX)
        return tpu_fail(msg, size, MOTE_ERR_SHAPE, "%s: a classifying (softmax) head is needed", path);
    return MOTE_OK;
}

static mote_status_t package(const mote_head_pkg_opts_t *o, buf_t f[4], mote_head_pkg_result_t *r, char *msg,
                             size_t size)
{
    static const char *const ext[] = {".tflite", ".dspcfg", ".json"};
    char path[1200];
    mote_status_t st = MOTE_OK;
    for (int i = 0; i < 3 && !st; i++) {
        snprintf(path, sizeof path, "%s/%s%s", o->pkg_dir, r->name, ext[i]);
        st = slurp(path, &f[i], msg, size);
    }
    mote_learn_blob_info_t bi;
    if (!st && !(st = slurp(o->head, &f[3], msg, size)) && !(st = check_head(&f[3], o->head, &bi, msg, size)))
        st = check_sig(o, &f[3], &r->signed_ok, msg, size);
    uint32_t width = 0;
    snprintf(path, sizeof path, "%s/%s.tflite", o->pkg_dir, r->name);
    if (!st && !(st = tap_width(&f[0], path, &r->tap_tensor, &width, msg, size)) && width != bi.n_features)
        st = tpu_fail(msg, size, MOTE_ERR_SHAPE,
                      "%s: the head takes %u features, the backbone's tap (tensor %u, input of its last "
                      "FULLY_CONNECTED) gives %u",
                      o->head, bi.n_features, r->tap_tensor, width);
    if (st)
        return st;
    uint8_t hash[32];
    crypto_generichash(hash, sizeof hash, f[3].p, f[3].n, NULL, 0);
    sodium_bin2hex(r->blake2b, sizeof r->blake2b, hash, sizeof hash);
    r->n_features = bi.n_features, r->n_classes = bi.n_classes;
    if (!(bi.sections & MOTE_LEARN_SECT_STD)) {
        if (!o->fed_config)
            return tpu_fail(msg, size, MOTE_ERR_ARG,
                            "%s: the head has no standardizer: give --fed CONFIG (the federated config) so its "
                            "pooled feature statistics travel with it", o->head);
        if ((st = add_std(o->fed_config, &f[0], &bi, &f[3], &r->accuracy, msg, size)) != MOTE_OK)
            return st;
        r->pooled_std = 1;
    }
    r->head_bytes = f[3].n;
    if (!(st = tpu_mkdir(o->out_dir, msg, size)) &&
        !(st = spill(o->out_dir, r->name, ".tflite", f[0].p, f[0].n, msg, size)) &&
        !(st = spill(o->out_dir, r->name, ".dspcfg", f[1].p, f[1].n, msg, size)) &&
        !(st = spill(o->out_dir, r->name, ".head.motl", f[3].p, f[3].n, msg, size)))
        st = write_card(o, &f[2], &f[3], r, msg, size);
    return st;
}

mote_status_t mote_head_pkg_write(const mote_head_pkg_opts_t *o, mote_head_pkg_result_t *r, char *msg,
                                  size_t size)
{
    if (!o || !r || !o->pkg_dir || !o->head || !o->out_dir)
        return tpu_fail(msg, size, MOTE_ERR_ARG, "need a package folder, a head and an output folder");
    memset(r, 0, sizeof *r);
    r->accuracy = -1.0;
    if (sodium_init() < 0)
        return tpu_fail(msg, size, MOTE_ERR_STATE, "libsodium failed to initialize");
    mote_status_t st = MOTE_OK;
    if (o->name)
        snprintf(r->name, sizeof r->name, "%s", o->name);
    else
        st = find_name(o->pkg_dir, r->name, sizeof r->name, msg, size);
    buf_t f[4] = {{0}};
    if (!st)
        st = package(o, f, r, msg, size);
    for (int i = 0; i < 4; i++)
        free(f[i].p);
    return st;
}
