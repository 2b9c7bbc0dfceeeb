/* mote fleet: talk to moted's HTTP API (docs/moted.md) from the shell:
 * devices, twins, events, models, deploys, rollout campaigns. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "httpc.h"

static const char help[] =
    "usage: mote fleet [--url URL] [--token T | --token-file F] [--json] COMMAND ...\n"
    "\n"
    "Ask moted (the fleet manager) over its HTTP API.\n"
    "\n"
    "  devices [--q TEXT] [--offset N] [--limit N]   list devices\n"
    "  device ID                                      one device: facts, twin, Thing Description\n"
    "  twin ID                                        desired vs reported model\n"
    "  events [ID] [--since N] [--limit N]            events (all devices: after id N)\n"
    "  models                                         registered model versions\n"
    "  models register DIR --name NAME --target CLASS [--version N]\n"
    "                                                 sign a bundle of DIR/NAME.tflite, .dspcfg,\n"
    "                                                 .json (DIR as seen by moted)\n"
    "  deploy ID MODEL VERSION                        set the desired model and send it\n"
    "  rollback ID [--reason TEXT]                    back to the previous model\n"
    "  campaign list | show ID | stop ID\n"
    "  campaign create --model M --version V (--group G | --class C | --devices A,B,...\n"
    "                  | --sparql 'SELECT ?device ...' (moted --graph))\n"
    "                  [--stages 10,50,100] [--max-fail PCT] [--timeout S]\n"
    "  health                                         moted status (no token needed)\n"
    "\n"
    "  --url URL        moted's API (default $MOTE_URL or http://127.0.0.1:8080)\n"
    "  --token T        bearer token (default $MOTE_TOKEN); --token-file F reads it\n"
    "  --json           print moted's JSON answer instead of a table\n"
    "\n"
    "exit status: 0 success, 1 failure (moted unreachable or refused), 2 usage error\n";

typedef struct fopts {
    const char *url, *token;
    int json;
    char tokbuf[256];
    /* subcommand options */
    const char *q, *offset, *limit, *since, *name, *target, *version, *reason, *model, *group, *cls, *devices,
        *stages, *max_fail, *timeout, *sparql;
    const char *pos[4];
    int npos;
} fopts_t;

static int read_token(fopts_t *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(o->tokbuf, sizeof o->tokbuf, f)) {
        cli_error(path, MOTE_ERR_IO, "cannot read a token");
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    o->tokbuf[strcspn(o->tokbuf, " \t\r\n")] = '\0';
    o->token = o->tokbuf;
    return 0;
}

static int parse(int argc, char **argv, fopts_t *o)
{
    struct {
        const char *name;
        const char **dst;
    } opts[] = {{"--url", &o->url},         {"--token", &o->token},     {"--q", &o->q},
                {"--offset", &o->offset},   {"--limit", &o->limit},     {"--since", &o->since},
                {"--name", &o->name},       {"--target", &o->target},   {"--version", &o->version},
                {"--reason", &o->reason},   {"--model", &o->model},     {"--group", &o->group},
                {"--class", &o->cls},       {"--devices", &o->devices}, {"--stages", &o->stages},
                {"--max-fail", &o->max_fail}, {"--timeout", &o->timeout}, {"--sparql", &o->sparql}};
    const char *tf = NULL;
    for (int i = 0; i < argc; i++) {
        int hit = 0;
        for (size_t k = 0; !hit && k < sizeof opts / sizeof opts[0]; k++) {
            int r = cli_opt(argc, argv, &i, opts[k].name, opts[k].dst);
            if (r < 0)
                return cli_usage("fleet", "option %s needs a value", opts[k].name);
            hit = r;
        }
        if (hit)
            continue;
        int r = cli_opt(argc, argv, &i, "--token-file", &tf);
        if (r < 0)
            return cli_usage("fleet", "option --token-file needs a value");
        if (r)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_usage("fleet", "unknown option '%s'", argv[i]);
        else if (o->npos >= 4)
            return cli_usage("fleet", "too many arguments");
        else
            o->pos[o->npos++] = argv[i];
    }
    if (!o->url)
        o->url = getenv("MOTE_URL") ? getenv("MOTE_URL") : "http://127.0.0.1:8080";
    if (!o->token)
        o->token = getenv("MOTE_TOKEN");
    if (tf && read_token(o, tf) != 0)
        return CLI_FAIL;
    return o->npos == 0 ? cli_usage("fleet", "a command is needed (devices, models, deploy, campaign, ...)") : 0;
}

/* ---- requests ---- */

/* Send and parse; prints moted's error and returns NULL on failure. */
static json_t *call(const fopts_t *o, const char *method, const char *path, json_t *body)
{
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    mote_httpc_resp_t r;
    char err[300];
    mote_status_t st = mote_httpc_request(o->url, method, path, o->token, b, b ? strlen(b) : 0, 0, &r, err, sizeof err);
    free(b);
    if (st != MOTE_OK) {
        cli_error(o->url, st, "%s", err);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(r.body, r.len, 0, &je);
    if (r.status >= 300) {
        const char *msg = json_string_value(json_object_get(j, "error"));
        cli_error(o->url, MOTE_ERR_STATE, "%s %s: HTTP %d: %s", method, path, r.status, msg ? msg : r.body);
        json_decref(j);
        j = NULL;
    } else if (!j) {
        cli_error(o->url, MOTE_ERR_FORMAT, "%s %s: answer is not JSON: %s", method, path, je.text);
    } else if (o->json) {
        fwrite(r.body, 1, r.len, stdout);
        fputc('\n', stdout);
    }
    mote_httpc_free(&r);
    return j;
}

/* URL-encode s into buf (for query values and path segments). */
static const char *enc(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; s && *s && o + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c)) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o] = '\0';
    return buf;
}

/* ---- printing ---- */

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    static char buf[4][64];
    static int slot;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        char *b = buf[slot++ % 4];
        snprintf(b, 64, "%lld", (long long)json_integer_value(v));
        return b;
    }
    return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "-";
}

static void cell(const char *s, int width)
{
    char buf[128];
    cli_printable(buf, sizeof buf, s && *s ? s : "-");
    printf("%-*s ", width, buf);
}

static void model_cell(json_t *row, const char *name_key, const char *ver_key, int width)
{
    char buf[128];
    const char *n = str(row, name_key);
    json_int_t v = json_integer_value(json_object_get(row, ver_key));
    if (v > 0)
        snprintf(buf, sizeof buf, "%s v%lld", n, (long long)v);
    else
        snprintf(buf, sizeof buf, "-");
    cell(buf, width);
}

static int print_devices(const fopts_t *o, json_t *j)
{
    json_t *a = json_object_get(j, "devices"), *row;
    size_t i;
    if (o->json)
        return CLI_OK;
    printf("%-20s %-12s %-18s %-12s %-12s %-10s %s\n", "ID", "CLASS", "GROUP", "MODEL", "DESIRED", "SLOT", "OTA");
    json_array_foreach(a, i, row) {
        cell(str(row, "id"), 20);
        cell(str(row, "class"), 12);
        cell(str(row, "group"), 18);
        model_cell(row, "model", "version", 12);
        model_cell(row, "desired_model", "desired_version", 12);
        cell(str(row, "slot_state"), 10);
        printf("%s\n", str(row, "ota_status"));
    }
    printf("(%zu of %s devices)\n", json_array_size(a), str(j, "total"));
    return CLI_OK;
}

static void print_twin(json_t *t)
{
    json_t *d = json_object_get(t, "desired"), *r = json_object_get(t, "reported");
    printf("device    %s\n", str(t, "device"));
    printf("desired   %s v%s%s%s\n", str(d, "model"), str(d, "version"),
           json_string_length(json_object_get(d, "campaign")) ? "  campaign " : "",
           json_string_length(json_object_get(d, "campaign")) ? str(d, "campaign") : "");
    printf("reported  %s v%s (slot %s %s, previous %s v%s)\n", str(r, "model"), str(r, "version"), str(r, "slot"),
           str(r, "slot_state"), str(json_object_get(r, "previous"), "model"),
           str(json_object_get(r, "previous"), "version"));
    printf("ota       %s v%s\n", str(r, "ota_status"), str(r, "ota_version"));
    printf("in sync   %s\n", str(t, "in_sync"));
}

static int print_events(const fopts_t *o, json_t *j)
{
    json_t *a = json_object_get(j, "events"), *row;
    size_t i;
    if (o->json)
        return CLI_OK;
    printf("%-8s %-20s %-6s %-14s %-8s %s\n", "ID", "DEVICE", "SEQ", "TS", "KIND", "DETAIL");
    json_array_foreach(a, i, row) {
        json_t *b = json_object_get(row, "body");
        char detail[128];
        if (json_object_get(b, "score"))
            snprintf(detail, sizeof detail, "score %.3f threshold %.3f",
                     json_number_value(json_object_get(b, "score")), json_number_value(json_object_get(b, "threshold")));
        else
            snprintf(detail, sizeof detail, "%s", str(b, "class"));
        printf("%-8s %-20s %-6s %-14s %-8s %s\n", str(row, "id"), str(row, "device"), str(row, "seq"), str(row, "ts"),
               str(row, "kind"), detail);
    }
    return CLI_OK;
}

static int print_models(const fopts_t *o, json_t *j)
{
    json_t *a = json_object_get(j, "models"), *row;
    size_t i;
    if (o->json)
        return CLI_OK;
    printf("%-20s %-8s %-14s %-10s %s\n", "NAME", "VERSION", "TARGET", "BYTES", "SHA256");
    json_array_foreach(a, i, row) {
        printf("%-20s %-8s %-14s %-10s %.16s...\n", str(row, "name"), str(row, "version"), str(row, "target"),
               str(row, "size"), str(row, "sha256"));
    }
    return CLI_OK;
}

static int print_campaigns(const fopts_t *o, json_t *j)
{
    json_t *a = json_object_get(j, "campaigns"), *row;
    size_t i;
    if (o->json)
        return CLI_OK;
    printf("%-22s %-14s %-8s %-8s %-6s %s\n", "ID", "MODEL", "VERSION", "STATE", "STAGE", "REASON");
    json_array_foreach(a, i, row) {
        printf("%-22s %-14s %-8s %-8s %-6s %s\n", str(row, "id"), str(row, "model"), str(row, "version"),
               str(row, "state"), str(row, "stage"), str(row, "reason"));
    }
    return CLI_OK;
}

static int print_campaign(const fopts_t *o, json_t *c)
{
    if (o->json)
        return CLI_OK;
    char *stages = json_dumps(json_object_get(c, "stages"), JSON_COMPACT);
    char *counts = json_dumps(json_object_get(c, "counts"), JSON_COMPACT);
    printf("campaign  %s\nmodel     %s v%s\nstate     %s (stage %s of %s)\ngate      max %s%% failed, %s s per stage\n"
           "devices   %s\n",
           str(c, "id"), str(c, "model"), str(c, "version"), str(c, "state"), str(c, "stage"),
           stages ? stages : "?", str(c, "max_fail_pct"), str(c, "stage_timeout_s"), counts ? counts : "?");
    if (json_string_length(json_object_get(c, "reason")))
        printf("reason    %s\n", str(c, "reason"));
    free(stages);
    free(counts);
    json_t *row;
    size_t i;
    printf("\n%-20s %-6s %-12s %s\n", "DEVICE", "STAGE", "STATE", "REASON");
    json_array_foreach(json_object_get(c, "devices"), i, row) {
        printf("%-20s %-6s %-12s %s\n", str(row, "device"), str(row, "stage"), str(row, "state"), str(row, "reason"));
    }
    return CLI_OK;
}

/* ---- commands ---- */

static int done(json_t *j, int rc)
{
    json_decref(j);
    return rc;
}

static int cmd_devices(const fopts_t *o)
{
    char path[512], q[200];
    snprintf(path, sizeof path, "/api/devices?offset=%s&limit=%s&q=%s", o->offset ? o->offset : "0",
             o->limit ? o->limit : "100", enc(o->q, q, sizeof q));
    json_t *j = call(o, "GET", path, NULL);
    return j ? done(j, print_devices(o, j)) : CLI_FAIL;
}

static int cmd_device(const fopts_t *o, int twin_only)
{
    if (o->npos != 2)
        return cli_usage("fleet", "%s needs a device id", o->pos[0]);
    char path[256], id[160];
    snprintf(path, sizeof path, "/api/devices/%s%s", enc(o->pos[1], id, sizeof id), twin_only ? "/twin" : "");
    json_t *j = call(o, "GET", path, NULL);
    if (!j)
        return CLI_FAIL;
    if (!o->json && !twin_only)
        printf("id        %s\nclass     %s\ngroup     %s\nram       %s bytes\nflash     %s bytes\nruntime   %s\n"
               "last seen %s\n",
               str(j, "id"), str(j, "class"), str(j, "group"), str(j, "ram"), str(j, "flash"), str(j, "runtime"),
               str(j, "last_seen"));
    if (!o->json)
        print_twin(twin_only ? j : json_object_get(j, "twin"));
    return done(j, CLI_OK);
}

static int cmd_events(const fopts_t *o)
{
    char path[300], id[160];
    if (o->npos > 2)
        return cli_usage("fleet", "events takes at most one device id");
    if (o->npos == 2)
        snprintf(path, sizeof path, "/api/devices/%s/events?limit=%s", enc(o->pos[1], id, sizeof id),
                 o->limit ? o->limit : "100");
    else
        snprintf(path, sizeof path, "/api/events?since=%s&limit=%s", o->since ? o->since : "0",
                 o->limit ? o->limit : "500");
    json_t *j = call(o, "GET", path, NULL);
    return j ? done(j, print_events(o, j)) : CLI_FAIL;
}

static int cmd_models(const fopts_t *o)
{
    if (o->npos == 1) {
        json_t *j = call(o, "GET", "/api/models", NULL);
        return j ? done(j, print_models(o, j)) : CLI_FAIL;
    }
    if (strcmp(o->pos[1], "register") != 0 || o->npos != 3 || !o->name || !o->target)
        return cli_usage("fleet", "models register DIR --name NAME --target CLASS [--version N]");
    long v = 0;
    if (o->version && cli_parse_long(o->version, 1, 0x7fffffffL, &v) != 0)
        return cli_usage("fleet", "--version wants a positive integer");
    json_t *b = json_pack("{s:s,s:s,s:s}", "dir", o->pos[2], "name", o->name, "target", o->target);
    if (v)
        json_object_set_new(b, "version", json_integer(v));
    json_t *j = call(o, "POST", "/api/models", b);
    json_decref(b);
    if (j && !o->json)
        printf("registered %s v%s for %s: %s bytes, sha256 %s\n", str(j, "name"), str(j, "version"), str(j, "target"),
               str(j, "size"), str(j, "sha256"));
    return j ? done(j, CLI_OK) : CLI_FAIL;
}

static int cmd_deploy(const fopts_t *o)
{
    long v = 0;
    if (o->npos != 4 || cli_parse_long(o->pos[3], 1, 0x7fffffffL, &v) != 0)
        return cli_usage("fleet", "deploy ID MODEL VERSION (VERSION a positive integer)");
    char path[256], id[160];
    snprintf(path, sizeof path, "/api/devices/%s/twin", enc(o->pos[1], id, sizeof id));
    json_t *b = json_pack("{s:s,s:I}", "model", o->pos[2], "version", (json_int_t)v);
    json_t *j = call(o, "POST", path, b);
    json_decref(b);
    if (j && !o->json)
        printf("%s: desired %s v%ld, deploy sent\n", o->pos[1], o->pos[2], v);
    return j ? done(j, CLI_OK) : CLI_FAIL;
}

static int cmd_rollback(const fopts_t *o)
{
    if (o->npos != 2)
        return cli_usage("fleet", "rollback ID [--reason TEXT]");
    char path[256], id[160];
    snprintf(path, sizeof path, "/api/devices/%s/rollback", enc(o->pos[1], id, sizeof id));
    json_t *b = json_pack("{s:s}", "reason", o->reason ? o->reason : "operator request");
    json_t *j = call(o, "POST", path, b);
    json_decref(b);
    if (j && !o->json)
        printf("%s: rollback sent\n", o->pos[1]);
    return j ? done(j, CLI_OK) : CLI_FAIL;
}

/* "10,50,100" -> [10,50,100]; NULL if malformed. */
static json_t *int_list(const char *s)
{
    json_t *a = json_array();
    while (a && s && *s) {
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end == s || (*end && *end != ',')) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, json_integer(v));
        s = *end ? end + 1 : end;
    }
    return a;
}

static json_t *campaign_spec(const fopts_t *o)
{
    long v = 0;
    if (!o->model || !o->version || cli_parse_long(o->version, 1, 0x7fffffffL, &v) != 0 ||
        !!o->group + !!o->cls + !!o->devices + !!o->sparql != 1)
        return NULL;
    json_t *t = json_object();
    if (o->group)
        json_object_set_new(t, "group", json_string(o->group));
    else if (o->cls)
        json_object_set_new(t, "class", json_string(o->cls));
    else if (o->sparql)
        json_object_set_new(t, "sparql", json_string(o->sparql));
    else {
        json_t *ids = json_array();
        char *copy = strdup(o->devices), *save = NULL;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
            json_array_append_new(ids, json_string(p));
        free(copy);
        json_object_set_new(t, "devices", ids);
    }
    json_t *spec = json_pack("{s:s,s:I,s:o}", "model", o->model, "version", (json_int_t)v, "target", t);
    json_t *stages = o->stages ? int_list(o->stages) : NULL;
    if (o->stages && !stages) {
        json_decref(spec);
        return NULL;
    }
    if (stages)
        json_object_set_new(spec, "stages", stages);
    long x = 0;
    if (o->max_fail && cli_parse_long(o->max_fail, 0, 100, &x) == 0)
        json_object_set_new(spec, "max_fail_pct", json_integer(x));
    if (o->timeout && cli_parse_long(o->timeout, 1, 2592000, &x) == 0)
        json_object_set_new(spec, "stage_timeout_s", json_integer(x));
    return spec;
}

static int cmd_campaign(const fopts_t *o)
{
    const char *sub = o->npos > 1 ? o->pos[1] : "list";
    char path[256], id[160];
    json_t *j = NULL;
    if (strcmp(sub, "list") == 0) {
        j = call(o, "GET", "/api/campaigns", NULL);
        return j ? done(j, print_campaigns(o, j)) : CLI_FAIL;
    }
    if (strcmp(sub, "create") == 0) {
        json_t *spec = campaign_spec(o);
        if (!spec)
            return cli_usage("fleet", "campaign create --model M --version V and one of --group, --class, --devices"
                                      " or --sparql (--stages like 10,50,100)");
        j = call(o, "POST", "/api/campaigns", spec);
        json_decref(spec);
    } else if ((strcmp(sub, "show") == 0 || strcmp(sub, "stop") == 0) && o->npos == 3) {
        snprintf(path, sizeof path, "/api/campaigns/%s%s", enc(o->pos[2], id, sizeof id),
                 sub[1] == 't' ? "/stop" : "");
        j = call(o, sub[1] == 't' ? "POST" : "GET", path, NULL);
    } else {
        return cli_usage("fleet", "campaign list | show ID | stop ID | create ...");
    }
    return j ? done(j, print_campaign(o, j)) : CLI_FAIL;
}

static int cmd_health(const fopts_t *o)
{
    json_t *j = call(o, "GET", "/api/health", NULL);
    if (j && !o->json)
        printf("status %s, store %s, mqtt %s, %s devices\n", str(j, "status"), str(j, "store"),
               json_is_true(json_object_get(j, "mqtt")) ? "connected" : "disconnected", str(j, "devices"));
    return j ? done(j, CLI_OK) : CLI_FAIL;
}

static int run(int argc, char **argv)
{
    fopts_t o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    const char *c = o.pos[0];
    if (strcmp(c, "devices") == 0)
        return cmd_devices(&o);
    if (strcmp(c, "device") == 0 || strcmp(c, "twin") == 0)
        return cmd_device(&o, c[0] == 't');
    if (strcmp(c, "events") == 0)
        return cmd_events(&o);
    if (strcmp(c, "models") == 0)
        return cmd_models(&o);
    if (strcmp(c, "deploy") == 0)
        return cmd_deploy(&o);
    if (strcmp(c, "rollback") == 0)
        return cmd_rollback(&o);
    if (strcmp(c, "campaign") == 0)
        return cmd_campaign(&o);
    if (strcmp(c, "health") == 0)
        return cmd_health(&o);
    return cli_usage("fleet", "unknown command '%s'", c);
}

const cli_cmd_t cli_cmd_fleet = {"fleet", "ask moted: devices, twins, events, models, deploys, campaigns", help, run};
