/* libFuzzer target: the /sparql endpoint handler (src/fleet/graph_http.c)
 * on a small graph. The first byte picks how the rest arrives: 'G' a GET
 * query string, 'F' a form-encoded POST body, 'Q' an
 * application/sparql-query body, 'U' an application/sparql-update body from
 * an engineer (run on a fresh graph so inputs stay independent); the second
 * byte picks the Accept header. Contract: every request gets a complete
 * response: a known status, a content type, a body whose length matches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "graph_http.h"

/* Rasqal and Raptor leak inside their parsers on some malformed queries
 * (tests/graph/lsan.supp says which); only those two libraries are
 * exempt, Redland objects that mote owns are still checked. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:librasqal.so\nleak:libraptor2.so\n";
}

static const char TD[] =
    "{\"@context\": [\"https://www.w3.org/2022/wot/td/v1.1\", {\"mote\": \"https://w3id.org/mote#\"}], \"id\": \"urn:mote:dev:dev-0001\","
    " \"title\": \"gw\", \"securityDefinitions\": {}, \"security\": \"nosec_sc\","
    " \"mote:deviceClass\": \"c\", \"mote:group\": \"g\", \"mote:ramBytes\": 32768, \"mote:flashBytes\": 262144,"
    " \"mote:runtime\": \"0.1.0\", \"mote:ops\": [\"FULLY_CONNECTED\"],"
    " \"mote:sensors\": [{\"type\": \"accelerometer\", \"rateHz\": 12000}],"
    " \"mote:model\": {\"name\": \"m\", \"version\": 3}, \"mote:trainableHead\": false}";

static mote_graph_t *shared_graph(void)
{
    static mote_graph_t *g;
    if (!g && (mote_graph_open(&g, NULL, NULL, 0) || mote_graph_add_td(g, TD, sizeof TD - 1, NULL, 0)))
        abort();
    return g;
}

static void check(const mote_http_resp_t *r)
{
    static const int ok[] = {200, 400, 401, 403, 405, 406, 415, 500, 501};
    int known = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        known |= r->status == ok[i];
    if (!known || !r->content_type[0] || (r->body_len && !r->body) || (r->body && strlen(r->body) != r->body_len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const accept[] = {"", "text/csv", "application/sparql-results+json", "image/png",
                                         "text/*;q=0.5, */*"};
    if (size < 2)
        return 0;
    char *text = malloc(size - 1); /* the query string must be NUL-terminated; bodies are not */
    if (!text)
        return 0;
    memcpy(text, data + 2, size - 2);
    text[size - 2] = 0;
    mote_http_req_t req;
    memset(&req, 0, sizeof req);
    req.path = "/sparql";
    req.query = "";
    req.content_type = "";
    req.accept = accept[data[1] % 5];
    req.method = "POST";
    req.body = data + 2;
    req.body_len = size - 2;
    mote_graph_t *g = shared_graph(), *fresh = NULL;
    switch (data[0]) {
    case 'G': req.method = "GET"; req.query = text; req.body = NULL; req.body_len = 0; break;
    case 'F': req.content_type = "application/x-www-form-urlencoded"; break;
    case 'U':
        req.content_type = "application/sparql-update";
        req.user = "fuzz";
        req.role = "engineer";
        if (mote_graph_open(&fresh, NULL, NULL, 0))
            abort();
        g = fresh;
        break;
    default: req.content_type = "application/sparql-query"; break;
    }
    mote_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    mote_graph_sparql_handler(g, &req, &resp);
    check(&resp);
    free(resp.body);
    free(text);
    mote_graph_close(fresh);
    return 0;
}
