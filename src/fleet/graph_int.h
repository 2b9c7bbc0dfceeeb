/* mote fleet graph: state and helpers shared by the graph_*.c files only. */
#ifndef MOTE_GRAPH_INT_H
#define MOTE_GRAPH_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <librdf.h>
#include "graph.h"

/* Namespaces the ingesters write. */
#define G_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define G_RDFS "http://www.w3.org/2000/01/rdf-schema#"
#define G_XSD "http://www.w3.org/2001/XMLSchema#"
#define G_NNET "https://w3id.org/tinyml-schema/neural-network-schema#"
#define G_S3N "http://w3id.org/s3n/"
#define G_S3NX "https://w3id.org/tinyml-schema/neural-network-schema/s3n_extend/"
#define G_SOSAX "https://w3id.org/tinyml-schema/neural-network-schema/sosa_extend/"
#define G_SSNX "https://w3id.org/tinyml-schema/neural-network-schema/ssn_extend/"
#define G_SOSA "http://www.w3.org/ns/sosa/"
#define G_SSN "http://www.w3.org/ns/ssn/"
#define G_SSNS "http://www.w3.org/ns/ssn/systems/"
#define G_SCHEMA "https://schema.org/"
#define G_TD "https://www.w3.org/2019/wot/td#"
#define G_OM "http://www.ontology-of-units-of-measure.org/resource/om-2/"
#define G_MOTE MOTE_GRAPH_NS

struct mote_graph {
    pthread_mutex_t mu;        /* every public call holds it */
    librdf_world *world;
    librdf_storage *storage;
    librdf_model *model;
    sqlite3 *fts;              /* full-text index beside the graph */
    char log[MOTE_GRAPH_ERR_LEN]; /* first Redland/Rasqal error since g_log_reset */
    int logged;
    char snapshot[1024];       /* N-Triples file of a persistent graph, "" in memory */
};

/* A scratch model that ingesters fill before anything touches the graph. */
typedef struct g_batch {
    mote_graph_t *g;
    librdf_storage *storage;
    librdf_model *model;
    int failed;                /* a node or statement could not be made */
} g_batch_t;

/* printf into err (NULL-safe); returns st. */
mote_status_t g_err(char *err, size_t errsz, mote_status_t st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

void g_log_reset(mote_graph_t *g);

mote_status_t g_batch_open(g_batch_t *b, mote_graph_t *g);
void g_batch_close(g_batch_t *b);
/* Add (s, p, o) to the batch: s and p IRIs; o an IRI, a plain literal, or a
 * typed literal. The g_add_* forms build nodes themselves. */
void g_add_iri(g_batch_t *b, const char *s, const char *p, const char *o);
void g_add_str(g_batch_t *b, const char *s, const char *p, const char *o);
void g_add_typed(g_batch_t *b, const char *s, const char *p, const char *lex, const char *dtype);
void g_add_int(g_batch_t *b, const char *s, const char *p, long long v);
void g_add_dbl(g_batch_t *b, const char *s, const char *p, double v);
void g_add_bool(g_batch_t *b, const char *s, const char *p, int v);

/* Add the batch to the graph and index its text. With `root` (an IRI),
 * first remove what an earlier ingestion of the same resource wrote: the
 * statements of `root` and of the IRIs "root#..." reachable from it, over
 * the predicates the ingesters write (`deployment` 0), or only the
 * deployment statements of `root` (`deployment` 1). Hashes storage has no
 * cheap named graphs (contexts='yes' made loads and queries 7x slower
 * here), hence this shape-aware removal. Call with g->mu held. */
mote_status_t g_batch_commit(g_batch_t *b, const char *root, int deployment, char *err, size_t errsz);
void g_remove_tree(mote_graph_t *g, const char *root, int deployment);

/* Full-text index (graph_search.c): add the batch's literals of indexed
 * properties under `ctx`, after dropping what `ctx` had ("" = none). */
mote_status_t g_fts_open(mote_graph_t *g, const char *dir, char *err, size_t errsz);
void g_fts_index(mote_graph_t *g, librdf_model *m, const char *ctx);
void g_fts_drop(mote_graph_t *g, const char *ctx);

/* A Rasqal term (constant or value) as a new Redland node; NULL for a
 * variable or when out of memory (graph_query.c). */
librdf_node *g_literal_node(mote_graph_t *g, rasqal_literal *l);

/* Make Rasqal match query patterns through graph_source.c (fully bound
 * patterns by index lookup, FROM clauses dropped). 0 on success. */
int g_source_install(mote_graph_t *g);

/* (s, p, o) present in the main graph (index lookup, not a scan). */
int g_has(mote_graph_t *g, librdf_node *s, librdf_node *p, librdf_node *o);

/* First literal / integer value of (s, p) in the main graph. */
int g_get_str(mote_graph_t *g, librdf_node *s, const char *p, char *buf, size_t cap);
int g_get_num(mote_graph_t *g, librdf_node *s, const char *p, double *v);

#endif
