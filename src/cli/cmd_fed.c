/* mote fed: federated learning of heads; `mote fed sim` runs devices and
 * the server in one process through the fleet library (src/fleet/fed*.h). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fed_sim.h"
#include "train_cli.h"

static const char help[] =
    "usage: mote fed sim CONFIG.json [--out DIR] [--rounds N] [--quiet]\n\n"
    "Simulate federated learning of a softmax head over a fleet, in process,\n"
    "through the same library calls and wire bytes devices and the server use:\n"
    "non-IID device slices of a dataset (DSP features), round 0 pooled feature\n"
    "statistics, then per round: select devices, broadcast the signed global\n"
    "head, local SGD with the FedProx term, int8 deltas with error feedback,\n"
    "secure aggregation (X25519 pair masks, Shamir recovery of devices that\n"
    "drop after masking), FedAvg weighted by sample count, a hash-chained\n"
    "ledger. Variants: secagg, plain (must equal secagg bit for bit), attack\n"
    "(poisoned updates rejected), dp (clipping + Gaussian noise, RDP epsilon).\n"
    "References: a head trained centrally on the pooled data, local-only heads.\n\n"
    "  --out DIR     output folder (created; default: fed_out)\n"
    "  --rounds N    override the config's round count (1..1000)\n"
    "  --quiet       no progress on stderr\n\n"
    "Writes rounds.csv, summary.json, accuracy.svg/.png, ledger.jsonl,\n"
    "global_final.motl (state blob) and global_final.sig. Config keys and the\n"
    "protocol: docs/federated.md.\n\n"
    "exit status: 0 success, 1 failure (bad config, data, I/O), 2 usage error\n";

typedef struct fed_args {
    const char *config;
    mote_fed_sim_opts_t opts;
} fed_args_t;

static int parse_opt(int argc, char **argv, int *i, fed_args_t *a, int *matched)
{
    const char *v = NULL;
    long n = 0;
    int r;
    *matched = 1;
    if ((r = cli_opt(argc, argv, i, "--out", &v)) != 0) {
        a->opts.out_dir = v;
        return r < 0 ? cli_usage("fed", "--out needs a folder") : CLI_OK;
    }
    if ((r = cli_opt(argc, argv, i, "--rounds", &v)) != 0) {
        if (r < 0 || cli_parse_long(v, 1, MOTE_FED_SIM_MAX_ROUNDS, &n) != 0)
            return cli_usage("fed", "--rounds needs an integer in [1, %u]",
                             MOTE_FED_SIM_MAX_ROUNDS);
        a->opts.has_rounds = 1, a->opts.rounds = (uint32_t)n;
        return CLI_OK;
    }
    if (strcmp(argv[*i], "--quiet") == 0 || strcmp(argv[*i], "-q") == 0) {
        a->opts.quiet = 1;
        return CLI_OK;
    }
    *matched = 0;
    return CLI_OK;
}

static int parse(int argc, char **argv, fed_args_t *a)
{
    memset(a, 0, sizeof *a);
    if (argc < 1 || strcmp(argv[0], "sim") != 0)
        return cli_usage("fed", argc < 1 ? "missing ACTION (sim)" : "unknown action '%s'",
                         argc < 1 ? "" : argv[0]);
    for (int i = 1; i < argc; i++) {
        int matched, rc = parse_opt(argc, argv, &i, a, &matched);
        if (rc != CLI_OK)
            return rc;
        if (matched)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("fed", "unknown option '%s'", argv[i]);
        if (a->config)
            return cli_usage("fed", "more than one CONFIG ('%s', '%s')", a->config, argv[i]);
        a->config = argv[i];
    }
    if (!a->opts.out_dir)
        a->opts.out_dir = "fed_out";
    return a->config ? CLI_OK : cli_usage("fed", "missing CONFIG");
}

static int run(int argc, char **argv)
{
    fed_args_t a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    char msg[MOTE_FED_SIM_MSG_LEN] = "";
    mote_fed_sim_result_t res;
    mote_status_t st = mote_fed_sim_run(a.config, &a.opts, &res, msg, sizeof msg);
    if (st == MOTE_OK) {
        mote_fed_sim_print(stdout, &res);
        if (!a.opts.quiet)
            fprintf(stderr, "mote fed: wrote %s/ (rounds.csv, summary.json, accuracy.svg/.png, "
                            "ledger.jsonl, global_final.motl/.sig)\n", a.opts.out_dir);
    }
    mote_fed_sim_result_free(&res);
    return st == MOTE_OK ? CLI_OK : cli_train_fail(a.config, st, msg);
}

const cli_cmd_t cli_cmd_fed = {"fed", "federated learning of heads: in-process fleet simulation",
                               help, run};
