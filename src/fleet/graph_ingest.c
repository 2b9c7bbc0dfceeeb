/* mote fleet graph: Thing Descriptions, model cards and deployments as triples.
 *
 * Each input is validated completely (the error names the field) and
 * turned into triples in a scratch batch; only a valid input reaches the
 * graph, replacing the named graph of that device or model version. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "graph_int.h"

#define IRI_CAP 200

/* ---- JSON field access with errors naming the field ---- */

typedef struct jctx {
    const char *what;  /* "td" or "card" */
    char *err;
    size_t errsz;
    int bad;
} jctx_t;

static void jfail(jctx_t *c, const char *field, const char *why)
{
    if (!c->bad)
        g_err(c->err, c->errsz, MOTE_ERR_FORMAT, "%s: field '%s' %s", c->what, field, why);
    c->bad = 1;
}

static json_t *jget(jctx_t *c, json_t *o, const char *field, int required)
{
    json_t *v = json_object_get(o, field);
    if (!v && required)
        jfail(c, field, "missing");
    return v;
}

static const char *jstr(jctx_t *c, json_t *o, const char *field, int required)
{
    json_t *v = jget(c, o, field, required);
    if (v && json_is_null(v) && !required)
        return NULL;
    if (v && !json_is_string(v)) {
        jfail(c, field, "must be a string");
        return NULL;
    }
    if (v && required && !json_string_length(v)) {
        jfail(c, field, "must not be empty");
        return NULL;
    }
    return v ? json_string_value(v) : NULL;
}

static long long jcount(jctx_t *c, json_t *o, const char *field)
{
    json_t *v = jget(c, o, field, 1);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
        jfail(c, field, "must be a non-negative integer");
        return 0;
    }
    return v ? (long long)json_integer_value(v) : 0;
}

static double jnum(jctx_t *c, json_t *o, const char *field, int positive)
{
    json_t *v = jget(c, o, field, 1);
    double x = v && json_is_number(v) ? json_number_value(v) : NAN;
    if (v && (!isfinite(x) || (positive && x <= 0))) {
        jfail(c, field, positive ? "must be a positive number" : "must be a number");
        return 0;
    }
    return x;
}

/* The one spelling of a version in the graph: "a.b.c" of its number
 * (a*10^6 + b*10^3 + c), so the fleet protocol's integer 1002000 and a
 * card's "1.2" or "1.2.0" become the same "1.2.0" (docs/graph.md). */
static void version_canon(int64_t n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lld.%lld.%lld", (long long)(n / 1000000), (long long)(n / 1000 % 1000),
             (long long)(n % 1000));
}

/* A version given as a string ("1.2.0") or an integer (the protocol's
 * version number); buf gets its canonical "a.b.c". */
static int jversion(jctx_t *c, json_t *o, const char *field, char *buf, size_t cap)
{
    json_t *v = jget(c, o, field, 1);
    char raw[32] = "";
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        snprintf(raw, sizeof raw, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < sizeof raw)
        snprintf(raw, sizeof raw, "%s", json_string_value(v));
    int64_t n = mote_graph_version_number(raw);
    if (n < 0) {
        jfail(c, field, "must be a version (integer or \"a.b.c\")");
        return 0;
    }
    version_canon(n, buf, cap);
    return 1;
}

static int op_name_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return n > 0 && n < 48;
}

/* An array of TFLite operator names; NULL after reporting when malformed. */
static json_t *jops(jctx_t *c, json_t *o, const char *field)
{
    json_t *a = jget(c, o, field, 1), *v;
    size_t i;
    if (a && !json_is_array(a)) {
        jfail(c, field, "must be an array of operator names");
        return NULL;
    }
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || !op_name_ok(json_string_value(v))) {
            jfail(c, field, "must hold operator names such as \"FULLY_CONNECTED\"");
            return NULL;
        }
    }
    return a;
}

/* Lower-case word of letters, digits, '-', '_' ("accelerometer"). */
static int word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != ' ')
            return 0;
    return n > 0 && n < max;
}

/* ---- shared vocabulary ---- */

static const char *sensor_class(const char *type)
{
    static const char *const known[][2] = {
        {"accelerometer", "Accelerometer"}, {"camera", "Camera"},       {"gyroscope", "Gyroscope"},
        {"magnetometer", "Magnetometer"},   {"microphone", "Microphone"}, {"thermometer", "Thermometer"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(type, known[i][0]))
            return known[i][1];
    return NULL;
}

static void lower(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = 0;
}

/* The S3N memory description SeLoC-ML uses (kilobytes), so its queries
 * also find mote devices and models. `prop` is schema:value (devices) or
 * schema:minValue (model requirements). */
static void memory_kb(g_batch_t *b, const char *node, const char *cls, const char *prop, long long bytes)
{
    g_add_iri(b, node, G_RDF "type", cls);
    g_add_dbl(b, node, prop, (double)bytes / 1000.0);
    g_add_iri(b, node, G_SCHEMA "unitCode", G_OM "kilobyte");
}

/* Fit keys: an index for fit.rq, derived from facts already in the graph.
 * A device offers "<sensor type> <RAM class>" for each sensor; a model
 * accepts "<its sensor type> <class>" for every class from its arena's up,
 * so one (predicate, object) lookup reaches only the models with the
 * device's sensor whose arena can fit, before any other pattern runs. The
 * class is a quarter octave, floor(4 log2 bytes), clamped to 40..128
 * (1 KiB..4 GiB): a model's list starts two classes low (log2 rounding may
 * move either side's class by one), and clamping only lets more models
 * through; fit.rq still compares the exact bytes. Keeps fit.rq at ~60 lookups instead of ~170 per
 * 100 candidate models for a small device (docs/graph.md). */
enum { FIT_CLASS_MIN = 40, FIT_CLASS_MAX = 128 };

static int fit_class(long long bytes)
{
    int c = bytes > 0 ? (int)floor(4.0 * log2((double)bytes)) : 0;
    return c < FIT_CLASS_MIN ? FIT_CLASS_MIN : c > FIT_CLASS_MAX ? FIT_CLASS_MAX : c;
}

static void fit_key(g_batch_t *b, const char *iri, const char *pred, const char *type, int cls)
{
    char key[48];
    snprintf(key, sizeof key, "%.32s %d", type, cls);
    g_add_str(b, iri, pred, key);
}

/* ---- Thing Description ---- */

typedef struct td_facts {
    char id[49];
    char iri[IRI_CAP];
} td_facts_t;

#define TD_CONTEXT "https://www.w3.org/2022/wot/td/v1.1"
/* Agents built before the namespace was settled published this one. */
#define LEGACY_MOTE_NS "https://mote.example/ns#"

/* "@context" must hold the TD 1.1 context, and the object that maps the
 * prefix "mote" (the keys read below are "mote:..." terms) must map it to
 * mote's namespace; NULL when fine, else what is wrong. */
static const char *context_problem(json_t *ctx)
{
    int td = json_is_string(ctx) && !strcmp(json_string_value(ctx), TD_CONTEXT), mapped = 0;
    json_t *v;
    size_t i;
    json_array_foreach(ctx, i, v) {
        td |= json_is_string(v) && !strcmp(json_string_value(v), TD_CONTEXT);
        json_t *m = json_is_object(v) ? json_object_get(v, "mote") : NULL;
        if (!m)
            continue;
        const char *ns = json_string_value(m);
        if (!ns || (strcmp(ns, MOTE_GRAPH_NS) && strcmp(ns, LEGACY_MOTE_NS)))
            return "must map the prefix \"mote\" to \"" MOTE_GRAPH_NS "\"";
        mapped = 1;
    }
    if (!td)
        return "must contain \"" TD_CONTEXT "\"";
    return mapped ? NULL : "must map the prefix \"mote\" to \"" MOTE_GRAPH_NS "\"";
}

static int id_ok(const char *id)
{
    size_t n = strlen(id);
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
            return 0;
    return n >= 1 && n <= 48;
}

static void td_identity(jctx_t *c, json_t *td, td_facts_t *f)
{
    json_t *ctx = jget(c, td, "@context", 1);
    const char *why = ctx ? context_problem(ctx) : NULL;
    if (why)
        jfail(c, "@context", why);
    const char *id = jstr(c, td, "id", 1);
    if (id && (strncmp(id, "urn:mote:dev:", 13) || !id_ok(id + 13)))
        jfail(c, "id", "must be urn:mote:dev:<1-48 of [a-z0-9_-]>");
    else if (id) {
        snprintf(f->id, sizeof f->id, "%s", id + 13);
        snprintf(f->iri, sizeof f->iri, "%s", id);
    }
    jstr(c, td, "title", 1);
    json_t *sd = jget(c, td, "securityDefinitions", 1);
    if (sd && !json_is_object(sd))
        jfail(c, "securityDefinitions", "must be an object");
    json_t *sec = jget(c, td, "security", 1);
    if (sec && !json_is_string(sec) && !json_is_array(sec))
        jfail(c, "security", "must be a string or an array");
}

static void td_sensor(jctx_t *c, g_batch_t *b, const td_facts_t *f, json_t *s, size_t i)
{
    char node[IRI_CAP + 32], what[48], type[32];
    snprintf(what, sizeof what, "td: mote:sensors[%zu]", i);
    jctx_t sub = {what, c->err, c->errsz, c->bad};
    if (!json_is_object(s)) {
        jfail(c, "mote:sensors", "must hold objects");
        return;
    }
    const char *t = jstr(&sub, s, "type", 1);
    double rate = jnum(&sub, s, "rateHz", 1);
    const char *q = jstr(&sub, s, "quantity", 0), *loc = jstr(&sub, s, "location", 0);
    if (!sub.bad && !word_ok(t, sizeof type))
        jfail(&sub, "type", "must be a word such as \"accelerometer\"");
    if (sub.bad) {
        c->bad = 1;
        return;
    }
    lower(type, sizeof type, t);
    snprintf(node, sizeof node, "%s#sensor-%zu", f->iri, i + 1);
    const char *cls = sensor_class(type);
    char clsiri[96];
    snprintf(clsiri, sizeof clsiri, G_SOSAX "%s", cls ? cls : "");
    g_add_iri(b, f->iri, G_SSN "hasSubSystem", node);
    g_add_iri(b, node, G_RDF "type", G_SOSA "Sensor");
    if (cls)
        g_add_iri(b, node, G_RDF "type", clsiri);
    g_add_str(b, node, G_MOTE "sensorType", type);
    g_add_dbl(b, node, G_MOTE "sampleRateHz", rate);
    if (q)
        g_add_str(b, node, G_MOTE "quantity", q);
    if (loc)
        g_add_str(b, node, G_MOTE "location", loc);
    g_add_str(b, f->iri, G_MOTE "hasSensorType", type);
}

static void td_hardware(jctx_t *c, g_batch_t *b, const td_facts_t *f, json_t *td)
{
    long long ram = jcount(c, td, "mote:ramBytes"), flash = jcount(c, td, "mote:flashBytes");
    char mcu[IRI_CAP + 32], cap[IRI_CAP + 32], mem[IRI_CAP + 32];
    g_add_int(b, f->iri, G_MOTE "ramBytes", ram);
    g_add_int(b, f->iri, G_MOTE "flashBytes", flash);
    snprintf(mcu, sizeof mcu, "%s#mcu", f->iri);
    snprintf(cap, sizeof cap, "%s#mcu-capability", f->iri);
    g_add_iri(b, f->iri, G_SSN "hasSubSystem", mcu);
    g_add_iri(b, mcu, G_RDF "type", G_S3N "MicroController");
    g_add_iri(b, mcu, G_S3N "hasSystemCapability", cap);
    snprintf(mem, sizeof mem, "%s#ram", f->iri);
    g_add_iri(b, cap, G_SSNS "hasSystemProperty", mem);
    memory_kb(b, mem, G_S3NX "RAM", G_SCHEMA "value", ram);
    snprintf(mem, sizeof mem, "%s#flash", f->iri);
    g_add_iri(b, cap, G_SSNS "hasSystemProperty", mem);
    memory_kb(b, mem, G_S3NX "Flash", G_SCHEMA "value", flash);
}

/* One capability key per sensor type (see fit_class). */
static void td_fit_keys(g_batch_t *b, const td_facts_t *f, json_t *td)
{
    json_t *ram = json_object_get(td, "mote:ramBytes"), *s;
    size_t i;
    char type[32];
    json_array_foreach(json_object_get(td, "mote:sensors"), i, s) {
        lower(type, sizeof type, json_string_value(json_object_get(s, "type")));
        fit_key(b, f->iri, G_MOTE "capabilityKey", type, fit_class((long long)json_integer_value(ram)));
    }
}

static void td_runtime(jctx_t *c, g_batch_t *b, const td_facts_t *f, json_t *td)
{
    char ver[32];
    if (jversion(c, td, "mote:runtime", ver, sizeof ver)) {
        g_add_str(b, f->iri, G_MOTE "runtimeVersion", ver);
        g_add_int(b, f->iri, G_MOTE "runtimeVersionNumber", (long long)mote_graph_version_number(ver));
    }
    json_t *ops = jops(c, td, "mote:ops"), *v;
    size_t i;
    json_array_foreach(ops, i, v) {
        g_add_str(b, f->iri, G_MOTE "supportsOperator", json_string_value(v));
    }
    json_t *th = jget(c, td, "mote:trainableHead", 1);
    if (th && !json_is_boolean(th))
        jfail(c, "mote:trainableHead", "must be true or false");
    else if (th)
        g_add_bool(b, f->iri, G_MOTE "trainableHead", json_is_true(th));
}

static void td_describe(jctx_t *c, g_batch_t *b, const td_facts_t *f, json_t *td)
{
    const char *title = jstr(c, td, "title", 1), *dc = jstr(c, td, "mote:deviceClass", 1);
    const char *grp = jstr(c, td, "mote:group", 1), *desc = jstr(c, td, "description", 0);
    g_add_iri(b, f->iri, G_RDF "type", G_MOTE "Device");
    g_add_iri(b, f->iri, G_RDF "type", G_S3N "SmartSensor");
    g_add_iri(b, f->iri, G_RDF "type", G_TD "Thing");
    g_add_str(b, f->iri, G_MOTE "deviceId", f->id);
    if (title)
        g_add_str(b, f->iri, G_TD "title", title);
    if (desc)
        g_add_str(b, f->iri, G_TD "description", desc);
    if (dc)
        g_add_str(b, f->iri, G_MOTE "deviceClass", dc);
    if (grp)
        g_add_str(b, f->iri, G_MOTE "group", grp);
    json_t *s = jget(c, td, "mote:sensors", 1), *v;
    size_t i;
    if (s && !json_is_array(s))
        jfail(c, "mote:sensors", "must be an array");
    json_array_foreach(s, i, v) {
        td_sensor(c, b, f, v, i);
    }
}

/* The model a device reports, in its own named graph (<dev>#deployment). */
static void deployment(g_batch_t *b, const char *dev, const char *name, const char *ver, const char *state)
{
    g_add_str(b, dev, G_MOTE "installedModelName", name);
    g_add_str(b, dev, G_MOTE "installedVersion", ver);
    g_add_int(b, dev, G_MOTE "installedVersionNumber", (long long)mote_graph_version_number(ver));
    g_add_str(b, dev, G_MOTE "deploymentState", state);
}

static void td_model(jctx_t *c, g_batch_t *dep, const td_facts_t *f, json_t *td)
{
    json_t *m = jget(c, td, "mote:model", 1);
    char ver[32];
    if (!m || json_is_null(m))
        return;
    jctx_t sub = {"td: mote:model", c->err, c->errsz, c->bad};
    if (!json_is_object(m)) {
        jfail(c, "mote:model", "must be null or {\"name\", \"version\"}");
        return;
    }
    const char *name = jstr(&sub, m, "name", 1);
    jversion(&sub, m, "version", ver, sizeof ver);
    if (sub.bad) {
        c->bad = 1;
        return;
    }
    deployment(dep, f->iri, name, ver, "reported");
}

static mote_status_t commit_device(g_batch_t *b, g_batch_t *dep, const td_facts_t *f, char *err, size_t errsz)
{
    mote_status_t st = g_batch_commit(b, f->iri, 0, err, errsz);
    return st ? st : g_batch_commit(dep, f->iri, 1, err, errsz);
}

mote_status_t mote_graph_add_td(mote_graph_t *g, const void *json, size_t len, char *err, size_t errsz)
{
    if (!g || (!json && len))
        return g_err(err, errsz, MOTE_ERR_ARG, "td: NULL argument");
    json_error_t je;
    json_t *td = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!td || !json_is_object(td)) {
        json_decref(td);
        return g_err(err, errsz, MOTE_ERR_FORMAT, "td: not a JSON object (%s)", td ? "other type" : je.text);
    }
    jctx_t c = {"td", err, errsz, 0};
    td_facts_t f = {{0}, {0}};
    pthread_mutex_lock(&g->mu);
    g_batch_t b, dep;
    int ob = g_batch_open(&b, g), od = g_batch_open(&dep, g);
    mote_status_t st = ob || od ? g_err(err, errsz, MOTE_ERR_NOMEM, "td: out of memory") : MOTE_OK;
    if (!st) {
        td_identity(&c, td, &f);
        if (!c.bad) {
            td_describe(&c, &b, &f, td);
            td_hardware(&c, &b, &f, td);
            td_runtime(&c, &b, &f, td);
            td_model(&c, &dep, &f, td);
        }
        if (!c.bad)
            td_fit_keys(&b, &f, td);
        st = c.bad ? MOTE_ERR_FORMAT : commit_device(&b, &dep, &f, err, errsz);
    }
    g_batch_close(&b);
    g_batch_close(&dep);
    pthread_mutex_unlock(&g->mu);
    json_decref(td);
    return st;
}

mote_status_t mote_graph_set_deployment(mote_graph_t *g, const char *dev_id, const char *name, const char *version,
                                        const char *state, char *err, size_t errsz)
{
    if (!g || !dev_id || !id_ok(dev_id))
        return g_err(err, errsz, MOTE_ERR_ARG, "deployment: bad device id");
    int clear = !name || !*name;
    int64_t vn = clear || !version ? -1 : mote_graph_version_number(version);
    if (!clear && vn < 0)
        return g_err(err, errsz, MOTE_ERR_ARG, "deployment: bad version '%s'", version ? version : "(null)");
    char dev[IRI_CAP], probe[8], canon[32] = "";
    if (!clear)
        version_canon(vn, canon, sizeof canon);
    snprintf(dev, sizeof dev, "urn:mote:dev:%s", dev_id);
    pthread_mutex_lock(&g->mu);
    g_batch_t b;
    mote_status_t st = g_batch_open(&b, g);
    librdf_node *dn = st ? NULL : librdf_new_node_from_uri_string(g->world, (const unsigned char *)dev);
    if (!st && (!dn || !g_get_str(g, dn, G_MOTE "deviceId", probe, sizeof probe)))
        st = g_err(err, errsz, MOTE_ERR_NOT_FOUND, "deployment: device '%s' is not in the graph", dev_id);
    if (!st) {
        if (!clear)
            deployment(&b, dev, name, canon, state ? state : "confirmed");
        st = g_batch_commit(&b, dev, 1, err, errsz);
    }
    if (dn)
        librdf_free_node(dn);
    g_batch_close(&b);
    pthread_mutex_unlock(&g->mu);
    return st;
}

/* ---- model card ---- */

typedef struct card_facts {
    char iri[IRI_CAP];
    char sha[65];
    char version[32];
} card_facts_t;

static int hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return 1;
}

static void card_identity(jctx_t *c, json_t *card, card_facts_t *f)
{
    const char *fmt = jstr(c, card, "format", 1);
    if (fmt && strcmp(fmt, "mote-model-card/1"))
        jfail(c, "format", "must be \"mote-model-card/1\"");
    json_t *files = jget(c, card, "files", 1);
    json_t *tfl = json_is_object(files) ? json_object_get(files, "tflite") : NULL;
    const char *sha = json_is_object(tfl) ? json_string_value(json_object_get(tfl, "sha256")) : NULL;
    if (files && !hex64(sha))
        jfail(c, "files.tflite.sha256", "must be 64 lower-case hex digits");
    else if (sha) {
        snprintf(f->sha, sizeof f->sha, "%s", sha);
        snprintf(f->iri, sizeof f->iri, "urn:sha256:%s", sha);
    }
    jversion(c, card, "version", f->version, sizeof f->version);
}

static void card_text(jctx_t *c, g_batch_t *b, const card_facts_t *f, json_t *card)
{
    const char *name = jstr(c, card, "name", 1), *task = jstr(c, card, "task", 1);
    const char *created = jstr(c, card, "created", 0), *desc = jstr(c, card, "description", 0);
    g_add_iri(b, f->iri, G_RDF "type", G_NNET "NeuralNetwork");
    g_add_iri(b, f->iri, G_RDF "type", G_MOTE "ModelVersion");
    if (name)
        g_add_str(b, f->iri, G_SCHEMA "name", name);
    g_add_str(b, f->iri, G_SCHEMA "version", f->version);
    g_add_str(b, f->iri, G_MOTE "version", f->version);
    g_add_int(b, f->iri, G_MOTE "versionNumber", (long long)mote_graph_version_number(f->version));
    g_add_str(b, f->iri, G_SCHEMA "identifier", f->sha);
    g_add_str(b, f->iri, G_MOTE "sha256", f->sha);
    if (created)
        g_add_str(b, f->iri, G_SCHEMA "dateCreated", created);
    if (desc)
        g_add_str(b, f->iri, G_SCHEMA "description", desc);
    if (task && strcmp(task, "classification") && strcmp(task, "anomaly_detection"))
        jfail(c, "task", "must be \"classification\" or \"anomaly_detection\"");
    else if (task) {
        g_add_str(b, f->iri, G_MOTE "task", task);
        g_add_iri(b, f->iri, G_NNET "hasCategory",
                  !strcmp(task, "classification") ? G_NNET "Classification" : G_NNET "Unsupervised");
    }
}

static void card_input(jctx_t *c, g_batch_t *b, const card_facts_t *f, json_t *card)
{
    json_t *in = jget(c, card, "input", 1);
    if (in && !json_is_object(in)) {
        jfail(c, "input", "must be an object");
        return;
    }
    jctx_t sub = {"card: input", c->err, c->errsz, c->bad};
    const char *sensor = jstr(&sub, in, "sensor", 0);
    double rate = in ? jnum(&sub, in, "sample_rate_hz", 1) : 0;
    long long win = in ? jcount(&sub, in, "window") : 0;
    const char *feat = jstr(&sub, in, "features", 0);
    if (!sub.bad && sensor && !word_ok(sensor, 32))
        jfail(&sub, "sensor", "must be a word such as \"accelerometer\"");
    if (sub.bad) {
        c->bad = 1;
        return;
    }
    char node[IRI_CAP + 16], type[32];
    snprintf(node, sizeof node, "%s#input", f->iri);
    g_add_iri(b, f->iri, G_SSN "hasInput", node);
    g_add_iri(b, node, G_RDF "type", G_NNET "NetworkInput");
    g_add_dbl(b, f->iri, G_MOTE "sampleRateHz", rate);
    g_add_int(b, f->iri, G_MOTE "windowSamples", win);
    if (feat)
        g_add_str(b, f->iri, G_MOTE "features", feat);
    if (!sensor)
        return;
    lower(type, sizeof type, sensor);
    g_add_str(b, f->iri, G_MOTE "sensorType", type);
    const char *cls = sensor_class(type);
    char snode[IRI_CAP + 16], clsiri[96];
    snprintf(snode, sizeof snode, "%s#sensor", f->iri);
    snprintf(clsiri, sizeof clsiri, G_SOSAX "%s", cls ? cls : "");
    g_add_iri(b, snode, G_RDF "type", G_SOSA "Sensor");
    if (cls)
        g_add_iri(b, snode, G_RDF "type", clsiri);
    g_add_iri(b, snode, G_SSNX "provideInput", node);
}

static void card_metrics(jctx_t *c, g_batch_t *b, const card_facts_t *f, json_t *card)
{
    json_t *m = jget(c, card, "metrics", 1), *v;
    const char *k;
    if (m && !json_is_object(m)) {
        jfail(c, "metrics", "must be an object of numbers");
        return;
    }
    json_object_foreach(m, k, v) {
        char node[IRI_CAP + 80];
        if (!json_is_number(v) || !word_ok(k, 64)) {
            jfail(c, "metrics", "must map metric names to numbers");
            return;
        }
        snprintf(node, sizeof node, "%s#metric-%s", f->iri, k);
        g_add_iri(b, f->iri, G_NNET "hasMetric", node);
        g_add_iri(b, node, G_RDF "type", G_NNET "Metric");
        if (!strcmp(k, "accuracy"))
            g_add_iri(b, node, G_RDF "type", G_NNET "Top_1_accuracy");
        g_add_str(b, node, G_RDFS "label", k);
        g_add_dbl(b, node, G_NNET "hasMetricValue", json_number_value(v));
        if (!strcmp(k, "accuracy"))
            g_add_dbl(b, f->iri, G_MOTE "accuracy", json_number_value(v));
    }
}

static void card_requirements(jctx_t *c, g_batch_t *b, const card_facts_t *f, json_t *card)
{
    long long macs = jcount(c, card, "macs"), flash = jcount(c, card, "flash_bytes");
    long long arena = jcount(c, card, "arena_bytes");
    g_add_int(b, f->iri, G_NNET "hasMultiplyAccumulateOps", macs);
    g_add_int(b, f->iri, G_MOTE "flashBytes", flash);
    g_add_int(b, f->iri, G_MOTE "arenaBytes", arena);
    static const char *const kind[2][2] = {{"flash", G_S3NX "Flash"}, {"ram", G_S3NX "RAM"}};
    for (int i = 0; i < 2; i++) {
        char pf[IRI_CAP + 32], cond[IRI_CAP + 32];
        snprintf(pf, sizeof pf, "%s#procedureFeature_%s", f->iri, kind[i][0]);
        snprintf(cond, sizeof cond, "%s#condition_%s", f->iri, kind[i][0]);
        g_add_iri(b, f->iri, G_S3N "hasProcedureFeature", pf);
        g_add_iri(b, pf, G_SSNS "inCondition", cond);
        memory_kb(b, cond, kind[i][1], G_SCHEMA "minValue", i ? arena : flash);
    }
    json_t *ops = jops(c, card, "required_operators"), *v;
    size_t i;
    json_array_foreach(ops, i, v) {
        g_add_str(b, f->iri, G_MOTE "requiredOperator", json_string_value(v));
    }
    g_add_int(b, f->iri, G_MOTE "operatorCount", ops ? (long long)json_array_size(ops) : 0);
    char rv[32];
    if (jversion(c, card, "runtime_version", rv, sizeof rv)) {
        g_add_str(b, f->iri, G_MOTE "runtimeVersion", rv);
        g_add_int(b, f->iri, G_MOTE "runtimeVersionNumber", (long long)mote_graph_version_number(rv));
    }
    const char *q = jstr(c, card, "quantization", 1);
    if (q && !strcmp(q, "int8"))
        g_add_iri(b, f->iri, G_MOTE "quantization", G_NNET "Int8");
    else if (q)
        g_add_str(b, f->iri, G_MOTE "quantization", q);
}

/* The capability keys this model runs with (see fit_class); none
 * without an input sensor, as fit.rq needs one. */
static void card_fit_keys(g_batch_t *b, const card_facts_t *f, json_t *card)
{
    const char *sensor = json_string_value(json_object_get(json_object_get(card, "input"), "sensor"));
    char type[32];
    if (!sensor)
        return;
    lower(type, sizeof type, sensor);
    int from = fit_class((long long)json_integer_value(json_object_get(card, "arena_bytes"))) - 2;
    for (int cls = from < FIT_CLASS_MIN ? FIT_CLASS_MIN : from; cls <= FIT_CLASS_MAX; cls++)
        fit_key(b, f->iri, G_MOTE "requirementKey", type, cls);
}

static void card_dsp(jctx_t *c, g_batch_t *b, const card_facts_t *f, json_t *card)
{
    json_t *files = json_object_get(card, "files");
    json_t *d = json_object_get(files, "dspcfg");
    if (!d || json_is_null(d))
        return;
    const char *name = json_string_value(json_object_get(d, "name"));
    const char *sha = json_string_value(json_object_get(d, "sha256"));
    json_t *bytes = json_object_get(d, "bytes");
    if (!json_is_object(d) || !name || !hex64(sha) || !json_is_integer(bytes) || json_integer_value(bytes) < 0) {
        jfail(c, "files.dspcfg", "must be null or {\"name\", \"sha256\" (64 hex), \"bytes\"}");
        return;
    }
    char node[IRI_CAP + 16];
    snprintf(node, sizeof node, "%s#dsp", f->iri);
    g_add_iri(b, f->iri, G_MOTE "dspConfig", node);
    g_add_iri(b, node, G_RDF "type", G_MOTE "DspConfig");
    g_add_str(b, node, G_SCHEMA "name", name);
    g_add_str(b, node, G_MOTE "sha256", sha);
    g_add_int(b, node, G_MOTE "bytes", (long long)json_integer_value(bytes));
}

mote_status_t mote_graph_add_card(mote_graph_t *g, const void *json, size_t len, char *err, size_t errsz)
{
    if (!g || (!json && len))
        return g_err(err, errsz, MOTE_ERR_ARG, "card: NULL argument");
    json_error_t je;
    json_t *card = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!card || !json_is_object(card)) {
        json_decref(card);
        return g_err(err, errsz, MOTE_ERR_FORMAT, "card: not a JSON object (%s)", card ? "other type" : je.text);
    }
    jctx_t c = {"card", err, errsz, 0};
    card_facts_t f = {{0}, {0}, {0}};
    pthread_mutex_lock(&g->mu);
    g_batch_t b;
    mote_status_t st = g_batch_open(&b, g) ? g_err(err, errsz, MOTE_ERR_NOMEM, "card: out of memory") : MOTE_OK;
    if (!st) {
        card_identity(&c, card, &f);
        if (!c.bad) {
            card_text(&c, &b, &f, card);
            card_input(&c, &b, &f, card);
            card_metrics(&c, &b, &f, card);
            card_requirements(&c, &b, &f, card);
            card_dsp(&c, &b, &f, card);
        }
        if (!c.bad)
            card_fit_keys(&b, &f, card);
        st = c.bad ? MOTE_ERR_FORMAT : g_batch_commit(&b, f.iri, 0, err, errsz);
    }
    g_batch_close(&b);
    pthread_mutex_unlock(&g->mu);
    json_decref(card);
    return st;
}
