/* mote fleet graph: removing what an earlier ingestion wrote (see g_batch_commit). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph_int.h"

/* Every predicate graph_ingest.c writes, except the deployment ones. */
static const char *const TREE_PREDICATES[] = {
    G_RDF "type", G_SSN "hasSubSystem", G_MOTE "deviceId", G_TD "title", G_TD "description",
    G_MOTE "deviceClass", G_MOTE "group", G_MOTE "ramBytes", G_MOTE "flashBytes", G_S3N "hasSystemCapability",
    G_SSNS "hasSystemProperty", G_SCHEMA "value", G_SCHEMA "unitCode", G_SCHEMA "minValue", G_MOTE "sensorType",
    G_MOTE "sampleRateHz", G_MOTE "quantity", G_MOTE "location", G_MOTE "hasSensorType", G_MOTE "runtimeVersion",
    G_MOTE "runtimeVersionNumber", G_MOTE "supportsOperator", G_MOTE "trainableHead", G_SCHEMA "name",
    G_SCHEMA "version", G_MOTE "version", G_MOTE "versionNumber", G_SCHEMA "identifier", G_MOTE "sha256",
    G_SCHEMA "dateCreated", G_SCHEMA "description", G_MOTE "task", G_NNET "hasCategory", G_SSN "hasInput",
    G_MOTE "windowSamples", G_MOTE "features", G_SSNX "provideInput", G_NNET "hasMetric", G_RDFS "label",
    G_NNET "hasMetricValue", G_MOTE "accuracy", G_NNET "hasMultiplyAccumulateOps", G_MOTE "arenaBytes",
    G_S3N "hasProcedureFeature", G_SSNS "inCondition", G_MOTE "requiredOperator", G_MOTE "operatorCount",
    G_MOTE "quantization", G_MOTE "dspConfig", G_MOTE "bytes", G_MOTE "capabilityKey",
    G_MOTE "requirementKey"};

static const char *const DEPLOYMENT_PREDICATES[] = {G_MOTE "installedModelName", G_MOTE "installedVersion",
                                                    G_MOTE "installedVersionNumber", G_MOTE "deploymentState"};

enum { MAX_SUBJECTS = 64 };

typedef struct tree {
    char subj[MAX_SUBJECTS][256];
    int n;
    const char *root;
} tree_t;

static void enqueue(tree_t *t, librdf_node *o)
{
    if (!o || !librdf_node_is_resource(o) || t->n == MAX_SUBJECTS)
        return;
    const char *u = (const char *)librdf_uri_as_string(librdf_node_get_uri(o));
    size_t rl = strlen(t->root);
    if (strncmp(u, t->root, rl) || u[rl] != '#' || strlen(u) >= 256)
        return;
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->subj[i], u))
            return;
    snprintf(t->subj[t->n++], 256, "%s", u);
}

/* Move the (s, p, *) statements into `doomed`, queueing "root#..." objects. */
static void collect(mote_graph_t *g, tree_t *t, librdf_node *s, const char *p, librdf_model *doomed)
{
    librdf_node *pn = librdf_new_node_from_uri_string(g->world, (const unsigned char *)p);
    librdf_iterator *it = pn ? librdf_model_get_targets(g->model, s, pn) : NULL;
    for (; it && !librdf_iterator_end(it); librdf_iterator_next(it)) {
        librdf_node *o = librdf_iterator_get_object(it);
        enqueue(t, o);
        librdf_model_add(doomed, librdf_new_node_from_node(s), librdf_new_node_from_node(pn),
                         librdf_new_node_from_node(o));
    }
    if (it)
        librdf_free_iterator(it);
    if (pn)
        librdf_free_node(pn);
}

static int exists(mote_graph_t *g, librdf_node *s, const char *p)
{
    librdf_node *pn = librdf_new_node_from_uri_string(g->world, (const unsigned char *)p);
    librdf_node *t = pn ? librdf_model_get_target(g->model, s, pn) : NULL;
    if (pn)
        librdf_free_node(pn);
    if (t)
        librdf_free_node(t);
    return t != NULL;
}

void g_remove_tree(mote_graph_t *g, const char *root, int deployment)
{
    g_batch_t doomed;
    tree_t *t = calloc(1, sizeof *t);
    if (!t || g_batch_open(&doomed, g)) {
        free(t);
        return;
    }
    t->root = root;
    snprintf(t->subj[t->n++], 256, "%s", root);
    snprintf(t->subj[t->n++], 256, "%s#sensor", root); /* a model's sensor points at the model, not from it */
    /* first ingestion: nothing to remove, skip the lookups */
    librdf_node *r = librdf_new_node_from_uri_string(g->world, (const unsigned char *)root);
    int again = r && exists(g, r, deployment ? G_MOTE "installedModelName" : G_RDF "type");
    if (r)
        librdf_free_node(r);
    for (int i = 0; again && i < t->n; i++) {
        librdf_node *s = librdf_new_node_from_uri_string(g->world, (const unsigned char *)t->subj[i]);
        size_t np = deployment ? 4 : sizeof TREE_PREDICATES / sizeof TREE_PREDICATES[0];
        for (size_t k = 0; s && k < np; k++)
            collect(g, t, s, deployment ? DEPLOYMENT_PREDICATES[k] : TREE_PREDICATES[k], doomed.model);
        if (s)
            librdf_free_node(s);
        if (deployment)
            break;
    }
    librdf_stream *st = librdf_model_as_stream(doomed.model);
    for (; st && !librdf_stream_end(st); librdf_stream_next(st))
        librdf_model_remove_statement(g->model, librdf_stream_get_object(st));
    if (st)
        librdf_free_stream(st);
    g_batch_close(&doomed);
    free(t);
}
