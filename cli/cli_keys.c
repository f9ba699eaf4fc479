/* cli_keys: `skein keygen`, and the error printer every subcommand shares
 * so that all of them report failures the same way. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sk_key.h"
#include "sk_util.h"

void
cli_errorf(const char *cmd, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "skein %s: %s\n", cmd, msg);
}

static void
keygen_usage(FILE *out)
{
	fprintf(out,
	    "Create an Ed25519 key pair for signing plans or messages.\n"
	    "\n"
	    "Usage:\n"
	    "  skein keygen --out DIR/NAME\n"
	    "\n"
	    "Writes DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (public).\n"
	    "Existing files are never overwritten. DIR is created (mode 0700)\n"
	    "if it does not exist.\n"
	    "\n"
	    "Options:\n"
	    "  -o, --out DIR/NAME   where to write the key pair\n"
	    "  -h, --help           show this help and exit\n");
}

/* Create the directory that will hold out_base's files, if missing. */
static int
ensure_parent(const char *out_base, sk_err *err)
{
	const char *slash = strrchr(out_base, '/');
	struct stat st;
	char *dir;
	int rc;

	if (slash == NULL || slash == out_base)
		return SK_OK;
	dir = strndup(out_base, (size_t)(slash - out_base));
	if (dir == NULL)
		return sk_err_set(err, SK_ENOMEM, "create directory: out of memory");
	if (stat(dir, &st) == 0) {
		free(dir);
		return SK_OK;
	}
	rc = sk_mkdir_p(dir, 0700, err);
	free(dir);
	return rc;
}

int
cli_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_base = NULL;
	char *key_path = NULL, *pub_path = NULL;
	char idhex[2 * SK_KEY_ID_LEN + 1];
	sk_pubkey pub;
	sk_err err;
	int c, rc = CLI_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_base = optarg;
			break;
		case 'h':
			keygen_usage(stdout);
			return CLI_OK;
		case ':':
			cli_errorf("keygen", "option %s needs an argument",
			    argv[optind - 1]);
			keygen_usage(stderr);
			return CLI_USAGE;
		default:
			if (optopt != 0)
				cli_errorf("keygen", "unknown option -%c", optopt);
			else
				cli_errorf("keygen", "unknown option %s",
				    argv[optind - 1]);
			keygen_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_errorf("keygen", "unexpected argument %s", argv[optind]);
		keygen_usage(stderr);
		return CLI_USAGE;
	}
	if (out_base == NULL || out_base[0] == '\0') {
		cli_errorf("keygen", "--out DIR/NAME is required");
		keygen_usage(stderr);
		return CLI_USAGE;
	}
	if (out_base[strlen(out_base) - 1] == '/') {
		cli_errorf("keygen",
		    "--out %s names a directory; add a key name, "
		    "e.g. %srelease",
		    out_base, out_base);
		return CLI_USAGE;
	}

	key_path = malloc(strlen(out_base) + 5);
	pub_path = malloc(strlen(out_base) + 5);
	if (key_path == NULL || pub_path == NULL) {
		cli_errorf("keygen", "out of memory");
		goto out;
	}
	sprintf(key_path, "%s.key", out_base);
	sprintf(pub_path, "%s.pub", out_base);
	if (ensure_parent(out_base, &err) != SK_OK ||
	    sk_key_generate(out_base, &err) != SK_OK ||
	    sk_pubkey_load(pub_path, &pub, &err) != SK_OK) {
		cli_errorf("keygen", "%s", err.msg);
		if (err.hint[0] != '\0')
			fprintf(stderr, "hint: %s\n", err.hint);
		goto out;
	}
	sk_key_id_hex(pub.id, idhex);
	printf("secret key: %s (keep it private; mode 0600)\n", key_path);
	printf("public key: %s\n", pub_path);
	printf("key id:     %s\n", idhex);
	rc = CLI_OK;
out:
	free(key_path);
	free(pub_path);
	return rc;
}
