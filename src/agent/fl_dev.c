/* mote agent: federated rounds on a device (fl_dev.h). */
#include "fl_dev.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "agent_int.h"

mote_status_t mote_fl_dev_init(mote_fl_dev_t *f, const fsim_t *data, uint32_t slice, const uint8_t *fleet_pk)
{
    if (!f || !fleet_pk)
        return MOTE_ERR_ARG;
    memset(f, 0, sizeof *f);
    f->fleet_pk = fleet_pk;
    return mote_fed_client_init(&f->c, data, slice);
}

void mote_fl_dev_free(mote_fl_dev_t *f)
{
    if (f)
        mote_fed_client_free(&f->c);
}

/* Train and upload once the command and its global are both here. */
static void try_round(mote_fl_dev_t *f, mote_agent_t *a, int64_t now_ms)
{
    if (!f->pending || !f->c.has_global || f->c.version < f->r.version)
        return;
    /* A secure round trains once the others' shares are here (stage 3). */
    if (f->c.sec.stage && f->c.sec.round == f->r.round && f->c.sec.stage < 3)
        return;
    f->pending = 0;
    if (f->c.version != f->r.version) {
        mote_agent_logf(a, "fl round %u: we hold global %llu, not %llu; skipped", f->r.round,
                        (unsigned long long)f->c.version, (unsigned long long)f->r.version);
        return;
    }
    if (f->deadline_ms && now_ms > f->deadline_ms) {
        mote_agent_logf(a, "fl round %u: deadline passed before training; skipped", f->r.round);
        return;
    }
    const uint8_t *buf;
    size_t len;
    char msg[160];
    if (mote_fed_client_train(&f->c, &f->r, &buf, &len, msg, sizeof msg) != MOTE_OK) {
        mote_agent_logf(a, "fl round %u: %s", f->r.round, msg);
        return;
    }
    f->rounds++;
    f->last_round = f->r.round;
    if (f->r.round == f->silent_round) {
        mote_agent_logf(a, "fl round %u: silent (told to drop out)", f->r.round);
        return;
    }
    mote_status_t st = mote_agent_publish_fl(a, buf, len);
    if (st != MOTE_OK) {
        mote_agent_logf(a, "fl round %u: cannot publish the update: %s", f->r.round, mote_status_str(st));
        return;
    }
    f->uploads++;
    f->bytes_up += len;
}

static void on_round(void *user, mote_agent_t *a, const mote_proto_cmd_t *c, int64_t now_ms)
{
    mote_fl_dev_t *f = user;
    const mote_fed_client_round_t r = {.round = (uint32_t)c->round, .id = c->fl_id, .steps = c->fl_steps,
                                       .version = c->fl_version, .mu = (float)c->fl_mu,
                                       .step = (float)c->fl_step};
    if (c->round > UINT32_MAX || !isfinite(r.mu) || !isfinite(r.step)) {
        mote_agent_logf(a, "fl_round: round or numbers out of range; ignored");
        return;
    }
    if (r.round <= f->last_round) {
        /* moted re-sends the command after a restart; one update per round */
        mote_agent_logf(a, "fl_round %u: already trained; ignored", r.round);
        return;
    }
    f->r = r;
    f->deadline_ms = c->fl_deadline_ms;
    f->pending = 1;
    try_round(f, a, now_ms);
}

/* Send a secure-aggregation answer on fl/up (not counted as an upload). */
static void send_sec(mote_fl_dev_t *f, mote_agent_t *a, char type, const uint8_t *buf, size_t len)
{
    if (!len)
        return;
    mote_status_t st = mote_agent_publish_fl(a, buf, len);
    if (st != MOTE_OK)
        mote_agent_logf(a, "fl round %u: cannot publish MFL%c: %s", f->c.sec.round, type, mote_status_str(st));
    else
        f->bytes_sec += len;
}

/* moted's secure-aggregation broadcasts, signed by the fleet key. */
static void on_sec(mote_fl_dev_t *f, mote_agent_t *a, const uint8_t *buf, size_t len, int64_t now_ms)
{
    mote_fl_sec_msg_t m;
    char msg[160] = "";
    const uint8_t *out = NULL;
    size_t n = 0;
    mote_status_t st = mote_fl_sec_decode(buf, len, f->fleet_pk, &m, msg, sizeof msg);
    if (!st && m.type == 'A')
        st = mote_fed_client_announce(&f->c, &m, a->id, &out, &n, msg, sizeof msg);
    else if (!st && m.type == 'R')
        st = mote_fed_client_roster(&f->c, &m, &out, &n, msg, sizeof msg);
    else if (!st && m.type == 'F')
        st = mote_fed_client_forward(&f->c, &m, msg, sizeof msg);
    else if (!st && m.type == 'Q')
        st = f->c.sec.round == f->silent_round ? MOTE_OK /* gone: no answer */
                                               : mote_fed_client_reveal(&f->c, &m, &out, &n, msg, sizeof msg);
    else if (!st)
        st = MOTE_ERR_CORRUPT, snprintf(msg, sizeof msg, "fl/global: a device message (MFL%c) from moted", m.type);
    if (st != MOTE_OK) {
        mote_agent_logf(a, "fl/global refused: %s", msg);
        return;
    }
    send_sec(f, a, m.type, out, n);
    if (m.type == 'F')
        try_round(f, a, now_ms);
}

static void on_global(void *user, mote_agent_t *a, const void *buf, size_t len, int64_t now_ms)
{
    mote_fl_dev_t *f = user;
    char msg[160];
    f->bytes_down += len;
    if (mote_fl_sec_type(buf, len)) {
        on_sec(f, a, buf, len, now_ms);
        return;
    }
    if (mote_fed_client_global(&f->c, f->fleet_pk, buf, len, msg, sizeof msg) != MOTE_OK) {
        mote_agent_logf(a, "fl/global refused: %s", msg);
        return;
    }
    try_round(f, a, now_ms);
}

void mote_fl_dev_hook(mote_fl_dev_t *f, mote_agent_config_t *cfg)
{
    cfg->fl_round = on_round;
    cfg->fl_global = on_global;
    cfg->fl_user = f;
}
