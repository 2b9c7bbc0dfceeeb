/* Agent core: state folder, signal path, MQTT connection, event queue,
 * heartbeats and reported state (agent.h). Commands and OTA: ota.c. */
#define _POSIX_C_SOURCE 200809L
#include "agent_int.h"
#include "fed_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mosquitto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TD_OPS "FULLY_CONNECTED", "SOFTMAX", "CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", \
               "MEAN", "ADD", "MUL", "LOGISTIC", "TANH", "RELU", "QUANTIZE", "DEQUANTIZE"
#define BACKOFF_MIN_MS 250u
#define BACKOFF_MAX_MS 30000u

int64_t mote_agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mote_agent_logf(mote_agent_t *a, const char *fmt, ...)
{
    if (!a->cfg.log)
        return;
    char line[640];
    int n = snprintf(line, sizeof line, "%s: ", a->id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    a->cfg.log(a->cfg.log_user, line);
}

static void slots_log(void *user, const char *line)
{
    mote_agent_logf(user, "slots: %s", line);
}

mote_status_t mote_agent_write_file(const char *dir, const char *name, const void *buf, size_t len, int sync)
{
    char tmp[MOTE_AGENT_PATH_LEN + 40], path[MOTE_AGENT_PATH_LEN + 40];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return MOTE_ERR_IO;
    int bad = write(fd, buf, len) != (ssize_t)len || (sync && fsync(fd) != 0);
    close(fd);
    if (bad || rename(tmp, path) != 0)
        return MOTE_ERR_IO;
    int dfd = sync ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return MOTE_OK;
}

/* ---- models -------------------------------------------------------- */

void mote_agent_cache_clear(mote_agent_cache_t *c)
{
    for (size_t i = 0; c && i < c->n; i++)
        mote_device_model_unref(c->m[i]);
    if (c) {
        free(c->m);
        c->m = NULL;
        c->n = c->cap = 0;
    }
}

/* Identical bytes (same digest) share one loaded model. */
static mote_device_model_t *cache_share(mote_agent_cache_t *c, mote_device_model_t *m)
{
    if (!c)
        return m;
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->m[i]->digest, m->digest, sizeof m->digest) == 0) {
            mote_device_model_unref(m);
            return mote_device_model_ref(c->m[i]);
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        mote_device_model_t **p = realloc(c->m, cap * sizeof *p);
        if (!p)
            return m;
        c->m = p;
        c->cap = cap;
    }
    c->m[c->n++] = mote_device_model_ref(m);
    return m;
}

mote_status_t mote_agent_load_model(mote_agent_t *a)
{
    if (a->has_dev) {
        mote_device_free(&a->dev);
        a->has_dev = 0;
    }
    free(a->win);
    a->win = NULL;
    a->fill = 0;
    mote_device_model_t *m = NULL;
    char msg[256];
    mote_status_t st = mote_device_model_from_slots(&a->slots, &m, msg, sizeof msg);
    if (st == MOTE_ERR_NOT_FOUND)
        return MOTE_OK;
    if (st != MOTE_OK) {
        mote_agent_logf(a, "model: %s", msg);
        return st;
    }
    m = cache_share(a->cfg.cache, m);
    mote_device_config_t dc = a->cfg.device;
    if (a->event_threshold > 0)
        dc.threshold = a->event_threshold;
    st = mote_device_init(&a->dev, m, &dc);
    mote_device_model_unref(m);
    if (st != MOTE_OK) {
        mote_agent_logf(a, "model: %s", mote_status_str(st));
        return st;
    }
    a->win = calloc(a->dev.model->dsp.frame_len, sizeof(float));
    if (!a->win) {
        mote_device_free(&a->dev);
        return MOTE_ERR_NOMEM;
    }
    a->has_dev = 1;
    mote_agent_logf(a, "model %s v%llu loaded (arena %zu bytes, %u features, %u classes)",
                    m->id.name, (unsigned long long)m->id.version, m->arena_bytes, m->n_features,
                    m->n_classes);
    return MOTE_OK;
}

/* ---- open / close -------------------------------------------------- */

static mote_status_t make_dirs(mote_agent_t *a, char *slots, char *queue, size_t cap)
{
    if ((size_t)snprintf(slots, cap, "%s/slots", a->dir) >= cap ||
        (size_t)snprintf(queue, cap, "%s/queue", a->dir) >= cap)
        return MOTE_ERR_ARG;
    if ((mkdir(slots, 0755) != 0 && errno != EEXIST) || (mkdir(queue, 0755) != 0 && errno != EEXIST)) {
        snprintf(a->msg, sizeof a->msg, "%s: %s", a->dir, strerror(errno));
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

static void read_cmd_seq(mote_agent_t *a)
{
    char path[MOTE_AGENT_PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/cmd.seq", a->dir);
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    a->cmd_seq = v;
}

void mote_agent_slots_config(mote_agent_t *a, mote_slots_config_t *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->dir = a->slots_dir;
    sc->keys = &a->key;
    sc->n_keys = 1;
    sc->target = a->cfg.device_class;
    sc->max_attempts = 3;
    sc->log = slots_log;
    sc->log_user = a;
    sc->no_sync = a->cfg.sync == MOTE_EQUEUE_NOSYNC;
}

static mote_status_t open_stores(mote_agent_t *a)
{
    char slots[MOTE_AGENT_PATH_LEN + 16], queue[MOTE_AGENT_PATH_LEN + 16];
    mote_status_t st = make_dirs(a, slots, queue, sizeof slots);
    if (st != MOTE_OK)
        return st;
    st = mote_equeue_open(&a->q, queue, a->cfg.sync, 0);
    if (st != MOTE_OK) {
        snprintf(a->msg, sizeof a->msg, "event queue: %s", a->q.msg);
        return st;
    }
    if (a->q.dropped_tail)
        mote_agent_logf(a, "event queue: %s", a->q.msg);
    snprintf(a->slots_dir, sizeof a->slots_dir, "%s", slots);
    memcpy(a->key.pk, a->cfg.fleet_pk, sizeof a->key.pk);
    mote_slots_config_t sc;
    mote_agent_slots_config(a, &sc);
    st = mote_slots_open(&a->slots, &sc);
    if (st != MOTE_OK) {
        snprintf(a->msg, sizeof a->msg, "slots: %s", mote_slots_error(&a->slots));
        return st;
    }
    a->slots_open = 1;
    return MOTE_OK;
}

static mote_status_t check_config(mote_agent_t *a, const mote_agent_config_t *cfg)
{
    if (!cfg->id || !mote_proto_id_valid(cfg->id)) {
        snprintf(a->msg, sizeof a->msg, "device id '%s': 1..48 of [a-z0-9_-]", cfg->id ? cfg->id : "");
        return MOTE_ERR_ARG;
    }
    if (!cfg->host || !cfg->fleet_pk || !cfg->state_dir || cfg->port <= 0 || cfg->port > 65535) {
        snprintf(a->msg, sizeof a->msg, "broker, fleet key and state folder are required");
        return MOTE_ERR_ARG;
    }
    if (strlen(cfg->state_dir) + 40 >= MOTE_AGENT_PATH_LEN) {
        snprintf(a->msg, sizeof a->msg, "state folder path too long");
        return MOTE_ERR_ARG;
    }
    return MOTE_OK;
}

static void apply_defaults(mote_agent_t *a)
{
    mote_agent_config_t *c = &a->cfg;
    if (!c->device_class)
        c->device_class = "cwru-gw";
    if (!c->group)
        c->group = "default";
    if (!c->heartbeat_s)
        c->heartbeat_s = 60;
    if (!c->keepalive_s)
        c->keepalive_s = 30;
    if (!c->retry_ms)
        c->retry_ms = 5000;
    if (!c->max_inflight || c->max_inflight > MOTE_AGENT_MAX_INFLIGHT)
        c->max_inflight = 16;
}

mote_status_t mote_agent_open(mote_agent_t *a, const mote_agent_config_t *cfg)
{
    if (!a || !cfg)
        return MOTE_ERR_ARG;
    memset(a, 0, sizeof *a);
    a->q.fd = -1;
    mote_status_t st = check_config(a, cfg);
    if (st != MOTE_OK)
        return st;
    a->cfg = *cfg;
    apply_defaults(a);
    snprintf(a->id, sizeof a->id, "%s", cfg->id);
    snprintf(a->dir, sizeof a->dir, "%s", cfg->state_dir);
    /* the caller's strings may be temporaries: keep our copies */
    a->cfg.id = a->id;
    a->cfg.state_dir = a->dir;
    snprintf(a->broker, sizeof a->broker, "%.64s:%d", cfg->host, cfg->port);
    a->heartbeat_s = a->cfg.heartbeat_s;
    a->event_threshold = a->cfg.device.threshold;
    snprintf(a->ota_status, sizeof a->ota_status, "idle");
    a->start_ms = a->last_hb_ms = mote_agent_now_ms();
    read_cmd_seq(a);
    if ((st = open_stores(a)) != MOTE_OK || (st = mote_agent_boot(a)) != MOTE_OK) {
        mote_agent_close(a);
        return st;
    }
    if (mote_agent_load_model(a) != MOTE_OK)
        mote_agent_logf(a, "running without a model");
    mote_agent_ota_resume(a);
    a->state_dirty = 1;
    return MOTE_OK;
}

static void drop_connection(mote_agent_t *a, int64_t now_ms)
{
    if (!a->mq)
        return;
    mosquitto_destroy(a->mq);
    a->mq = NULL;
    if (a->connected)
        a->st.disconnects++;
    a->connected = 0;
    a->n_inflight = 0;
    a->sent_after = 0;
    a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (a->backoff_ms > BACKOFF_MAX_MS)
        a->backoff_ms = BACKOFF_MAX_MS;
    /* jitter spreads the reconnects of a fleet after a broker restart */
    a->next_connect_ms = now_ms + a->backoff_ms + (int64_t)(randombytes_uniform(a->backoff_ms / 2 + 1));
}

void mote_agent_close(mote_agent_t *a)
{
    if (!a || !a->id[0])
        return; /* never opened (zeroed) */
    if (a->mq) {
        if (a->connected)
            mosquitto_disconnect(a->mq);
        mosquitto_destroy(a->mq);
        a->mq = NULL;
    }
    if (a->has_dev)
        mote_device_free(&a->dev);
    a->has_dev = 0;
    free(a->win);
    a->win = NULL;
    if (a->slots_open)
        mote_slots_close(&a->slots);
    a->slots_open = 0;
    mote_equeue_close(&a->q);
}

/* ---- publishing ---------------------------------------------------- */

int mote_agent_publish(mote_agent_t *a, mote_proto_topic_t t, const void *buf, size_t len, int qos,
                       int retain, int *mid)
{
    char topic[MOTE_PROTO_TOPIC_LEN];
    if (!a->mq || !a->connected)
        return MOSQ_ERR_NO_CONN;
    if (mote_proto_topic(topic, sizeof topic, a->id, t) != MOTE_OK)
        return MOSQ_ERR_INVAL;
    return mosquitto_publish_v5(a->mq, mid, topic, (int)len, buf, qos, retain != 0, NULL);
}

mote_status_t mote_agent_publish_fl(mote_agent_t *a, const void *buf, size_t len)
{
    if (a->connected != 1)
        return MOTE_ERR_STATE;
    if (mote_agent_publish(a, MOTE_TOPIC_FL_UP, buf, len, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
        return MOTE_ERR_IO;
    a->st.bytes_fl += len;
    return MOTE_OK;
}

static void fill_slot(mote_agent_t *a, char *slot, char *state, size_t cap)
{
    const mote_slots_record_t *r = mote_slots_record(&a->slots);
    static const char *names[] = {"confirmed", "pending", "rolled_back"};
    *slot = r->active == MOTE_SLOT_B ? 'b' : 'a';
    snprintf(state, cap, "%s", r->active == MOTE_SLOT_NONE ? "empty"
                               : r->state < 3             ? names[r->state]
                                                          : "empty");
}

static mote_proto_model_t current_model(const mote_agent_t *a)
{
    mote_proto_model_t m = {0};
    if (a->has_dev)
        m = a->dev.model->id;
    return m;
}

void mote_agent_publish_state(mote_agent_t *a)
{
    mote_proto_state_t s;
    memset(&s, 0, sizeof s);
    s.ts = mote_agent_now_ms();
    s.model = current_model(a);
    s.previous = a->previous;
    fill_slot(a, &s.slot, s.slot_state, sizeof s.slot_state);
    s.cmd_seq = a->cmd_seq;
    snprintf(s.cmd_status, sizeof s.cmd_status, "%s", a->cmd_status);
    snprintf(s.reason, sizeof s.reason, "%s", a->reason);
    snprintf(s.ota.status, sizeof s.ota.status, "%s", a->ota_status);
    s.ota.version = a->ota.version;
    s.ota.offset = a->ota.offset;
    s.ota.total = a->ota.size;
    snprintf(s.ota.reason, sizeof s.ota.reason, "%s", a->ota_reason);
    s.heartbeat_s = a->heartbeat_s;
    s.event_threshold = a->event_threshold;
    char buf[2048];
    size_t len;
    if (mote_proto_state_encode(&s, buf, sizeof buf, &len) != MOTE_OK) {
        mote_agent_logf(a, "state: cannot encode");
        return;
    }
    if (mote_agent_publish(a, MOTE_TOPIC_STATE, buf, len, 1, 1, NULL) == MOSQ_ERR_SUCCESS)
        a->state_dirty = 0;
    else
        a->state_dirty = 1;
}

static void publish_td(mote_agent_t *a)
{
    static const char *ops[] = {TD_OPS};
    mote_proto_td_t td;
    memset(&td, 0, sizeof td);
    snprintf(td.id, sizeof td.id, "%s", a->id);
    snprintf(td.title, sizeof td.title, "mote agent %s", a->id);
    snprintf(td.device_class, sizeof td.device_class, "%s", a->cfg.device_class);
    snprintf(td.group, sizeof td.group, "%s", a->cfg.group);
    td.ram_bytes = a->cfg.ram_bytes ? a->cfg.ram_bytes : 65536;
    td.flash_bytes = 262144;
    td.trainable_head = a->cfg.fl_round != NULL;
    snprintf(td.runtime, sizeof td.runtime, "0.1.0");
    td.n_ops = sizeof ops / sizeof ops[0];
    for (uint32_t i = 0; i < td.n_ops; i++)
        snprintf(td.ops[i], sizeof td.ops[i], "%s", ops[i]);
    td.n_sensors = 1;
    snprintf(td.sensors[0].type, sizeof td.sensors[0].type, "accelerometer");
    snprintf(td.sensors[0].quantity, sizeof td.sensors[0].quantity, "acceleration");
    snprintf(td.sensors[0].location, sizeof td.sensors[0].location, "drive end");
    td.sensors[0].rate_hz = a->has_dev ? a->dev.model->dsp.sample_rate : 12000;
    td.model = current_model(a);
    static char buf[16384];
    size_t len;
    if (mote_proto_td_encode(&td, a->broker, buf, sizeof buf, &len) != MOTE_OK)
        mote_agent_logf(a, "td: cannot encode");
    else
        mote_agent_publish(a, MOTE_TOPIC_TD, buf, len, 1, 1, NULL);
}

static void publish_heartbeat(mote_agent_t *a, int64_t now_ms)
{
    mote_proto_heartbeat_t h;
    memset(&h, 0, sizeof h);
    h.seq = ++a->hb_seq;
    h.ts = now_ms;
    h.uptime_s = (uint64_t)((now_ms - a->start_ms) / 1000);
    h.model = current_model(a);
    fill_slot(a, &h.slot, h.slot_state, sizeof h.slot_state);
    h.arena = a->has_dev ? (uint32_t)a->dev.model->arena_bytes : 0;
    h.windows = a->st.windows;
    h.events = a->st.events;
    h.queue = mote_equeue_pending(&a->q);
    memcpy(h.hist, a->hist, sizeof h.hist);
    h.period_s = a->heartbeat_s;
    char buf[1024];
    size_t len;
    if (mote_proto_heartbeat_encode(&h, buf, sizeof buf, &len) != MOTE_OK)
        return;
    if (mote_agent_publish(a, MOTE_TOPIC_HB, buf, len, 0, 0, NULL) == MOSQ_ERR_SUCCESS) {
        a->st.heartbeats++;
        a->st.bytes_hb += len;
        memset(a->hist, 0, sizeof a->hist);
    }
}

static void publish_events(mote_agent_t *a)
{
    static uint8_t buf[MOTE_EQUEUE_MAX_RECORD];
    while (a->n_inflight < a->cfg.max_inflight) {
        uint64_t seq;
        size_t len;
        mote_status_t st = mote_equeue_peek(&a->q, a->sent_after, &seq, buf, sizeof buf, &len);
        if (st != MOTE_OK) {
            if (st != MOTE_ERR_NOT_FOUND)
                mote_agent_logf(a, "event queue: %s", mote_status_str(st));
            return;
        }
        int mid = 0;
        if (mote_agent_publish(a, MOTE_TOPIC_EVT, buf, len, 1, 0, &mid) != MOSQ_ERR_SUCCESS)
            return;
        a->inflight[a->n_inflight].mid = mid;
        a->inflight[a->n_inflight].seq = seq;
        a->n_inflight++;
        a->sent_after = seq;
        a->st.published++;
        a->st.bytes_evt += len;
    }
}

/* ---- MQTT callbacks ------------------------------------------------ */

static void on_connect(struct mosquitto *mq, void *user, int rc, int flags, const mosquitto_property *p)
{
    mote_agent_t *a = user;
    (void)flags;
    (void)p;
    if (rc != 0) {
        mote_agent_logf(a, "broker %s refused the connection: %s", a->broker, mosquitto_reason_string(rc));
        a->connected = -1; /* dropped by the next step */
        return;
    }
    a->connected = 1;
    a->backoff_ms = 0;
    a->st.connects++;
    a->sent_after = 0;
    a->n_inflight = 0;
    char topic[MOTE_PROTO_TOPIC_LEN];
    mote_proto_topic(topic, sizeof topic, a->id, MOTE_TOPIC_CMD);
    mosquitto_subscribe_v5(mq, NULL, topic, 1, 0, NULL);
    mote_proto_topic(topic, sizeof topic, a->id, MOTE_TOPIC_OTA_DATA);
    mosquitto_subscribe_v5(mq, NULL, topic, 1, 0, NULL);
    if (a->cfg.fl_round)
        mosquitto_subscribe_v5(mq, NULL, MOTE_FED_GLOBAL_TOPIC, 1, 0, NULL);
    mote_agent_logf(a, "connected to %s", a->broker);
    publish_td(a);
    mote_agent_publish_state(a);
    a->ota.req_ms = 0; /* ask again for the chunk we were waiting for */
}

static void on_disconnect(struct mosquitto *mq, void *user, int rc, const mosquitto_property *p)
{
    mote_agent_t *a = user;
    (void)mq;
    (void)p;
    mote_agent_logf(a, "disconnected (%s)", mosquitto_strerror(rc));
    a->connected = -1;
}

static void on_publish(struct mosquitto *mq, void *user, int mid, int reason, const mosquitto_property *p)
{
    mote_agent_t *a = user;
    (void)mq;
    (void)p;
    for (uint32_t i = 0; i < a->n_inflight; i++) {
        if (a->inflight[i].mid != mid)
            continue;
        uint64_t seq = a->inflight[i].seq;
        a->inflight[i] = a->inflight[--a->n_inflight];
        if (reason >= 0x80) {
            /* kept in the queue: resent on the next connection */
            mote_agent_logf(a, "event %llu refused by the broker (reason 0x%02x)",
                            (unsigned long long)seq, reason);
            return;
        }
        a->st.acked++;
        if (mote_equeue_ack(&a->q, seq) != MOTE_OK)
            mote_agent_logf(a, "event queue: %s", a->q.msg);
        return;
    }
}

static void on_message(struct mosquitto *mq, void *user, const struct mosquitto_message *m,
                       const mosquitto_property *p)
{
    mote_agent_t *a = user;
    (void)mq;
    (void)p;
    char dev[MOTE_PROTO_ID_LEN];
    mote_proto_topic_t t;
    if (a->cfg.fl_global && strcmp(m->topic, MOTE_FED_GLOBAL_TOPIC) == 0) {
        a->cfg.fl_global(a->cfg.fl_user, a, m->payload, (size_t)m->payloadlen, mote_agent_now_ms());
        return;
    }
    if (mote_proto_topic_parse(m->topic, dev, &t) != MOTE_OK || strcmp(dev, a->id) != 0)
        return;
    int64_t now = mote_agent_now_ms();
    if (t == MOTE_TOPIC_CMD)
        mote_agent_on_cmd(a, m->payload, (size_t)m->payloadlen, now);
    else if (t == MOTE_TOPIC_OTA_DATA)
        mote_agent_on_chunk(a, m->payload, (size_t)m->payloadlen, now);
}

static void connect_now(mote_agent_t *a, int64_t now_ms)
{
    a->mq = mosquitto_new(a->id, true, a);
    if (!a->mq) {
        a->next_connect_ms = now_ms + BACKOFF_MAX_MS;
        return;
    }
    mosquitto_int_option(a->mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_username_pw_set(a->mq, a->cfg.user ? a->cfg.user : a->id, a->cfg.pass);
    mosquitto_connect_v5_callback_set(a->mq, on_connect);
    mosquitto_disconnect_v5_callback_set(a->mq, on_disconnect);
    mosquitto_publish_v5_callback_set(a->mq, on_publish);
    mosquitto_message_v5_callback_set(a->mq, on_message);
    int rc = MOSQ_ERR_SUCCESS;
    if (a->cfg.cafile)
        rc = mosquitto_tls_set(a->mq, a->cfg.cafile, NULL, a->cfg.cert, a->cfg.key, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_connect_bind_v5(a->mq, a->cfg.host, a->cfg.port, (int)a->cfg.keepalive_s, NULL,
                                       NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        if (a->backoff_ms == 0 || a->backoff_ms >= 4000)
            mote_agent_logf(a, "cannot connect to %s: %s", a->broker, mosquitto_strerror(rc));
        drop_connection(a, now_ms);
    }
}

/* ---- driving ------------------------------------------------------- */

int mote_agent_fd(const mote_agent_t *a)
{
    return a && a->mq ? mosquitto_socket(a->mq) : -1;
}

int mote_agent_want_write(const mote_agent_t *a)
{
    return a && a->mq ? mosquitto_want_write(a->mq) : 0;
}

void mote_agent_io(mote_agent_t *a, int readable, int writable, int64_t now_ms)
{
    if (!a->mq)
        return;
    int rc = MOSQ_ERR_SUCCESS;
    if (readable)
        rc = mosquitto_loop_read(a->mq, 1);
    if (rc == MOSQ_ERR_SUCCESS && a->mq && writable)
        rc = mosquitto_loop_write(a->mq, 1);
    if (rc != MOSQ_ERR_SUCCESS || a->connected < 0)
        drop_connection(a, now_ms);
}

void mote_agent_step(mote_agent_t *a, int64_t now_ms)
{
    if (a->mq && a->connected < 0)
        drop_connection(a, now_ms);
    if (!a->mq) {
        if (now_ms >= a->next_connect_ms)
            connect_now(a, now_ms);
        return;
    }
    if (mosquitto_loop_misc(a->mq) != MOSQ_ERR_SUCCESS) {
        drop_connection(a, now_ms);
        return;
    }
    if (a->connected != 1)
        return;
    publish_events(a);
    if (a->state_dirty)
        mote_agent_publish_state(a);
    if (now_ms - a->last_hb_ms >= (int64_t)a->heartbeat_s * 1000) {
        a->last_hb_ms = now_ms;
        publish_heartbeat(a, now_ms);
    }
    mote_agent_ota_step(a, now_ms);
}

size_t mote_agent_pending(const mote_agent_t *a)
{
    return a ? mote_equeue_pending(&a->q) : 0;
}

/* ---- the sensor stream --------------------------------------------- */

void mote_agent_queue_event(mote_agent_t *a, mote_proto_evt_kind_t kind, const mote_device_result_t *r,
                            int64_t now_ms)
{
    mote_proto_event_t e;
    memset(&e, 0, sizeof e);
    e.seq = mote_equeue_next_seq(&a->q);
    e.ts = now_ms;
    e.kind = kind;
    e.model = current_model(a);
    if (r) {
        const mote_device_model_t *m = a->dev.model;
        e.score = round((double)r->score * 1000.0) / 1000.0;
        e.threshold = isfinite(r->threshold) ? round((double)r->threshold * 1000.0) / 1000.0 : 0;
        if (r->cls >= 0)
            snprintf(e.cls, sizeof e.cls, "%s", m->classes[r->cls]);
        if (kind == MOTE_EVT_CLASS && r->prev_cls >= 0)
            snprintf(e.prev_cls, sizeof e.prev_cls, "%s", m->classes[r->prev_cls]);
        if (kind == MOTE_EVT_DRIFT)
            snprintf(e.detector, sizeof e.detector, "page-hinkley");
        mote_device_explain(&a->dev, r, &e);
    }
    char buf[4096];
    size_t len;
    mote_status_t st = mote_proto_event_encode(&e, buf, sizeof buf, &len);
    if (st == MOTE_OK)
        st = mote_equeue_append(&a->q, e.seq, buf, len);
    if (st != MOTE_OK) {
        mote_agent_logf(a, "event %llu (%s) lost: %s", (unsigned long long)e.seq,
                        mote_proto_evt_kind_str(kind), mote_status_str(st));
        return;
    }
    a->st.events++;
    a->st.by_kind[kind]++;
}

static void run_window(mote_agent_t *a, int64_t now_ms)
{
    mote_device_result_t r;
    if (mote_device_window(&a->dev, a->win, &r) != MOTE_OK)
        return;
    a->st.windows++;
    if (r.flags & MOTE_DEVICE_F_WARM)
        a->hist[mote_device_hist_bin(r.score, r.threshold)]++;
    if (r.flags & MOTE_DEVICE_F_ANOMALY)
        mote_agent_queue_event(a, MOTE_EVT_ANOMALY, &r, now_ms);
    if (r.flags & MOTE_DEVICE_F_CLASS)
        mote_agent_queue_event(a, MOTE_EVT_CLASS, &r, now_ms);
    if (r.flags & MOTE_DEVICE_F_DRIFT)
        mote_agent_queue_event(a, MOTE_EVT_DRIFT, &r, now_ms);
}

uint32_t mote_agent_hop(const mote_agent_t *a)
{
    return a && a->has_dev ? a->dev.model->dsp.hop : 0;
}

mote_status_t mote_agent_feed(mote_agent_t *a, const float *x, size_t n, int64_t now_ms)
{
    if (!a || (!x && n))
        return MOTE_ERR_ARG;
    if (!a->has_dev)
        return MOTE_OK;
    uint32_t fl = a->dev.model->dsp.frame_len, hop = a->dev.model->dsp.hop;
    while (n) {
        size_t k = fl - a->fill < n ? fl - a->fill : n;
        memcpy(a->win + a->fill, x, k * sizeof(float));
        a->fill += (uint32_t)k;
        x += k;
        n -= k;
        if (a->fill < fl)
            break;
        run_window(a, now_ms);
        if (hop >= fl) {
            a->fill = 0;
        } else {
            memmove(a->win, a->win + hop, (size_t)(fl - hop) * sizeof(float));
            a->fill = fl - hop;
        }
    }
    return MOTE_OK;
}
