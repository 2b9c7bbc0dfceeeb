/* Commands and model downloads of the agent (agent.h): verification of
 * signed commands, the chunked OTA client, switch, health check, confirm
 * or roll back. */
#define _POSIX_C_SOURCE 200809L
#include "agent_int.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OTA_MAX_TRIES 5
#define HEALTH_RUNS 8

/* Truncating copy (reasons are cut to the protocol's field size). */
static void copy_str(char *d, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(d, s, n);
    d[n] = '\0';
}

static void set_ota(mote_agent_t *a, const char *status, const char *reason)
{
    snprintf(a->ota_status, sizeof a->ota_status, "%s", status);
    copy_str(a->ota_reason, sizeof a->ota_reason, reason ? reason : "");
    if (reason && *reason)
        mote_agent_logf(a, "ota: %s: %s", status, reason);
    else
        mote_agent_logf(a, "ota: %s (version %llu, %llu of %llu bytes)", status,
                        (unsigned long long)a->ota.version, (unsigned long long)a->ota.offset,
                        (unsigned long long)a->ota.size);
    mote_agent_publish_state(a);
}

static void refuse(mote_agent_t *a, const char *fmt, const char *detail)
{
    snprintf(a->cmd_status, sizeof a->cmd_status, "refused");
    char buf[512];
    snprintf(buf, sizeof buf, fmt, detail);
    copy_str(a->reason, sizeof a->reason, buf);
    a->st.cmd_refused++;
    mote_agent_logf(a, "command refused: %s", a->reason);
    mote_agent_publish_state(a);
}

/* ---- the download record: survives a restart ----------------------- */

static void ota_save(mote_agent_t *a)
{
    char hex[65], line[200];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", a->ota.bundle[i]);
    int n = snprintf(line, sizeof line, "%llu %llu %u %s\n", (unsigned long long)a->ota.version,
                     (unsigned long long)a->ota.size, a->ota.chunk, hex);
    if (mote_agent_write_file(a->dir, "ota.pending", line, (size_t)n, a->cfg.sync == MOTE_EQUEUE_SYNC) != MOTE_OK)
        mote_agent_logf(a, "ota: cannot save the download record");
}

static void ota_forget(mote_agent_t *a)
{
    char path[MOTE_AGENT_PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/ota.pending", a->dir);
    unlink(path);
    mote_slots_install_abort(&a->slots);
    a->ota.active = 0;
    a->ota.req_ms = 0;
}

static void ota_fail(mote_agent_t *a, const char *status, const char *reason)
{
    ota_forget(a);
    set_ota(a, status, reason);
}

/* Refusals (the bundle is not acceptable) versus failures (transport). */
static const char *verdict(mote_status_t st)
{
    return st == MOTE_ERR_VERIFY || st == MOTE_ERR_VERSION || st == MOTE_ERR_UNSUPPORTED ||
                   st == MOTE_ERR_NOT_FOUND || st == MOTE_ERR_CORRUPT
               ? "refused"
               : "failed";
}

static void request_chunk(mote_agent_t *a, int64_t now_ms)
{
    mote_proto_ota_req_t r;
    memcpy(r.bundle, a->ota.bundle, sizeof r.bundle);
    r.offset = a->ota.offset;
    uint64_t left = a->ota.size - a->ota.offset;
    r.len = (uint32_t)(left < a->ota.chunk ? left : a->ota.chunk);
    char buf[256];
    size_t len;
    if (mote_proto_ota_req_encode(&r, buf, sizeof buf, &len) == MOTE_OK &&
        mote_agent_publish(a, MOTE_TOPIC_OTA_REQ, buf, len, 1, 0, NULL) == MOSQ_ERR_SUCCESS)
        a->ota.req_ms = now_ms;
}

/* Switch to the new slot as a reboot would: reopen the store (counts a
 * boot attempt), health-check, confirm or roll back. */
static mote_status_t health_and_confirm(mote_agent_t *a)
{
    mote_slots_config_t sc;
    mote_agent_slots_config(a, &sc);
    mote_slots_close(&a->slots);
    a->slots_open = 0;
    mote_status_t st = mote_slots_open(&a->slots, &sc);
    if (st != MOTE_OK) {
        mote_agent_logf(a, "slots: %s", mote_slots_error(&a->slots));
        return st;
    }
    a->slots_open = 1;
    const mote_slots_record_t *r = mote_slots_record(&a->slots);
    if (r->state != MOTE_SLOT_PENDING)
        return MOTE_OK; /* the boot itself rolled back; the log says why */
    char why[200] = "";
    st = mote_slots_health_check(&a->slots, HEALTH_RUNS);
    if (st != MOTE_OK)
        snprintf(why, sizeof why, "health check: %s", mote_slots_error(&a->slots));
    else if ((st = mote_agent_load_model(a)) != MOTE_OK)
        snprintf(why, sizeof why, "model does not load in the signal path: %s", mote_status_str(st));
    if (st == MOTE_OK)
        return mote_slots_confirm(&a->slots);
    mote_agent_logf(a, "rolling back: %s", why);
    copy_str(a->ota_reason, sizeof a->ota_reason, why);
    mote_slots_rollback(&a->slots, why);
    return MOTE_ERR_VERIFY;
}

static void finish(mote_agent_t *a, int64_t now_ms)
{
    mote_proto_model_t before = {0};
    if (a->has_dev)
        before = a->dev.model->id;
    mote_status_t st = mote_slots_install_commit(&a->slots);
    if (st != MOTE_OK) {
        char why[MOTE_PROTO_REASON_LEN];
        snprintf(why, sizeof why, "%s", mote_slots_error(&a->slots));
        ota_fail(a, st == MOTE_ERR_TRUNCATED ? "failed" : verdict(st), why);
        return;
    }
    ota_forget(a);
    set_ota(a, "installed", NULL);
    st = health_and_confirm(a);
    mote_agent_load_model(a);
    const mote_slots_record_t *r = mote_slots_record(&a->slots);
    if (st == MOTE_OK && r->version == a->ota.version && r->state == MOTE_SLOT_CONFIRMED) {
        a->previous = before;
        set_ota(a, "confirmed", NULL);
    } else {
        char why[MOTE_PROTO_REASON_LEN];
        snprintf(why, sizeof why, "%s", a->ota_reason[0] ? a->ota_reason : "rolled back at boot");
        set_ota(a, "rolled_back", why);
    }
    mote_agent_queue_event(a, MOTE_EVT_OTA, NULL, now_ms);
}

static void start(mote_agent_t *a, int64_t now_ms)
{
    uint64_t off = 0;
    mote_status_t st = mote_slots_install_begin(&a->slots, a->ota.version, &off);
    if (st != MOTE_OK) {
        char why[MOTE_PROTO_REASON_LEN];
        snprintf(why, sizeof why, "%s%s", st == MOTE_ERR_VERSION ? "downgrade: " : "",
                 mote_slots_error(&a->slots));
        ota_fail(a, verdict(st), why);
        return;
    }
    a->ota.active = 1;
    a->ota.offset = off;
    a->ota.tries = 0;
    ota_save(a);
    set_ota(a, "downloading", NULL);
    if (off >= a->ota.size)
        finish(a, now_ms);
    else
        request_chunk(a, now_ms);
}

mote_status_t mote_agent_ota_resume(mote_agent_t *a)
{
    char path[MOTE_AGENT_PATH_LEN + 16], hex[80];
    snprintf(path, sizeof path, "%s/ota.pending", a->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return MOTE_OK;
    unsigned long long v, size;
    unsigned chunk;
    int n = fscanf(f, "%llu %llu %u %70s", &v, &size, &chunk, hex);
    fclose(f);
    if (n != 4 || strlen(hex) != 64 || !chunk || chunk > MOTE_PROTO_MAX_CHUNK) {
        mote_agent_logf(a, "ota: damaged download record, forgotten");
        unlink(path);
        return MOTE_ERR_CORRUPT;
    }
    for (int i = 0; i < 32; i++) {
        unsigned b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
            unlink(path);
            return MOTE_ERR_CORRUPT;
        }
        a->ota.bundle[i] = (uint8_t)b;
    }
    a->ota.version = v;
    a->ota.size = size;
    a->ota.chunk = chunk;
    mote_agent_logf(a, "ota: resuming the download of version %llu", v);
    start(a, mote_agent_now_ms());
    return MOTE_OK;
}

/* ---- commands ------------------------------------------------------ */

/* install_begin resumes any partial slot of the same version, but a new
 * deploy may name other bytes with that version (a fixed re-release):
 * beginning a different version empties the slot first. */
static void discard_partial(mote_agent_t *a)
{
    uint64_t off = 0;
    if (mote_slots_install_begin(&a->slots, a->ota.version + 1, &off) == MOTE_OK)
        mote_slots_install_abort(&a->slots);
}

static void deploy(mote_agent_t *a, const mote_proto_cmd_t *c, int64_t now_ms)
{
    const mote_slots_record_t *r = mote_slots_record(&a->slots);
    char d[64];
    if (c->model.version <= r->version) {
        snprintf(d, sizeof d, "%llu <= installed %llu", (unsigned long long)c->model.version,
                 (unsigned long long)r->version);
        refuse(a, "downgrade: version %s", d);
        return;
    }
    if (a->ota.active) {
        if (memcmp(a->ota.bundle, c->bundle, 32) == 0)
            return; /* the same download, already under way */
        ota_forget(a);
    }
    snprintf(a->cmd_status, sizeof a->cmd_status, "ok");
    a->reason[0] = '\0';
    memset(&a->ota, 0, sizeof a->ota);
    a->ota.version = c->model.version;
    a->ota.size = c->size;
    a->ota.chunk = c->chunk && c->chunk <= MOTE_PROTO_MAX_CHUNK ? c->chunk : 16384;
    memcpy(a->ota.bundle, c->bundle, 32);
    discard_partial(a);
    start(a, now_ms);
}

static void rollback(mote_agent_t *a, const mote_proto_cmd_t *c, int64_t now_ms)
{
    mote_proto_model_t before = {0};
    if (a->has_dev)
        before = a->dev.model->id;
    mote_status_t st = mote_slots_rollback(&a->slots, c->reason[0] ? c->reason : "requested");
    if (st != MOTE_OK) {
        refuse(a, "rollback: %s", mote_slots_error(&a->slots));
        return;
    }
    a->previous = before;
    mote_agent_load_model(a);
    snprintf(a->cmd_status, sizeof a->cmd_status, "ok");
    a->reason[0] = '\0';
    set_ota(a, "rolled_back", c->reason[0] ? c->reason : "requested");
    mote_agent_queue_event(a, MOTE_EVT_OTA, NULL, now_ms);
}

static void configure(mote_agent_t *a, const mote_proto_cmd_t *c)
{
    if (c->heartbeat_s > 0)
        a->heartbeat_s = c->heartbeat_s;
    if (c->event_threshold > 0 && c->event_threshold != a->event_threshold) {
        a->event_threshold = c->event_threshold;
        if (a->has_dev)
            a->dev.cfg.threshold = c->event_threshold;
    }
    snprintf(a->cmd_status, sizeof a->cmd_status, "ok");
    a->reason[0] = '\0';
    mote_agent_publish_state(a);
}

static int accept_seq(mote_agent_t *a, uint64_t seq)
{
    char line[32];
    int n = snprintf(line, sizeof line, "%llu\n", (unsigned long long)seq);
    if (mote_agent_write_file(a->dir, "cmd.seq", line, (size_t)n, a->cfg.sync == MOTE_EQUEUE_SYNC) != MOTE_OK) {
        refuse(a, "%s", "cannot persist the command seq");
        return 0;
    }
    a->cmd_seq = seq;
    return 1;
}

void mote_agent_on_cmd(mote_agent_t *a, const void *buf, size_t len, int64_t now_ms)
{
    mote_proto_cmd_t c;
    char err[200], d[96];
    if (mote_proto_cmd_decode(buf, len, a->key.pk, &c, err, sizeof err) != MOTE_OK) {
        refuse(a, "%s", err);
        return;
    }
    if (strcmp(c.dev, a->id) != 0) {
        refuse(a, "command for device '%s'", c.dev);
        return;
    }
    if (c.seq <= a->cmd_seq) {
        snprintf(d, sizeof d, "seq %llu <= last accepted %llu", (unsigned long long)c.seq,
                 (unsigned long long)a->cmd_seq);
        refuse(a, "replayed command: %s", d);
        return;
    }
    if (!accept_seq(a, c.seq))
        return;
    mote_agent_logf(a, "command %llu: %s", (unsigned long long)c.seq, mote_proto_op_str(c.op));
    switch (c.op) {
    case MOTE_OP_DEPLOY: deploy(a, &c, now_ms); break;
    case MOTE_OP_ROLLBACK: rollback(a, &c, now_ms); break;
    case MOTE_OP_CONFIG: configure(a, &c); break;
    case MOTE_OP_FL_ROUND:
        if (a->cfg.fl_round) {
            /* No state message per round: the upload itself is the answer. */
            snprintf(a->cmd_status, sizeof a->cmd_status, "ok");
            a->reason[0] = '\0';
            a->cfg.fl_round(a->cfg.fl_user, a, &c, now_ms);
            break;
        }
        /* fall through */
    default: refuse(a, "%s: not supported by this agent", mote_proto_op_str(c.op)); break;
    }
}

/* ---- chunks -------------------------------------------------------- */

void mote_agent_on_chunk(mote_agent_t *a, const void *buf, size_t len, int64_t now_ms)
{
    mote_proto_chunk_t c;
    char err[200];
    if (!a->ota.active)
        return;
    if (mote_proto_chunk_decode(buf, len, &c, err, sizeof err) != MOTE_OK) {
        mote_agent_logf(a, "ota: chunk ignored: %s", err);
        return;
    }
    if (memcmp(c.bundle, a->ota.bundle, 32) != 0 || c.offset != a->ota.offset)
        return; /* not what we asked for (a late duplicate, another bundle) */
    if (c.total != a->ota.size) {
        snprintf(err, sizeof err, "bundle is %llu bytes, the deploy command said %llu",
                 (unsigned long long)c.total, (unsigned long long)a->ota.size);
        ota_fail(a, "failed", err);
        return;
    }
    if (c.len == 0 || c.offset + c.len > a->ota.size) {
        ota_fail(a, "failed", "truncated: empty or oversized chunk");
        return;
    }
    mote_status_t st = mote_slots_install_write(&a->slots, c.data, c.len);
    if (st != MOTE_OK) {
        char why[MOTE_PROTO_REASON_LEN];
        snprintf(why, sizeof why, "%s", mote_slots_error(&a->slots));
        ota_fail(a, verdict(st), why);
        return;
    }
    a->ota.offset += c.len;
    a->ota.tries = 0;
    a->ota.req_ms = 0;
    if (a->ota.offset >= a->ota.size) {
        finish(a, now_ms);
        return;
    }
    a->state_dirty = 1;
    request_chunk(a, now_ms);
}

void mote_agent_ota_step(mote_agent_t *a, int64_t now_ms)
{
    if (!a->ota.active)
        return;
    if (a->ota.req_ms == 0) {
        request_chunk(a, now_ms);
        return;
    }
    if (now_ms - a->ota.req_ms < (int64_t)a->cfg.retry_ms)
        return;
    if (++a->ota.tries > OTA_MAX_TRIES) {
        char why[96];
        snprintf(why, sizeof why, "no chunk at offset %llu after %d requests",
                 (unsigned long long)a->ota.offset, OTA_MAX_TRIES + 1);
        ota_fail(a, "failed", why);
        return;
    }
    mote_agent_logf(a, "ota: chunk at %llu missing, asking again (%u)",
                    (unsigned long long)a->ota.offset, a->ota.tries);
    request_chunk(a, now_ms);
}

/* ---- boot ---------------------------------------------------------- */

mote_status_t mote_agent_boot(mote_agent_t *a)
{
    const mote_slots_record_t *r = mote_slots_record(&a->slots);
    if (r->active == MOTE_SLOT_NONE || r->state != MOTE_SLOT_PENDING)
        return MOTE_OK;
    /* a switch was interrupted: decide now, as the first thing after boot */
    mote_status_t st = mote_slots_health_check(&a->slots, HEALTH_RUNS);
    if (st == MOTE_OK) {
        mote_agent_logf(a, "boot: pending version %llu passed its health check",
                        (unsigned long long)r->version);
        snprintf(a->ota_status, sizeof a->ota_status, "confirmed");
        a->ota.version = r->version;
        return mote_slots_confirm(&a->slots);
    }
    char why[MOTE_PROTO_REASON_LEN];
    snprintf(why, sizeof why, "health check: %s", mote_slots_error(&a->slots));
    mote_agent_logf(a, "boot: rolling back: %s", why);
    snprintf(a->ota_status, sizeof a->ota_status, "rolled_back");
    copy_str(a->ota_reason, sizeof a->ota_reason, why);
    return mote_slots_rollback(&a->slots, why);
}
