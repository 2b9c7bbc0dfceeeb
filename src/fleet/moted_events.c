/* moted: events, heartbeats and state reports are written by one thread in
 * batches, one transaction per batch. A commit costs far more than an
 * insert (about 0.4 ms on this machine's SQLite, a round trip on
 * PostgreSQL), so batching is what sets the rate. The MQTT thread only
 * decodes and queues, which also keeps it free to answer chunk requests at
 * once: with 10,000 devices reporting "downloading" and "confirmed" during
 * a campaign, a commit per report there starved the downloads. When the
 * queue is full the MQTT thread waits, which slows the broker's deliveries
 * instead of dropping anything. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "moted_int.h"

#define EVQ_CAP 32768 /* reports waiting for the writer */
#define EVQ_BATCH 512 /* events per transaction at most */

typedef enum { ITEM_EVENT, ITEM_HB, ITEM_STATE } item_type_t;

typedef struct evq_item {
    char dev[MOTE_PROTO_ID_LEN];
    char kind[16];
    uint8_t type;              /* item_type_t */
    uint64_t seq;              /* events: the device's seq; others: arrival order */
    int64_t ts, received;
    char *json;                /* event body, heartbeat or state as stored */
    mote_proto_state_t *st;    /* ITEM_STATE: decoded, heap */
} evq_item_t;

struct moted_evq {
    pthread_mutex_t mu;
    pthread_cond_t more, room;
    evq_item_t items[EVQ_CAP];
    size_t head, n;
    uint64_t arrivals;
    int stop;
    pthread_t thread;
};

/* The store part of one item. Events count as inserted or duplicate
 * through *ins (1/0); other items leave it alone. */
static mote_status_t store_item(mote_moted_t *m, const evq_item_t *it, int *ins, char *err, size_t errsz)
{
    if (it->type == ITEM_EVENT)
        return mote_store_event_insert(m->store, it->dev, it->seq, it->ts, it->kind, it->json, it->received, ins, err,
                                       errsz);
    mote_status_t st = mote_store_device_touch(m->store, it->dev, it->received, err, errsz);
    if (st != MOTE_OK || it->type == ITEM_HB)
        return st != MOTE_OK ? st : mote_store_twin_health(m->store, it->dev, it->json, it->received, err, errsz);
    const mote_proto_state_t *s = it->st;
    mote_store_reported_t r = {s->model.name, s->model.version, s->previous.name, s->previous.version, s->slot,
                               s->slot_state, s->ota.status, s->ota.version, s->cmd_seq, s->cmd_status, it->json};
    st = mote_store_twin_reported(m->store, it->dev, &r, it->received, err, errsz);
    if (st == MOTE_OK)
        mote_campaign_on_state(m, it->dev, s);
    return st;
}

/* What follows a stored state report (graph, reconciliation): it may send
 * commands, so it runs after the commit that made the report visible. */
static void after_item(mote_moted_t *m, const evq_item_t *it)
{
    if (it->type == ITEM_STATE)
        moted_state_applied(m, it->dev, it->st);
}

static void write_one(mote_moted_t *m, const evq_item_t *it)
{
    char err[256];
    int inserted = 0;
    if (store_item(m, it, &inserted, err, sizeof err) != MOTE_OK) {
        mote_moted_log(m, "%s: store: %s", it->dev, err);
        return;
    }
    if (it->type == ITEM_EVENT) {
        if (inserted)
            m->n_evt++;
        else
            m->n_dup++;
    }
    after_item(m, it);
}

/* Batches are written in (device, type, seq) order, so two moted instances
 * sharing a PostgreSQL database take row locks in the same order and do
 * not deadlock on overlapping redeliveries; a device's heartbeats and
 * state reports keep their arrival order (their seq). */
static int item_cmp(const void *a, const void *b)
{
    const evq_item_t *x = a, *y = b;
    int c = strcmp(x->dev, y->dev);
    if (c)
        return c;
    int tx = x->type == ITEM_EVENT, ty = y->type == ITEM_EVENT;
    if (tx != ty)
        return ty - tx;
    return (x->seq > y->seq) - (x->seq < y->seq);
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
        ok = store_item(m, &b[i], &inserted, err, sizeof err) == MOTE_OK;
        if (b[i].type == ITEM_EVENT) {
            ins_n += inserted != 0;
            dup_n += inserted == 0;
        }
    }
    if (ok && mote_store_commit(m->store, err, sizeof err) == MOTE_OK) {
        m->n_evt += ins_n;
        m->n_dup += dup_n;
        for (size_t i = 0; i < n; i++)
            after_item(m, &b[i]);
        return;
    }
    if (ok == 0)
        mote_store_rollback(m->store);
    mote_moted_log(m, "reports: batch of %zu failed (%s); writing one by one", n, err);
    for (size_t i = 0; i < n; i++)
        write_one(m, &b[i]);
}

static void item_free(evq_item_t *it)
{
    free(it->json);
    free(it->st);
}

static void *writer(void *arg)
{
    mote_moted_t *m = arg;
    prctl(PR_SET_NAME, "moted-writer"); /* names the thread in top -H, perf, gdb */
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
            item_free(&batch[i]);
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

/* Queue `it` (its heap parts move to the queue), or write it now when no
 * writer runs. */
static void put(mote_moted_t *m, evq_item_t *it)
{
    moted_evq_t *q = m->evq;
    if (!q) {
        write_one(m, it);
        item_free(it);
        return;
    }
    pthread_mutex_lock(&q->mu);
    while (q->n == EVQ_CAP && !q->stop)
        pthread_cond_wait(&q->room, &q->mu);
    if (it->type != ITEM_EVENT)
        it->seq = ++q->arrivals;
    q->items[(q->head + q->n) % EVQ_CAP] = *it;
    q->n++;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->mu);
}

static int item_init(evq_item_t *it, item_type_t type, const char *dev, const char *json)
{
    memset(it, 0, sizeof *it);
    it->type = (uint8_t)type;
    snprintf(it->dev, sizeof it->dev, "%s", dev);
    it->received = mote_store_now_ms();
    it->json = strdup(json);
    return it->json != NULL;
}

void moted_evq_put(mote_moted_t *m, const char *dev, uint64_t seq, int64_t ts, const char *kind, const char *json)
{
    evq_item_t it;
    if (!item_init(&it, ITEM_EVENT, dev, json)) {
        mote_moted_log(m, "%s: event dropped: out of memory", dev);
        return;
    }
    snprintf(it.kind, sizeof it.kind, "%s", kind);
    it.seq = seq;
    it.ts = ts;
    put(m, &it);
}

void moted_evq_put_hb(mote_moted_t *m, const char *dev, const char *json)
{
    evq_item_t it;
    if (item_init(&it, ITEM_HB, dev, json))
        put(m, &it);
}

void moted_evq_put_state(mote_moted_t *m, const char *dev, const mote_proto_state_t *s, const char *json)
{
    evq_item_t it;
    if (!item_init(&it, ITEM_STATE, dev, json) || !(it.st = malloc(sizeof *it.st))) {
        mote_moted_log(m, "%s: state report dropped: out of memory", dev);
        item_free(&it);
        return;
    }
    *it.st = *s;
    put(m, &it);
}
