/* cli_flag: `skein flag set|get|list`, the emergency flip outside a
 * plan. It works with the coordinator down: the CLI connects to the
 * region's databases itself, named by the agent's own agent.yaml
 * (--agent-config) or one conninfo (--db), and flips through the same
 * store as a plan's flag steps (common/pg/sk_flagdb.h), each flip
 * recorded in skein.flag_history with the operator and the reason
 * (docs/flags.md). */
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "sk_config.h"
#include "sk_flagdb.h"
#include "sk_pg.h"
#include "sk_plan.h"

#define CMD "flag"
#define TENANTS_MAX 64

typedef struct flag_opts {
	const char *agent_config;
	const char *db;       /* a conninfo */
	const char *database; /* with --agent-config: only this one */
	const char *tenants[TENANTS_MAX];
	size_t ntenants;
	const char *reason;
	bool json;
} flag_opts;

/* One database to flip in. */
typedef struct target {
	const char *name;
	const char *conninfo;
} target;

static void
flag_usage(FILE *out)
{
	fprintf(out,
	    "Set, read and list feature flags in a region's databases directly,\n"
	    "for the emergency flip outside a plan: works with the coordinator\n"
	    "down. Flags live in skein.flags; applications read them with\n"
	    "SELECT skein.flag(name, tenant) (docs/flags.md). Every flip is\n"
	    "recorded in skein.flag_history with the operator (the name of\n"
	    "$SKEIN_KEY, else $USER) and the reason.\n"
	    "\n"
	    "Usage:\n"
	    "  skein flag set NAME VALUE [--tenant T]... [--reason TEXT] WHERE\n"
	    "  skein flag get NAME [--tenant T] WHERE\n"
	    "  skein flag list [--json] WHERE\n"
	    "\n"
	    "WHERE is one of:\n"
	    "  --agent-config FILE  the region agent's agent.yaml: every database\n"
	    "                       it manages (or --database NAME only)\n"
	    "  --db CONNINFO        one database (libpq conninfo or URI)\n"
	    "\n"
	    "Options:\n"
	    "  --database NAME      with --agent-config: this database only\n"
	    "  --tenant T           set: for tenant T (repeat for several);\n"
	    "                       none: the every-tenant value. get: T's value\n"
	    "                       (its own, else the every-tenant one)\n"
	    "  --reason TEXT        set: why, kept in skein.flag_history\n"
	    "  --json               list: JSON\n"
	    "  -h, --help           show this help\n"
	    "\n"
	    "NAME is [a-z0-9_.-], 1 to %d bytes; VALUE is text, with\n"
	    "true/on/yes/1 stored as true and false/off/no/0 as false.\n"
	    "\n"
	    "Examples:\n"
	    "  skein flag set feature.reporting_v1 off --reason \"INC-231\" \\\n"
	    "      --agent-config /etc/skein/agent.yaml\n"
	    "  skein flag get feature.reporting_v1 --tenant hotel-af-001 --db "
	    "postgresql:///app\n"
	    "\n"
	    "Exit status: 0 done; 1 a database failed (nothing changed there);\n"
	    "2 usage (a bad flag name, an unknown database).\n",
	    SK_FLAG_NAME_MAX);
}

/* Who flips: the name of the operator key ($SKEIN_KEY's file name
 * without .key), else $USER. */
static void
operator_name(char *buf, size_t len)
{
	const char *key = getenv("SKEIN_KEY"), *user = getenv("USER");

	if (key != NULL && key[0] != '\0') {
		char copy[512], *base, *dot;

		snprintf(copy, sizeof(copy), "%s", key);
		base = basename(copy);
		dot = strrchr(base, '.');
		if (dot != NULL && strcmp(dot, ".key") == 0)
			*dot = '\0';
		snprintf(buf, len, "%s", base);
		return;
	}
	snprintf(buf, len, "%s", user != NULL && user[0] != '\0' ? user : "unknown");
}

static int
parse(int argc, char **argv, flag_opts *o)
{
	static const struct option longopts[] = {
		{ "agent-config", required_argument, NULL, 'a' },
		{ "db", required_argument, NULL, 'd' },
		{ "database", required_argument, NULL, 'D' },
		{ "tenant", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->agent_config = optarg;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'D':
			o->database = optarg;
			break;
		case 't':
			if (o->ntenants == TENANTS_MAX) {
				cli_errorf(CMD, "at most %d --tenant", TENANTS_MAX);
				return CLI_USAGE;
			}
			o->tenants[o->ntenants++] = optarg;
			break;
		case 'r':
			o->reason = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			flag_usage(stdout);
			return -1;
		case ':':
			cli_errorf(CMD, "option %s needs an argument",
			    argv[optind - 1]);
			flag_usage(stderr);
			return CLI_USAGE;
		default:
			cli_errorf(CMD, "unknown option %s", argv[optind - 1]);
			flag_usage(stderr);
			return CLI_USAGE;
		}
	}
	if ((o->agent_config == NULL) == (o->db == NULL)) {
		cli_errorf(CMD,
		    "say where the flags are: --agent-config FILE or "
		    "--db CONNINFO (one of them)");
		return CLI_USAGE;
	}
	if (o->database != NULL && o->agent_config == NULL) {
		cli_errorf(CMD, "--database goes with --agent-config");
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* The databases to work on, from the agent's config or --db. *cfg is
 * the caller's to fini. */
static int
targets_of(const flag_opts *o, sk_agent_config *cfg, target *t, size_t *n)
{
	sk_err err;
	char names[512] = "";
	size_t off = 0;

	*n = 0;
	if (o->db != NULL) {
		t[0].name = "--db";
		t[0].conninfo = o->db;
		*n = 1;
		return CLI_OK;
	}
	if (sk_agent_config_load(o->agent_config, cfg, &err) != SK_OK) {
		cli_errorf(CMD, "%s", err.msg);
		return CLI_FAIL;
	}
	for (size_t i = 0; i < cfg->ndatabases && *n < 64; i++) {
		off += (size_t)snprintf(names + off,
		    off < sizeof(names) ? sizeof(names) - off : 0, "%s%s",
		    i ? ", " : "", cfg->databases[i].name);
		if (o->database != NULL &&
		    strcmp(o->database, cfg->databases[i].name) != 0)
			continue;
		t[*n].name = cfg->databases[i].name;
		t[*n].conninfo = cfg->databases[i].conninfo;
		(*n)++;
	}
	if (*n == 0) {
		cli_errorf(CMD,
		    "unknown database \"%s\": %s of region %s manages %s; nothing "
		    "changed",
		    o->database != NULL ? o->database : "", o->agent_config,
		    cfg->region != NULL ? cfg->region : "?", names);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Connect to t and make sure it has the flag store. */
static int
open_db(const target *t, PGconn **conn)
{
	bool present = false;
	sk_err err;

	if (sk_pg_connect(t->conninfo, "skein flag", conn, &err) != SK_OK) {
		cli_errorf(CMD, "%s: %s", t->name, err.msg);
		return CLI_FAIL;
	}
	if (sk_flagdb_present(*conn, &present, &err) != SK_OK) {
		cli_errorf(CMD, "%s: %s", t->name, err.msg);
		goto fail;
	}
	if (!present) {
		cli_errorf(CMD,
		    "%s: the database has no skein.flags yet: no skein-agent has "
		    "prepared it. Start the region's skein-agent once (it creates "
		    "and upgrades the skein schema), then flip again; nothing "
		    "changed",
		    t->name);
		goto fail;
	}
	return CLI_OK;
fail:
	PQfinish(*conn);
	*conn = NULL;
	return CLI_FAIL;
}

static void
print_flip(const char *db, const sk_flagdb_flip *f)
{
	printf("%s: %s%s%s: %s -> %s\n", db, f->name, f->tenant ? " for " : "",
	    f->tenant ? f->tenant : " (every tenant)",
	    f->old_value ? f->old_value : "(unset)",
	    f->new_value ? f->new_value : "(unset)");
}

/* One transaction per database: every tenant flips, or none. */
static int
set_in(const target *t, const flag_opts *o, const char *name, const char *value)
{
	sk_flagdb_flip flips[TENANTS_MAX];
	char who_name[128];
	sk_flagdb_who who = { who_name, o->reason, NULL, NULL, NULL };
	size_t n = o->ntenants > 0 ? o->ntenants : 1, done = 0;
	PGconn *conn = NULL;
	sk_err err;
	int rc;

	operator_name(who_name, sizeof(who_name));
	if (open_db(t, &conn) != CLI_OK)
		return CLI_FAIL;
	rc = sk_pg_exec(conn, "begin", "BEGIN", NULL, &err);
	for (size_t i = 0; rc == SK_OK && i < n; i++) {
		rc = sk_flagdb_set(conn, NULL, name, o->ntenants ? o->tenants[i] : NULL,
		    value, &who, 0, &flips[i], &err);
		if (rc == SK_OK)
			done++;
	}
	if (rc == SK_OK)
		rc = sk_pg_exec(conn, "commit", "COMMIT", NULL, &err);
	if (rc != SK_OK) {
		PGresult *res = PQexec(conn, "ROLLBACK");

		PQclear(res);
		cli_errorf(CMD, "%s: %s; nothing changed there", t->name, err.msg);
	}
	for (size_t i = 0; i < done; i++) {
		if (rc == SK_OK)
			print_flip(t->name, &flips[i]);
		sk_flagdb_flip_fini(&flips[i]);
	}
	PQfinish(conn);
	return rc == SK_OK ? CLI_OK : CLI_FAIL;
}

static int
get_in(const target *t, const flag_opts *o, const char *name)
{
	const char *tenant = o->ntenants ? o->tenants[0] : NULL;
	PGconn *conn = NULL;
	char *value = NULL;
	sk_err err;
	int rc;

	if (open_db(t, &conn) != CLI_OK)
		return CLI_FAIL;
	rc = sk_flagdb_get(conn, name, tenant, &value, &err);
	if (rc != SK_OK)
		cli_errorf(CMD, "%s: %s", t->name, err.msg);
	else
		printf("%s: %s%s%s = %s\n", t->name, name, tenant ? " for " : "",
		    tenant ? tenant : " (every tenant)", value ? value : "(unset)");
	free(value);
	PQfinish(conn);
	return rc == SK_OK ? CLI_OK : CLI_FAIL;
}

static int
list_in(const target *t, json_t *arr)
{
	sk_flagdb_flip *v = NULL;
	PGconn *conn = NULL;
	size_t n = 0;
	sk_err err;

	if (open_db(t, &conn) != CLI_OK)
		return CLI_FAIL;
	if (sk_flagdb_list(conn, &v, &n, &err) != SK_OK) {
		cli_errorf(CMD, "%s: %s", t->name, err.msg);
		PQfinish(conn);
		return CLI_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		if (arr != NULL) {
			json_t *x = json_object();

			json_object_set_new(x, "database", json_string(t->name));
			json_object_set_new(x, "name", json_string(v[i].name));
			json_object_set_new(x, "tenant",
			    v[i].tenant ? json_string(v[i].tenant) : json_null());
			json_object_set_new(x, "value", json_string(v[i].new_value));
			json_array_append_new(arr, x);
		} else {
			printf("%s: %s%s%s = %s\n", t->name, v[i].name,
			    v[i].tenant ? " for " : "",
			    v[i].tenant ? v[i].tenant : " (every tenant)",
			    v[i].new_value);
		}
	}
	if (arr == NULL && n == 0)
		printf("%s: no flags set\n", t->name);
	sk_flagdb_flips_free(v, n);
	PQfinish(conn);
	return CLI_OK;
}

/* The arguments a subcommand wants after its options: SK_OK or usage. */
static int
check_args(const char *sub, int nargs, int want, const flag_opts *o, char **args)
{
	char *norm = NULL;
	sk_err err;

	if (nargs != want) {
		cli_errorf(CMD, "%s takes %s", sub,
		    want == 2     ? "NAME VALUE" :
			want == 1 ? "NAME" :
				    "no argument");
		return CLI_USAGE;
	}
	if (want >= 1 && !sk_flag_name_valid(args[0])) {
		cli_errorf(CMD,
		    "\"%.80s\" is not a flag name: use a-z, 0-9, '_', '.' and '-', "
		    "1 to %d bytes; nothing changed",
		    args[0], SK_FLAG_NAME_MAX);
		return CLI_USAGE;
	}
	if (want == 2 && sk_flag_value_normalize(args[1], &norm, &err) != SK_OK) {
		cli_errorf(CMD, "value %s; nothing changed", err.msg);
		return CLI_USAGE;
	}
	free(norm);
	for (size_t i = 0; i < o->ntenants; i++)
		if (o->tenants[i][0] == '\0' ||
		    strlen(o->tenants[i]) > SK_FLAG_TENANT_MAX) {
			cli_errorf(CMD, "--tenant must be 1 to %d bytes; nothing changed",
			    SK_FLAG_TENANT_MAX);
			return CLI_USAGE;
		}
	if (strcmp(sub, "get") == 0 && o->ntenants > 1) {
		cli_errorf(CMD, "get reads one tenant's value: one --tenant");
		return CLI_USAGE;
	}
	if (o->json && strcmp(sub, "list") != 0) {
		cli_errorf(CMD, "--json goes with list");
		return CLI_USAGE;
	}
	return CLI_OK;
}

int
cli_flag(int argc, char **argv)
{
	flag_opts o;
	sk_agent_config cfg;
	target t[64];
	size_t n = 0;
	const char *sub;
	char *value = NULL;
	json_t *arr = NULL;
	sk_err err;
	int rc, failed = 0;

	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		flag_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "set") != 0 && strcmp(sub, "get") != 0 &&
	    strcmp(sub, "list") != 0) {
		cli_errorf(CMD, "unknown subcommand %s (set, get, list)", sub);
		flag_usage(stderr);
		return CLI_USAGE;
	}
	rc = parse(argc - 1, argv + 1, &o);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	rc = check_args(sub, argc - 1 - optind,
	    strcmp(sub, "set") == 0     ? 2 :
		strcmp(sub, "get") == 0 ? 1 :
					  0,
	    &o, argv + 1 + optind);
	if (rc != CLI_OK)
		return rc;
	rc = targets_of(&o, &cfg, t, &n);
	if (rc != CLI_OK)
		goto out;
	if (strcmp(sub, "set") == 0 &&
	    sk_flag_value_normalize(argv[2 + optind], &value, &err) != SK_OK) {
		cli_errorf(CMD, "%s", err.msg);
		rc = CLI_FAIL;
		goto out;
	}
	if (o.json)
		arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(sub, "set") == 0)
			failed |= set_in(&t[i], &o, argv[1 + optind], value) != CLI_OK;
		else if (strcmp(sub, "get") == 0)
			failed |= get_in(&t[i], &o, argv[1 + optind]) != CLI_OK;
		else
			failed |= list_in(&t[i], arr) != CLI_OK;
	}
	if (arr != NULL) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(arr);
	}
	rc = failed ? CLI_FAIL : CLI_OK;
out:
	free(value);
	if (o.agent_config != NULL)
		sk_agent_config_fini(&cfg);
	return rc;
}
