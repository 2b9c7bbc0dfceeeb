/* mote fleet: federated rounds over MQTT, moted's side (fl_server.h). */
#define _POSIX_C_SOURCE 200809L
#include "fl_server.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fed.h"
#include "fed_msg.h"
#include "fed_sim_int.h"
#include "fl_secure.h"
#include "moted_int.h"

#define FL_MAX_ROSTER 1024u
#define FL_ERR 256

struct mote_fl {
    mote_moted_t *m;
    mote_fl_config_t cfg;
    char out_dir[512];
    pthread_mutex_t mu;
    fsim_t data;
    mote_fed_server_t srv;
    mote_learn_head_t h;        /* scratch head to save the global as a blob */
    void *hbuf;
    float *g, *gnew;
    uint8_t *blob, *msg;
    size_t blob_cap, msg_cap;
    uint32_t round;             /* last round begun */
    uint32_t target;            /* run until this round is finished */
    uint32_t global_round;      /* round that produced the current version */
    uint64_t version;
    int open;
    int64_t deadline;
    char (*roster)[MOTE_PROTO_ID_LEN];
    uint32_t n_roster;
    uint32_t rejected[FL_MAX_ROSTER], n_rejected;
    double accuracy;
    int waiting_logged;
    int64_t started;            /* when the open round began, Unix ms */
    int resend;                 /* resumed: command the devices not heard from again */
    uint64_t bytes_down;        /* global and commands sent this round */
    /* settings of the next rounds (config, then POST /api/fed/rounds) */
    uint32_t steps, min_devices;
    float prox_mu;
    char group[MOTE_PROTO_NAME_LEN];
    int secure_next;            /* rounds begun from now on are secure */
    int secure;                 /* the open round is secure */
    mote_fl_sec_t sec;
    int64_t phase_deadline;     /* secure set-up and reveal phases */
    uint32_t recovered;         /* dropped maskers recovered this round */
};

/* ---- small helpers ---- */

static void log_fl(mote_fl_t *fl, const char *fmt, const char *a, const char *b)
{
    char line[512];
    snprintf(line, sizeof line, fmt, a, b);
    mote_moted_log(fl->m, "fl: %s", line);
}

static char *to_hex(const void *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (h)
        sodium_bin2hex(h, 2 * n + 1, p, n);
    return h;
}

static int from_hex(const char *h, void *out, size_t n)
{
    size_t got = 0;
    return h && sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL) == 0 && got == n ? 0 : -1;
}

static int roster_index(const mote_fl_t *fl, const char *dev)
{
    for (uint32_t i = 0; i < fl->n_roster; i++)
        if (strcmp(fl->roster[i], dev) == 0)
            return (int)i;
    return -1;
}

/* ---- store: the open round survives a restart ---- */

static const char *const DDL[] = {
    "CREATE TABLE IF NOT EXISTS fl_state (id TEXT PRIMARY KEY, round BIGINT NOT NULL, target BIGINT NOT NULL,"
    " global_round BIGINT NOT NULL, version BIGINT NOT NULL, is_open INTEGER NOT NULL, deadline BIGINT NOT NULL,"
    " started BIGINT NOT NULL, params TEXT NOT NULL, roster TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fl_updates (round BIGINT NOT NULL, device TEXT NOT NULL, ts BIGINT NOT NULL,"
    " data TEXT NOT NULL, PRIMARY KEY (round, device))",
    "CREATE TABLE IF NOT EXISTS fl_rounds (round BIGINT PRIMARY KEY, state TEXT NOT NULL, version BIGINT NOT NULL,"
    " clients BIGINT NOT NULL, reported BIGINT NOT NULL, dropped BIGINT NOT NULL, rejected BIGINT NOT NULL,"
    " accuracy REAL NOT NULL, bytes_up BIGINT NOT NULL, bytes_down BIGINT NOT NULL, started BIGINT NOT NULL,"
    " finished BIGINT NOT NULL)",
};

static mote_status_t save_state(mote_fl_t *fl)
{
    char err[FL_ERR], r[24], t[24], gr[24], v[24], o[4], d[24], sa[24];
    size_t cap = (size_t)fl->n_roster * MOTE_PROTO_ID_LEN + 1;
    char *roster = calloc(1, cap), *g = to_hex(fl->g, fl->data.n_params * sizeof *fl->g);
    mote_status_t st = roster && g ? MOTE_OK : MOTE_ERR_NOMEM;
    for (uint32_t i = 0; roster && i < fl->n_roster; i++)
        strcat(strcat(roster, i ? " " : ""), fl->roster[i]);
    snprintf(r, sizeof r, "%" PRIu32, fl->round), snprintf(t, sizeof t, "%" PRIu32, fl->target);
    snprintf(gr, sizeof gr, "%" PRIu32, fl->global_round), snprintf(v, sizeof v, "%" PRIu64, fl->version);
    snprintf(o, sizeof o, "%d", fl->open), snprintf(d, sizeof d, "%" PRId64, fl->deadline);
    snprintf(sa, sizeof sa, "%" PRId64, fl->started);
    const char *p[] = {r, t, gr, v, o, d, sa, g, roster};
    if (!st)
        st = mote_store_exec(fl->m->store,
                             "INSERT INTO fl_state (id, round, target, global_round, version, is_open, deadline,"
                             " started, params, roster) VALUES ('fl', ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE"
                             " SET round = excluded.round, target = excluded.target, global_round ="
                             " excluded.global_round, version = excluded.version, is_open = excluded.is_open,"
                             " deadline = excluded.deadline, started = excluded.started, params = excluded.params,"
                             " roster = excluded.roster",
                             p, 9, NULL, NULL, NULL, err, sizeof err);
    if (st)
        mote_moted_log(fl->m, "fl: store: cannot save the round state: %s", st == MOTE_ERR_NOMEM ? "out of memory" : err);
    free(roster), free(g);
    return st;
}

static void save_update(mote_fl_t *fl, const char *dev, const void *buf, size_t len)
{
    char err[FL_ERR], r[24], at[24];
    char *hex = to_hex(buf, len);
    snprintf(r, sizeof r, "%" PRIu32, fl->round);
    snprintf(at, sizeof at, "%" PRId64, mote_store_now_ms());
    const char *p[] = {r, dev, at, hex};
    if (!hex || mote_store_exec(fl->m->store,
                                "INSERT INTO fl_updates (round, device, ts, data) VALUES (?, ?, ?, ?)"
                                " ON CONFLICT (round, device) DO NOTHING",
                                p, 4, NULL, NULL, NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(fl->m, "fl: store: cannot keep the update of %s: %s", dev, hex ? err : "out of memory");
    free(hex);
}

/* Uploads of finished rounds are no longer needed for a resume. */
static void forget_updates(mote_fl_t *fl)
{
    char err[FL_ERR], r[24];
    snprintf(r, sizeof r, "%" PRIu32, fl->round);
    const char *p[] = {r};
    if (mote_store_exec(fl->m->store, "DELETE FROM fl_updates WHERE round < ?", p, 1, NULL, NULL, NULL, err,
                        sizeof err) != MOTE_OK)
        mote_moted_log(fl->m, "fl: store: %s", err);
}

/* ---- rounds ---- */

static mote_status_t publish_global(mote_fl_t *fl)
{
    size_t blen = 0, mlen = 0;
    mote_fed_params_set(&fl->h, fl->g);
    mote_status_t st = mote_learn_save(&fl->h, NULL, fl->blob, fl->blob_cap, &blen);
    if (!st)
        st = mote_fed_global_msg_encode(fl->m->sk, fl->global_round, fl->version, fl->blob, blen, fl->msg,
                                        fl->msg_cap, &mlen);
    if (st || !fl->m->mq)
        return st;
    fl->bytes_down += (uint64_t)mlen * fl->n_roster;
    /* Retained: a device that connects late still gets the current head. */
    int rc = mosquitto_publish_v5(fl->m->mq, NULL, MOTE_FED_GLOBAL_TOPIC, (int)mlen, fl->msg, 1, true, NULL);
    return rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN ? MOTE_OK : MOTE_ERR_IO;
}

static mote_status_t send_round_cmd(mote_fl_t *fl, uint32_t i)
{
    mote_proto_cmd_t c = {.op = MOTE_OP_FL_ROUND, .round = fl->round, .fl_steps = fl->steps,
                          .fl_id = i + 1, .fl_deadline_ms = fl->deadline, .fl_mu = fl->prox_mu,
                          .fl_step = fl->data.cfg.step, .fl_version = fl->version};
    char err[FL_ERR], topic[MOTE_PROTO_TOPIC_LEN];
    uint8_t buf[1024];
    size_t len = 0;
    snprintf(c.dev, sizeof c.dev, "%s", fl->roster[i]);
    mote_status_t st = mote_store_cmd_seq_next(fl->m->store, c.dev, &c.seq, err, sizeof err);
    c.ts = mote_store_now_ms();
    if (!st)
        st = mote_proto_cmd_encode(&c, fl->m->sk, buf, sizeof buf, &len);
    if (!st)
        st = mote_proto_topic(topic, sizeof topic, c.dev, MOTE_TOPIC_CMD);
    if (!st)
        st = moted_publish(fl->m, topic, buf, len, 1);
    if (!st) {
        fl->m->n_cmd++;
        fl->bytes_down += len;
    }
    return st;
}

static int collect_id(void *user, int ncol, const char *const *names, const char *const *v,
                      const mote_store_type_t *types)
{
    (void)names, (void)types;
    mote_fl_t *fl = user;
    if (ncol >= 1 && v[0] && fl->n_roster < FL_MAX_ROSTER && mote_proto_id_valid(v[0]))
        snprintf(fl->roster[fl->n_roster++], MOTE_PROTO_ID_LEN, "%s", v[0]);
    return 0;
}

/* Every registered device that announced a trainable head (in the group,
 * when one was asked for), by id. */
static mote_status_t pick_roster(mote_fl_t *fl)
{
    char err[FL_ERR];
    const char *p[] = {"%\"mote:trainableHead\":true%", fl->group};
    fl->n_roster = 0;
    mote_status_t st = mote_store_exec(fl->m->store,
                                       fl->group[0] ? "SELECT id FROM devices WHERE td LIKE ? AND grp = ? ORDER BY id"
                                                    : "SELECT id FROM devices WHERE td LIKE ? ORDER BY id",
                                       p, fl->group[0] ? 2 : 1, collect_id, fl, NULL, err, sizeof err);
    if (st)
        mote_moted_log(fl->m, "fl: store: %s", err);
    return st;
}

/* Open the round server on peers (masked: the maskers with their keys). */
static mote_status_t begin_srv_on(mote_fl_t *fl, const mote_secagg_peer_t *peers, uint32_t n, int masked)
{
    const uint32_t q = fl->data.cfg.quorum < fl->n_roster ? fl->data.cfg.quorum : fl->n_roster;
    const mote_fed_round_cfg_t rc = {.round = fl->round, .base_version = fl->version, .step = fl->data.cfg.step,
                                     .masked = masked, .norm_bound = fl->data.cfg.norm_bound, .quorum = q ? q : 1};
    fl->n_rejected = 0;
    return mote_fed_round_begin(&fl->srv, &rc, peers, n);
}

static mote_status_t begin_srv(mote_fl_t *fl)
{
    mote_secagg_peer_t *peers = calloc(fl->n_roster, sizeof *peers);
    if (!peers)
        return MOTE_ERR_NOMEM;
    for (uint32_t i = 0; i < fl->n_roster; i++)
        peers[i].id = i + 1;
    mote_status_t st = begin_srv_on(fl, peers, fl->n_roster, 0);
    free(peers);
    return st;
}

/* moted's secure-aggregation broadcasts share the global's topic, not
 * retained (the retained head stays); devices tell them by magic. */
static mote_status_t broadcast(mote_fl_t *fl, const uint8_t *buf, size_t len)
{
    if (!fl->m->mq)
        return MOTE_OK;
    fl->bytes_down += (uint64_t)len * fl->n_roster;
    int rc = mosquitto_publish_v5(fl->m->mq, NULL, MOTE_FED_GLOBAL_TOPIC, (int)len, buf, 1, false, NULL);
    return rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN ? MOTE_OK : MOTE_ERR_IO;
}

/* Threshold t of a secure round of n devices: the config's, kept above
 * n / 2 (the threat model's honest majority) and at most n. */
static uint32_t sec_threshold(const mote_fl_t *fl, uint32_t n)
{
    const uint32_t t = fl->data.cfg.threshold, lo = n / 2 + 1;
    return t > lo && t <= n ? t : lo;
}

/* Secure round: announce the roster; keys, shares and the training
 * command follow phase by phase (mote_fl_tick). */
static mote_status_t begin_secure(mote_fl_t *fl, int64_t now)
{
    uint8_t *out = NULL;
    size_t len = 0;
    mote_status_t st = mote_fl_sec_begin(&fl->sec, fl->round, fl->n_roster, sec_threshold(fl, fl->n_roster));
    if (!st)
        st = mote_fl_sec_announce(&fl->sec, (const char *)fl->roster, MOTE_PROTO_ID_LEN, fl->m->sk, &out, &len);
    if (!st)
        st = broadcast(fl, out, len);
    free(out);
    fl->phase_deadline = now + fl->cfg.deadline_ms;
    fl->n_rejected = 0, fl->recovered = 0;
    return st;
}

static void begin_round(mote_fl_t *fl, int64_t now)
{
    const uint32_t want = fl->min_devices;
    if (!fl->m->connected || pick_roster(fl) != MOTE_OK || fl->n_roster < want) {
        if (!fl->waiting_logged++)
            mote_moted_log(fl->m, "fl: waiting for %u trainable devices (have %u)", want, fl->n_roster);
        return;
    }
    fl->waiting_logged = 0;
    fl->round++;
    fl->deadline = now + fl->cfg.deadline_ms;
    fl->started = now, fl->bytes_down = 0;
    fl->open = 1;
    fl->secure = fl->secure_next;
    mote_status_t st = fl->secure ? MOTE_OK : begin_srv(fl);
    if (!st)
        st = publish_global(fl);
    if (!st)
        st = save_state(fl); /* before any command: a restart resumes this round */
    if (st) {
        mote_moted_log(fl->m, "fl: cannot open round %u: %s", fl->round, mote_status_str(st));
        fl->round--, fl->open = 0;
        return;
    }
    forget_updates(fl);
    if (fl->secure) {
        st = begin_secure(fl, now);
        mote_moted_log(fl->m, "fl: round %u open (secure): %u devices announced, threshold %u, global version %" PRIu64
                       "%s", fl->round, fl->n_roster, fl->sec.t, fl->version, st ? ", announce failed" : "");
        return;
    }
    uint32_t sent = 0;
    for (uint32_t i = 0; i < fl->n_roster; i++)
        sent += send_round_cmd(fl, i) == MOTE_OK;
    mote_moted_log(fl->m, "fl: round %u open: %u devices, global version %" PRIu64 ", deadline %u ms", fl->round,
                   sent, fl->version, fl->cfg.deadline_ms);
}

/* Index in the round server's roster of roster entry i: the same in
 * plain rounds; in secure ones only the maskers are there. */
static int srv_index(const mote_fl_t *fl, int i)
{
    if (!fl->secure)
        return i;
    for (uint32_t k = 0; k < fl->srv.n_roster; k++)
        if (fl->srv.roster[k].id == (uint32_t)i + 1)
            return (int)k;
    return -1;
}

/* Check and add one upload; quiet when replaying stored bytes. */
static void take_update(mote_fl_t *fl, const char *dev, const uint8_t *buf, size_t len, int replay)
{
    char why[MOTE_FED_MSG_LEN];
    const int i = roster_index(fl, dev);
    if (i < 0) {
        log_fl(fl, "%s: update refused: %s", dev, "not in this round's roster");
        return;
    }
    const int k = srv_index(fl, i);
    if (k < 0) {
        log_fl(fl, "%s: update refused: %s", dev, "not masking in this round (no shares forwarded)");
        return;
    }
    const mote_fed_dev_state_t s = mote_fed_round_state(&fl->srv, (uint32_t)k);
    if (s == MOTE_FED_RECEIVED || s == MOTE_FED_REJECTED)
        return; /* a QoS 1 redelivery: the first copy counted */
    /* The roster id inside the bytes must be the sender's own. */
    const uint32_t claimed = len >= 16 ? (uint32_t)buf[12] | (uint32_t)buf[13] << 8 | (uint32_t)buf[14] << 16 |
                                             (uint32_t)buf[15] << 24
                                       : 0;
    mote_status_t st = MOTE_ERR_ARG;
    if (claimed != (uint32_t)i + 1)
        snprintf(why, sizeof why, "fl/up: device id %u in the update is not the sender's (%d)", claimed, i + 1);
    else
        st = mote_fed_round_add(&fl->srv, buf, len, NULL, why, sizeof why);
    if (!replay && !fl->secure)
        save_update(fl, dev, buf, len); /* masked rounds are not resumed */
    if (st == MOTE_OK)
        return;
    /* Undecodable bytes or a wrong id leave the entry EXPECTED in the
     * server; mark it so the sender cannot try again and the round need
     * not wait for it. */
    fl->srv.state[k] = MOTE_FED_REJECTED;
    if (fl->n_rejected < FL_MAX_ROSTER)
        fl->rejected[fl->n_rejected++] = (uint32_t)i;
    char r[16];
    snprintf(r, sizeof r, "%u", fl->round);
    char line[MOTE_FED_MSG_LEN + 64];
    snprintf(line, sizeof line, "round %s: %s%s", r, st == MOTE_ERR_CORRUPT ? "malformed field " : "", why);
    log_fl(fl, "%s: update rejected: %s", dev, line);
}

static uint32_t count_state(const mote_fl_t *fl, mote_fed_dev_state_t s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < fl->srv.n_roster; i++)
        n += mote_fed_round_state(&fl->srv, i) == s;
    return n;
}

static void ledger_round(mote_fl_t *fl, int ok, uint32_t received, uint32_t dropped)
{
    size_t blen = 0;
    uint8_t hash[32], sig[64];
    mote_fed_params_set(&fl->h, fl->g);
    if (mote_learn_save(&fl->h, NULL, fl->blob, fl->blob_cap, &blen) != MOTE_OK)
        return;
    crypto_generichash(hash, sizeof hash, fl->blob, blen, NULL, 0);
    mote_fed_global_sign(fl->m->sk, fl->global_round, fl->version, fl->blob, blen, sig);
    char hh[65], sh[129];
    sodium_bin2hex(hh, sizeof hh, hash, sizeof hash);
    sodium_bin2hex(sh, sizeof sh, sig, sizeof sig);
    json_t *rej = json_array();
    for (uint32_t k = 0; k < fl->n_rejected; k++)
        json_array_append_new(rej, json_string(fl->roster[fl->rejected[k]]));
    json_t *b = json_pack("{s:I,s:I,s:b,s:I,s:I,s:I,s:o,s:f,s:s,s:s,s:b,s:I}", "round", (json_int_t)fl->round,
                          "version", (json_int_t)fl->version, "ok", ok, "selected", (json_int_t)fl->n_roster,
                          "received", (json_int_t)received, "dropped", (json_int_t)dropped, "rejected", rej,
                          "accuracy", fl->accuracy, "head", hh, "sig", sh, "secure", fl->secure, "recovered",
                          (json_int_t)(fl->secure ? fl->recovered : 0));
    if (b)
        mote_moted_ledger(fl->m, "fl_round", b);
    json_decref(b);
}

static void write_csv(mote_fl_t *fl, int ok, uint32_t received, uint32_t dropped)
{
    char path[600];
    if (!fl->out_dir[0])
        return;
    snprintf(path, sizeof path, "%s/rounds.csv", fl->out_dir);
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    if (ftell(f) == 0)
        fprintf(f, "round,version,selected,received,dropped,rejected,ok,accuracy,bytes_in\n");
    fprintf(f, "%u,%" PRIu64 ",%u,%u,%u,%u,%d,%.6f,%" PRIu64 "\n", fl->round, fl->version, fl->n_roster, received,
            dropped, fl->n_rejected, ok, fl->accuracy, fl->srv.bytes_in);
    fclose(f);
}

static void write_final(mote_fl_t *fl)
{
    char path[600];
    size_t blen = 0;
    uint8_t sig[64];
    mote_fed_params_set(&fl->h, fl->g);
    if (!fl->out_dir[0] || mote_learn_save(&fl->h, NULL, fl->blob, fl->blob_cap, &blen) != MOTE_OK)
        return;
    mote_fed_global_sign(fl->m->sk, fl->global_round, fl->version, fl->blob, blen, sig);
    snprintf(path, sizeof path, "%s/global_final.motl", fl->out_dir);
    FILE *f = fopen(path, "wb");
    if (f)
        fwrite(fl->blob, 1, blen, f), fclose(f);
    snprintf(path, sizeof path, "%s/global_final.sig", fl->out_dir);
    if ((f = fopen(path, "wb")) != NULL)
        fwrite(sig, 1, sizeof sig, f), fclose(f);
}

/* The round's row for GET /api/fed/rounds (and the console). */
static void record_round(mote_fl_t *fl, int ok, uint32_t received, uint32_t dropped)
{
    char v[12][32], err[FL_ERR];
    snprintf(v[0], sizeof v[0], "%" PRIu32, fl->round);
    snprintf(v[1], sizeof v[1], "%s", ok ? "done" : "failed");
    snprintf(v[2], sizeof v[2], "%" PRIu64, fl->version);
    snprintf(v[3], sizeof v[3], "%" PRIu32, fl->n_roster);
    snprintf(v[4], sizeof v[4], "%" PRIu32, received);
    snprintf(v[5], sizeof v[5], "%" PRIu32, dropped);
    snprintf(v[6], sizeof v[6], "%" PRIu32, fl->n_rejected);
    snprintf(v[7], sizeof v[7], "%.6f", fl->accuracy);
    snprintf(v[8], sizeof v[8], "%" PRIu64, fl->srv.bytes_in);
    snprintf(v[9], sizeof v[9], "%" PRIu64, fl->bytes_down);
    snprintf(v[10], sizeof v[10], "%" PRId64, fl->started);
    snprintf(v[11], sizeof v[11], "%" PRId64, mote_store_now_ms());
    const char *p[12];
    for (int i = 0; i < 12; i++)
        p[i] = v[i];
    if (mote_store_exec(fl->m->store,
                        "INSERT INTO fl_rounds (round, state, version, clients, reported, dropped, rejected, accuracy,"
                        " bytes_up, bytes_down, started, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (round) DO NOTHING",
                        p, 12, NULL, NULL, NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(fl->m, "fl: store: %s", err);
}

/* setup_failed: a secure round that never reached masking (the round
 * server was not begun for it). */
static void finish_round(mote_fl_t *fl, int setup_failed)
{
    if (!setup_failed)
        mote_fed_round_close(&fl->srv);
    /* Devices that never masked (secure set-up) count as dropped. */
    const uint32_t dropped = setup_failed ? fl->n_roster
                                          : count_state(fl, MOTE_FED_DROPPED) + count_state(fl, MOTE_FED_RECOVERED) +
                                                (fl->n_roster - fl->srv.n_roster);
    const uint32_t received =
        setup_failed ? 0 : count_state(fl, MOTE_FED_RECEIVED) + count_state(fl, MOTE_FED_UNMASKED);
    const int ok = !setup_failed && mote_fed_round_finish(&fl->srv, fl->g, NULL, fl->gnew) == MOTE_OK;
    if (ok) {
        memcpy(fl->g, fl->gnew, fl->data.n_params * sizeof *fl->g);
        fl->version++;
        fl->global_round = fl->round;
    }
    fl->accuracy = fsim_accuracy(&fl->data, fl->g);
    fl->open = 0;
    if (fl->secure)
        mote_fl_sec_free(&fl->sec);
    ledger_round(fl, ok, received, dropped);
    write_csv(fl, ok, received, dropped);
    record_round(fl, ok, received, dropped);
    save_state(fl);
    mote_moted_log(fl->m,
                   "fl: round %u %s: %u received, %u dropped, %u rejected, global version %" PRIu64
                   ", accuracy %.2f %%%s",
                   fl->round, ok ? "done" : fl->secure ? "failed (quorum or masks)" : "failed (quorum)", received,
                   dropped, fl->n_rejected, fl->version, 100.0 * fl->accuracy, fl->secure ? " (secure)" : "");
    if (fl->round >= fl->target) {
        publish_global(fl);
        write_final(fl);
        mote_moted_log(fl->m, "fl: all %u rounds done, final accuracy %.2f %%", fl->target, 100.0 * fl->accuracy);
    }
}

/* ---- secure rounds: one step per phase ---- */

static void secure_failed(mote_fl_t *fl, mote_status_t st, const char *phase)
{
    mote_moted_log(fl->m, "fl: round %u (secure): %s: %s", fl->round, phase,
                   st == MOTE_ERR_LIMIT ? "fewer devices than the threshold" : mote_status_str(st));
    finish_round(fl, 1);
}

/* KEYS -> SHARES: the roster of keys goes out. */
static void end_keys(mote_fl_t *fl, int64_t now)
{
    uint8_t *out = NULL;
    size_t len = 0;
    mote_status_t st = mote_fl_sec_roster(&fl->sec, fl->m->sk, &out, &len);
    if (!st)
        st = broadcast(fl, out, len);
    free(out);
    if (st) {
        secure_failed(fl, st, "keys");
        return;
    }
    mote_moted_log(fl->m, "fl: round %u (secure): keys of %u of %u devices, roster out (%zu B)", fl->round,
                   fl->sec.n_r, fl->n_roster, len);
    fl->phase_deadline = now + fl->cfg.deadline_ms;
}

/* SHARES -> TRAIN: shares forwarded, masked round open, commands out. */
static void end_shares(mote_fl_t *fl, int64_t now)
{
    uint8_t *out = NULL;
    size_t len = 0;
    mote_secagg_peer_t *peers = NULL;
    uint32_t np = 0;
    mote_status_t st = mote_fl_sec_forward(&fl->sec, fl->m->sk, &out, &len, &peers, &np);
    if (!st)
        st = begin_srv_on(fl, peers, np, 1);
    if (!st)
        st = broadcast(fl, out, len);
    free(out);
    if (st) {
        free(peers);
        secure_failed(fl, st, "shares");
        return;
    }
    fl->deadline = now + fl->cfg.deadline_ms;
    uint32_t sent = 0;
    for (uint32_t k = 0; k < np; k++)
        sent += send_round_cmd(fl, peers[k].id - 1) == MOTE_OK;
    free(peers);
    mote_moted_log(fl->m, "fl: round %u (secure): shares of %u devices forwarded (%zu B), %u commanded, deadline %u ms",
                   fl->round, np, len, sent, fl->cfg.deadline_ms);
}

/* TRAIN -> REVEAL at the deadline (or when every masker answered). */
static void close_secure(mote_fl_t *fl, int64_t now)
{
    uint8_t *out = NULL;
    size_t len = 0;
    const uint32_t dropped = mote_fed_round_close(&fl->srv);
    mote_status_t st = mote_fl_sec_request(&fl->sec, &fl->srv, fl->m->sk, &out, &len);
    if (!st)
        st = broadcast(fl, out, len);
    free(out);
    if (st) {
        mote_moted_log(fl->m, "fl: round %u (secure): reveal request: %s", fl->round, mote_status_str(st));
        finish_round(fl, 0);
        return;
    }
    mote_moted_log(fl->m, "fl: round %u (secure): %u uploads, %u dropped after masking; shares requested",
                   fl->round, count_state(fl, MOTE_FED_RECEIVED), dropped);
    fl->phase_deadline = now + fl->cfg.deadline_ms;
}

/* REVEAL -> done: masks removed, FedAvg. */
static void end_reveal(mote_fl_t *fl)
{
    char why[160] = "";
    mote_status_t st = mote_fl_sec_unmask(&fl->sec, &fl->srv, &fl->recovered, why, sizeof why);
    if (st)
        mote_moted_log(fl->m, "fl: round %u (secure): cannot remove the masks: %s", fl->round,
                       why[0] ? why : mote_status_str(st));
    else
        mote_moted_log(fl->m,
                       "fl: round %u (secure): %u self masks removed, %u dropped devices recovered from %u shares each",
                       fl->round, count_state(fl, MOTE_FED_UNMASKED), fl->recovered, fl->sec.t);
    finish_round(fl, 0);
}

static void tick_secure(mote_fl_t *fl, int64_t now)
{
    if (now < fl->phase_deadline && mote_fl_sec_pending(&fl->sec) > 0)
        return;
    if (fl->sec.phase == MOTE_FL_SEC_KEYS)
        end_keys(fl, now);
    else if (fl->sec.phase == MOTE_FL_SEC_SHARES)
        end_shares(fl, now);
    else if (fl->sec.phase == MOTE_FL_SEC_REVEAL)
        end_reveal(fl);
}

/* A secure-aggregation message from a device. */
static void take_sec(mote_fl_t *fl, const char *dev, const uint8_t *buf, size_t len)
{
    char why[MOTE_FED_MSG_LEN] = "", line[MOTE_FED_MSG_LEN + 32];
    const int i = roster_index(fl, dev);
    if (!fl->secure || i < 0) {
        log_fl(fl, "%s: secure message refused: %s", dev,
               !fl->secure ? "the open round is plain" : "not in the roster");
        return;
    }
    if (mote_fl_sec_take(&fl->sec, (uint32_t)i, buf, len, why, sizeof why) != MOTE_OK) {
        snprintf(line, sizeof line, "round %u: %s", fl->round, why);
        log_fl(fl, "%s: secure message refused: %s", dev, line);
    }
}

/* After a restart the commands may not all have gone out before the
 * kill; devices that already trained this round ignore a second one. */
static void resend_commands(mote_fl_t *fl)
{
    uint32_t n = 0;
    fl->resend = 0;
    for (uint32_t i = 0; i < fl->n_roster; i++)
        if (mote_fed_round_state(&fl->srv, i) == MOTE_FED_EXPECTED)
            n += send_round_cmd(fl, i) == MOTE_OK;
    mote_moted_log(fl->m, "fl: round %u: command sent again to %u devices not heard from", fl->round, n);
}

void mote_fl_tick(mote_fl_t *fl)
{
    if (!fl)
        return;
    pthread_mutex_lock(&fl->mu);
    const int64_t now = mote_store_now_ms();
    if (fl->open && fl->resend && fl->m->connected)
        resend_commands(fl);
    if (fl->open && fl->secure && fl->sec.phase != MOTE_FL_SEC_TRAIN)
        tick_secure(fl, now);
    else if (fl->open && (now >= fl->deadline || count_state(fl, MOTE_FED_EXPECTED) == 0))
        fl->secure ? close_secure(fl, now) : finish_round(fl, 0);
    else if (!fl->open && fl->round < fl->target)
        begin_round(fl, now);
    pthread_mutex_unlock(&fl->mu);
}

void mote_fl_on_up(mote_fl_t *fl, const char *dev, const void *buf, size_t len)
{
    if (!fl)
        return;
    pthread_mutex_lock(&fl->mu);
    if (fl->open && mote_fl_sec_type(buf, len))
        take_sec(fl, dev, buf, len);
    else if (fl->open && fl->secure && fl->sec.phase != MOTE_FL_SEC_TRAIN)
        log_fl(fl, "%s: update refused: %s", dev, "masking set-up of the round not finished");
    else if (fl->open)
        take_update(fl, dev, buf, len, 0);
    else
        log_fl(fl, "%s: update refused: %s", dev, "no open round");
    pthread_mutex_unlock(&fl->mu);
}

/* ---- resume ---- */

static int load_row(void *user, int ncol, const char *const *names, const char *const *v,
                    const mote_store_type_t *types)
{
    (void)names, (void)types;
    mote_fl_t *fl = user;
    for (int i = 0; i < 9; i++)
        if (ncol < 9 || !v[i])
            return 1;
    fl->round = (uint32_t)strtoul(v[0], NULL, 10);
    const uint32_t t = (uint32_t)strtoul(v[1], NULL, 10);
    fl->target = t > fl->target ? t : fl->target;
    fl->global_round = (uint32_t)strtoul(v[2], NULL, 10);
    fl->version = strtoull(v[3], NULL, 10);
    fl->open = atoi(v[4]) != 0;
    fl->deadline = strtoll(v[5], NULL, 10);
    fl->started = strtoll(v[6], NULL, 10);
    if (from_hex(v[7], fl->g, fl->data.n_params * sizeof *fl->g) != 0)
        return fl->open = 0, fl->round = 0, 1;
    char *copy = strdup(v[8]), *save = NULL;
    fl->n_roster = 0;
    for (char *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok && fl->n_roster < FL_MAX_ROSTER;
         tok = strtok_r(NULL, " ", &save))
        snprintf(fl->roster[fl->n_roster++], MOTE_PROTO_ID_LEN, "%s", tok);
    free(copy);
    return 1;
}

static int replay_row(void *user, int ncol, const char *const *names, const char *const *v,
                      const mote_store_type_t *types)
{
    (void)names, (void)types;
    mote_fl_t *fl = user;
    if (ncol < 2 || !v[0] || !v[1])
        return 0;
    size_t n = strlen(v[1]) / 2, got = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf && sodium_hex2bin(buf, n, v[1], strlen(v[1]), NULL, &got, NULL) == 0)
        take_update(fl, v[0], buf, got, 1);
    free(buf);
    return 0;
}

static mote_status_t resume(mote_fl_t *fl, char *err, size_t errsz)
{
    mote_status_t st = mote_store_exec(fl->m->store,
                                       "SELECT round, target, global_round, version, is_open, deadline, started, params, roster"
                                       " FROM fl_state WHERE id = 'fl'",
                                       NULL, 0, load_row, fl, NULL, err, errsz);
    if (st || !fl->open)
        return st;
    if ((st = begin_srv(fl)) != MOTE_OK) {
        snprintf(err, errsz, "fl: cannot reopen round %u", fl->round);
        return st;
    }
    char r[24];
    snprintf(r, sizeof r, "%" PRIu32, fl->round);
    const char *p[] = {r};
    st = mote_store_exec(fl->m->store, "SELECT device, data FROM fl_updates WHERE round = ? ORDER BY ts, device", p,
                         1, replay_row, fl, NULL, err, errsz);
    /* Uploads sent while we were down wait in our broker session: give
     * them time to arrive even if the deadline passed meanwhile. */
    const int64_t grace = mote_store_now_ms() + fl->cfg.deadline_ms / 2;
    fl->deadline = fl->deadline > grace ? fl->deadline : grace;
    fl->resend = 1;
    mote_moted_log(fl->m, "fl: resumed round %u: %u of %u devices already in", fl->round,
                   count_state(fl, MOTE_FED_RECEIVED), fl->n_roster);
    return st;
}

/* ---- life cycle ---- */

static mote_status_t alloc_all(mote_fl_t *fl)
{
    const uint32_t P = fl->data.n_params;
    mote_status_t st = mote_fed_server_init(&fl->srv, P, FL_MAX_ROSTER);
    if (st)
        return st;
    fl->g = calloc(P, sizeof *fl->g), fl->gnew = calloc(P, sizeof *fl->gnew);
    fl->blob_cap = fl->data.blob_len, fl->msg_cap = MOTE_FED_GLOBAL_HDR + fl->data.blob_len;
    fl->blob = malloc(fl->blob_cap), fl->msg = malloc(fl->msg_cap);
    fl->roster = calloc(FL_MAX_ROSTER, sizeof *fl->roster);
    if (!fl->g || !fl->gnew || !fl->blob || !fl->msg || !fl->roster)
        return MOTE_ERR_NOMEM;
    return fsim_head(&fl->data, &fl->h, &fl->hbuf);
}

static mote_status_t make_tables(mote_fl_t *fl, char *err, size_t errsz)
{
    for (size_t i = 0; i < sizeof DDL / sizeof DDL[0]; i++) {
        mote_status_t st = mote_store_exec(fl->m->store, DDL[i], NULL, 0, NULL, NULL, NULL, err, errsz);
        if (st)
            return st;
    }
    return MOTE_OK;
}

mote_status_t mote_fl_create(mote_moted_t *m, const mote_fl_config_t *cfg, mote_fl_t **out, char *err,
                             size_t errsz)
{
    if (!m || !cfg || !cfg->config || !out) {
        snprintf(err, errsz, "fl: missing configuration");
        return MOTE_ERR_ARG;
    }
    mote_fl_t *fl = calloc(1, sizeof *fl);
    if (!fl)
        return MOTE_ERR_NOMEM;
    fl->m = m, fl->cfg = *cfg, fl->target = cfg->rounds;
    fl->cfg.deadline_ms = cfg->deadline_ms ? cfg->deadline_ms : 5000;
    snprintf(fl->out_dir, sizeof fl->out_dir, "%s", cfg->out_dir ? cfg->out_dir : "");
    pthread_mutex_init(&fl->mu, NULL);
    char msg[MOTE_FED_SIM_MSG_LEN];
    mote_status_t st = fsim_load(&fl->data, cfg->config, NULL, 1, msg, sizeof msg);
    if (st)
        snprintf(err, errsz, "fl: %s: %s", cfg->config, msg);
    if (!st) {
        fl->steps = fl->data.cfg.local_steps, fl->prox_mu = fl->data.cfg.mu;
        fl->min_devices = cfg->min_devices ? cfg->min_devices : fl->data.cfg.devices;
    }
    if (!st && (st = alloc_all(fl)) != MOTE_OK)
        snprintf(err, errsz, "fl: out of memory");
    if (!st)
        st = make_tables(fl, err, errsz);
    if (!st)
        st = resume(fl, err, errsz);
    if (st) {
        mote_fl_destroy(fl);
        return st;
    }
    m->fl = fl;
    *out = fl;
    return MOTE_OK;
}

void mote_fl_destroy(mote_fl_t *fl)
{
    if (!fl)
        return;
    if (fl->m && fl->m->fl == fl)
        fl->m->fl = NULL;
    mote_fed_server_free(&fl->srv);
    mote_fl_sec_free(&fl->sec);
    free(fl->g), free(fl->gnew), free(fl->blob), free(fl->msg), free(fl->roster), free(fl->hbuf);
    fsim_free(&fl->data);
    pthread_mutex_destroy(&fl->mu);
    free(fl);
}

/* ---- requests and status ---- */

mote_status_t mote_fl_request(mote_fl_t *fl, const mote_fl_request_t *r, uint32_t *first)
{
    if (!fl || !r || r->rounds == 0 || r->rounds > MOTE_FED_SIM_MAX_ROUNDS || r->steps > 1000000u ||
        r->min_devices > FL_MAX_ROSTER || !isfinite(r->mu) ||
        (r->group && strlen(r->group) >= sizeof fl->group))
        return MOTE_ERR_ARG;
    pthread_mutex_lock(&fl->mu);
    const uint32_t base = fl->target > fl->round ? fl->target : fl->round;
    fl->target = base + r->rounds;
    fl->steps = r->steps ? r->steps : fl->steps;
    fl->min_devices = r->min_devices ? r->min_devices : fl->min_devices;
    fl->prox_mu = r->mu >= 0 ? (float)r->mu : fl->prox_mu;
    if (r->group)
        snprintf(fl->group, sizeof fl->group, "%s", r->group);
    if (r->secure)
        fl->secure_next = r->secure > 0;
    if (first)
        *first = base + 1;
    pthread_mutex_unlock(&fl->mu);
    return MOTE_OK;
}

json_t *mote_fl_status(mote_fl_t *fl)
{
    pthread_mutex_lock(&fl->mu);
    json_t *o = json_pack("{s:I,s:I,s:I,s:b,s:b,s:f,s:I,s:I,s:I}", "round", (json_int_t)fl->round, "target",
                          (json_int_t)fl->target, "version", (json_int_t)fl->version, "open", fl->open, "secure",
                          fl->open ? fl->secure : fl->secure_next, "accuracy",
                          fl->accuracy, "roster", (json_int_t)fl->n_roster, "received",
                          (json_int_t)(fl->open ? count_state(fl, MOTE_FED_RECEIVED) : 0), "rejected",
                          (json_int_t)fl->n_rejected);
    pthread_mutex_unlock(&fl->mu);
    return o;
}

json_t *mote_fl_rounds(mote_fl_t *fl)
{
    char err[FL_ERR];
    json_t *rows = NULL;
    pthread_mutex_lock(&fl->mu);
    if (mote_store_query_json(fl->m->store, "SELECT * FROM fl_rounds ORDER BY round", NULL, 0, &rows, err,
                              sizeof err) != MOTE_OK)
        mote_moted_log(fl->m, "fl: store: %s", err);
    if (rows && fl->open)
        json_array_append_new(rows, json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:I}", "round", (json_int_t)fl->round,
                                              "state", "open", "clients", (json_int_t)fl->n_roster, "reported",
                                              (json_int_t)count_state(fl, MOTE_FED_RECEIVED), "bytes_up",
                                              (json_int_t)fl->srv.bytes_in, "bytes_down",
                                              (json_int_t)fl->bytes_down, "started", (json_int_t)fl->started));
    pthread_mutex_unlock(&fl->mu);
    json_t *o = rows ? json_pack("{s:o}", "rounds", rows) : NULL;
    return o;
}

static void reply(mote_http_resp_t *resp, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        mote_http_json(resp, status, s);
    else
        mote_http_error(resp, 500, "internal error (see moted's log)");
    free(s);
    json_decref(o);
}

static void h_status(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    (void)req;
    reply(resp, 200, mote_fl_status(user));
}

/* Body of POST /api/fed/rounds into r; NULL when fine, else the reason. */
static const char *parse_request(json_t *b, mote_fl_request_t *r)
{
    json_t *v;
    if (!json_is_object(b))
        return "body: want a JSON object";
    if ((v = json_object_get(b, "secure")) && !json_is_boolean(v))
        return "secure: want true or false";
    r->secure = v ? (json_is_true(v) ? 1 : -1) : 0;
    if ((v = json_object_get(b, "rounds")) && (!json_is_integer(v) || json_integer_value(v) < 1 ||
                                               json_integer_value(v) > MOTE_FED_SIM_MAX_ROUNDS))
        return "rounds: want an integer in 1..1000";
    r->rounds = v ? (uint32_t)json_integer_value(v) : 1;
    if ((v = json_object_get(b, "steps")) &&
        (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000))
        return "steps: want an integer in 1..1000000";
    r->steps = v ? (uint32_t)json_integer_value(v) : 0;
    if ((v = json_object_get(b, "min_clients")) &&
        (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > FL_MAX_ROSTER))
        return "min_clients: want an integer in 1..1024";
    r->min_devices = v ? (uint32_t)json_integer_value(v) : 0;
    if ((v = json_object_get(b, "mu")) && (!json_is_number(v) || !(json_number_value(v) >= 0) ||
                                           !isfinite(json_number_value(v))))
        return "mu: want a finite number >= 0";
    r->mu = v ? json_number_value(v) : -1;
    if ((v = json_object_get(b, "group")) && !json_is_string(v))
        return "group: want a string";
    if (v && json_string_length(v) >= MOTE_PROTO_NAME_LEN)
        return "group: longer than 63 bytes";
    r->group = v ? json_string_value(v) : NULL;
    return NULL;
}

static void h_rounds(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    json_error_t e;
    json_t *b = req->body_len ? json_loadb((const char *)req->body, req->body_len, 0, &e) : json_object();
    mote_fl_request_t r = {0};
    const char *why = parse_request(b, &r);
    uint32_t first = 0;
    if (!why && mote_fl_request(user, &r, &first) != MOTE_OK)
        why = "body: a value is out of range";
    json_decref(b);
    if (why) {
        mote_http_error(resp, 400, why);
        return;
    }
    json_t *o = mote_fl_status(user);
    if (o)
        json_object_set_new(o, "round", json_integer(first));
    reply(resp, 202, o);
}

static void h_fed(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/api/fed") == 0)
        h_status(user, req, resp);
    else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/api/fed/rounds") == 0)
        reply(resp, 200, mote_fl_rounds(user));
    else if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/api/fed/rounds") == 0)
        h_rounds(user, req, resp);
    else
        mote_http_error(resp, 404, "no such federated resource (GET /api/fed, GET|POST /api/fed/rounds)");
}

mote_status_t mote_fl_routes(mote_fl_t *fl, mote_http_t *srv)
{
    mote_status_t st = mote_http_route(srv, "POST", "/api/fed", "engineer", h_fed, fl);
    return st ? st : mote_http_route(srv, "GET", "/api/fed", "viewer", h_fed, fl);
}
