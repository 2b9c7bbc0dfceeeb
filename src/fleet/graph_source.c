/* mote fleet graph: the triples source Rasqal matches query patterns against.
 *
 * Redland's own source hands every pattern to librdf_model_find_statements,
 * and its hashes store answers a pattern whose three terms are all bound
 * (once the join has bound its variables) by scanning the whole store:
 * queries such as SeLoC-ML's (`?system a sosa_extend:Accelerometer` after
 * ?system is bound) took seconds on 4,000 triples and grew with the graph.
 * This source answers such a pattern with the (subject, predicate) index
 * instead and leaves every other shape to librdf_model_find_statements,
 * which picks the (s p ?), (? p o), (s ? o) or (? p ?) index.
 *
 * Rasqal calls it through the world's triples source factory, installed
 * per graph by g_source_install (each graph has its own Redland world). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include "graph_int.h"

typedef struct src {
    mote_graph_t *g;
} src_t;

/* One pattern's matches: a Redland stream, or for a fully bound pattern
 * the single statement when it is in the graph. */
typedef struct match {
    mote_graph_t *g;
    librdf_statement *query;   /* the pattern, kept while its stream lives */
    librdf_stream *stream;
    librdf_statement *one;
    int done;
} match_t;

static char *rasqal_copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = rasqal_alloc_memory(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

/* A Redland node as a new Rasqal literal (NULL when out of memory). */
static rasqal_literal *node_literal(mote_graph_t *g, librdf_node *n)
{
    rasqal_world *rw = librdf_world_get_rasqal(g->world);
    if (librdf_node_is_resource(n)) {
        raptor_uri *u = raptor_uri_copy(librdf_node_get_uri(n));
        return u ? rasqal_new_uri_literal(rw, u) : NULL;
    }
    if (librdf_node_is_blank(n)) {
        char *id = rasqal_copy((const char *)librdf_node_get_blank_identifier(n));
        return id ? rasqal_new_simple_literal(rw, RASQAL_LITERAL_BLANK, (unsigned char *)id) : NULL;
    }
    const char *lang = librdf_node_get_literal_value_language(n);
    librdf_uri *dt = librdf_node_get_literal_value_datatype_uri(n);
    char *s = rasqal_copy((const char *)librdf_node_get_literal_value(n));
    char *l = lang ? rasqal_copy(lang) : NULL;
    raptor_uri *d = dt ? raptor_uri_copy(dt) : NULL;
    if (!s || (lang && !l) || (dt && !d)) {
        rasqal_free_memory(s);
        rasqal_free_memory(l);
        if (d)
            raptor_free_uri(d);
        return NULL;
    }
    return rasqal_new_string_literal(rw, (unsigned char *)s, l, d, NULL);
}

/* Set `v` from `n` (the literal is owned by the variable afterwards). */
static int bind_var(mote_graph_t *g, rasqal_variable *v, librdf_node *n)
{
    rasqal_literal *l = node_literal(g, n);
    rasqal_variable_set_value(v, l);
    return l != NULL;
}

/* A pattern term as a node: its constant, the value its variable already
 * has, or NULL for an unbound variable. *var gets the variable, if any;
 * *bad is set when a value has no RDF form (then nothing can match). */
static librdf_node *term_node(mote_graph_t *g, rasqal_literal *t, rasqal_variable **var, int *bad)
{
    *var = rasqal_literal_as_variable(t);
    rasqal_literal *v = *var ? (*var)->value : t;
    librdf_node *n = v ? g_literal_node(g, v) : NULL;
    if (v && !n)
        *bad = 1;
    return n;
}

static librdf_statement *current(match_t *mc)
{
    if (mc->one)
        return mc->done ? NULL : mc->one;
    return mc->stream ? librdf_stream_get_object(mc->stream) : NULL;
}

/* Bind the pattern's own variables from the current statement. A variable
 * that occurs twice in the pattern (?x ?p ?x) must see equal terms. */
static rasqal_triple_parts bind_match(rasqal_triples_match *rtm, void *ud, rasqal_variable *b[4],
                                      rasqal_triple_parts parts)
{
    (void)ud;
    match_t *mc = rtm->user_data;
    librdf_statement *st = current(mc);
    if (!st)
        return (rasqal_triple_parts)0;
    librdf_node *n[3] = {librdf_statement_get_subject(st), librdf_statement_get_predicate(st),
                         librdf_statement_get_object(st)};
    static const rasqal_triple_parts bit[3] = {RASQAL_TRIPLE_SUBJECT, RASQAL_TRIPLE_PREDICATE, RASQAL_TRIPLE_OBJECT};
    int r = 0;
    for (int i = 0; i < 3; i++) {
        int first = 1;
        for (int k = 0; k < i && b[i]; k++)
            if (b[k] == b[i]) {
                if (!librdf_node_equals(n[k], n[i]))
                    return (rasqal_triple_parts)0;
                first = 0;
            }
        if (b[i] && (parts & bit[i]) && first && bind_var(mc->g, b[i], n[i]))
            r |= bit[i];
    }
    return (rasqal_triple_parts)r;
}

static void next_match(rasqal_triples_match *rtm, void *ud)
{
    (void)ud;
    match_t *mc = rtm->user_data;
    if (mc->one)
        mc->done = 1;
    else if (mc->stream)
        librdf_stream_next(mc->stream);
}

static int is_end(rasqal_triples_match *rtm, void *ud)
{
    (void)ud;
    match_t *mc = rtm->user_data;
    if (mc->one || mc->done)
        return mc->done;
    return !mc->stream || librdf_stream_end(mc->stream);
}

static void finish(rasqal_triples_match *rtm, void *ud)
{
    (void)ud;
    match_t *mc = rtm->user_data;
    if (!mc)
        return;
    if (mc->stream)
        librdf_free_stream(mc->stream);
    if (mc->query)
        librdf_free_statement(mc->query);
    if (mc->one)
        librdf_free_statement(mc->one);
    free(mc);
    rtm->user_data = NULL;
}

static void free_nodes(librdf_node *n[3])
{
    for (int i = 0; i < 3; i++)
        if (n[i])
            librdf_free_node(n[i]);
}

/* Start matching pattern `t`. Named graphs are not kept (the store has no
 * contexts), so a GRAPH pattern matches nothing. */
static int init_match(rasqal_triples_match *rtm, rasqal_triples_source *rts, void *ud, rasqal_triple_meta *m,
                      rasqal_triple *t)
{
    (void)rts;
    mote_graph_t *g = ((src_t *)ud)->g;
    match_t *mc = calloc(1, sizeof *mc);
    rtm->bind_match = bind_match;
    rtm->next_match = next_match;
    rtm->is_end = is_end;
    rtm->finish = finish;
    rtm->user_data = mc;
    if (!mc)
        return 1;
    mc->g = g;
    librdf_node *n[3];
    int bad = 0;
    n[0] = term_node(g, t->subject, &m->bindings[0], &bad);
    n[1] = term_node(g, t->predicate, &m->bindings[1], &bad);
    n[2] = term_node(g, t->object, &m->bindings[2], &bad);
    if (t->origin)
        m->bindings[3] = rasqal_literal_as_variable(t->origin);
    if (t->origin || bad) {
        mc->done = 1;
        free_nodes(n);
        return 0;
    }
    if (n[0] && n[1] && n[2]) {
        if (g_has(g, n[0], n[1], n[2]))
            mc->one = librdf_new_statement_from_nodes(g->world, n[0], n[1], n[2]); /* takes the nodes */
        else
            free_nodes(n);
        mc->done = !mc->one;
        return 0;
    }
    mc->query = librdf_new_statement_from_nodes(g->world, n[0], n[1], n[2]);
    mc->stream = mc->query ? librdf_model_find_statements(g->model, mc->query) : NULL;
    return mc->stream ? 0 : 1;
}

/* A pattern without variables. */
static int triple_present(rasqal_triples_source *rts, void *ud, rasqal_triple *t)
{
    (void)rts;
    mote_graph_t *g = ((src_t *)ud)->g;
    librdf_node *n[3] = {g_literal_node(g, t->subject), g_literal_node(g, t->predicate),
                         g_literal_node(g, t->object)};
    int yes = n[0] && n[1] && n[2] && !t->origin && g_has(g, n[0], n[1], n[2]);
    free_nodes(n);
    return yes;
}

static void free_source(void *ud)
{
    (void)ud;
}

/* FROM / FROM NAMED would make Rasqal fetch and parse outside data (files,
 * URLs named by whoever sends the query): they are dropped, and a query
 * sees the fleet graph only. */
static int new_source(rasqal_query *q, void *factory_ud, void *ud, rasqal_triples_source *rts)
{
    raptor_sequence *dg = rasqal_query_get_data_graph_sequence(q);
    while (dg && raptor_sequence_size(dg) > 0)
        rasqal_free_data_graph(raptor_sequence_pop(dg));
    ((src_t *)ud)->g = factory_ud;
    rts->version = 1;
    rts->init_triples_match = init_match;
    rts->triple_present = triple_present;
    rts->free_triples_source = free_source;
    return 0;
}

static int register_factory(rasqal_triples_source_factory *f)
{
    f->version = 1;
    f->user_data_size = sizeof(src_t);
    f->new_triples_source = new_source;
    return 0;
}

int g_source_install(mote_graph_t *g)
{
    return rasqal_set_triples_source_factory(librdf_world_get_rasqal(g->world), register_factory, g);
}
