/* mote fleet: `mote fed sim` rounds and reference heads (see fed_sim.h). */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "fed_sim_int.h"
#include "mote/crc32.h"
#include "train_util.h"

/* Wire sizes of the messages that are not updates, for traffic figures. */
#define ROSTER_ENTRY 68u                           /* id, public key, commitment */
#define BOXED_SHARE (MOTE_SECAGG_SHARE_LEN + 40u) /* crypto_box: nonce + MAC */
#define GLOBAL_HDR (4u + 8u + 64u)                 /* round, version, signature */

/* ---- reference heads ---- */

static void train_on(const fsim_t *s, mote_learn_head_t *h, const uint32_t *idx, size_t n)
{
    for (size_t k = 0; k < n; k++)
        mote_learn_update(h, s->xtr + (size_t)idx[k] * s->dim, (uint32_t)s->ytr[idx[k]]);
}

/* A head trained on the union of the device slices, epoch by epoch. */
static mote_status_t central(const fsim_t *s, double *acc)
{
    size_t n = 0;
    for (uint32_t d = 0; d < s->cfg.devices; d++)
        n += s->dev[d].n;
    uint32_t *all = malloc(n * sizeof *all);
    float *p = malloc(s->n_params * sizeof *p);
    mote_learn_head_t h;
    void *buf = NULL;
    mote_status_t st = !all || !p ? MOTE_ERR_NOMEM : fsim_head(s, &h, &buf);
    if (!st) {
        for (uint32_t d = 0, k = 0; d < s->cfg.devices; d++)
            for (size_t i = 0; i < s->dev[d].n; i++)
                all[k++] = s->dev[d].idx[i];
        for (uint32_t e = 0; e < s->cfg.central_epochs; e++) {
            fsim_shuffle(all, n, s->cfg.seed * 7919u + e);
            train_on(s, &h, all, n);
        }
        mote_fed_params_get(&h, p);
        *acc = fsim_accuracy(s, p);
    }
    free(buf), free(p), free(all);
    return st;
}

/* Each device alone, for as many samples as it trains in all rounds. */
static mote_status_t local_only(const fsim_t *s, mote_fed_sim_result_t *r)
{
    float *p = malloc(s->n_params * sizeof *p);
    if (!p)
        return MOTE_ERR_NOMEM;
    double sum = 0;
    r->local_min = 1, r->local_max = 0;
    for (uint32_t d = 0; d < s->cfg.devices; d++) {
        mote_learn_head_t h;
        void *buf;
        if (fsim_head(s, &h, &buf) != MOTE_OK) {
            free(p);
            return MOTE_ERR_NOMEM;
        }
        const fsim_dev_t *dv = &s->dev[d];
        const uint64_t steps = (uint64_t)s->cfg.rounds * s->cfg.local_steps;
        for (uint64_t k = 0; k < steps; k++) {
            const uint32_t i = dv->idx[k % dv->n];
            mote_learn_update(&h, s->xtr + (size_t)i * s->dim, (uint32_t)s->ytr[i]);
        }
        mote_fed_params_get(&h, p);
        const double a = fsim_accuracy(s, p);
        sum += a;
        r->local_min = a < r->local_min ? a : r->local_min;
        r->local_max = a > r->local_max ? a : r->local_max;
        free(buf);
    }
    r->local_mean = sum / s->cfg.devices;
    free(p);
    return MOTE_OK;
}

mote_status_t fsim_reference(fsim_t *s, mote_fed_sim_result_t *r, char *msg, size_t size)
{
    mote_status_t st = central(s, &r->central_accuracy);
    if (!st)
        st = local_only(s, r);
    if (st)
        tpu_fail(msg, size, st, "reference heads: out of memory");
    return st;
}

/* ---- federated rounds ---- */

/* Working state of one variant. */
typedef struct vctx {
    fsim_t *s;
    const char *name;
    int masked, attack, dp;
    mote_fed_server_t srv;
    float *g, *gnew, *w, *resid, *noise;
    int8_t *q;
    uint32_t *words;
    uint8_t *wire, *shares, *bshares, *pick;
    size_t wire_cap;
    mote_learn_head_t h;
    void *hbuf;
    uint8_t *blob;
    mote_secagg_keys_t *keys;
    mote_secagg_peer_t *roster;
    uint32_t *sel, *drop, *rej;
    uint64_t version;
    double up, down;     /* bytes this round, all selected devices */
} vctx_t;

static void vctx_free(vctx_t *v)
{
    mote_fed_server_free(&v->srv);
    free(v->g), free(v->gnew), free(v->w), free(v->resid), free(v->noise), free(v->q);
    free(v->words), free(v->wire), free(v->shares), free(v->bshares), free(v->pick);
    free(v->hbuf), free(v->blob);
    if (v->keys)
        sodium_memzero(v->keys, v->s->cfg.participants * sizeof *v->keys);
    free(v->keys), free(v->roster), free(v->sel), free(v->drop), free(v->rej);
}

static mote_status_t vctx_init(vctx_t *v, fsim_t *s)
{
    const uint32_t P = s->n_params, k = s->cfg.participants;
    v->s = s;
    v->wire_cap = mote_fedup_size(MOTE_FEDUP_U32, 0, P);
    mote_status_t st = mote_fed_server_init(&v->srv, P, k);
    if (st)
        return st;
    v->g = calloc(P, sizeof *v->g), v->gnew = calloc(P, sizeof *v->gnew);
    v->w = calloc(P, sizeof *v->w), v->noise = calloc(P, sizeof *v->noise);
    v->resid = calloc((size_t)s->cfg.devices * P, sizeof *v->resid);
    v->q = calloc(P, 1), v->words = calloc(P, sizeof *v->words), v->wire = malloc(v->wire_cap);
    v->shares = malloc((size_t)k * k * MOTE_SECAGG_SHARE_LEN);
    v->bshares = malloc((size_t)k * k * MOTE_SECAGG_SHARE_LEN);
    v->pick = malloc((size_t)k * MOTE_SECAGG_SHARE_LEN), v->blob = malloc(s->blob_len);
    v->keys = calloc(k, sizeof *v->keys), v->roster = calloc(k, sizeof *v->roster);
    v->sel = calloc(s->cfg.devices, sizeof *v->sel), v->drop = calloc(s->cfg.devices, 4);
    v->rej = calloc(k, sizeof *v->rej);
    if (!v->g || !v->gnew || !v->w || !v->noise || !v->resid || !v->q || !v->words ||
        !v->wire || !v->shares || !v->bshares || !v->pick || !v->blob || !v->keys || !v->roster || !v->sel ||
        !v->drop || !v->rej)
        return MOTE_ERR_NOMEM;
    for (uint32_t d = 0; d < s->cfg.devices; d++)
        s->dev[d].pos = 0;
    return fsim_head(s, &v->h, &v->hbuf);
}

/* Who takes part and who drops after masking: a function of the seed and
 * the round only, so every variant sees the same devices. */
static void select_round(vctx_t *v, uint32_t r)
{
    const fsim_cfg_t *c = &v->s->cfg;
    for (uint32_t d = 0; d < c->devices; d++)
        v->sel[d] = d, v->drop[d] = 0;
    fsim_shuffle(v->sel, c->devices, c->seed * 65537u + r);
    uint32_t *tmp = v->rej; /* scratch: positions 0..k */
    for (uint32_t i = 0; i < c->participants; i++)
        tmp[i] = i;
    fsim_shuffle(tmp, c->participants, c->seed * 31337u + r);
    const uint32_t m = (uint32_t)lround(c->drop * c->participants);
    for (uint32_t i = 0; i < m; i++)
        v->drop[tmp[i]] = 1;
}

/* Keys, roster and Shamir shares of sk (secure aggregation set-up). */
static mote_status_t setup_keys(vctx_t *v, uint32_t r)
{
    const uint32_t k = v->s->cfg.participants;
    for (uint32_t i = 0; i < k; i++) {
        const uint32_t id = v->s->dev[v->sel[i]].id;
        v->roster[i].id = id;
        if (!v->masked)
            continue;
        uint8_t seed[32] = {0};
        const uint64_t vals[3] = {v->s->cfg.seed, r, id};
        crypto_generichash(seed, sizeof seed, (const uint8_t *)vals, sizeof vals, NULL, 0);
        mote_secagg_keygen(&v->keys[i], seed);
        memcpy(v->roster[i].pk, v->keys[i].pk, 32);
        memcpy(v->roster[i].self_hash, v->keys[i].self_hash, 32);
        const size_t at = (size_t)i * k * MOTE_SECAGG_SHARE_LEN;
        mote_status_t st = mote_secagg_share_key(&v->keys[i], v->s->cfg.threshold, k, NULL,
                                                 v->shares + at);
        if (!st)
            st = mote_secagg_share_self(&v->keys[i], v->s->cfg.threshold, k, NULL,
                                        v->bshares + at);
        if (st)
            return st;
    }
    const double k1 = k - 1.0;
    v->down = k * (double)(GLOBAL_HDR + v->s->blob_len);
    v->up = 0;
    if (v->masked) {
        /* roster (id, pk, commitment), and both share sets in and out */
        v->down += k * (k * (double)ROSTER_ENTRY + 2 * k1 * BOXED_SHARE);
        v->up += k * (2.0 * MOTE_SECAGG_KEY_LEN + 2 * k1 * BOXED_SHARE);
    }
    return MOTE_OK;
}

/* Local FedProx training of device d from the global, then its int8 delta. */
static mote_status_t local_update(vctx_t *v, fsim_dev_t *dv, double *norm)
{
    const fsim_t *s = v->s;
    mote_fed_params_set(&v->h, v->g);
    for (uint32_t k = 0; k < s->cfg.local_steps; k++, dv->pos++) {
        const uint32_t i = dv->idx[dv->pos % dv->n];
        mote_status_t st = mote_fed_train_sample(&v->h, v->g, s->xtr + (size_t)i * s->dim,
                                                 (uint32_t)s->ytr[i], s->cfg.mu);
        if (st)
            return st;
    }
    mote_fed_params_get(&v->h, v->w);
    /* With DP, no error feedback: a residual carried between rounds would
     * let one device's contribution exceed the clipping bound. */
    float *r = v->dp ? NULL : v->resid + (size_t)(dv->id - 1) * s->n_params;
    return mote_fed_quantize(v->w, v->g, r, s->n_params, s->cfg.step,
                             v->dp ? s->cfg.dp_clip : 0.0f, v->q, norm);
}

/* A poisoned upload for the attack variant: device 1 saturates every
 * value (a huge norm), device 2 claims a NaN step. */
static void poison(vctx_t *v, uint32_t id, size_t len)
{
    if (id == 1) {
        memset(v->wire + MOTE_FEDUP_HEADER, 127, v->s->n_params);
    } else {
        const float nan = NAN;
        memcpy(v->wire + 24, &nan, 4);
    }
    const uint32_t crc = mote_crc32(v->wire, len - 4);
    for (int b = 0; b < 4; b++)
        v->wire[len - 4 + b] = (uint8_t)(crc >> (8 * b));
}

static mote_status_t encode(vctx_t *v, uint32_t r, const fsim_dev_t *dv, uint32_t i,
                            size_t *len)
{
    const uint32_t P = v->s->n_params, n = v->dp ? 1u : (uint32_t)dv->n;
    mote_fedup_t u = {.encoding = MOTE_FEDUP_I8, .round = r, .device = dv->id, .samples = n,
                      .n_params = P, .step = v->s->cfg.step, .base_version = v->version,
                      .payload = v->q};
    if (v->masked) {
        mote_fed_weigh(v->q, P, n, v->words);
        mote_status_t st = mote_secagg_mask(v->words, P, dv->id, &v->keys[i], v->roster,
                                            v->s->cfg.participants, r);
        if (st)
            return st;
        u.encoding = MOTE_FEDUP_U32, u.flags = MOTE_FEDUP_F_MASKED, u.payload = v->words;
    }
    mote_status_t st = mote_fedup_encode(&u, NULL, v->wire, v->wire_cap, len);
    if (!st && v->attack && dv->id <= v->s->cfg.malicious)
        poison(v, dv->id, *len);
    return st;
}

/* Every selected device trains, encodes and (unless it drops) uploads. */
static mote_status_t devices_upload(vctx_t *v, uint32_t r, mote_fed_sim_round_t *rd)
{
    const uint32_t k = v->s->cfg.participants;
    for (uint32_t i = 0; i < k; i++) {
        fsim_dev_t *dv = &v->s->dev[v->sel[i]];
        double norm;
        size_t len;
        mote_status_t st = local_update(v, dv, &norm);
        if (!st)
            st = encode(v, r, dv, i, &len);
        if (st)
            return st;
        if (v->drop[i])
            continue; /* masked and gone: the upload never arrives */
        v->up += (double)len;
        char why[MOTE_FED_MSG_LEN];
        if (mote_fed_round_add(&v->srv, v->wire, len, NULL, why, sizeof why) != MOTE_OK) {
            v->rej[rd->rejected++] = dv->id;
            if (!v->s->quiet)
                fprintf(stderr, "mote fed: %s round %u: device %u rejected: %s\n", v->name, r,
                        dv->id, why);
        }
    }
    return MOTE_OK;
}

/* Shares that up to t survivors hold of device d's secret (from `set`,
 * packed into v->pick); returns how many. Survivors: received devices. */
static uint32_t gather(vctx_t *v, const uint8_t *set, uint32_t d)
{
    const uint32_t k = v->s->cfg.participants, t = v->s->cfg.threshold;
    uint32_t got = 0;
    for (uint32_t j = 0; j < k && got < t; j++) {
        const mote_fed_dev_state_t sj = mote_fed_round_state(&v->srv, j);
        if (sj != MOTE_FED_RECEIVED && sj != MOTE_FED_UNMASKED)
            continue;
        memcpy(v->pick + (size_t)got * MOTE_SECAGG_SHARE_LEN,
               set + ((size_t)d * k + j) * MOTE_SECAGG_SHARE_LEN, MOTE_SECAGG_SHARE_LEN);
        got++;
    }
    v->up += (double)got * MOTE_SECAGG_SHARE_LEN;
    return got;
}

/* Survivors reveal b-shares of each survivor and sk-shares of each
 * dropped device, never both for one device. */
static mote_status_t recover(vctx_t *v, mote_fed_sim_round_t *rd)
{
    const uint32_t k = v->s->cfg.participants, t = v->s->cfg.threshold;
    for (uint32_t d = 0; d < k; d++) {
        const mote_fed_dev_state_t sd = mote_fed_round_state(&v->srv, d);
        if (sd != MOTE_FED_RECEIVED && sd != MOTE_FED_DROPPED)
            continue;
        const int dropped = sd == MOTE_FED_DROPPED;
        const uint32_t got = gather(v, dropped ? v->shares : v->bshares, d);
        if (got < t)
            continue; /* too few survivors: the round fails at finish */
        mote_status_t st = dropped ? mote_fed_round_recover(&v->srv, v->roster[d].id, v->pick, got)
                                   : mote_fed_round_unmask_self(&v->srv, v->roster[d].id,
                                                                v->pick, got);
        if (st)
            return st;
        rd->recovered += (uint32_t)dropped;
    }
    return MOTE_OK;
}

static mote_status_t publish(vctx_t *v, mote_fed_sim_round_t *rd)
{
    size_t len = 0;
    mote_fed_params_set(&v->h, v->g);
    mote_status_t st = mote_learn_save(&v->h, NULL, v->blob, v->s->blob_len, &len);
    if (!st && v->s->ledger)
        st = fsim_ledger_add(v->s, v->name, rd, v->rej, rd->rejected, v->blob, len, v->version);
    return st;
}

static mote_status_t one_round(vctx_t *v, uint32_t r, mote_fed_sim_round_t *rd)
{
    const fsim_cfg_t *c = &v->s->cfg;
    memset(rd, 0, sizeof *rd);
    rd->round = r, rd->selected = c->participants, rd->epsilon = NAN;
    select_round(v, r);
    mote_status_t st = setup_keys(v, r);
    const mote_fed_round_cfg_t rc = {.round = r, .base_version = v->version, .step = c->step,
                                     .masked = v->masked, .norm_bound = c->norm_bound,
                                     .quorum = c->quorum};
    if (!st)
        st = mote_fed_round_begin(&v->srv, &rc, v->roster, c->participants);
    if (!st)
        st = devices_upload(v, r, rd);
    if (st)
        return st;
    rd->dropped = mote_fed_round_close(&v->srv);
    if (v->masked && (st = recover(v, rd)) != MOTE_OK)
        return st;
    if (v->dp && (st = mote_fed_gauss(v->noise, v->s->n_params, (double)c->dp_z * c->dp_clip,
                                      (const uint8_t *)v->s->sign_pk, r)) != MOTE_OK)
        return st;
    rd->received = v->srv.n_accepted;
    rd->ok = mote_fed_round_finish(&v->srv, v->g, v->dp ? v->noise : NULL, v->gnew) == MOTE_OK;
    if (rd->ok)
        memcpy(v->g, v->gnew, v->s->n_params * sizeof *v->g), v->version++;
    rd->accuracy = fsim_accuracy(v->s, v->g);
    rd->bytes_up = v->up / c->participants, rd->bytes_down = v->down / c->participants;
    return publish(v, rd);
}

/* Noise multiplier against the true sensitivity of the quantized sum:
 * adding or removing one device moves it by at most clip plus the rounding
 * of P values, step * sqrt(P) / 2 (no saturation: clip <= 127 step). */
static double dp_z_effective(const fsim_t *s)
{
    const double sens = s->cfg.dp_clip + s->cfg.step * sqrt((double)s->n_params) / 2.0;
    return (double)s->cfg.dp_z * s->cfg.dp_clip / sens;
}

mote_status_t fsim_variant(fsim_t *s, const char *name, int masked, int attack, int dp,
                           mote_fed_sim_variant_t *out, char *msg, size_t size)
{
    vctx_t v = {0};
    v.name = name, v.masked = masked, v.attack = attack, v.dp = dp;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->masked = masked;
    mote_status_t st = vctx_init(&v, s);
    if (!st && !(out->rounds = calloc(s->cfg.rounds, sizeof *out->rounds)))
        st = MOTE_ERR_NOMEM;
    double up = 0, down = 0;
    uint32_t ok_rounds = 0;
    for (uint32_t r = 1; !st && r <= s->cfg.rounds; r++) {
        mote_fed_sim_round_t *rd = &out->rounds[r - 1];
        st = one_round(&v, r, rd);
        ok_rounds += !st && rd->ok;
        if (!st && dp)
            rd->epsilon = mote_fed_rdp_epsilon(dp_z_effective(s), ok_rounds, s->cfg.dp_delta, NULL);
        up += v.up, down += v.down;
        out->n_rounds = r;
        if (!st && !s->quiet)
            fprintf(stderr, "mote fed: %-6s round %2u: %2u received, %u dropped, %u recovered, "
                            "%u rejected, accuracy %.2f %%\n", name, r, rd->received,
                    rd->dropped, rd->recovered, rd->rejected, 100.0 * rd->accuracy);
    }
    if (!st) {
        out->final_accuracy = out->rounds[out->n_rounds - 1].accuracy;
        out->up_per_device = up / s->cfg.devices;
        out->down_per_device = down / s->cfg.devices;
        out->global = v.g, v.g = NULL;
    } else {
        tpu_fail(msg, size, st, "federated variant '%s' failed: %s", name, mote_status_str(st));
    }
    vctx_free(&v);
    return st;
}
