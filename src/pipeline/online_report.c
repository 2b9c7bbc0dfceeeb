/* mote pipeline: what a replay measured (see online.h): figures from the
 * stream log, the CSV log, the chart, the JSON and text summaries. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eval.h"
#include "online_internal.h"
#include "plot.h"

static int is_normal(const mote_online_config_t *cfg, const mote_online_result_t *r, int32_t t)
{
    return onl_find(cfg->normal, cfg->n_normal, r->names[t]) >= 0;
}

/* Exact ROC AUC of the anomaly score over log[first, first + n); NaN
 * unless both kinds of sample occur. */
static mote_status_t auc_of(const mote_online_config_t *cfg, const mote_online_result_t *r,
                            uint64_t first, uint64_t n, double *auc, char *msg, size_t size)
{
    *auc = NAN;
    double *s = malloc((n ? n : 1) * sizeof *s);
    uint8_t *pos = malloc(n ? n : 1);
    size_t np = 0, k = 0;
    if (!s || !pos) {
        free(s);
        free(pos);
        return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
    }
    for (uint64_t i = first; i < first + n; i++)
        if (isfinite(r->log[i].score)) {
            s[k] = r->log[i].score;
            pos[k] = !is_normal(cfg, r, r->log[i].truth);
            np += pos[k++];
        }
    mote_status_t st = MOTE_OK;
    if (np > 0 && np < k)
        st = mote_eval_auc(s, pos, k, auc, msg, size);
    free(s);
    free(pos);
    return st;
}

static void phase_counts(const mote_online_config_t *cfg, const mote_online_result_t *r,
                         mote_online_phase_result_t *p)
{
    uint64_t correct = 0, bb_n = 0, bb_ok = 0;
    p->first_drift = -1;
    for (uint64_t i = p->first; i < p->first + p->n; i++) {
        const mote_online_sample_t *s = &r->log[i];
        correct += s->pred == s->truth;
        bb_n += s->backbone >= 0;
        bb_ok += s->backbone >= 0 && s->backbone == s->truth;
        p->labels += (s->flags & MOTE_ONLINE_F_LABEL) != 0;
        if (s->flags & MOTE_ONLINE_F_DRIFT) {
            if (p->first_drift < 0)
                p->first_drift = (int64_t)(i - p->first);
            p->drifts++;
        }
        if (cfg->task != MOTE_ONLINE_ANOMALY)
            continue;
        int normal = is_normal(cfg, r, s->truth), flagged = (s->flags & MOTE_ONLINE_F_ANOMALY) != 0;
        p->normal += normal;
        p->flagged_normal += normal && flagged;
        p->anomalous += !normal;
        p->flagged_anomalous += !normal && flagged;
    }
    p->accuracy = p->n ? (double)correct / (double)p->n : NAN;
    p->backbone_acc = bb_n ? (double)bb_ok / (double)bb_n : NAN;
}

/* Accuracy of the samples after the one that brought label number `count`
 * (of class `cls`, or any class when cls < 0). */
static double acc_after(const mote_online_result_t *r, uint64_t count, int32_t cls, int64_t *at)
{
    uint64_t seen = 0, n = 0, ok = 0;
    *at = -1;
    for (uint64_t i = 0; i < r->n; i++) {
        const mote_online_sample_t *s = &r->log[i];
        if (*at >= 0) {
            n++;
            ok += s->pred == s->truth;
        } else if ((s->flags & MOTE_ONLINE_F_LABEL) && (cls < 0 || s->truth == cls) &&
                   ++seen == count) {
            *at = (int64_t)i;
        }
    }
    return n ? (double)ok / (double)n : NAN;
}

/* Labels given when the rolling accuracy over the last `w` samples rose
 * to the target for the last time (and stayed there); -1 if it ends below. */
static int64_t labels_to_target(const mote_online_result_t *r, uint32_t w, double target)
{
    uint64_t ok = 0, labels = 0, at_good = 0;
    int64_t last_bad = -1;
    for (uint64_t i = 0; i < r->n; i++) {
        ok += r->log[i].pred == r->log[i].truth;
        if (i >= w)
            ok -= r->log[i - w].pred == r->log[i - w].truth;
        uint64_t in = i + 1 < w ? i + 1 : w;
        labels += (r->log[i].flags & MOTE_ONLINE_F_LABEL) != 0;
        if ((double)ok < target * (double)in) {
            last_bad = (int64_t)i;
            at_good = labels;
        }
    }
    if (last_bad == (int64_t)r->n - 1)
        return -1;
    return last_bad < 0 ? 0 : (int64_t)at_good;
}

mote_status_t onl_summarize(const mote_online_config_t *cfg, mote_online_result_t *r, char *msg,
                            size_t size)
{
    r->phases = calloc(cfg->n_phases, sizeof *r->phases);
    if (!r->phases)
        return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
    r->n_phases = cfg->n_phases;
    uint64_t i = 0, correct = 0, bb_n = 0, bb_ok = 0;
    mote_status_t st = MOTE_OK;
    for (size_t p = 0; st == MOTE_OK && p < cfg->n_phases; p++) {
        mote_online_phase_result_t *ph = &r->phases[p];
        if (!(ph->name = tpu_strdup(cfg->phases[p].name)))
            return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
        ph->first = i;
        while (i < r->n && r->log[i].phase == p)
            i++;
        ph->n = i - ph->first;
        phase_counts(cfg, r, ph);
        correct += (uint64_t)llround(ph->accuracy * (double)ph->n) * (ph->n > 0);
        r->labels += ph->labels;
        r->drifts += ph->drifts;
        ph->auc = NAN;
        if (cfg->task == MOTE_ONLINE_ANOMALY)
            st = auc_of(cfg, r, ph->first, ph->n, &ph->auc, msg, size);
    }
    for (uint64_t k = 0; k < r->n; k++) {
        bb_n += r->log[k].backbone >= 0;
        bb_ok += r->log[k].backbone >= 0 && r->log[k].backbone == r->log[k].truth;
        r->classes_added += (r->log[k].flags & MOTE_ONLINE_F_ADDED) != 0;
    }
    r->accuracy = r->n ? (double)correct / (double)r->n : NAN;
    r->backbone_acc = bb_n ? (double)bb_ok / (double)bb_n : NAN;
    r->acc_after_labels = cfg->after_labels ? acc_after(r, cfg->after_labels, -1, &r->at_after_labels)
                                            : NAN;
    int32_t wc = cfg->watch_class ? onl_find(r->names, r->n_names, cfg->watch_class) : -1;
    r->acc_after_class = wc >= 0 && cfg->after_class_labels
                             ? acc_after(r, cfg->after_class_labels, wc, &r->at_after_class)
                             : NAN;
    if (wc < 0 || !cfg->after_class_labels)
        r->at_after_class = -1;
    if (!cfg->after_labels)
        r->at_after_labels = -1;
    r->labels_to_target = labels_to_target(r, cfg->window, cfg->target);
    if (st == MOTE_OK && cfg->task == MOTE_ONLINE_ANOMALY)
        st = auc_of(cfg, r, 0, r->n, &r->auc, msg, size);
    return st;
}

/* ---- CSV ------------------------------------------------------------------ */

static const char *name_or(const mote_online_result_t *r, int32_t i)
{
    return i >= 0 && (size_t)i < r->n_names ? r->names[i] : "";
}

/* A CSV field, quoted (RFC 4180) when it holds a comma, quote or newline. */
static void csv_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

mote_status_t mote_online_write_csv(const char *path, const mote_online_result_t *r, char *msg,
                                    size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot create the file", path);
    fprintf(f, "index,phase,true,predicted,score,threshold,label_arrived,drift,anomaly,"
               "class_added,alarm,backbone\n");
    for (uint64_t i = 0; i < r->n; i++) {
        const mote_online_sample_t *s = &r->log[i];
        fprintf(f, "%llu,", (unsigned long long)i);
        csv_text(f, r->phases && s->phase < r->n_phases ? r->phases[s->phase].name : "");
        fputc(',', f);
        csv_text(f, name_or(r, s->truth));
        fputc(',', f);
        csv_text(f, name_or(r, s->pred));
        fprintf(f, ",%.6g,%.6g,%d,%d,%d,%d,%d,", (double)s->score,
                (double)s->threshold, !!(s->flags & MOTE_ONLINE_F_LABEL),
                !!(s->flags & MOTE_ONLINE_F_DRIFT), !!(s->flags & MOTE_ONLINE_F_ANOMALY),
                !!(s->flags & MOTE_ONLINE_F_ADDED), !!(s->flags & MOTE_ONLINE_F_ALARM));
        csv_text(f, name_or(r, s->backbone));
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return tpu_fail(msg, size, MOTE_ERR_IO, "%s: write failed", path);
    return MOTE_OK;
}

/* ---- chart ---------------------------------------------------------------- */

typedef struct chart_data {
    double *y0, *y1;        /* lines */
    double *drift, *added, *phase; /* marks */
    double *span_a, *span_b; /* shaded runs */
    size_t n_drift, n_added, n_phase, n_span;
} chart_data_t;

static void chart_free(chart_data_t *d)
{
    free(d->y0);
    free(d->y1);
    free(d->drift);
    free(d->added);
    free(d->phase);
    free(d->span_a);
    free(d->span_b);
}

/* Rolling accuracy over the last w samples of `which` (0: head, 1:
 * backbone; NaN where the backbone gives no class). */
static void rolling(const mote_online_result_t *r, uint32_t w, int which, double *y)
{
    uint64_t ok = 0, n = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        int32_t p = which ? r->log[i].backbone : r->log[i].pred;
        int32_t q = i >= w ? (which ? r->log[i - w].backbone : r->log[i - w].pred) : -1;
        ok += p == r->log[i].truth;
        n += p >= 0;
        if (i >= w) {
            ok -= q == r->log[i - w].truth;
            n -= q >= 0;
        }
        y[i] = n ? (double)ok / (double)n : NAN;
    }
}

/* Marks and shaded runs: drift, class added, phase starts; runs of
 * labelled samples (classify) or of truly anomalous ones (anomaly). */
static void chart_marks(const mote_online_config_t *cfg, const mote_online_result_t *r,
                        chart_data_t *d)
{
    int shade_prev = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        uint32_t f = r->log[i].flags;
        if (f & MOTE_ONLINE_F_DRIFT)
            d->drift[d->n_drift++] = (double)i;
        if (f & MOTE_ONLINE_F_ADDED)
            d->added[d->n_added++] = (double)i;
        if (i > 0 && r->log[i].phase != r->log[i - 1].phase)
            d->phase[d->n_phase++] = (double)i;
        int shade = cfg->task == MOTE_ONLINE_ANOMALY ? !is_normal(cfg, r, r->log[i].truth)
                                                     : (f & MOTE_ONLINE_F_LABEL) != 0;
        if (shade && !shade_prev)
            d->span_a[d->n_span] = (double)i, d->span_b[d->n_span++] = (double)i + 1;
        else if (shade)
            d->span_b[d->n_span - 1] = (double)i + 1;
        shade_prev = shade;
    }
}

static mote_status_t chart_fill(const mote_online_config_t *cfg, const mote_online_result_t *r,
                                chart_data_t *d, char *msg, size_t size)
{
    size_t n = r->n ? r->n : 1;
    d->y0 = malloc(n * sizeof *d->y0);
    d->y1 = malloc(n * sizeof *d->y1);
    d->drift = malloc(n * sizeof *d->drift);
    d->added = malloc(n * sizeof *d->added);
    d->phase = malloc(n * sizeof *d->phase);
    d->span_a = malloc(n * sizeof *d->span_a);
    d->span_b = malloc(n * sizeof *d->span_b);
    if (!d->y0 || !d->y1 || !d->drift || !d->added || !d->phase || !d->span_a || !d->span_b)
        return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
    if (cfg->task == MOTE_ONLINE_CLASSIFY) {
        rolling(r, cfg->window, 0, d->y0);
        rolling(r, cfg->window, 1, d->y1);
    } else {
        /* scores span decades while the detector adapts: plot log10 */
        for (uint64_t i = 0; i < r->n; i++) {
            d->y0[i] = r->log[i].score > 0 ? log10(r->log[i].score) : NAN;
            d->y1[i] = r->log[i].threshold > 0 ? log10(r->log[i].threshold) : NAN;
        }
    }
    chart_marks(cfg, r, d);
    return MOTE_OK;
}

mote_status_t mote_online_plot(const char *path, const mote_online_config_t *cfg,
                               const mote_online_result_t *r, char *msg, size_t size)
{
    chart_data_t d;
    memset(&d, 0, sizeof d);
    mote_status_t st = chart_fill(cfg, r, &d, msg, size);
    int cls = cfg->task == MOTE_ONLINE_CLASSIFY;
    char title[160], l0[64];
    const char *base = strrchr(cfg->path, '/') ? strrchr(cfg->path, '/') + 1 : cfg->path;
    /* plot titles are cut at MOTE_PLOT_MAX_LABEL code points */
    snprintf(title, sizeof title, "%.24s: %s", base, cls ? "accuracy" : "anomaly score");
    snprintf(l0, sizeof l0, "head, last %u samples", cfg->window);
    int bb = cls && isfinite(r->backbone_acc);
    mote_plot_line_t lines[2] = {{cls ? l0 : "log10 score", NULL, d.y0, r->n},
                                 {cls ? "backbone alone" : "log10 threshold", NULL, d.y1, r->n}};
    mote_plot_marks_t all[3] = {{"drift", d.drift, d.n_drift},
                                {"class added", d.added, d.n_added},
                                {"phase start", d.phase, d.n_phase}}, marks[3];
    size_t n_marks = 0;
    for (size_t i = 0; i < 3; i++)
        if (all[i].n) /* no legend entry for what never happened */
            marks[n_marks++] = all[i];
    mote_plot_spans_t span = {cls ? "label arrived" : "anomalous (truth)", d.span_a, d.span_b, d.n_span};
    mote_plot_series_t spec = {title, "stream sample", cls ? "accuracy" : "log10 score",
                               lines, cls && !bb ? 1 : 2, marks, n_marks, &span, d.n_span ? 1 : 0,
                               cls, cfg->target, "target", cls, 0.0, 1.0, 0, 0};
    mote_plot_t *p = NULL;
    if (st == MOTE_OK)
        st = mote_plot_series(&spec, &p, msg, size);
    if (st == MOTE_OK)
        st = mote_plot_save(p, path, msg, size);
    mote_plot_free(p);
    chart_free(&d);
    return st;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *phase_json(const mote_online_config_t *cfg, const mote_online_phase_result_t *p)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:I, s:I}", "name", p->name, "first",
                          (json_int_t)p->first, "samples", (json_int_t)p->n, "labels",
                          (json_int_t)p->labels, "accuracy", num(p->accuracy), "backbone_accuracy",
                          num(p->backbone_acc), "drifts", (json_int_t)p->drifts, "first_drift",
                          (json_int_t)p->first_drift);
    if (o && cfg->task == MOTE_ONLINE_ANOMALY) {
        json_object_set_new(o, "normal", json_integer((json_int_t)p->normal));
        json_object_set_new(o, "false_alarms", json_integer((json_int_t)p->flagged_normal));
        json_object_set_new(o, "anomalous", json_integer((json_int_t)p->anomalous));
        json_object_set_new(o, "detected", json_integer((json_int_t)p->flagged_anomalous));
        json_object_set_new(o, "auc", num(p->auc));
    }
    return o;
}

mote_status_t mote_online_write_json(const char *path, const mote_online_config_t *cfg,
                                     const mote_online_result_t *r, char *msg, size_t size)
{
    json_t *ph = json_array();
    for (size_t i = 0; ph && i < r->n_phases; i++)
        json_array_append_new(ph, phase_json(cfg, &r->phases[i]));
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:I, s:o, s:I, s:I, s:I, s:I, s:I, "
        "s:o, s:o, s:o, s:I, s:o, s:o}",
        "config", cfg->path, "task", cfg->task == MOTE_ONLINE_ANOMALY ? "anomaly" : "classify",
        "samples", (json_int_t)r->n, "labels", (json_int_t)r->labels, "accuracy", num(r->accuracy),
        "pretrain_samples", (json_int_t)r->pretrain_samples, "pretrain_accuracy",
        num(r->pretrain_acc), "backbone_accuracy", num(r->backbone_acc), "accuracy_after_labels",
        num(r->acc_after_labels), "after_labels_at", (json_int_t)r->at_after_labels,
        "accuracy_after_class_labels", num(r->acc_after_class), "after_class_labels_at",
        (json_int_t)r->at_after_class, "labels_to_target", (json_int_t)r->labels_to_target,
        "drifts", (json_int_t)r->drifts, "classes_added", (json_int_t)r->classes_added,
        "features", (json_int_t)r->n_features, "device_accuracy", num(r->device_acc),
        "device_accuracy_window", num(r->device_acc_window), "auc", num(r->auc), "state_bytes",
        (json_int_t)r->state_bytes, "seconds", num(r->seconds), "phases", ph ? ph : json_null());
    int bad = !o || json_dump_file(o, path, JSON_INDENT(2)) != 0;
    json_decref(o);
    return bad ? tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot write", path) : MOTE_OK;
}

/* ---- text ----------------------------------------------------------------- */

static void pct(FILE *f, const char *what, double v)
{
    if (isfinite(v))
        fprintf(f, "  %-34s %8.2f %%\n", what, 100.0 * v);
}

static void print_phase(FILE *f, const mote_online_config_t *cfg, const mote_online_phase_result_t *p)
{
    fprintf(f, "phase '%s': samples %llu-%llu (%llu), labels %llu, drifts %llu", p->name,
            (unsigned long long)p->first, (unsigned long long)(p->first + p->n - (p->n > 0)),
            (unsigned long long)p->n, (unsigned long long)p->labels, (unsigned long long)p->drifts);
    if (p->first_drift >= 0)
        fprintf(f, " (first %lld samples in)", (long long)p->first_drift);
    fprintf(f, "\n");
    if (cfg->task == MOTE_ONLINE_CLASSIFY) {
        pct(f, "head accuracy", p->accuracy);
        pct(f, "backbone alone", p->backbone_acc);
        return;
    }
    if (p->normal)
        fprintf(f, "  %-34s %8.2f %% (%llu of %llu normal)\n", "flagged normal (false alarms)",
                100.0 * (double)p->flagged_normal / (double)p->normal,
                (unsigned long long)p->flagged_normal, (unsigned long long)p->normal);
    if (p->anomalous)
        fprintf(f, "  %-34s %8.2f %% (%llu of %llu anomalous)\n", "flagged anomalous (detected)",
                100.0 * (double)p->flagged_anomalous / (double)p->anomalous,
                (unsigned long long)p->flagged_anomalous, (unsigned long long)p->anomalous);
    if (isfinite(p->auc))
        fprintf(f, "  %-34s %10.4f\n", "ROC AUC", p->auc);
}

mote_status_t mote_online_print_summary(FILE *f, const mote_online_config_t *cfg,
                                        const mote_online_result_t *r, char *msg, size_t size)
{
    fprintf(f, "%s: %llu stream samples, %u features into the %s, %llu labels, %llu drift "
               "responses, %llu classes added\n", cfg->path, (unsigned long long)r->n, r->n_features,
            cfg->task == MOTE_ONLINE_CLASSIFY ? "head" : "detector", (unsigned long long)r->labels,
            (unsigned long long)r->drifts, (unsigned long long)r->classes_added);
    if (r->pretrain_samples)
        fprintf(f, "pretrain: %llu samples%s", (unsigned long long)r->pretrain_samples,
                isfinite(r->pretrain_acc) ? "" : "\n");
    if (r->pretrain_samples && isfinite(r->pretrain_acc))
        fprintf(f, ", head accuracy in the last epoch %.2f %%\n", 100.0 * r->pretrain_acc);
    for (size_t i = 0; i < r->n_phases; i++)
        print_phase(f, cfg, &r->phases[i]);
    fprintf(f, "whole stream:\n");
    if (cfg->task == MOTE_ONLINE_CLASSIFY) {
        pct(f, "head accuracy", r->accuracy);
        pct(f, "backbone alone", r->backbone_acc);
        if (r->at_after_labels >= 0) {
            char w[64];
            snprintf(w, sizeof w, "after label %llu (sample %lld)",
                     (unsigned long long)cfg->after_labels, (long long)r->at_after_labels);
            pct(f, w, r->acc_after_labels);
        }
        if (r->at_after_class >= 0) {
            char w[96];
            snprintf(w, sizeof w, "after %s label %llu (sample %lld)", cfg->watch_class,
                     (unsigned long long)cfg->after_class_labels, (long long)r->at_after_class);
            pct(f, w, r->acc_after_class);
        }
        pct(f, "on labelled samples (device's view)", r->device_acc);
        char w[64];
        snprintf(w, sizeof w, "on the last %u labelled samples", cfg->window);
        pct(f, w, r->device_acc_window);
        fprintf(f, "  labels until the last-%u accuracy stays >= %.0f %%: ", cfg->window,
                100.0 * cfg->target);
        if (r->labels_to_target >= 0)
            fprintf(f, "%lld\n", (long long)r->labels_to_target);
        else
            fprintf(f, "never\n");
        fprintf(f, "  head + standardizer state blob      %8zu B\n", r->state_bytes);
    } else if (isfinite(r->auc)) {
        fprintf(f, "  %-34s %10.4f\n", "ROC AUC", r->auc);
    }
    fprintf(f, "wall time %.2f s\n", r->seconds);
    return ferror(f) ? tpu_fail(msg, size, MOTE_ERR_IO, "write failed") : MOTE_OK;
}
