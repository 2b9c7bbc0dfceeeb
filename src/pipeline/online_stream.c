/* mote pipeline: the stream of windows a phase replays (online_internal.h).
 * Each source is one recording's windows in time order; a phase merges its
 * sources as the config's "mix" says. */
#include <stdlib.h>
#include <string.h>
#include "online_internal.h"

static mote_status_t dataset_get(onl_datasets_t *d, const char *path, mote_dataset_t **out,
                                 char *msg, size_t size)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->paths[i], path) == 0) {
            *out = d->ds[i];
            return MOTE_OK;
        }
    char **p = realloc(d->paths, (d->n + 1) * sizeof *p);
    if (p)
        d->paths = p;
    mote_dataset_t **q = p ? realloc(d->ds, (d->n + 1) * sizeof *q) : NULL;
    if (q)
        d->ds = q;
    if (!p || !q || !(d->paths[d->n] = tpu_strdup(path)))
        return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
    mote_status_t st = mote_dataset_load(path, NULL, &d->ds[d->n], msg, size);
    if (st != MOTE_OK) {
        free(d->paths[d->n]);
        return st;
    }
    *out = d->ds[d->n++];
    return MOTE_OK;
}

void onl_datasets_free(onl_datasets_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->paths[i]);
        mote_dataset_free(d->ds[i]);
    }
    free(d->paths);
    free(d->ds);
    memset(d, 0, sizeof *d);
}

static int wanted(const mote_online_segment_t *seg, const mote_dataset_t *ds, uint32_t r)
{
    const mote_dataset_recording_t *rec = &ds->recordings[r];
    if (seg->classes && onl_find(seg->classes, seg->n_classes, ds->classes[rec->label]) < 0)
        return 0;
    return !seg->files || onl_find(seg->files, seg->n_files, rec->file) >= 0;
}

/* Window starts of recording r for the segment, before the from/to cut. */
static size_t list_starts(const mote_online_segment_t *seg, const mote_dataset_t *ds, uint32_t r,
                          uint64_t *out)
{
    size_t n = 0;
    if (seg->all) {
        const mote_dataset_recording_t *rec = &ds->recordings[r];
        for (uint64_t s = rec->begin; s + ds->window <= rec->end; s += ds->hop, n++)
            if (out)
                out[n] = s;
        return n;
    }
    for (size_t i = 0; i < ds->n_windows[seg->split]; i++)
        if (ds->windows[seg->split][i].recording == r) {
            if (out)
                out[n] = ds->windows[seg->split][i].start;
            n++;
        }
    return n;
}

static mote_status_t add_source(onl_stream_t *s, const mote_online_segment_t *seg,
                                const mote_dataset_t *ds, uint32_t r, char *msg, size_t size)
{
    size_t n = list_starts(seg, ds, r, NULL);
    size_t to = seg->to && seg->to < n ? seg->to : n, from = seg->from < to ? seg->from : to;
    if (to == from)
        return MOTE_OK;
    onl_source_t *src = realloc(s->src, (s->n_src + 1) * sizeof *src);
    if (!src)
        return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
    s->src = src;
    uint64_t *all = malloc(n * sizeof *all);
    if (!all)
        return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
    list_starts(seg, ds, r, all);
    memmove(all, all + from, (to - from) * sizeof *all);
    src[s->n_src++] = (onl_source_t){ds, r, ds->classes[ds->recordings[r].label], all, to - from, 0};
    return MOTE_OK;
}

mote_status_t onl_stream_open(onl_stream_t *s, const mote_online_phase_t *ph,
                              onl_datasets_t *dsc, mote_nn_rng_t *rng, char *msg, size_t size)
{
    memset(s, 0, sizeof *s);
    s->mix = ph->mix;
    s->repeat = ph->repeat ? ph->repeat : 1;
    s->block = ph->block;
    s->length = ph->length;
    s->rng = rng;
    for (size_t i = 0; i < ph->n_segments; i++) {
        const mote_online_segment_t *seg = &ph->segments[i];
        mote_dataset_t *ds = NULL;
        mote_status_t st = dataset_get(dsc, seg->dataset, &ds, msg, size);
        for (uint32_t r = 0; st == MOTE_OK && ds && r < ds->n_recordings; r++)
            if (wanted(seg, ds, r))
                st = add_source(s, seg, ds, r, msg, size);
        if (st != MOTE_OK)
            return st;
    }
    if (s->n_src == 0)
        return tpu_fail(msg, size, MOTE_ERR_ARG, "phase '%s': its segments select no window",
                        ph->name);
    for (size_t i = 0; s->block && i < s->n_src; i++)
        if (s->src[i].n < s->block)
            return tpu_fail(msg, size, MOTE_ERR_ARG,
                            "phase '%s': %s has %zu windows, fewer than a block of %u", ph->name,
                            s->src[i].ds->recordings[s->src[i].rec].file, s->src[i].n, s->block);
    return MOTE_OK;
}

void onl_stream_close(onl_stream_t *s)
{
    for (size_t i = 0; i < s->n_src; i++)
        free(s->src[i].starts);
    free(s->src);
    memset(s, 0, sizeof *s);
}

void onl_stream_rewind(onl_stream_t *s)
{
    for (size_t i = 0; i < s->n_src; i++)
        s->src[i].pos = 0;
    s->round = 0;
    s->emitted = 0;
    s->rr = 0;
    s->block_left = 0;
}

uint64_t onl_stream_total(const onl_stream_t *s)
{
    if (s->block)
        return s->length;
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_src; i++)
        n += s->src[i].n;
    return n * s->repeat;
}

/* Source to read next, or n_src when this round is over. */
static size_t pick(onl_stream_t *s)
{
    if (s->mix == MOTE_ONLINE_MIX_SEQUENCE) {
        size_t i = 0;
        while (i < s->n_src && s->src[i].pos == s->src[i].n)
            i++;
        return i;
    }
    if (s->mix == MOTE_ONLINE_MIX_ROUND_ROBIN) {
        for (size_t k = 0; k < s->n_src; k++) {
            size_t i = (s->rr + k) % s->n_src;
            if (s->src[i].pos < s->src[i].n) {
                s->rr = i + 1;
                return i;
            }
        }
        return s->n_src;
    }
    uint64_t left = 0;
    for (size_t i = 0; i < s->n_src; i++)
        left += s->src[i].n - s->src[i].pos;
    if (left == 0)
        return s->n_src;
    /* weight by what is left, so every source ends at about the same time */
    uint64_t r = mote_nn_rng_next(s->rng) % left;
    size_t i = 0;
    while (r >= s->src[i].n - s->src[i].pos) {
        r -= s->src[i].n - s->src[i].pos;
        i++;
    }
    return i;
}

/* Block mode: a random block of consecutive windows from a source drawn
 * in proportion to its length, which keeps the short-range correlation of
 * overlapping windows while the stream stays stationary. */
static void next_block(onl_stream_t *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_src; i++)
        total += s->src[i].n;
    uint64_t r = mote_nn_rng_next(s->rng) % total;
    size_t i = 0;
    while (r >= s->src[i].n) {
        r -= s->src[i].n;
        i++;
    }
    s->cur = i;
    s->src[i].pos = mote_nn_rng_below(s->rng, (uint32_t)(s->src[i].n - s->block + 1));
    s->block_left = s->block;
}

int onl_stream_next(onl_stream_t *s, const onl_source_t **src, uint64_t *start)
{
    if (s->block) {
        if (s->emitted >= s->length)
            return 0;
        if (s->block_left == 0)
            next_block(s);
        onl_source_t *o = &s->src[s->cur];
        *src = o;
        *start = o->starts[o->pos++];
        s->block_left--;
        s->emitted++;
        return 1;
    }
    size_t i = pick(s);
    while (i == s->n_src) {
        if (++s->round >= s->repeat)
            return 0;
        for (size_t k = 0; k < s->n_src; k++)
            s->src[k].pos = 0;
        i = pick(s);
    }
    *src = &s->src[i];
    *start = s->src[i].starts[s->src[i].pos++];
    s->emitted++;
    return 1;
}
