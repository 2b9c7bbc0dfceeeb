/* mote fleet graph: can a model version run on a device, and if not, why.
 *
 * Reads the facts straight from the store (no SPARQL: a campaign checks
 * every target device, so this must stay a handful of index lookups) and
 * states each failed requirement as a sentence the campaign can show. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph_int.h"

typedef struct reasons {
    char (*r)[MOTE_GRAPH_REASON_LEN];
    size_t max, n;
} reasons_t;

static void reason(reasons_t *rs, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void reason(reasons_t *rs, const char *fmt, ...)
{
    if (rs->n < rs->max) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(rs->r[rs->n], MOTE_GRAPH_REASON_LEN, fmt, ap);
        va_end(ap);
    }
    rs->n++;
}

static librdf_node *uri_node(mote_graph_t *g, const char *s)
{
    return librdf_new_node_from_uri_string(g->world, (const unsigned char *)s);
}

/* Does (s, p, "lit") hold? */
static int has_literal(mote_graph_t *g, librdf_node *s, const char *p, const char *lit)
{
    librdf_node *pn = uri_node(g, p), *o = librdf_new_node_from_literal(g->world, (const unsigned char *)lit, NULL, 0);
    int yes = pn && o && g_has(g, s, pn, o);
    if (pn)
        librdf_free_node(pn);
    if (o)
        librdf_free_node(o);
    return yes;
}

/* "NAME@VERSION" -> the model version with that schema:name and mote:version. */
static librdf_node *find_model(mote_graph_t *g, const char *spec)
{
    if (!strncmp(spec, "urn:", 4) || strstr(spec, "://"))
        return uri_node(g, spec);
    const char *at = strrchr(spec, '@');
    if (!at || at == spec)
        return NULL;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(at - spec) < 127 ? (int)(at - spec) : 127, spec);
    librdf_node *pn = uri_node(g, G_SCHEMA "name");
    librdf_node *lit = librdf_new_node_from_literal(g->world, (const unsigned char *)name, NULL, 0);
    librdf_iterator *it = pn && lit ? librdf_model_get_sources(g->model, pn, lit) : NULL;
    librdf_node *found = NULL;
    /* the graph spells versions "a.b.c" (docs/graph.md): "1.1" and 1001000 name "1.1.0" */
    int64_t vn = mote_graph_version_number(at + 1);
    char ver[40];
    snprintf(ver, sizeof ver, "%lld.%lld.%lld", (long long)(vn / 1000000), (long long)(vn / 1000 % 1000),
             (long long)(vn % 1000));
    for (; it && vn >= 0 && !librdf_iterator_end(it) && !found; librdf_iterator_next(it)) {
        librdf_node *m = librdf_iterator_get_object(it);
        if (has_literal(g, m, G_MOTE "version", ver))
            found = librdf_new_node_from_node(m);
    }
    if (it)
        librdf_free_iterator(it);
    if (pn)
        librdf_free_node(pn);
    if (lit)
        librdf_free_node(lit);
    return found;
}

static void check_memory(mote_graph_t *g, librdf_node *d, librdf_node *m, reasons_t *rs)
{
    static const char *const what[2][3] = {{"arenaBytes", "ramBytes", "arena"}, {"flashBytes", "flashBytes", "flash"}};
    for (int i = 0; i < 2; i++) {
        char mp[96], dp[96];
        double need, have;
        snprintf(mp, sizeof mp, G_MOTE "%s", what[i][0]);
        snprintf(dp, sizeof dp, G_MOTE "%s", what[i][1]);
        if (!g_get_num(g, m, mp, &need))
            reason(rs, "model states no %s size (mote:%s)", what[i][2], what[i][0]);
        else if (!g_get_num(g, d, dp, &have))
            reason(rs, "device states no %s size (mote:%s)", what[i][2], what[i][1]);
        else if (need > have)
            reason(rs, "needs %.0f B %s, device has %.0f B", need, what[i][2], have);
    }
}

static void check_runtime(mote_graph_t *g, librdf_node *d, librdf_node *m, reasons_t *rs)
{
    double need, have;
    char nv[32] = "?", hv[32] = "?";
    g_get_str(g, m, G_MOTE "runtimeVersion", nv, sizeof nv);
    g_get_str(g, d, G_MOTE "runtimeVersion", hv, sizeof hv);
    if (g_get_num(g, m, G_MOTE "runtimeVersionNumber", &need) &&
        (!g_get_num(g, d, G_MOTE "runtimeVersionNumber", &have) || need > have))
        reason(rs, "needs runtime %s or newer, device has %s", nv, hv);
}

static void check_operators(mote_graph_t *g, librdf_node *d, librdf_node *m, reasons_t *rs)
{
    librdf_node *pn = uri_node(g, G_MOTE "requiredOperator");
    librdf_iterator *it = pn ? librdf_model_get_targets(g->model, m, pn) : NULL;
    char rt[32] = "?";
    g_get_str(g, d, G_MOTE "runtimeVersion", rt, sizeof rt);
    for (; it && !librdf_iterator_end(it); librdf_iterator_next(it)) {
        librdf_node *op = librdf_iterator_get_object(it);
        const char *name = librdf_node_is_literal(op) ? (const char *)librdf_node_get_literal_value(op) : NULL;
        if (name && !has_literal(g, d, G_MOTE "supportsOperator", name))
            reason(rs, "needs operator %s, not in the device's runtime %s", name, rt);
    }
    if (it)
        librdf_free_iterator(it);
    if (pn)
        librdf_free_node(pn);
}

/* Highest sample rate of the device's sensors of `type`, 0 when none. */
static double sensor_rate(mote_graph_t *g, librdf_node *d, const char *type)
{
    librdf_node *pn = uri_node(g, G_SSN "hasSubSystem");
    librdf_iterator *it = pn ? librdf_model_get_targets(g->model, d, pn) : NULL;
    double best = 0, r;
    for (; it && !librdf_iterator_end(it); librdf_iterator_next(it)) {
        librdf_node *s = librdf_iterator_get_object(it);
        if (has_literal(g, s, G_MOTE "sensorType", type) && g_get_num(g, s, G_MOTE "sampleRateHz", &r) && r > best)
            best = r;
    }
    if (it)
        librdf_free_iterator(it);
    if (pn)
        librdf_free_node(pn);
    return best;
}

static void check_sensor(mote_graph_t *g, librdf_node *d, librdf_node *m, reasons_t *rs)
{
    char type[32];
    double need;
    if (!g_get_str(g, m, G_MOTE "sensorType", type, sizeof type))
        return;
    if (!has_literal(g, d, G_MOTE "hasSensorType", type)) {
        reason(rs, "needs a sensor of type %s, device has none", type);
        return;
    }
    double have = sensor_rate(g, d, type);
    if (g_get_num(g, m, G_MOTE "sampleRateHz", &need) && have < need)
        reason(rs, "needs %s at %.0f Hz, device's runs at %.0f Hz", type, need, have);
}

mote_status_t mote_graph_check(mote_graph_t *g, const char *dev_id, const char *model,
                               char reasons[][MOTE_GRAPH_REASON_LEN], size_t max, size_t *n, char *err,
                               size_t errsz)
{
    if (!g || !dev_id || !model || !n || (!reasons && max))
        return g_err(err, errsz, MOTE_ERR_ARG, "check: NULL argument");
    *n = 0;
    char dev[128], probe[64];
    snprintf(dev, sizeof dev, "urn:mote:dev:%s", dev_id);
    pthread_mutex_lock(&g->mu);
    mote_status_t st = MOTE_OK;
    librdf_node *d = uri_node(g, dev), *m = find_model(g, model);
    if (!d || !g_get_str(g, d, G_MOTE "deviceId", probe, sizeof probe))
        st = g_err(err, errsz, MOTE_ERR_NOT_FOUND, "check: device '%s' is not in the graph", dev_id);
    else if (!m || !g_get_str(g, m, G_SCHEMA "name", probe, sizeof probe))
        st = g_err(err, errsz, MOTE_ERR_NOT_FOUND, "check: model '%s' is not in the graph", model);
    else {
        reasons_t rs = {reasons, max, 0};
        check_memory(g, d, m, &rs);
        check_runtime(g, d, m, &rs);
        check_operators(g, d, m, &rs);
        check_sensor(g, d, m, &rs);
        *n = rs.n;
    }
    if (d)
        librdf_free_node(d);
    if (m)
        librdf_free_node(m);
    pthread_mutex_unlock(&g->mu);
    return st;
}

mote_status_t mote_graph_models(mote_graph_t *g, mote_graph_model_t *out, size_t max, size_t *n, char *err,
                                size_t errsz)
{
    if (!g || !n || (!out && max))
        return g_err(err, errsz, MOTE_ERR_ARG, "models: NULL argument");
    *n = 0;
    pthread_mutex_lock(&g->mu);
    librdf_node *pn = uri_node(g, G_RDF "type"), *cls = uri_node(g, G_MOTE "ModelVersion");
    librdf_iterator *it = pn && cls ? librdf_model_get_sources(g->model, pn, cls) : NULL;
    for (; it && !librdf_iterator_end(it) && *n < max; librdf_iterator_next(it)) {
        librdf_node *m = librdf_iterator_get_object(it);
        mote_graph_model_t *o = &out[*n];
        if (!librdf_node_is_resource(m))
            continue;
        snprintf(o->iri, sizeof o->iri, "%s", (const char *)librdf_uri_as_string(librdf_node_get_uri(m)));
        if (!g_get_str(g, m, G_SCHEMA "name", o->name, sizeof o->name))
            o->name[0] = 0;
        if (!g_get_str(g, m, G_MOTE "version", o->version, sizeof o->version))
            o->version[0] = 0;
        (*n)++;
    }
    if (it)
        librdf_free_iterator(it);
    if (pn)
        librdf_free_node(pn);
    if (cls)
        librdf_free_node(cls);
    pthread_mutex_unlock(&g->mu);
    return MOTE_OK;
}
