/* mote ledger: verify and list the manager's tamper-evident ledger. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "ledger.h"

static const char help[] =
    "usage: mote ledger verify FILE --pk PK [--head HASH | --anchor ANCHOR]\n"
    "       mote ledger show FILE [--json] [--pk PK] [--from SEQ]\n"
    "       mote ledger append FILE --sk SK KIND BODY\n\n"
    "verify: check every entry of the ledger FILE (moted's hash-chained,\n"
    "Ed25519-signed log): format, hash, seq, link to the previous entry, key id\n"
    "and signature under the public key file PK. On success prints the head as\n"
    "\"SEQ HASH\" on stdout (save it elsewhere: it is the anchor). The first bad\n"
    "entry is named on stderr with its line, seq and the reason: hash mismatch\n"
    "(edited), seq gap or prev-hash mismatch (removed or reordered), signed by\n"
    "another key, bad signature, malformed entry, torn last line.\n"
    "Entries cut from the END leave a valid shorter chain; only an anchor\n"
    "recorded earlier shows it:\n"
    "  --head HASH       the chain must contain an entry with this hash\n"
    "  --anchor ANCHOR   a \"SEQ HASH\" file (a saved copy of FILE.head or of\n"
    "                    this command's output): entry SEQ must exist, with HASH\n"
    "Without either, FILE.head (kept by the appender) is used when present; it\n"
    "only helps if whoever cut the ledger did not rewrite it too.\n\n"
    "show: list the entries (seq, time UTC, kind, body), checking hashes and the\n"
    "chain, and signatures too with --pk; stops with an error at the first bad\n"
    "entry, after listing the good ones.\n"
    "  --json        one JSON object {\"entries\": [...], \"n\", \"head\", \"signatures\"}\n"
    "  --from SEQ    start at this seq\n\n"
    "append: add one entry (KIND: 1..32 of [a-z0-9_.-], BODY: a JSON object)\n"
    "signed with the secret key file SK, as moted does; creates FILE when\n"
    "missing and refuses a broken chain. Prints the new seq. moted must not be\n"
    "running on FILE (it holds a lock).\n\n"
    "exit status: 0 valid, 1 tampered, torn or unreadable, 2 usage error\n";

typedef struct args {
    const char *sub, *file, *pk, *sk, *head, *anchor, *from;
    const char *pos[2]; /* append: KIND BODY */
    int npos, json;
} args_t;

/* Options of all subcommands; which apply is checked by each. */
static int parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    if (argc < 1)
        return cli_usage("ledger", "missing subcommand (verify, show or append)");
    a->sub = argv[0];
    if (strcmp(a->sub, "verify") != 0 && strcmp(a->sub, "show") != 0 && strcmp(a->sub, "append") != 0)
        return cli_usage("ledger", "unknown subcommand '%s' (verify, show or append)", a->sub);
    for (int i = 1; i < argc; i++) {
        int r = 0;
        const char **dst[] = {&a->pk, &a->sk, &a->head, &a->anchor, &a->from};
        static const char *names[] = {"--pk", "--sk", "--head", "--anchor", "--from"};
        for (int k = 0; k < 5 && r == 0; k++)
            if ((r = cli_opt(argc, argv, &i, names[k], dst[k])) < 0)
                return cli_usage("ledger", "%s needs a value", names[k]);
        if (r)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("ledger", "unknown option '%s'", argv[i]);
        else if (!a->file)
            a->file = argv[i];
        else if (strcmp(a->sub, "append") == 0 && a->npos < 2)
            a->pos[a->npos++] = argv[i];
        else
            return cli_usage("ledger", "unexpected argument '%s'", argv[i]);
    }
    if (!a->file)
        return cli_usage("ledger", "missing FILE");
    return CLI_OK;
}

static int load_pk(const char *path, uint8_t pk[MOTE_KEY_PK_LEN])
{
    char err[256];
    mote_status_t s = mote_key_load_pk(path, pk, err, sizeof err);
    if (s != MOTE_OK)
        cli_error(path, s, "public key: %s", err);
    return s == MOTE_OK ? CLI_OK : CLI_FAIL;
}

/* FILE.head, the appender's own anchor, when present: it catches a cut
 * tail by someone who did not also rewrite it. An unreadable one (a crash
 * can leave it empty) is only a warning, since it proves nothing. */
static int auto_anchor(const char *file, mote_ledger_anchor_t *a, int *have)
{
    char path[4096], err[256];
    if (snprintf(path, sizeof path, "%s.head", file) >= (int)sizeof path || access(path, F_OK) != 0)
        return CLI_OK;
    mote_status_t s = mote_ledger_anchor_read(path, a, err, sizeof err);
    if (s != MOTE_OK)
        fprintf(stderr, "mote: %s: warning: ignored: %s\n", path, err);
    *have = s == MOTE_OK;
    return CLI_OK;
}

/* --head HASH or --anchor FILE (else FILE.head if present) into *a;
 * returns CLI_USAGE on a bad hash. */
static int load_anchor(const args_t *ar, mote_ledger_anchor_t *a, int *have)
{
    char err[256];
    *have = 0;
    if (ar->head && ar->anchor)
        return cli_usage("ledger", "give --head or --anchor, not both");
    if (ar->head) {
        if (strlen(ar->head) != 64 || mote_hex_decode(ar->head, 32, a->hash, 0) != MOTE_OK)
            return cli_usage("ledger", "--head wants 64 hex digits, got '%s'", ar->head);
        a->seq = 0;
        *have = 1;
    } else if (ar->anchor) {
        mote_status_t s = mote_ledger_anchor_read(ar->anchor, a, err, sizeof err);
        if (s != MOTE_OK) {
            cli_error(ar->anchor, s, "%s", err);
            return CLI_FAIL;
        }
        *have = 1;
    } else {
        return auto_anchor(ar->file, a, have);
    }
    return CLI_OK;
}

static int verify(const args_t *a)
{
    uint8_t pk[MOTE_KEY_PK_LEN];
    mote_ledger_anchor_t anchor;
    int have = 0, rc;
    if (!a->pk)
        return cli_usage("ledger", "verify needs --pk PK");
    if (a->json || a->from || a->sk)
        return cli_usage("ledger", "verify takes --pk, --head, --anchor (--json and --from are for 'show')");
    if ((rc = load_anchor(a, &anchor, &have)) != CLI_OK || (rc = load_pk(a->pk, pk)) != CLI_OK)
        return rc;
    char err[512], hex[65];
    mote_ledger_result_t res;
    mote_status_t s = mote_ledger_scan_file(a->file, pk, have ? &anchor : NULL, NULL, NULL, &res, err, sizeof err);
    if (s != MOTE_OK) {
        cli_error(a->file, s, "%s", err);
        return CLI_FAIL;
    }
    printf("%llu %s\n", (unsigned long long)res.n, mote_hex_encode(res.head, 32, hex));
    fprintf(stderr, "mote: %s: ok: %llu entries, chain and signatures valid%s\n", a->file,
            (unsigned long long)res.n, have ? ", anchor found in the chain" : " (no anchor: a cut tail cannot be seen)");
    return CLI_OK;
}

typedef struct show_ctx {
    int json;
    uint64_t from, shown;
} show_ctx_t;

static void fmt_time(uint64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(buf, n, "?");
    else
        snprintf(buf + strlen(buf), n - strlen(buf), ".%03uZ", (unsigned)(ms % 1000));
}

static int show_entry(const mote_ledger_entry_t *e, void *ctx)
{
    show_ctx_t *c = ctx;
    char t[48], h[65], p[65], k[17];
    if (e->seq < c->from)
        return 0;
    fmt_time(e->ts, t, sizeof t);
    if (c->json) {
        printf("%s\n    {\"seq\":%llu,\"ts\":%llu,\"time\":\"%s\",\"kind\":\"%s\",\"body\":%.*s,\"prev\":\"%s\","
               "\"hash\":\"%s\",\"key\":\"%s\"}",
               c->shown ? "," : "", (unsigned long long)e->seq, (unsigned long long)e->ts, t, e->kind,
               (int)e->body_len, e->body, mote_hex_encode(e->prev, 32, p), mote_hex_encode(e->hash, 32, h),
               mote_hex_encode(e->key_id, 8, k));
    } else {
        /* the body was checked to be JSON from the appender: printable */
        printf("%6llu  %s  %-14s %.*s\n", (unsigned long long)e->seq, t, e->kind, (int)e->body_len, e->body);
    }
    c->shown++;
    return 0;
}

static int show(const args_t *a)
{
    uint8_t pk[MOTE_KEY_PK_LEN];
    long from = 0;
    if (a->head || a->anchor || a->sk)
        return cli_usage("ledger", "show takes --json, --pk, --from (--head and --anchor are for 'verify')");
    if (a->from && cli_parse_long(a->from, 0, 0x7fffffffL, &from) != 0)
        return cli_usage("ledger", "--from wants a seq >= 0, got '%s'", a->from);
    if (a->pk && load_pk(a->pk, pk) != CLI_OK)
        return CLI_FAIL;
    show_ctx_t c = {a->json, (uint64_t)from, 0};
    char err[512], hex[65];
    mote_ledger_result_t res;
    if (a->json)
        printf("{\"entries\": [");
    mote_status_t s = mote_ledger_scan_file(a->file, a->pk ? pk : NULL, NULL, show_entry, &c, &res, err, sizeof err);
    if (a->json)
        printf("%s],\n \"n\": %llu, \"head\": \"%s\", \"signatures\": %s, \"valid\": %s}\n", c.shown ? "\n" : "",
               (unsigned long long)res.n, mote_hex_encode(res.head, 32, hex), a->pk ? "\"verified\"" : "\"not checked\"",
               s == MOTE_OK ? "true" : "false");
    if (s != MOTE_OK) {
        cli_error(a->file, s, "%s", err);
        return CLI_FAIL;
    }
    if (!a->pk && !a->json)
        fprintf(stderr, "mote: %s: %llu entries; hashes and chain checked, signatures not (give --pk)\n", a->file,
                (unsigned long long)res.n);
    return CLI_OK;
}

static int append(const args_t *a)
{
    if (!a->sk || a->npos != 2)
        return cli_usage("ledger", "append needs --sk SK, KIND and BODY");
    if (a->pk || a->head || a->anchor || a->from || a->json)
        return cli_usage("ledger", "append takes only --sk");
    uint8_t sk[MOTE_KEY_SK_LEN];
    char err[512];
    mote_status_t s = mote_key_load_sk(a->sk, sk, err, sizeof err);
    if (s != MOTE_OK) {
        cli_error(a->sk, s, "secret key: %s", err);
        return CLI_FAIL;
    }
    mote_ledger_t *l = NULL;
    uint64_t seq = 0;
    s = mote_ledger_open(&l, a->file, sk, err, sizeof err);
    sodium_memzero(sk, sizeof sk);
    if (s == MOTE_OK)
        s = mote_ledger_append(l, a->pos[0], a->pos[1], &seq, err, sizeof err);
    mote_ledger_close(l);
    if (s != MOTE_OK) {
        cli_error(a->file, s, "%s", err);
        return CLI_FAIL;
    }
    printf("%llu\n", (unsigned long long)seq);
    return CLI_OK;
}

static int run(int argc, char **argv)
{
    args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(a.sub, "verify") == 0)
        return verify(&a);
    if (strcmp(a.sub, "show") == 0)
        return show(&a);
    return append(&a);
}

const cli_cmd_t cli_cmd_ledger = { "ledger", "verify, list or append to moted's signed, hash-chained ledger", help, run };
