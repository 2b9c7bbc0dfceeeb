/* libFuzzer target: knowledge-graph ingestion of outside documents
 * (src/fleet/graph_ingest.c, graph.c). The first byte picks the parser:
 * 'T' a Thing Description (what moted receives from devices over MQTT),
 * 'C' a model card, anything else Turtle. Contract: no crash, and an
 * input that is refused leaves the graph exactly its size before. */
#include <stdint.h>
#include <stdlib.h>
#include "graph.h"

/* Rasqal and Raptor leak inside their parsers on some malformed input
 * (tests/graph/lsan.supp); only those two libraries are exempt. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:librasqal.so\nleak:libraptor2.so\n";
}

enum { RESET_TRIPLES = 4000 }; /* keep mote_graph_size (a walk) cheap */

static mote_graph_t *graph(void)
{
    static mote_graph_t *g;
    if (g && mote_graph_size(g) > RESET_TRIPLES) {
        mote_graph_close(g);
        g = NULL;
    }
    if (!g && mote_graph_open(&g, NULL, NULL, 0))
        abort();
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mote_graph_t *g = graph();
    long before = mote_graph_size(g);
    char err[MOTE_GRAPH_ERR_LEN];
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    mote_status_t st = data[0] == 'T'   ? mote_graph_add_td(g, doc, len, err, sizeof err)
                       : data[0] == 'C' ? mote_graph_add_card(g, doc, len, err, sizeof err)
                                        : mote_graph_load_turtle(g, doc, len, NULL, err, sizeof err);
    if (st != MOTE_OK && (mote_graph_size(g) != before || !err[0]))
        abort();
    return 0;
}
