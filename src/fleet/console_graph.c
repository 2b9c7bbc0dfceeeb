/* GET /api/compat?model=NAME@VERSION (console.h): which devices of the
 * knowledge graph can run a model, with the graph's reasons. The model
 * catalogue and the campaign form show it before a rollout. */
#define _POSIX_C_SOURCE 200809L
#include "console_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"

enum { MAX_DEVICES = 2000, MAX_REASONS = 8 };

static const char DEVICES_QUERY[] = "SELECT ?id WHERE { ?d <" MOTE_GRAPH_NS "deviceId> ?id } ORDER BY ?id LIMIT 2000";

/* The device ids the graph knows, as a JSON array of strings. */
static json_t *graph_devices(mote_graph_t *g, char *err, size_t errsz)
{
    char *out = NULL;
    size_t len = 0;
    if (mote_graph_query(g, DEVICES_QUERY, MOTE_GRAPH_JSON, &out, &len, err, errsz) != MOTE_OK)
        return NULL;
    json_t *r = json_loadb(out, len, 0, NULL);
    free(out);
    json_t *ids = json_array(), *b;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(r, "results"), "bindings"), i, b)
    {
        const char *id = json_string_value(json_object_get(json_object_get(b, "id"), "value"));
        if (id)
            json_array_append_new(ids, json_string(id));
    }
    json_decref(r);
    return ids;
}

/* {"id", "compatible", "reasons"} for one device, NULL when the graph
 * cannot tell (unknown model: the caller answers 404). */
static json_t *device_verdict(mote_graph_t *g, const char *id, const char *model, mote_status_t *st)
{
    char reasons[MAX_REASONS][MOTE_GRAPH_REASON_LEN], err[MOTE_GRAPH_ERR_LEN];
    size_t n = 0;
    *st = mote_graph_check(g, id, model, reasons, MAX_REASONS, &n, err, sizeof err);
    if (*st != MOTE_OK)
        return NULL;
    json_t *why = json_array();
    for (size_t k = 0; k < n && k < MAX_REASONS; k++)
        json_array_append_new(why, json_string(reasons[k]));
    if (n > MAX_REASONS)
        json_array_append_new(why, json_string("(more reasons)"));
    return json_pack("{s:s, s:b, s:o}", "id", id, "compatible", n == 0, "reasons", why);
}

static void reply(mote_http_resp_t *resp, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        mote_http_json(resp, status, s);
    else
        mote_http_error(resp, 500, "out of memory");
    free(s);
    json_decref(o);
}

void console_on_compat(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_console_t *c = user;
    char model[160], err[MOTE_GRAPH_ERR_LEN];
    if (!c->graph) {
        mote_http_error(resp, 503, "this moted has no knowledge graph (--graph)");
        return;
    }
    if (mote_http_query_get(req->query, "model", model, sizeof model) != 1 || !strchr(model, '@')) {
        mote_http_error(resp, 400, "want ?model=NAME@VERSION (the model card's version)");
        return;
    }
    json_t *ids = graph_devices(c->graph, err, sizeof err);
    if (!ids) {
        mote_http_error(resp, 500, err);
        return;
    }
    json_t *list = json_array(), *id;
    size_t i;
    mote_status_t st = MOTE_OK;
    json_array_foreach(ids, i, id)
    {
        json_t *v = device_verdict(c->graph, json_string_value(id), model, &st);
        if (!v && st == MOTE_ERR_NOT_FOUND && i == 0)
            break; /* the first device known, so the model is not */
        if (v)
            json_array_append_new(list, v);
    }
    json_decref(ids);
    if (!json_array_size(list) && st == MOTE_ERR_NOT_FOUND) {
        json_decref(list);
        mote_http_error(resp, 404, "the knowledge graph does not know this model (NAME@VERSION of its card)");
        return;
    }
    reply(resp, 200, json_pack("{s:s, s:o}", "model", model, "devices", list));
}
