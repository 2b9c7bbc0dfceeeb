/* Replay sources (source.h). */
#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pack.h"

mote_status_t mote_recording_load(const char *path, size_t min, mote_recording_t **out, char *msg,
                                  size_t msg_size)
{
    uint8_t *b;
    size_t len;
    *out = NULL;
    mote_status_t st = mote_pack_read_file(path, (size_t)1 << 30, &b, &len, msg, msg_size);
    if (st != MOTE_OK)
        return st;
    if (len % 4 || len / 4 < (min ? min : 1)) {
        snprintf(msg, msg_size, "%s: %zu bytes: not a float32 recording of at least %zu samples", path,
                 len, min ? min : 1);
        free(b);
        return MOTE_ERR_TRUNCATED;
    }
    mote_recording_t *r = calloc(1, sizeof *r);
    float *x = malloc(len);
    char *p = strdup(path);
    if (!r || !x || !p) {
        free(r), free(x), free(p), free(b);
        return MOTE_ERR_NOMEM;
    }
    for (size_t i = 0; i < len / 4; i++) {
        uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                     (uint32_t)b[4 * i + 3] << 24;
        memcpy(&x[i], &u, 4);
        if (!isfinite(x[i])) {
            snprintf(msg, msg_size, "%s: sample %zu is not finite", path, i);
            free(r), free(x), free(p), free(b);
            return MOTE_ERR_CORRUPT;
        }
    }
    free(b);
    *r = (mote_recording_t){p, x, len / 4, 1};
    *out = r;
    return MOTE_OK;
}

mote_recording_t *mote_recording_ref(mote_recording_t *r)
{
    if (r)
        r->refs++;
    return r;
}

void mote_recording_unref(mote_recording_t *r)
{
    if (!r || --r->refs)
        return;
    free(r->path);
    free(r->x);
    free(r);
}

void mote_source_init(mote_source_t *s, mote_recording_t *rec, size_t offset)
{
    memset(s, 0, sizeof *s);
    s->gain = 1.0f;
    s->gain_max = 1.0f;
    s->rec = mote_recording_ref(rec);
    s->pos = rec ? offset % rec->n : 0;
}

void mote_source_switch(mote_source_t *s, mote_recording_t *rec, size_t offset)
{
    mote_recording_t *old = s->rec;
    s->rec = mote_recording_ref(rec);
    s->pos = offset % rec->n;
    mote_recording_unref(old);
}

void mote_source_free(mote_source_t *s)
{
    mote_recording_unref(s->rec);
    s->rec = NULL;
}

void mote_source_read(mote_source_t *s, float *out, size_t n)
{
    const mote_recording_t *r = s->rec;
    for (size_t i = 0; i < n; i++) {
        out[i] = r->x[s->pos] * s->gain;
        if (++s->pos == r->n)
            s->pos = 0;
        if (s->gain_step != 0 && s->gain < s->gain_max)
            s->gain = fminf(s->gain + s->gain_step, s->gain_max);
    }
}
