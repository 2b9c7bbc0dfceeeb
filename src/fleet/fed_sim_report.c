/* mote fleet: `mote fed sim` top level, ledger and reports (see fed_sim.h). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "fed_sim_int.h"
#include "plot.h"
#include "train_util.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

/* One JSON line per round, chained: "prev" is the BLAKE2b-256 of the line
 * before (all zeros for the first), "global" the hash of the published
 * head blob and "sig" its Ed25519 signature (mote_fed_global_sign). */
mote_status_t fsim_ledger_add(fsim_t *s, const char *variant, const mote_fed_sim_round_t *rd,
                              const uint32_t *rejected_ids, uint32_t n_rej, const uint8_t *blob,
                              size_t blob_len, uint64_t version)
{
    uint8_t h[32], sig[64];
    char hh[65], ph[65], sh[129];
    crypto_generichash(h, sizeof h, blob, blob_len, NULL, 0);
    mote_fed_global_sign(s->sign_sk, rd->round, version, blob, blob_len, sig);
    hex(h, 32, hh), hex(s->ledger_prev, 32, ph), hex(sig, 64, sh);
    json_t *rej = json_array();
    for (uint32_t i = 0; i < n_rej; i++)
        json_array_append_new(rej, json_integer(rejected_ids[i]));
    json_t *o = json_pack("{s:s,s:i,s:I,s:b,s:i,s:i,s:i,s:i,s:o,s:f,s:s,s:s,s:s}", "variant",
                          variant, "round", (int)rd->round, "version", (json_int_t)version,
                          "ok", rd->ok, "selected", (int)rd->selected, "received",
                          (int)rd->received, "dropped", (int)rd->dropped, "recovered",
                          (int)rd->recovered, "rejected", rej, "accuracy", rd->accuracy,
                          "global", hh, "sig", sh, "prev", ph);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!line)
        return MOTE_ERR_NOMEM;
    crypto_generichash(s->ledger_prev, 32, (const uint8_t *)line, strlen(line), NULL, 0);
    const int bad = fprintf(s->ledger, "%s\n", line) < 0;
    free(line);
    return bad ? MOTE_ERR_IO : MOTE_OK;
}

static mote_status_t write_csv(const mote_fed_sim_result_t *r, const char *path, char *msg,
                               size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot write", path);
    fprintf(f, "variant,round,selected,received,dropped,recovered,rejected,ok,accuracy,"
               "bytes_up,bytes_down,epsilon\n");
    for (uint32_t v = 0; v < r->n_var; v++)
        for (uint32_t i = 0; i < r->var[v].n_rounds; i++) {
            const mote_fed_sim_round_t *d = &r->var[v].rounds[i];
            fprintf(f, "%s,%u,%u,%u,%u,%u,%u,%d,%.6f,%.1f,%.1f,", r->var[v].name, d->round,
                    d->selected, d->received, d->dropped, d->recovered, d->rejected, d->ok,
                    d->accuracy, d->bytes_up, d->bytes_down);
            if (isfinite(d->epsilon))
                fprintf(f, "%.4f", d->epsilon);
            fputc('\n', f);
        }
    return fclose(f) == 0 ? MOTE_OK : tpu_fail(msg, size, MOTE_ERR_IO, "%s: write failed", path);
}

static json_t *variant_json(const mote_fed_sim_variant_t *v)
{
    json_t *acc = json_array();
    for (uint32_t i = 0; i < v->n_rounds; i++)
        json_array_append_new(acc, json_real(v->rounds[i].accuracy));
    json_t *o = json_pack("{s:s,s:b,s:f,s:f,s:f,s:o}", "name", v->name, "secure_aggregation",
                          v->masked, "final_accuracy", v->final_accuracy, "bytes_up_per_device",
                          v->up_per_device, "bytes_down_per_device", v->down_per_device,
                          "accuracy_per_round", acc);
    const double eps = v->n_rounds ? v->rounds[v->n_rounds - 1].epsilon : NAN;
    if (o && isfinite(eps))
        json_object_set_new(o, "epsilon", json_real(eps));
    return o;
}

static mote_status_t write_json(const mote_fed_sim_result_t *r, const char *path, char *msg,
                                size_t size)
{
    json_t *vars = json_array();
    for (uint32_t v = 0; v < r->n_var; v++)
        json_array_append_new(vars, variant_json(&r->var[v]));
    json_t *o = json_pack(
        "{s:i,s:i,s:i,s:i,s:I,s:I,s:f,s:f,s:f,s:f,s:o,s:i,s:f,s:f,s:f,s:I,s:f}", "devices",
        (int)r->n_devices, "features", (int)r->n_features, "classes", (int)r->n_classes,
        "params", (int)r->n_params, "train_windows", (json_int_t)r->n_train, "test_windows",
        (json_int_t)r->n_test, "central_accuracy", r->central_accuracy, "local_mean",
        r->local_mean, "local_min", r->local_min, "local_max", r->local_max, "variants", vars,
        "bit_identical", r->bit_identical, "raw_bytes_per_device", r->raw_bytes_per_device,
        "round0_bytes_up", r->stats_up, "round0_bytes_down", r->stats_down, "rounds_to_target",
        (json_int_t)r->rounds_to_target, "seconds", r->seconds);
    const int bad = !o || json_dump_file(o, path, JSON_INDENT(2) | JSON_REAL_PRECISION(8)) != 0;
    json_decref(o);
    return bad ? tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot write", path) : MOTE_OK;
}

/* Accuracy per round of every variant, with the central and local-only
 * heads as flat references. */
static mote_status_t write_plot(const mote_fed_sim_result_t *r, const char *path, char *msg,
                                size_t size)
{
    mote_plot_line_t lines[MOTE_FED_SIM_MAX_VARIANTS + 1];
    double *buf = calloc((size_t)MOTE_FED_SIM_MAX_VARIANTS * 2 * MOTE_FED_SIM_MAX_ROUNDS + 4,
                         sizeof *buf);
    if (!buf)
        return MOTE_ERR_NOMEM;
    size_t nl = 0, used = 0;
    for (uint32_t v = 0; v < r->n_var; v++, nl++) {
        double *x = buf + used, *y = x + r->var[v].n_rounds;
        used += 2 * (size_t)r->var[v].n_rounds;
        for (uint32_t i = 0; i < r->var[v].n_rounds; i++)
            x[i] = r->var[v].rounds[i].round, y[i] = 100.0 * r->var[v].rounds[i].accuracy;
        lines[nl] = (mote_plot_line_t){r->var[v].name, x, y, r->var[v].n_rounds};
    }
    double *lx = buf + used, *ly = lx + 2;
    lx[0] = 1, lx[1] = r->var[0].n_rounds, ly[0] = ly[1] = 100.0 * r->local_mean;
    lines[nl++] = (mote_plot_line_t){"local-only heads (mean)", lx, ly, 2};
    mote_plot_series_t sp = {.title = "Federated head: test accuracy",
                             .x_title = "round", .y_title = "accuracy (%)", .lines = lines,
                             .n_lines = nl, .has_threshold = 1,
                             .threshold = 100.0 * r->central_accuracy,
                             .threshold_label = "central head (pooled data)",
                             .fixed_y = 1, .y_min = 0, .y_max = 100};
    mote_plot_t *p = NULL;
    mote_status_t st = mote_plot_series(&sp, &p, msg, size);
    if (!st)
        st = mote_plot_save(p, path, msg, size);
    mote_plot_free(p);
    free(buf);
    return st;
}

static mote_status_t write_global(const fsim_t *s, const mote_fed_sim_variant_t *v,
                                  const char *dir, char *msg, size_t size)
{
    mote_learn_head_t h;
    void *hb;
    uint8_t *blob = malloc(s->blob_len);
    uint8_t sig[64];
    size_t len = 0;
    mote_status_t st = blob ? fsim_head(s, &h, &hb) : MOTE_ERR_NOMEM;
    if (st)
        return free(blob), st;
    mote_fed_params_set(&h, v->global);
    st = mote_learn_save(&h, NULL, blob, s->blob_len, &len);
    char *p1 = tpu_path_cat(dir, "global_final.motl"), *p2 = tpu_path_cat(dir, "global_final.sig");
    FILE *f1 = p1 ? fopen(p1, "wb") : NULL, *f2 = p2 ? fopen(p2, "wb") : NULL;
    if (!st)
        st = mote_fed_global_sign(s->sign_sk, v->n_rounds, v->n_rounds, blob, len, sig);
    if (!st && (!f1 || !f2 || fwrite(blob, 1, len, f1) != len || fwrite(sig, 1, 64, f2) != 64))
        st = tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot write the global head", dir);
    if (f1 && fclose(f1) != 0 && !st)
        st = tpu_fail(msg, size, MOTE_ERR_IO, "%s: write failed", p1);
    if (f2 && fclose(f2) != 0 && !st)
        st = tpu_fail(msg, size, MOTE_ERR_IO, "%s: write failed", p2);
    free(p1), free(p2), free(blob), free(hb);
    return st;
}

mote_status_t fsim_write(const fsim_t *s, const mote_fed_sim_result_t *r, const char *dir,
                         char *msg, size_t size)
{
    const char *names[4] = {"rounds.csv", "summary.json", "accuracy.svg", "accuracy.png"};
    mote_status_t st = MOTE_OK;
    for (int i = 0; i < 4 && !st; i++) {
        char *p = tpu_path_cat(dir, names[i]);
        if (!p)
            return MOTE_ERR_NOMEM;
        st = i == 0 ? write_csv(r, p, msg, size)
             : i == 1 ? write_json(r, p, msg, size)
                      : write_plot(r, p, msg, size);
        free(p);
    }
    return st ? st : write_global(s, &r->var[0], dir, msg, size);
}

/* ---- top level ---- */

static void fill_shape(const fsim_t *s, mote_fed_sim_result_t *r)
{
    r->n_devices = s->cfg.devices, r->n_features = (uint32_t)s->dim;
    r->n_classes = s->n_classes, r->n_params = s->n_params, r->n_test = s->nte;
    double raw = 0;
    for (uint32_t d = 0; d < s->cfg.devices; d++)
        r->n_train += s->dev[d].n, raw += (double)s->dev[d].n * s->window_bytes;
    r->raw_bytes_per_device = raw / s->cfg.devices;
    /* n (8) + sums and sums of squares (16 per feature) up, mean and
     * inverse std (8 per feature) down. */
    r->stats_up = 8.0 + 16.0 * (double)s->dim, r->stats_down = 8.0 * (double)s->dim;
    r->bit_identical = -1, r->rounds_to_target = -1;
}

static mote_status_t open_ledger(fsim_t *s, const char *dir, char *msg, size_t size)
{
    mote_status_t st = tpu_mkdir(dir, msg, size);
    char *p = st ? NULL : tpu_path_cat(dir, "ledger.jsonl");
    if (!st && (!p || !(s->ledger = fopen(p, "w"))))
        st = tpu_fail(msg, size, MOTE_ERR_IO, "%s/ledger.jsonl: cannot write", dir);
    free(p);
    return st;
}

static mote_status_t run_variants(fsim_t *s, mote_fed_sim_result_t *r, char *msg, size_t size)
{
    static const struct { const char *name; int masked, attack, dp; } plan[] = {
        {"secagg", 1, 0, 0}, {"plain", 0, 0, 0}, {"attack", 0, 1, 0}, {"dp", 0, 0, 1}};
    mote_status_t st = MOTE_OK;
    for (size_t i = 0; i < 4 && !st; i++) {
        if ((plan[i].attack && !s->cfg.malicious) || (plan[i].dp && !s->cfg.dp))
            continue;
        st = fsim_variant(s, plan[i].name, plan[i].masked, plan[i].attack, plan[i].dp,
                          &r->var[r->n_var], msg, size);
        r->n_var += !st;
    }
    if (st)
        return st;
    r->bit_identical = memcmp(r->var[0].global, r->var[1].global,
                              s->n_params * sizeof(float)) == 0;
    for (uint32_t i = 0; i < r->var[0].n_rounds && r->rounds_to_target < 0; i++)
        if (r->var[0].rounds[i].accuracy >= r->central_accuracy - 0.01)
            r->rounds_to_target = r->var[0].rounds[i].round;
    return MOTE_OK;
}

mote_status_t mote_fed_sim_run(const char *config_path, const mote_fed_sim_opts_t *opts,
                               mote_fed_sim_result_t *res, char *msg, size_t msg_size)
{
    const double t0 = tpu_now();
    fsim_t s;
    memset(res, 0, sizeof *res);
    mote_status_t st = fsim_load(&s, config_path, opts ? opts->out_dir : NULL,
                                 opts && opts->quiet, msg, msg_size);
    if (!st && opts && opts->has_rounds)
        s.cfg.rounds = opts->rounds;
    if (!st && opts && opts->out_dir)
        st = open_ledger(&s, opts->out_dir, msg, msg_size);
    if (!st) {
        fill_shape(&s, res);
        st = fsim_reference(&s, res, msg, msg_size);
    }
    if (!st)
        st = run_variants(&s, res, msg, msg_size);
    if (s.ledger && fclose(s.ledger) != 0 && !st)
        st = tpu_fail(msg, msg_size, MOTE_ERR_IO, "ledger.jsonl: write failed");
    res->seconds = tpu_now() - t0;
    if (!st && opts && opts->out_dir)
        st = fsim_write(&s, res, opts->out_dir, msg, msg_size);
    fsim_free(&s);
    return st;
}

void mote_fed_sim_print(FILE *f, const mote_fed_sim_result_t *r)
{
    fprintf(f, "devices %u, head %u features x %u classes (%u parameters), %llu training "
               "windows on devices, %llu test windows\n",
            r->n_devices, r->n_features, r->n_classes, r->n_params,
            (unsigned long long)r->n_train, (unsigned long long)r->n_test);
    fprintf(f, "central head (pooled data)   %.2f %%\n", 100.0 * r->central_accuracy);
    fprintf(f, "local-only heads             %.2f %% mean (%.2f - %.2f)\n",
            100.0 * r->local_mean, 100.0 * r->local_min, 100.0 * r->local_max);
    for (uint32_t v = 0; v < r->n_var; v++) {
        const mote_fed_sim_variant_t *x = &r->var[v];
        fprintf(f, "federated %-8s           %.2f %% after %u rounds; per device %.0f bytes sent, "
                   "%.0f received", x->name, 100.0 * x->final_accuracy, x->n_rounds,
                x->up_per_device, x->down_per_device);
        const double eps = x->rounds[x->n_rounds - 1].epsilon;
        if (isfinite(eps))
            fprintf(f, ", epsilon %.2f", eps);
        fputc('\n', f);
    }
    fprintf(f, "rounds to within 1 point     %lld\n", (long long)r->rounds_to_target);
    fprintf(f, "secagg == plain bit for bit  %s\n", r->bit_identical == 1 ? "yes" : "NO");
    for (uint32_t v = 0; v < r->n_var && v < 2; v++) {
        const double up = r->var[v].up_per_device + r->stats_up;
        fprintf(f, "sent per device, %-6s      %.0f bytes (incl. round 0) vs %.0f for the raw "
                   "windows: %.2f %% less\n", r->var[v].name, up, r->raw_bytes_per_device,
                100.0 * (1.0 - up / r->raw_bytes_per_device));
    }
    fprintf(f, "wall time                    %.1f s\n", r->seconds);
}

void mote_fed_sim_result_free(mote_fed_sim_result_t *r)
{
    for (uint32_t v = 0; v < MOTE_FED_SIM_MAX_VARIANTS; v++)
        free(r->var[v].rounds), free(r->var[v].global);
    memset(r, 0, sizeof *r);
}
