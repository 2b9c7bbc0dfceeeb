/* moted: events are written by one thread in batches, one transaction per
 * batch. A commit costs far more than an insert (about 0.4 ms on this
 * machine's SQLite, a round trip on PostgreSQL), so batching is what sets
 * the event rate. The MQTT thread only queues; when the queue is full it
 * waits, which slows the broker's deliveries instead of dropping events. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "moted_int.h"

#define EVQ_CAP 4096  /* events waiting for the writer */
#define EVQ_BATCH 512 /* events per transaction at most */

typedef struct evq_item {
    char dev[MOTE_PROTO_ID_LEN];
    char kind[16];
    uint64_t seq;
    int64_t ts, received;
    char *json;
} evq_item_t;

struct moted_evq {
    pthread_mutex_t mu;
    pthread_cond_t more, room;
    evq_item_t items[EVQ_CAP];
    size_t head, n;
    int stop;
    pthread_t thread;
};

static void write_one(mote_moted_t *m, const evq_item_t *it)
{
    char err[256];
    int inserted = 0;
    if (mote_store_event_insert(m->store, it->dev, it->seq, it->ts, it->kind, it->json, it->received, &inserted, err,
                                sizeof err) != MOTE_OK)
        mote_moted_log(m, "%s: store: %s", it->dev, err);
    else if (inserted)
        m->n_evt++;
    else
        m->n_dup++;
}

/* Batches are written in (device, seq) order, so two moted instances
 * sharing a PostgreSQL database take row locks in the same order and do
 * not deadlock on overlapping redeliveries. */
static int item_cmp(const void *a, const void *b)
{
    const evq_item_t *x = a, *y = b;
    int c = strcmp(x->dev, y->dev);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Counts are applied only after a successful commit. */
static void write_batch(mote_moted_t *m, evq_item_t *b, size_t n)
{
    char err[256];
    uint64_t ins_n = 0, dup_n = 0;
    qsort(b, n, sizeof *b, item_cmp);
    int ok = mote_store_begin(m->store, err, sizeof err) == MOTE_OK;
    for (size_t i = 0; ok && i < n; i++) {
        int inserted = 0;
        ok = mote_store_event_insert(m->store, b[i].dev, b[i].seq, b[i].ts, b[i].kind, b[i].json, b[i].received,
                                     &inserted, err, sizeof err) == MOTE_OK;
        ins_n += inserted != 0;
        dup_n += inserted == 0;
    }
    if (ok && mote_store_commit(m->store, err, sizeof err) == MOTE_OK) {
        m->n_evt += ins_n;
        m->n_dup += dup_n;
        return;
    }
    if (ok == 0)
        mote_store_rollback(m->store);
    mote_moted_log(m, "events: batch of %zu failed (%s); writing one by one", n, err);
    for (size_t i = 0; i < n; i++)
        write_one(m, &b[i]);
}

static void *writer(void *arg)
{
    mote_moted_t *m = arg;
    moted_evq_t *q = m->evq;
    evq_item_t *batch = malloc(EVQ_BATCH * sizeof *batch);
    if (!batch)
        return NULL;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->n == 0 && !q->stop)
            pthread_cond_wait(&q->more, &q->mu);
        if (q->n == 0 && q->stop)
            break;
        size_t n = q->n < EVQ_BATCH ? q->n : EVQ_BATCH;
        for (size_t i = 0; i < n; i++)
            batch[i] = q->items[(q->head + i) % EVQ_CAP];
        q->head = (q->head + n) % EVQ_CAP;
        q->n -= n;
        pthread_cond_broadcast(&q->room);
        pthread_mutex_unlock(&q->mu);
        write_batch(m, batch, n);
        for (size_t i = 0; i < n; i++)
            free(batch[i].json);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    free(batch);
    return NULL;
}

mote_status_t moted_evq_start(mote_moted_t *m)
{
    moted_evq_t *q = calloc(1, sizeof *q);
    if (!q)
        return MOTE_ERR_NOMEM;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->more, NULL);
    pthread_cond_init(&q->room, NULL);
    m->evq = q;
    if (pthread_create(&q->thread, NULL, writer, m) != 0) {
        m->evq = NULL;
        free(q);
        return MOTE_ERR_STATE;
    }
    return MOTE_OK;
}

void moted_evq_stop(mote_moted_t *m)
{
    moted_evq_t *q = m->evq;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->more);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL); /* the writer drains the queue first */
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->more);
    pthread_cond_destroy(&q->room);
    free(q);
    m->evq = NULL;
}

void moted_evq_put(mote_moted_t *m, const char *dev, uint64_t seq, int64_t ts, const char *kind, const char *json)
{
    moted_evq_t *q = m->evq;
    evq_item_t it;
    memset(&it, 0, sizeof it);
    snprintf(it.dev, sizeof it.dev, "%s", dev);
    snprintf(it.kind, sizeof it.kind, "%s", kind);
    it.seq = seq;
    it.ts = ts;
    it.received = mote_store_now_ms();
    it.json = strdup(json);
    if (!q || !it.json) { /* no writer (not started): write now */
        if (it.json)
            write_one(m, &it);
        free(it.json);
        return;
    }
    pthread_mutex_lock(&q->mu);
    while (q->n == EVQ_CAP && !q->stop)
        pthread_cond_wait(&q->room, &q->mu);
    q->items[(q->head + q->n) % EVQ_CAP] = it;
    q->n++;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->mu);
}
