/* mote pipeline: pieces shared by the online_*.c files (private to the
 * replay engine; not a public API). */
#ifndef MOTE_ONLINE_INTERNAL_H
#define MOTE_ONLINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "dataset.h"
#include "nn.h"
#include "online.h"
#include "train_util.h"

#if defined(__GNUC__)
#define ONL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ONL_PRINTF(f, a)
#endif

/* ---- online_util.c (errors, strings, paths and clocks come from
 * train_util.h, shared with the training pipeline) ---- */

/* Index of s in names[0..n), or -1. */
int32_t onl_find(char *const *names, size_t n, const char *s);

/* ---- online_stream.c: datasets, sources, mixing ---- */

/* Loaded dataset specs, each read once per run. */
typedef struct onl_datasets {
    char **paths;
    mote_dataset_t **ds;
    size_t n;
} onl_datasets_t;

/* One recording's windows, in time order. */
typedef struct onl_source {
    const mote_dataset_t *ds;
    uint32_t rec;
    const char *label;  /* class name, owned by the dataset */
    uint64_t *starts;   /* first frame of each window */
    size_t n, pos;
} onl_source_t;

/* A phase being replayed. */
typedef struct onl_stream {
    onl_source_t *src;
    size_t n_src;
    mote_online_mix_t mix;
    uint32_t repeat, round;
    uint32_t block;
    uint64_t length, emitted;
    size_t rr;          /* round-robin cursor */
    size_t cur;         /* block mode: current source */
    size_t block_left;
    mote_nn_rng_t *rng; /* the run's generator (borrowed) */
} onl_stream_t;

/* Open every source of `ph` (datasets loaded on first use). */
mote_status_t onl_stream_open(onl_stream_t *s, const mote_online_phase_t *ph,
                              onl_datasets_t *dsc, mote_nn_rng_t *rng, char *msg, size_t size);
/* Next window; 0 when the phase is over. */
int onl_stream_next(onl_stream_t *s, const onl_source_t **src, uint64_t *start);
/* Windows the phase will give (block mode: its length). */
uint64_t onl_stream_total(const onl_stream_t *s);
/* Rewind for another epoch. */
void onl_stream_rewind(onl_stream_t *s);
void onl_stream_close(onl_stream_t *s);
void onl_datasets_free(onl_datasets_t *d);

/* ---- online_report.c ---- */

/* Fill the phase and whole-run figures of res from its log. */
mote_status_t onl_summarize(const mote_online_config_t *cfg, mote_online_result_t *res,
                            char *msg, size_t size);

#endif
