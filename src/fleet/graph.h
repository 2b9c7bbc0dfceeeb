/* mote fleet: knowledge graph of models and devices (Redland + Rasqal).
 *
 * One RDF graph holds the fleet's devices (from their Thing Descriptions),
 * the model versions (from the pipeline's model cards), what each device
 * runs, and any other Turtle (the SeLoC-ML descriptions). Queries are
 * SPARQL 1.1 (Rasqal). Vocabulary: ontology/mote.ttl, docs/graph.md.
 *
 * Storage is Redland's `hashes` store in memory, optionally persisted as
 * an N-Triples snapshot (Redland's sqlite store is ~25x slower here; its
 * BDB hashes over-read memory when iterating, see graph.c). Every
 * ingestion is a transaction: the input is validated and turned into
 * triples in a scratch model first and only then added, so a rejected
 * input leaves the graph as it was. A full-text index (SQLite FTS5) of
 * names and descriptions sits beside the graph.
 *
 * A graph serializes its own calls with a mutex: one handle may be shared
 * by moted's HTTP worker threads. Redland's world is per graph. */
#ifndef MOTE_GRAPH_H
#define MOTE_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_GRAPH_NS "https://w3id.org/mote#"  /* mote: terms (same as the pipeline's Turtle card) */
#define MOTE_GRAPH_REASON_LEN 160                /* bytes of one incompatibility reason, with NUL */
#define MOTE_GRAPH_ERR_LEN 256                   /* suggested size of error buffers */

typedef struct mote_graph mote_graph_t;

/* Result formats of mote_graph_query. */
typedef enum mote_graph_fmt {
    MOTE_GRAPH_JSON,  /* application/sparql-results+json (CONSTRUCT/DESCRIBE: Turtle) */
    MOTE_GRAPH_CSV,   /* text/csv (SPARQL 1.1 Query Results CSV) */
    MOTE_GRAPH_TABLE  /* aligned text table for people */
} mote_graph_fmt_t;

/* Open a graph. `dir` NULL: in memory. Otherwise the graph is read from
 * `dir`/graph.nt (N-Triples; written by mote_graph_save and on close) and
 * the search index lives in `dir`/search.db (created if missing). The caller
 * owns *g and frees it with mote_graph_close. `err` (may be NULL) gets the
 * reason on failure. */
mote_status_t mote_graph_open(mote_graph_t **g, const char *dir, char *err, size_t errsz);

/* Write a persistent graph's snapshot (`dir`/graph.nt, atomically by
 * rename). No-op for an in-memory graph. */
mote_status_t mote_graph_save(mote_graph_t *g, char *err, size_t errsz);

/* Save (persistent graphs) and release everything; NULL is allowed. */
void mote_graph_close(mote_graph_t *g);

/* Number of triples (counted by walking the store). */
long mote_graph_size(mote_graph_t *g);

/* Add Turtle text (`len` bytes, not NUL-terminated). `base` is the base
 * IRI for relative references (NULL: "urn:mote:load"). All or nothing. */
mote_status_t mote_graph_load_turtle(mote_graph_t *g, const char *text, size_t len, const char *base, char *err,
                                     size_t errsz);

/* Add a file: Turtle (.ttl), a Thing Description (JSON with "@context")
 * or a model card (JSON with "format": "mote-model-card/1"). */
mote_status_t mote_graph_load_file(mote_graph_t *g, const char *path, char *err, size_t errsz);

/* Ingest a device's Thing Description (JSON-LD per docs/fleet-protocol.md,
 * untrusted bytes). Replaces what the graph knew about that device. On
 * error (MOTE_ERR_FORMAT, naming the field) the graph is unchanged. */
mote_status_t mote_graph_add_td(mote_graph_t *g, const void *json, size_t len, char *err, size_t errsz);

/* Ingest a pipeline model card (JSON, "mote-model-card/1"). The model
 * version's IRI is urn:sha256:<tflite sha256>, as in the Turtle card. */
mote_status_t mote_graph_add_card(mote_graph_t *g, const void *json, size_t len, char *err, size_t errsz);

/* Record that device `dev_id` runs model `name` version `version`
 * (`state`: confirmed | pending | rolled_back | ...; NULL = "confirmed").
 * `name` NULL or "" clears the device's model. MOTE_ERR_NOT_FOUND when the
 * device is not in the graph. */
mote_status_t mote_graph_set_deployment(mote_graph_t *g, const char *dev_id, const char *name, const char *version,
                                        const char *state, char *err, size_t errsz);

/* Run a SPARQL 1.1 query (not an update). *out gets a malloc'ed,
 * NUL-terminated result in `fmt` (caller frees), *out_len its length.
 * Parse and execution errors: MOTE_ERR_FORMAT with Rasqal's message. */
mote_status_t mote_graph_query(mote_graph_t *g, const char *sparql, mote_graph_fmt_t fmt, char **out,
                               size_t *out_len, char *err, size_t errsz);

/* Apply a SPARQL 1.1 Update made of INSERT DATA / DELETE DATA operations
 * (other forms: MOTE_ERR_UNSUPPORTED). All operations or none. Callers
 * check authorization; *changed gets the number of triples added+removed. */
mote_status_t mote_graph_update(mote_graph_t *g, const char *sparql, long *changed, char *err, size_t errsz);

/* 1 if `sparql` is an update request (its first keyword after the prologue
 * is INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, COPY, MOVE, ADD or WITH). */
int mote_graph_is_update(const char *sparql);

/* Can model `model` (IRI "urn:sha256:..." or "NAME@VERSION") run on device
 * `dev_id`? Fills up to `max` reasons (e.g. "needs 41000 B arena, device
 * has 32768 B") and sets *n to the number of reasons found (0 = fits; may
 * exceed max). MOTE_ERR_NOT_FOUND when the device or model is unknown. */
mote_status_t mote_graph_check(mote_graph_t *g, const char *dev_id, const char *model,
                               char reasons[][MOTE_GRAPH_REASON_LEN], size_t max, size_t *n, char *err,
                               size_t errsz);

/* A model version known to the graph (rdf:type mote:ModelVersion). */
typedef struct mote_graph_model {
    char iri[256];
    char name[64];
    char version[32];
} mote_graph_model_t;

/* Up to `max` model versions into `out` (in store order), *n = count. */
mote_status_t mote_graph_models(mote_graph_t *g, mote_graph_model_t *out, size_t max, size_t *n, char *err,
                                size_t errsz);

/* One full-text search hit. */
typedef struct mote_graph_hit {
    char iri[256];     /* the resource */
    char field[32];    /* "name", "title", "description", "comment" or "label" */
    char text[256];    /* the matching text, truncated */
    double rank;       /* FTS5 bm25 rank: lower is better */
} mote_graph_hit_t;

/* Full-text search (SQLite FTS5 query syntax; plain words are ANDed) over
 * names, titles, descriptions, comments and labels of everything loaded.
 * Up to `max` best hits into `hits`, *n = count. */
mote_status_t mote_graph_search(mote_graph_t *g, const char *terms, mote_graph_hit_t *hits, size_t max,
                                size_t *n, char *err, size_t errsz);

/* Version string as a comparable integer: "7" -> 7, "a.b.c" ->
 * a*1000000 + b*1000 + c (each part < 1000). -1 when not a version. */
int64_t mote_graph_version_number(const char *v);

#ifdef __cplusplus
}
#endif
#endif
