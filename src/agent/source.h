/* mote agent: sensor streams for replay: a recording (raw little-endian
 * float32, one channel, the CWRU .f32 files) held in memory and shared by
 * any number of readers, each with its own position and gain. */
#ifndef MOTE_SOURCE_H
#define MOTE_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mote_recording {
    char *path;      /* heap, owned */
    float *x;        /* samples, heap, owned */
    size_t n;
    unsigned refs;
} mote_recording_t;

/* Read a raw float32 file (at least `min` samples; any size multiple of 4).
 * *out has one reference. Errors: MOTE_ERR_IO, MOTE_ERR_TRUNCATED (too
 * short or a partial sample), MOTE_ERR_CORRUPT (a non-finite sample,
 * naming its index), MOTE_ERR_NOMEM. */
mote_status_t mote_recording_load(const char *path, size_t min, mote_recording_t **out, char *msg,
                                  size_t msg_size);
mote_recording_t *mote_recording_ref(mote_recording_t *r);
void mote_recording_unref(mote_recording_t *r);

/* A reader: position, looping, and a gain ramp (drift injection). */
typedef struct mote_source {
    mote_recording_t *rec;  /* one reference held */
    size_t pos;
    float gain, gain_step;  /* gain += gain_step per sample, up to gain_max */
    float gain_max;
} mote_source_t;

/* Start reading rec (a reference is taken) at sample `offset` (modulo n). */
void mote_source_init(mote_source_t *s, mote_recording_t *rec, size_t offset);
/* Switch to another recording, keeping the gain. */
void mote_source_switch(mote_source_t *s, mote_recording_t *rec, size_t offset);
void mote_source_free(mote_source_t *s);
/* Copy the next n samples (looping at the end) times the gain into out. */
void mote_source_read(mote_source_t *s, float *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
