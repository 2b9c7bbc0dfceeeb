/* mote key: create and inspect the fleet's Ed25519 key files. */
#include <string.h>
#include "cli.h"
#include "keys.h"

static const char help[] =
    "usage: mote key gen --out PREFIX [--force]\n"
    "       mote key show FILE\n\n"
    "gen: create a new Ed25519 key pair, the fleet key that signs bundles,\n"
    "commands and ledger entries: PREFIX.sk (secret, mode 0600) and PREFIX.pk\n"
    "(public), each one line of lowercase hex. Prints the public key on\n"
    "stdout. An existing pair is never replaced unless --force is given.\n\n"
    "show: print \"KEYID PUBLICKEY\" (hex) for a .pk or .sk file; the key id is\n"
    "the first 8 bytes of SHA-256(public key), as in bundles and the ledger.\n\n"
    "exit status: 0 success, 1 failure (I/O, not a key), 2 usage error\n";

static int gen(int argc, char **argv)
{
    const char *out = NULL;
    int force = 0;
    for (int i = 0; i < argc; i++) {
        int r = cli_opt(argc, argv, &i, "--out", &out);
        if (r < 0)
            return cli_usage("key", "--out needs a PREFIX");
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else
            return cli_usage("key", "unexpected argument '%s'", argv[i]);
    }
    if (!out || !*out)
        return cli_usage("key", "gen needs --out PREFIX");
    uint8_t pk[MOTE_KEY_PK_LEN], id[MOTE_KEY_ID_LEN];
    char err[512], hex[65], idhex[17];
    mote_status_t s = mote_key_generate(out, force, pk, err, sizeof err);
    if (s != MOTE_OK) {
        cli_error(out, s, "%s", err);
        return CLI_FAIL;
    }
    mote_key_id(pk, id);
    printf("%s\n", mote_hex_encode(pk, sizeof pk, hex));
    fprintf(stderr, "mote: wrote %s.sk (0600) and %s.pk, key id %s\n", out, out,
            mote_hex_encode(id, sizeof id, idhex));
    return CLI_OK;
}

static int show(int argc, char **argv)
{
    if (argc != 1)
        return cli_usage("key", "show needs exactly one FILE");
    uint8_t pk[MOTE_KEY_PK_LEN], sk[MOTE_KEY_SK_LEN], id[MOTE_KEY_ID_LEN];
    char err[256], err2[256], hex[65], idhex[17];
    mote_status_t s = mote_key_load_pk(argv[0], pk, err, sizeof err);
    if (s == MOTE_ERR_FORMAT) {
        mote_status_t s2 = mote_key_load_sk(argv[0], sk, err2, sizeof err2);
        if (s2 == MOTE_OK)
            memcpy(pk, sk + 32, sizeof pk); /* libsodium: seed || public key */
        sodium_memzero(sk, sizeof sk);
        s = s2;
        if (s2 == MOTE_ERR_VERIFY)
            strcpy(err, err2);
    }
    if (s != MOTE_OK) {
        cli_error(argv[0], s, "%s", err);
        return CLI_FAIL;
    }
    mote_key_id(pk, id);
    printf("%s %s\n", mote_hex_encode(id, sizeof id, idhex), mote_hex_encode(pk, sizeof pk, hex));
    return CLI_OK;
}

static int run(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage("key", "missing subcommand (gen or show)");
    if (strcmp(argv[0], "gen") == 0)
        return gen(argc - 1, argv + 1);
    if (strcmp(argv[0], "show") == 0)
        return show(argc - 1, argv + 1);
    return cli_usage("key", "unknown subcommand '%s' (gen or show)", argv[0]);
}

const cli_cmd_t cli_cmd_key = { "key", "create or show the fleet's Ed25519 key files", help, run };
