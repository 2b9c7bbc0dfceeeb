/* moted: staged rollout campaigns (moted.h).
 *
 * A campaign is rows in the store: `campaigns` (model, version, stages,
 * gate, current stage, state) and `campaign_devices` (one row per target
 * device with the stage it belongs to and its progress: pending -> sent ->
 * downloading -> confirmed | failed | timeout; after an abort rolled_back or
 * cancelled). The ticker is stateless: each tick re-reads the rows, so a
 * restarted moted continues where the last one stopped, and every step is a
 * single conditional UPDATE, so two moted instances never both take it. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "moted_int.h"

#define MAX_STAGES 10

typedef struct camp {
    char id[64], model[64];
    uint64_t version;
    int64_t stages[MAX_STAGES];
    size_t n_stages;
    int64_t max_fail_pct, timeout_s, stage;
} camp_t;

#define I64S(name, v) \
    char name[24];    \
    snprintf(name, sizeof name, "%" PRId64, (int64_t)(v))

/* ---- creation ---- */

static mote_status_t fail(char *err, size_t errsz, mote_status_t st, const char *fmt, const char *arg)
{
    snprintf(err, errsz, fmt, arg);
    return st;
}

static mote_status_t parse_stages(const json_t *spec, camp_t *c, char *err, size_t errsz)
{
    const json_t *a = json_object_get(spec, "stages");
    if (!a) {
        c->n_stages = 3;
        c->stages[0] = 10, c->stages[1] = 50, c->stages[2] = 100;
        return MOTE_OK;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MAX_STAGES)
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'stages' must be 1..10 percentages%s", "");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        int64_t p = json_is_integer(v) ? json_integer_value(v) : -1;
        if (p < 1 || p > 100 || (i > 0 && p <= c->stages[i - 1]))
            return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'stages' must increase within 1..100%s", "");
        c->stages[i] = p;
    }
    c->n_stages = json_array_size(a);
    if (c->stages[c->n_stages - 1] != 100)
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: the last stage must be 100 (%%)%s", "");
    return MOTE_OK;
}

static int64_t int_field(const json_t *o, const char *k, int64_t dflt, int64_t lo, int64_t hi)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return dflt;
    int64_t x = json_is_integer(v) ? json_integer_value(v) : lo - 1;
    return x < lo || x > hi ? INT64_MIN : x;
}

static mote_status_t parse_spec(const json_t *spec, camp_t *c, char *err, size_t errsz)
{
    memset(c, 0, sizeof *c);
    const char *model = json_string_value(json_object_get(spec, "model"));
    int64_t v = int_field(spec, "version", 0, 1, INT64_MAX);
    if (!json_is_object(spec) || !model || strlen(model) >= sizeof c->model)
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'model' (string) is required%s", "");
    if (v <= 0)
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'version' (integer >= 1) is required%s", "");
    snprintf(c->model, sizeof c->model, "%s", model);
    c->version = (uint64_t)v;
    c->max_fail_pct = int_field(spec, "max_fail_pct", 10, 0, 100);
    c->timeout_s = int_field(spec, "stage_timeout_s", 600, 1, 86400 * 30);
    if (c->max_fail_pct == INT64_MIN)
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'max_fail_pct' must be 0..100%s", "");
    if (c->timeout_s == INT64_MIN)
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'stage_timeout_s' must be 1..2592000%s", "");
    return parse_stages(spec, c, err, errsz);
}

/* Stage of the i-th of n devices: the first whose cumulative share covers it. */
static int64_t stage_of(const camp_t *c, size_t i, size_t n)
{
    for (size_t s = 0; s < c->n_stages; s++)
        if ((int64_t)i < (c->stages[s] * (int64_t)n + 99) / 100)
            return (int64_t)s;
    return (int64_t)c->n_stages - 1;
}

static mote_status_t insert_rows(mote_moted_t *m, const camp_t *c, const char *target, const char *stages,
                                 const char *const *devs, size_t n, char *err, size_t errsz)
{
    I64S(ver, c->version);
    I64S(mf, c->max_fail_pct);
    I64S(to, c->timeout_s);
    I64S(now, mote_store_now_ms());
    const char *p[] = {c->id, c->model, ver, target, stages, mf, to, now, now};
    mote_status_t st = mote_store_exec(m->store,
                                       "INSERT INTO campaigns (id, model, version, target, stages, max_fail_pct,"
                                       " stage_timeout_s, state, stage, created, updated)"
                                       " VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 0, ?, ?)",
                                       p, 9, NULL, NULL, NULL, err, errsz);
    for (size_t i = 0; st == MOTE_OK && i < n; i++) {
        I64S(stage, stage_of(c, i, n));
        const char *q[] = {c->id, devs[i], stage, now};
        st = mote_store_exec(m->store,
                             "INSERT INTO campaign_devices (campaign, device, stage, state, updated)"
                             " VALUES (?, ?, ?, 'pending', ?)",
                             q, 4, NULL, NULL, NULL, err, errsz);
    }
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Up to this many targets are listed in the campaign.start entry; every
 * device also gets its own deploy entry, and a ledger body is at most
 * 64 KB (about 3,000 ids). */
#define LEDGER_LIST_MAX 500

/* SHA-256 (hex) of the sorted target ids joined by newlines: names the
 * target set in the ledger however large it is. */
static const char *targets_sha256(const char *const *devs, size_t n, char hex[65])
{
    crypto_hash_sha256_state st;
    uint8_t h[32];
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < n; i++) {
        crypto_hash_sha256_update(&st, (const uint8_t *)devs[i], strlen(devs[i]));
        crypto_hash_sha256_update(&st, (const uint8_t *)"\n", 1);
    }
    crypto_hash_sha256_final(&st, h);
    return mote_hex_encode(h, 32, hex);
}

mote_status_t mote_campaign_create_for(mote_moted_t *m, const json_t *spec, const char *const *devices, size_t n,
                                       const char *user, char id_out[64], char *err, size_t errsz)
{
    camp_t c;
    mote_status_t st = parse_spec(spec, &c, err, errsz);
    if (st != MOTE_OK)
        return st;
    if (n == 0)
        return fail(err, errsz, MOTE_ERR_NOT_FOUND, "campaign: no device matches the target%s", "");
    mote_store_model_t md;
    if (mote_store_model_get(m->store, c.model, c.version, &md, err, errsz) <= 0)
        return fail(err, errsz, MOTE_ERR_NOT_FOUND, "campaign: model '%s' at that version is not registered", c.model);
    const char **devs = malloc(n * sizeof *devs);
    json_t *list = json_array();
    if (!devs || !list) {
        free(devs);
        json_decref(list);
        return MOTE_ERR_NOMEM;
    }
    memcpy(devs, devices, n * sizeof *devs);
    qsort(devs, n, sizeof *devs, cmp_str); /* stages are then reproducible */
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(devs[i]));
    uint32_t r = randombytes_random();
    snprintf(c.id, sizeof c.id, "c%" PRId64 "-%04x", mote_store_now_ms(), (unsigned)(r & 0xffff));
    const json_t *tj = json_object_get(spec, "target");
    char *target = json_dumps(tj ? tj : list, JSON_COMPACT);
    json_t *sj = json_array();
    for (size_t i = 0; sj && i < c.n_stages; i++)
        json_array_append_new(sj, json_integer(c.stages[i]));
    char *stages = sj ? json_dumps(sj, JSON_COMPACT) : NULL;
    json_decref(sj);
    st = target && stages ? mote_store_begin(m->store, err, errsz) : MOTE_ERR_NOMEM;
    if (st == MOTE_OK) {
        st = insert_rows(m, &c, target, stages, devs, n, err, errsz);
        if (st == MOTE_OK)
            st = mote_store_commit(m->store, err, errsz);
        else
            mote_store_rollback(m->store);
    }
    if (st == MOTE_OK) {
        snprintf(id_out, 64, "%s", c.id);
        char sha[65];
        json_t *b = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:I,s:s}", "campaign", c.id, "model", c.model, "version",
                              (json_int_t)c.version, "n_devices", (json_int_t)n, "devices_sha256",
                              targets_sha256(devs, n, sha), "stages", stages, "max_fail_pct",
                              (json_int_t)c.max_fail_pct, "stage_timeout_s", (json_int_t)c.timeout_s, "user",
                              user ? user : "");
        if (b && n <= LEDGER_LIST_MAX)
            json_object_set(b, "devices", list);
        mote_moted_ledger(m, "campaign.start", b);
        json_decref(b);
        mote_moted_log(m, "campaign %s: %s v%" PRIu64 " to %zu devices, stages %s", c.id, c.model, c.version, n,
                       stages);
    }
    free(target);
    free(stages);
    free(devs);
    json_decref(list);
    return st;
}

typedef struct idlist {
    char **ids;
    size_t n, cap;
} idlist_t;

static int collect_id(void *user, int ncol, const char *const *names, const char *const *v,
                      const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    idlist_t *l = user;
    if (ncol < 1 || !v[0])
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **ids = realloc(l->ids, cap * sizeof *ids);
        if (!ids)
            return 1;
        l->ids = ids;
        l->cap = cap;
    }
    l->ids[l->n] = strdup(v[0]);
    l->n += l->ids[l->n] != NULL;
    return 0;
}

static void idlist_free(idlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ids[i]);
    free(l->ids);
}

/* Keep `id` when it is a known device of class `cls` (1), else 0. */
static int of_class(mote_moted_t *m, const char *id, const char *cls, char *err, size_t errsz)
{
    char got[64];
    const char *p[] = {id};
    int r =
        mote_store_query_text(m->store, "SELECT class FROM devices WHERE id = ?", p, 1, got, sizeof got, err, errsz);
    return r > 0 && strcmp(got, cls) == 0;
}

/* Devices selected by a SPARQL query over the knowledge graph: the first
 * variable of each row, a device id or its "urn:mote:dev:" IRI. */
static mote_status_t resolve_sparql(mote_moted_t *m, const char *q, const char *cls, idlist_t *l, char *err,
                                    size_t errsz)
{
    if (!m->cfg.graph)
        return fail(err, errsz, MOTE_ERR_UNSUPPORTED, "campaign: a SPARQL target needs moted's graph (--graph)%s", "");
    char *out = NULL;
    size_t len = 0;
    mote_status_t st = mote_graph_query(m->cfg.graph, q, MOTE_GRAPH_JSON, &out, &len, err, errsz);
    if (st != MOTE_OK)
        return st == MOTE_ERR_FORMAT ? MOTE_ERR_ARG : st;
    json_t *j = json_loadb(out, len, 0, NULL);
    free(out);
    const char *var = json_string_value(json_array_get(json_object_get(json_object_get(j, "head"), "vars"), 0));
    json_t *rows = json_object_get(json_object_get(j, "results"), "bindings"), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        const char *v = var ? json_string_value(json_object_get(json_object_get(row, var), "value")) : NULL;
        if (v && strncmp(v, "urn:mote:dev:", 13) == 0)
            v += 13;
        if (v && of_class(m, v, cls, err, errsz)) {
            const char *p[] = {v};
            collect_id(l, 1, NULL, p, NULL);
        }
    }
    json_decref(j);
    return MOTE_OK;
}

/* Devices of the target, only those of the bundle's device class. */
static mote_status_t resolve(mote_moted_t *m, const json_t *target, const char *cls, idlist_t *l, char *err,
                             size_t errsz)
{
    const char *group = json_string_value(json_object_get(target, "group"));
    const char *klass = json_string_value(json_object_get(target, "class"));
    const json_t *devs = json_object_get(target, "devices");
    const char *sparql = json_string_value(json_object_get(target, "sparql"));
    if (sparql)
        return resolve_sparql(m, sparql, cls, l, err, errsz);
    if (group) {
        const char *p[] = {group, cls};
        return mote_store_exec(m->store, "SELECT id FROM devices WHERE grp = ? AND class = ?", p, 2, collect_id, l,
                               NULL, err, errsz);
    }
    if (klass) {
        if (strcmp(klass, cls) != 0)
            return fail(err, errsz, MOTE_ERR_ARG, "campaign: the bundle targets class '%s', not the one asked", cls);
        const char *p[] = {cls};
        return mote_store_exec(m->store, "SELECT id FROM devices WHERE class = ?", p, 1, collect_id, l, NULL, err,
                               errsz);
    }
    if (!json_is_array(devs))
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'target' needs 'group', 'class', 'devices' or 'sparql'%s", "");
    for (size_t i = 0; i < json_array_size(devs); i++) {
        const char *id = json_string_value(json_array_get(devs, i));
        char got[64];
        const char *p[] = {id ? id : ""};
        int r = mote_store_query_text(m->store, "SELECT class FROM devices WHERE id = ?", p, 1, got, sizeof got, err,
                                      errsz);
        if (r < 0)
            return (mote_status_t)r;
        if (r == 0 || strcmp(got, cls) != 0)
            return fail(err, errsz, MOTE_ERR_ARG, "campaign: device '%s' is unknown or of another class",
                        id ? id : "(not a string)");
        collect_id(l, 1, NULL, p, NULL);
    }
    return MOTE_OK;
}

mote_status_t mote_campaign_create(mote_moted_t *m, const json_t *spec, const char *user, char id_out[64], char *err,
                                   size_t errsz)
{
    camp_t c;
    mote_status_t st = parse_spec(spec, &c, err, errsz);
    if (st != MOTE_OK)
        return st;
    mote_store_model_t md;
    if (mote_store_model_get(m->store, c.model, c.version, &md, err, errsz) <= 0)
        return fail(err, errsz, MOTE_ERR_NOT_FOUND, "campaign: model '%s' at that version is not registered", c.model);
    const json_t *target = json_object_get(spec, "target");
    if (!json_is_object(target))
        return fail(err, errsz, MOTE_ERR_ARG, "campaign: 'target' (object) is required%s", "");
    idlist_t l = {0};
    st = resolve(m, target, md.target, &l, err, errsz);
    if (st == MOTE_OK)
        st = mote_campaign_create_for(m, spec, (const char *const *)l.ids, l.n, user, id_out, err, errsz);
    idlist_free(&l);
    return st;
}

/* ---- abort and stop ---- */

typedef struct cdev {
    char dev[MOTE_PROTO_ID_LEN];
    char state[16];
} cdev_t;

typedef struct cdevs {
    cdev_t *v;
    size_t n, cap;
} cdevs_t;

static int collect_cdev(void *user, int ncol, const char *const *names, const char *const *v,
                        const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    cdevs_t *l = user;
    if (ncol < 2)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cdev_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return 1;
        l->v = nv;
        l->cap = cap;
    }
    snprintf(l->v[l->n].dev, sizeof l->v[0].dev, "%s", v[0] ? v[0] : "");
    snprintf(l->v[l->n].state, sizeof l->v[0].state, "%s", v[1] ? v[1] : "");
    l->n++;
    return 0;
}

static void set_cdev(mote_moted_t *m, const char *id, const char *dev, const char *state, const char *reason)
{
    char err[256];
    I64S(now, mote_store_now_ms());
    const char *p[] = {state, reason ? reason : "", now, id, dev};
    if (mote_store_exec(
            m->store,
            "UPDATE campaign_devices SET state = ?, reason = ?, updated = ? WHERE campaign = ? AND device = ?", p, 5,
            NULL, NULL, NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "campaign %s: %s: %s", id, dev, err);
}

/* Undo one device: roll back if it switched, else pin it to what it runs. */
static void undo_device(mote_moted_t *m, const camp_t *c, const cdev_t *d, const char *reason)
{
    char err[256];
    mote_store_twin_t t;
    if (mote_store_twin_get(m->store, d->dev, &t, err, sizeof err) <= 0)
        return;
    int switched = strcmp(t.model, c->model) == 0 && t.version == c->version;
    if (switched) {
        if (mote_moted_rollback(m, d->dev, reason, err, sizeof err) != MOTE_OK)
            mote_moted_log(m, "campaign %s: %s: %s", c->id, d->dev, err);
        set_cdev(m, c->id, d->dev, "rolled_back", reason);
        return;
    }
    mote_store_twin_desired(m->store, d->dev, t.model, t.version, NULL, mote_store_now_ms(), err, sizeof err);
    if (strcmp(d->state, "confirmed") != 0 && strcmp(d->state, "failed") != 0 && strcmp(d->state, "timeout") != 0)
        set_cdev(m, c->id, d->dev, "cancelled", reason);
}

static void campaign_abort(mote_moted_t *m, const camp_t *c, const char *reason, const char *user)
{
    char err[256];
    I64S(now, mote_store_now_ms());
    const char *p[] = {reason, now, c->id};
    int64_t ch = 0;
    if (mote_store_exec(
            m->store,
            "UPDATE campaigns SET state = 'aborted', reason = ?, updated = ? WHERE id = ? AND state = 'running'", p, 3,
            NULL, NULL, &ch, err, sizeof err) != MOTE_OK ||
        ch == 0)
        return; /* already finished, or another instance took it */
    mote_moted_log(m, "campaign %s: aborted: %s", c->id, reason);
    cdevs_t l = {0};
    const char *q[] = {c->id};
    mote_store_exec(m->store, "SELECT device, state FROM campaign_devices WHERE campaign = ? ORDER BY device", q, 1,
                    collect_cdev, &l, NULL, err, sizeof err);
    json_t *rolled = json_array();
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].state, "pending") == 0) {
            set_cdev(m, c->id, l.v[i].dev, "cancelled", reason);
            continue;
        }
        undo_device(m, c, &l.v[i], reason);
        if (strcmp(l.v[i].state, "confirmed") == 0)
            json_array_append_new(rolled, json_string(l.v[i].dev));
    }
    json_t *b = json_pack("{s:s,s:s,s:o,s:s}", "campaign", c->id, "reason", reason, "rolled_back", rolled, "user",
                          user ? user : "");
    mote_moted_ledger(m, "campaign.abort", b);
    json_decref(b);
    free(l.v);
}

static int camp_row(void *user, int ncol, const char *const *names, const char *const *v,
                    const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    camp_t *c = user;
    if (ncol < 7)
        return 1;
    snprintf(c->id, sizeof c->id, "%s", v[0] ? v[0] : "");
    snprintf(c->model, sizeof c->model, "%s", v[1] ? v[1] : "");
    c->version = v[2] ? strtoull(v[2], NULL, 10) : 0;
    json_t *a = v[3] ? json_loads(v[3], 0, NULL) : NULL;
    c->n_stages = 0;
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a) && i < MAX_STAGES; i++)
        c->stages[c->n_stages++] = json_integer_value(json_array_get(a, i));
    json_decref(a);
    c->max_fail_pct = v[4] ? strtoll(v[4], NULL, 10) : 0;
    c->timeout_s = v[5] ? strtoll(v[5], NULL, 10) : 0;
    c->stage = v[6] ? strtoll(v[6], NULL, 10) : 0;
    return 0;
}

#define CAMP_COLS "SELECT id, model, version, stages, max_fail_pct, stage_timeout_s, stage FROM campaigns"

mote_status_t mote_campaign_stop(mote_moted_t *m, const char *id, const char *user, char *err, size_t errsz)
{
    camp_t c;
    memset(&c, 0, sizeof c);
    char state[32];
    const char *p[] = {id};
    int r = mote_store_query_text(m->store, "SELECT state FROM campaigns WHERE id = ?", p, 1, state, sizeof state, err,
                                  errsz);
    if (r <= 0)
        return r < 0 ? (mote_status_t)r : fail(err, errsz, MOTE_ERR_NOT_FOUND, "no campaign '%s'", id);
    if (strcmp(state, "running") != 0)
        return fail(err, errsz, MOTE_ERR_STATE, "campaign is already %s", state);
    mote_status_t st = mote_store_exec(m->store, CAMP_COLS " WHERE id = ?", p, 1, camp_row, &c, NULL, err, errsz);
    if (st != MOTE_OK)
        return st;
    char reason[128];
    snprintf(reason, sizeof reason, "emergency stop by %s", user ? user : "an operator");
    campaign_abort(m, &c, reason, user);
    return MOTE_OK;
}

/* ---- progress ---- */

#define CLAIM_BUDGET_MS 2000 /* per tick, so stops and other campaigns get a turn */

static uint32_t claim_size(const mote_moted_t *m)
{
    return m->cfg.claim_batch ? m->cfg.claim_batch : 256;
}

/* Claim up to claim_size() pending devices of the current stage. The claim
 * is one UPDATE ... RETURNING: each device is sent once even when two
 * moted instances tick the same campaign. */
static void claim_batch(mote_moted_t *m, const camp_t *c, idlist_t *l)
{
    char err[256];
    I64S(now, mote_store_now_ms());
    I64S(stage, c->stage);
    I64S(lim, claim_size(m));
    const char *p[] = {now, now, c->id, c->id, stage, lim};
    if (mote_store_exec(m->store,
                        "UPDATE campaign_devices SET state = 'sent', sent_at = ?, updated = ? WHERE campaign = ?"
                        " AND state = 'pending' AND device IN (SELECT device FROM campaign_devices WHERE campaign = ?"
                        " AND stage <= ? AND state = 'pending' ORDER BY device LIMIT ?) RETURNING device",
                        p, 6, collect_id, l, NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "campaign %s: %s", c->id, err);
}

/* Record each device's outcome of a batch in one transaction. */
static void record_batch(mote_moted_t *m, const camp_t *c, char *const *devs, size_t n,
                         const mote_moted_deploy_result_t *res)
{
    char err[256];
    I64S(now, mote_store_now_ms());
    if (mote_store_begin(m->store, err, sizeof err) != MOTE_OK) {
        mote_moted_log(m, "campaign %s: %s", c->id, err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        I64S(seq, res[i].seq);
        const char *q[] = {seq, c->id, devs[i]};
        const char *f[] = {res[i].why, now, c->id, devs[i]};
        if (res[i].st == MOTE_OK)
            mote_store_exec(m->store, "UPDATE campaign_devices SET seq = ? WHERE campaign = ? AND device = ?", q, 3,
                            NULL, NULL, NULL, err, sizeof err);
        else
            mote_store_exec(m->store,
                            "UPDATE campaign_devices SET state = 'failed', reason = ?, updated = ?"
                            " WHERE campaign = ? AND device = ?",
                            f, 4, NULL, NULL, NULL, err, sizeof err);
    }
    if (mote_store_commit(m->store, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "campaign %s: %s", c->id, err);
}

/* Send one claimed batch: devices already on the version are confirmed
 * at once, the others get their deploy through one moted batch. */
static void send_batch(mote_moted_t *m, const camp_t *c, idlist_t *l)
{
    char err[256];
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        mote_store_twin_t t;
        if (mote_store_twin_get(m->store, l->ids[i], &t, err, sizeof err) > 0 && strcmp(t.model, c->model) == 0 &&
            t.version == c->version && strcmp(t.slot_state, "confirmed") == 0) {
            set_cdev(m, c->id, l->ids[i], "confirmed", "already running this version");
            free(l->ids[i]);
            continue;
        }
        l->ids[k++] = l->ids[i];
    }
    l->n = k;
    mote_moted_deploy_result_t *res = calloc(k ? k : 1, sizeof *res);
    if (!res)
        return; /* the rows stay 'sent'; the stage timeout fails them */
    mote_status_t st =
        mote_moted_deploy_many(m, (const char *const *)l->ids, k, c->model, c->version, c->id, res, err, sizeof err);
    for (size_t i = 0; st != MOTE_OK && i < k; i++) {
        res[i].st = st;
        snprintf(res[i].why, sizeof res[i].why, "%.150s", err);
    }
    record_batch(m, c, l->ids, k, res);
    free(res);
}

static void claim_stage(mote_moted_t *m, const camp_t *c)
{
    int64_t t0 = mote_store_now_ms();
    for (;;) {
        idlist_t l = {0};
        claim_batch(m, c, &l);
        size_t got = l.n;
        if (got)
            send_batch(m, c, &l);
        idlist_free(&l);
        if (got < claim_size(m) || m->stop || mote_store_now_ms() - t0 > CLAIM_BUDGET_MS)
            return;
    }
}

static void expire(mote_moted_t *m, const camp_t *c)
{
    char err[256], reason[96];
    int64_t now = mote_store_now_ms();
    I64S(nows, now);
    I64S(limit, now - c->timeout_s * 1000);
    snprintf(reason, sizeof reason, "no confirmation within %" PRId64 " s", c->timeout_s);
    const char *p[] = {reason, nows, c->id, limit};
    mote_store_exec(m->store,
                    "UPDATE campaign_devices SET state = 'timeout', reason = ?, updated = ?"
                    " WHERE campaign = ? AND state IN ('sent', 'downloading') AND sent_at < ?",
                    p, 4, NULL, NULL, NULL, err, sizeof err);
}

typedef struct counts {
    int64_t total, ok, failed, open;
} counts_t;

static int count_row(void *user, int ncol, const char *const *names, const char *const *v,
                     const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    counts_t *k = user;
    if (ncol < 2 || !v[0] || !v[1])
        return 0;
    int64_t n = strtoll(v[1], NULL, 10);
    k->total += n;
    if (strcmp(v[0], "confirmed") == 0)
        k->ok += n;
    else if (strcmp(v[0], "failed") == 0 || strcmp(v[0], "timeout") == 0)
        k->failed += n;
    else
        k->open += n;
    return 0;
}

static void finish_stage(mote_moted_t *m, const camp_t *c, const counts_t *k)
{
    char err[256];
    I64S(now, mote_store_now_ms());
    I64S(stage, c->stage);
    int last = (size_t)c->stage + 1 >= c->n_stages;
    const char *p[] = {now, c->id, stage};
    int64_t ch = 0;
    mote_store_exec(
        m->store,
        last ? "UPDATE campaigns SET state = 'done', updated = ? WHERE id = ? AND stage = ? AND state = 'running'"
             : "UPDATE campaigns SET stage = stage + 1, updated = ? WHERE id = ? AND stage = ?"
               " AND state = 'running'",
        p, 3, NULL, NULL, &ch, err, sizeof err);
    if (ch == 0)
        return;
    json_t *b = json_pack("{s:s,s:I,s:I,s:I}", "campaign", c->id, "stage", (json_int_t)c->stage, "confirmed",
                          (json_int_t)k->ok, "failed", (json_int_t)k->failed);
    mote_moted_ledger(m, last ? "campaign.done" : "campaign.stage", b);
    json_decref(b);
    mote_moted_log(m, "campaign %s: stage %" PRId64 " passed (%" PRId64 " confirmed, %" PRId64 " failed)%s", c->id,
                   c->stage, k->ok, k->failed, last ? "; done" : "");
}

static void step(mote_moted_t *m, const camp_t *c)
{
    expire(m, c);
    claim_stage(m, c);
    counts_t k = {0};
    char err[256];
    I64S(stage, c->stage);
    const char *p[] = {c->id, stage};
    if (mote_store_exec(m->store,
                        "SELECT state, COUNT(*) FROM campaign_devices WHERE campaign = ? AND stage <= ? GROUP BY state",
                        p, 2, count_row, &k, NULL, err, sizeof err) != MOTE_OK)
        return;
    if (k.total > 0 && k.failed * 100 > c->max_fail_pct * k.total) {
        char reason[160];
        snprintf(reason, sizeof reason, "gate: %" PRId64 " of %" PRId64 " devices failed (more than %" PRId64 " %%)",
                 k.failed, k.total, c->max_fail_pct);
        campaign_abort(m, c, reason, NULL);
    } else if (k.open == 0) {
        finish_stage(m, c, &k);
    }
}

typedef struct camps {
    camp_t v[32];
    size_t n;
} camps_t;

static int camps_row(void *user, int ncol, const char *const *names, const char *const *v,
                     const mote_store_type_t *types)
{
    camps_t *l = user;
    if (l->n >= sizeof l->v / sizeof l->v[0])
        return 1;
    camp_row(&l->v[l->n], ncol, names, v, types);
    l->n++;
    return 0;
}

void mote_campaign_tick(mote_moted_t *m)
{
    camps_t *l = calloc(1, sizeof *l);
    char err[256];
    if (!l)
        return;
    if (mote_store_exec(m->store, CAMP_COLS " WHERE state = 'running' ORDER BY created", NULL, 0, camps_row, l, NULL,
                        err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "campaigns: %s", err);
    for (size_t i = 0; i < l->n && !m->stop; i++)
        if (l->v[i].n_stages > 0)
            step(m, &l->v[i]);
    free(l);
}

/* ---- device reports ---- */

static int is_any(const char *s, const char *a, const char *b, const char *c)
{
    return strcmp(s, a) == 0 || strcmp(s, b) == 0 || (c && strcmp(s, c) == 0);
}

static void update_by_version(mote_moted_t *m, const char *dev, uint64_t version, const char *model, const char *state,
                              const char *reason)
{
    char err[256];
    I64S(now, mote_store_now_ms());
    I64S(ver, version);
    const char *p[] = {state, reason, now, dev, ver, model, model};
    mote_store_exec(m->store,
                    "UPDATE campaign_devices SET state = ?, reason = ?, updated = ? WHERE device = ?"
                    " AND state IN ('sent', 'downloading') AND campaign IN (SELECT id FROM campaigns"
                    " WHERE state = 'running' AND version = ? AND (CAST(? AS TEXT) = '' OR model = ?))",
                    p, 7, NULL, NULL, NULL, err, sizeof err);
}

void mote_campaign_on_state(mote_moted_t *m, const char *dev, const void *state)
{
    const mote_proto_state_t *s = state;
    char err[256];
    if (s->cmd_seq > 0 && is_any(s->cmd_status, "refused", "failed", NULL)) {
        I64S(now, mote_store_now_ms());
        I64S(seq, s->cmd_seq);
        const char *p[] = {s->reason, now, dev, seq};
        mote_store_exec(m->store,
                        "UPDATE campaign_devices SET state = 'failed', reason = ?, updated = ? WHERE device = ?"
                        " AND seq = ? AND state IN ('sent', 'downloading')",
                        p, 4, NULL, NULL, NULL, err, sizeof err);
    }
    if (s->model.version > 0 && strcmp(s->slot_state, "confirmed") == 0)
        update_by_version(m, dev, s->model.version, s->model.name, "confirmed", "");
    if (s->ota.version == 0)
        return;
    if (is_any(s->ota.status, "rolled_back", "refused", "failed"))
        update_by_version(m, dev, s->ota.version, "", "failed", s->ota.reason[0] ? s->ota.reason : s->ota.status);
    else if (is_any(s->ota.status, "downloading", "installed", NULL))
        update_by_version(m, dev, s->ota.version, "", "downloading", "");
}
