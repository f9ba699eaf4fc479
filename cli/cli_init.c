/* cli_init: `skein init DIR`, a deployment directory that works as
 * written: the release, coordinator and operator keys and one agent key
 * per region, the region inventory, coordinator.yaml, one agent config
 * per region and a first plan, wired to each other by relative paths. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "sk_key.h"
#include "sk_strbuf.h"
#include "sk_util.h"

#define INIT_MAX_REGIONS 32
#define INIT_DEFAULT_REGIONS "af,in,ksa"
#define INIT_DEFAULT_CONNINFO "service={region}"
#define INIT_DEFAULT_PORT 7400

static void
usage(FILE *out)
{
	fprintf(out,
	    "Create a deployment directory: keys, region inventory, the\n"
	    "coordinator's and agents' configs and a first plan.\n"
	    "\n"
	    "Usage:\n"
	    "  skein init DIR [--regions LIST] [--conninfo TEMPLATE]\n"
	    "             [--port N] [--force]\n"
	    "\n"
	    "Writes, in DIR (created, mode 0700):\n"
	    "  keys/          release (signs plans), coordinator, operators\n"
	    "                 admin (role admin) and reviewer (role approver),\n"
	    "                 agent-REGION for each region: NAME.key (mode\n"
	    "                 0600, never printed) and NAME.pub\n"
	    "  regions/       REGION.yaml per region (its agent's public key)\n"
	    "  coordinator.yaml  listen tcp://127.0.0.1:N for agents, control\n"
	    "                 tcp://127.0.0.1:N+1 for the CLI, the operators\n"
	    "  agents/        REGION.yaml per region: one agent's config\n"
	    "  plans/first/   a first plan: a canary phase (the first region)\n"
	    "                 and the rest behind an approval\n"
	    "The links are plain TCP on loopback; for a deployment across hosts\n"
	    "add TLS (deploy/tls/make-certs, docs/operations.md \"TLS\").\n"
	    "\n"
	    "Options:\n"
	    "  --regions LIST      comma-separated region names (default\n"
	    "                      " INIT_DEFAULT_REGIONS "); the first is the canary\n"
	    "  --conninfo TEMPLATE each agent's database conninfo; {region} is\n"
	    "                      replaced by the region's name (default\n"
	    "                      \"" INIT_DEFAULT_CONNINFO "\": a libpq service\n"
	    "                      per region, from PGSERVICEFILE)\n"
	    "  --port N            the coordinator's ports N and N+1 (default "
	    "%d)\n"
	    "  --force             write into a DIR that is not empty, replacing\n"
	    "                      the configs, inventory and plan skein init\n"
	    "                      writes; key pairs that exist are kept\n"
	    "  -h, --help          show this help and exit\n"
	    "\n"
	    "Without --force a DIR that exists and is not empty is refused and\n"
	    "nothing is written.\n"
	    "\n"
	    "Example:\n"
	    "  skein init mydeploy --regions af,in,ksa\n",
	    INIT_DEFAULT_PORT);
}

typedef struct init_opts {
	const char *dir;
	char *regions[INIT_MAX_REGIONS];
	size_t n_regions;
	const char *conninfo;
	int port;
	bool force;
} init_opts;

/* Split list at commas into o->regions; each must be a valid, new name. */
static int
parse_regions(const char *list, init_opts *o)
{
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char *name;
		size_t i;

		if (o->n_regions == INIT_MAX_REGIONS) {
			cli_errorf("init", "--regions: more than %d regions",
			    INIT_MAX_REGIONS);
			return CLI_USAGE;
		}
		name = strndup(p, len);
		if (name == NULL) {
			cli_errorf("init", "out of memory");
			return CLI_FAIL;
		}
		if (!sk_name_valid(name)) {
			cli_errorf("init",
			    "--regions: \"%s\" is not a region name (1 to 63 "
			    "of A-Z a-z 0-9 _ . -, not starting with . or -)",
			    name);
			free(name);
			return CLI_USAGE;
		}
		for (i = 0; i < o->n_regions; i++) {
			if (strcmp(o->regions[i], name) == 0) {
				cli_errorf("init",
				    "--regions: region %s is named twice", name);
				free(name);
				return CLI_USAGE;
			}
		}
		o->regions[o->n_regions++] = name;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return CLI_OK;
}

/* 1 if dir exists and holds an entry, 0 if missing or empty, -1 (and a
 * message) if it cannot be read or is not a directory. */
static int
dir_nonempty(const char *dir)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int found = 0;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		cli_errorf("init", "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_errorf("init", "%s exists and is not a directory", dir);
		return -1;
	}
	d = opendir(dir);
	if (d == NULL) {
		cli_errorf("init", "read directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

/* The path dir/rel in buf (PATH_MAX-sized). */
static const char *
at(char *buf, size_t len, const char *dir, const char *rel)
{
	snprintf(buf, len, "%s/%s", dir, rel);
	return buf;
}

static int
mkdir_in(const char *dir, const char *rel)
{
	char path[4096];
	sk_err err;

	if (sk_mkdir_p(at(path, sizeof(path), dir, rel), 0700, &err) != SK_OK) {
		cli_errorf("init", "%s", err.msg);
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* Write b (or report its OOM) to dir/rel with mode. */
static int
write_in(const char *dir, const char *rel, sk_strbuf *b, int mode)
{
	char path[4096];
	sk_err err;
	int rc = CLI_OK;

	if (b->oom) {
		cli_errorf("init", "write %s/%s: out of memory", dir, rel);
		rc = CLI_FAIL;
	} else if (sk_file_write_atomic(at(path, sizeof(path), dir, rel),
		       b->s != NULL ? b->s : "", b->len, mode, &err) != SK_OK) {
		cli_errorf("init", "%s", err.msg);
		rc = CLI_FAIL;
	}
	sk_strbuf_fini(b);
	return rc;
}

static int
write_text(const char *dir, const char *rel, const char *text, int mode)
{
	sk_strbuf b = { 0 };

	sk_strbuf_add(&b, text);
	return write_in(dir, rel, &b, mode);
}

/* Make keys/NAME.key and .pub unless the pair exists (a secret key is
 * never replaced); print its id. */
static int
make_key(const char *dir, const char *name, const char *what)
{
	char base[4096], pub_path[4200], key_path[4200];
	char idhex[2 * SK_KEY_ID_LEN + 1];
	struct stat st;
	sk_pubkey pub;
	sk_err err;
	bool kept = false;

	snprintf(base, sizeof(base), "%s/keys/%s", dir, name);
	snprintf(key_path, sizeof(key_path), "%s.key", base);
	snprintf(pub_path, sizeof(pub_path), "%s.pub", base);
	if (stat(key_path, &st) == 0 && stat(pub_path, &st) == 0) {
		kept = true;
	} else if (sk_key_generate(base, &err) != SK_OK) {
		cli_errorf("init", "%s", err.msg);
		if (err.hint[0] != '\0')
			fprintf(stderr, "hint: %s\n", err.hint);
		return CLI_FAIL;
	}
	if (sk_pubkey_load(pub_path, &pub, &err) != SK_OK) {
		cli_errorf("init", "%s", err.msg);
		return CLI_FAIL;
	}
	sk_key_id_hex(pub.id, idhex);
	printf("  keys/%-16s %s, key id %s%s\n", name, what, idhex,
	    kept ? " (kept)" : "");
	return CLI_OK;
}

/* conninfo with every {region} replaced, as a double-quoted YAML scalar. */
static void
add_conninfo(sk_strbuf *b, const char *tmpl, const char *region)
{
	const char *p;

	sk_strbuf_add(b, "\"");
	for (p = tmpl; *p != '\0'; p++) {
		if (strncmp(p, "{region}", 8) == 0) {
			sk_strbuf_add(b, region);
			p += 7;
		} else if (*p == '"' || *p == '\\') {
			sk_strbuf_addf(b, "\\%c", *p);
		} else {
			sk_strbuf_addf(b, "%c", *p);
		}
	}
	sk_strbuf_add(b, "\"");
}

static int
write_region(const init_opts *o, const char *region)
{
	sk_strbuf b = { 0 };
	char rel[256];

	sk_strbuf_addf(&b,
	    "# Region %s: its residency (plans' phases may select by it) and\n"
	    "# the public key its agent signs with.\n"
	    "name: %s\n"
	    "residency: %s\n"
	    "agent_key: ../keys/agent-%s.pub\n",
	    region, region, region, region);
	snprintf(rel, sizeof(rel), "regions/%s.yaml", region);
	return write_in(o->dir, rel, &b, 0644);
}

static int
mkdir_region_backups(const init_opts *o, const char *region)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "backups/%s", region);
	return mkdir_in(o->dir, rel);
}

static int
write_coordinator(const init_opts *o)
{
	sk_strbuf b = { 0 };

	sk_strbuf_addf(&b,
	    "# skein-coordinator --config coordinator.yaml (docs/operations.md).\n"
	    "# Relative paths resolve against this file's directory.\n"
	    "#\n"
	    "# Plain TCP on loopback: every process on this host. For agents on\n"
	    "# other hosts use tls+tcp:// URLs and a tls: section with the\n"
	    "# certificates of deploy/tls/make-certs (docs/operations.md, TLS):\n"
	    "#   tls: {ca: tls/ca.crt, cert: tls/coordinator.crt, key: "
	    "tls/coordinator.key}\n"
	    "listen: tcp://127.0.0.1:%d      # agents dial this\n"
	    "control: tcp://127.0.0.1:%d     # the skein CLI (SKEIN_COORDINATOR)\n"
	    "regions: regions                   # REGION.yaml and its agent's key\n"
	    "key: keys/coordinator.key          # signs what it sends agents\n"
	    "release_keys: [keys/release.pub]   # plans must carry one of these\n"
	    "state: state/coordinator           # the rollout journal\n"
	    "# Every CLI command is signed by an operator key pinned here with a\n"
	    "# role: viewer, operator, approver or admin (docs/security.md).\n"
	    "operators:\n"
	    "  - {name: admin, key: keys/admin.pub, role: admin}\n"
	    "  - {name: reviewer, key: keys/reviewer.pub, role: approver}\n",
	    o->port, o->port + 1);
	return write_in(o->dir, "coordinator.yaml", &b, 0600);
}

static int
write_agent(const init_opts *o, const char *region)
{
	sk_strbuf b = { 0 };
	char rel[256];

	sk_strbuf_addf(&b,
	    "# skein-agent --config agents/%s.yaml: region %s's agent, beside\n"
	    "# its PostgreSQL. Relative paths resolve against this directory.\n"
	    "region: %s\n"
	    "coordinator: tcp://127.0.0.1:%d   # coordinator.yaml's listen\n"
	    "key: ../keys/agent-%s.key\n"
	    "coordinator_key: ../keys/coordinator.pub\n"
	    "release_keys: [../keys/release.pub]\n"
	    "state: ../state/agent-%s\n"
	    "backup_dir: ../backups/%s   # pg_dump before a rollback's reverts\n"
	    "databases:\n"
	    "  - name: app\n"
	    "    conninfo: ",
	    region, region, region, o->port, region, region, region);
	add_conninfo(&b, o->conninfo, region);
	sk_strbuf_add(&b, "\n");
	snprintf(rel, sizeof(rel), "agents/%s.yaml", region);
	return write_in(o->dir, rel, &b, 0600);
}

static int
write_plan(const init_opts *o)
{
	sk_strbuf b = { 0 };
	size_t i;
	int rc;

	sk_strbuf_addf(&b,
	    "# A first plan: one table, rolled out to the canary region, then\n"
	    "# to the rest once an operator other than the starter approves.\n"
	    "# docs/formats.md describes every field.\n"
	    "name: first\n"
	    "expires: 72h\n"
	    "defaults:\n"
	    "  lock_timeout: 2s\n"
	    "  lock_retries: 5\n"
	    "phases:\n"
	    "  - name: canary\n"
	    "    regions: [%s]\n",
	    o->regions[0]);
	if (o->n_regions > 1) {
		sk_strbuf_add(&b,
		    "  - name: rest\n"
		    "    regions: [");
		for (i = 1; i < o->n_regions; i++)
			sk_strbuf_addf(&b, "%s%s", i > 1 ? ", " : "", o->regions[i]);
		sk_strbuf_add(&b,
		    "]\n"
		    "    approval: {count: 1, not_by_starter: true}  # skein "
		    "rollout approve ID --phase rest\n");
	}
	sk_strbuf_add(&b,
	    "steps:\n"
	    "  - id: 0001_create_greetings\n"
	    "    sql: 0001_create_greetings.sql\n"
	    "    verify: 0001_create_greetings.verify.sql\n"
	    "    revert: 0001_create_greetings.revert.sql\n");
	if ((rc = write_in(o->dir, "plans/first/plan.yaml", &b, 0644)) != CLI_OK)
		return rc;
	if ((rc = write_text(o->dir, "plans/first/0001_create_greetings.sql",
		 "CREATE TABLE greetings (\n"
		 "    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY "
		 "KEY,\n"
		 "    text       text        NOT NULL,\n"
		 "    created_at timestamptz NOT NULL DEFAULT now()\n"
		 ");\n",
		 0644)) != CLI_OK)
		return rc;
	if ((rc = write_text(o->dir, "plans/first/0001_create_greetings.verify.sql",
		 "-- Every row must be true, or the step rolls back.\n"
		 "SELECT to_regclass('public.greetings') IS NOT NULL;\n",
		 0644)) != CLI_OK)
		return rc;
	return write_text(o->dir, "plans/first/0001_create_greetings.revert.sql",
	    "DROP TABLE IF EXISTS greetings;\n", 0644);
}

static int
run_init(const init_opts *o)
{
	static const char *const subdirs[] = { "keys", "regions", "agents",
		"plans/first", "state" };
	char name[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		if ((rc = mkdir_in(o->dir, subdirs[i])) != CLI_OK)
			return rc;
	if (chmod(o->dir, 0700) != 0) {
		cli_errorf("init", "chmod 0700 %s: %s", o->dir, strerror(errno));
		return CLI_FAIL;
	}
	printf("skein init: %s\n", o->dir);
	if ((rc = make_key(o->dir, "release", "signs plans")) != CLI_OK ||
	    (rc = make_key(o->dir, "coordinator", "the coordinator's")) != CLI_OK ||
	    (rc = make_key(o->dir, "admin", "operator admin (role admin)")) != CLI_OK ||
	    (rc = make_key(o->dir, "reviewer", "operator reviewer (role approver)")) != CLI_OK)
		return rc;
	for (i = 0; i < o->n_regions; i++) {
		snprintf(name, sizeof(name), "agent-%s", o->regions[i]);
		if ((rc = make_key(o->dir, name, "the agent's")) != CLI_OK)
			return rc;
	}
	for (i = 0; i < o->n_regions; i++)
		if ((rc = write_region(o, o->regions[i])) != CLI_OK ||
		    (rc = mkdir_region_backups(o, o->regions[i])) != CLI_OK ||
		    (rc = write_agent(o, o->regions[i])) != CLI_OK)
			return rc;
	if ((rc = write_coordinator(o)) != CLI_OK || (rc = write_plan(o)) != CLI_OK)
		return rc;
	printf("  regions/*.yaml          the inventory: ");
	for (i = 0; i < o->n_regions; i++)
		printf("%s%s", i > 0 ? ", " : "", o->regions[i]);
	printf("\n"
	       "  coordinator.yaml        agents dial tcp://127.0.0.1:%d, the "
	       "CLI tcp://127.0.0.1:%d\n"
	       "  agents/*.yaml           one agent per region, database app: "
	       "%s\n"
	       "  plans/first/            a first plan (canary %s%s)\n"
	       "\n"
	       "Next (README.md, \"Your own deployment\"):\n"
	       "  cd %s\n"
	       "  skein-coordinator --config coordinator.yaml &\n"
	       "  skein-agent --config agents/%s.yaml &    # one per region\n"
	       "  export SKEIN_COORDINATOR=tcp://127.0.0.1:%d "
	       "SKEIN_KEY=keys/admin.key\n"
	       "  skein plan build plans/first -o first.plan --regions "
	       "regions\n",
	    o->port, o->port + 1, o->conninfo, o->regions[0],
	    o->n_regions > 1 ? ", then the rest after an approval" : "", o->dir,
	    o->regions[0], o->port + 1);
	return CLI_OK;
}

int
cli_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "regions", required_argument, NULL, 'r' },
		{ "conninfo", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	init_opts o = { .conninfo = INIT_DEFAULT_CONNINFO, .port = INIT_DEFAULT_PORT };
	const char *regions = INIT_DEFAULT_REGIONS;
	char *end;
	long port;
	size_t i;
	int c, rc = CLI_USAGE, nonempty;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			regions = optarg;
			break;
		case 'c':
			o.conninfo = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    port < 1 || port > 65534) {
				cli_errorf("init",
				    "--port %s: not a port from 1 to 65534 "
				    "(N and N+1 are used)",
				    optarg);
				return CLI_USAGE;
			}
			o.port = (int)port;
			break;
		case 'f':
			o.force = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case ':':
			cli_errorf("init", "option %s needs an argument",
			    argv[optind - 1]);
			usage(stderr);
			return CLI_USAGE;
		default:
			if (optopt != 0)
				cli_errorf("init", "unknown option -%c", optopt);
			else
				cli_errorf("init", "unknown option %s",
				    argv[optind - 1]);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_errorf("init", "DIR is required (e.g. skein init mydeploy)");
		usage(stderr);
		return CLI_USAGE;
	}
	if (optind + 1 < argc) {
		cli_errorf("init", "unexpected argument %s", argv[optind + 1]);
		usage(stderr);
		return CLI_USAGE;
	}
	o.dir = argv[optind];
	if (o.dir[0] == '\0') {
		cli_errorf("init", "DIR is empty");
		return CLI_USAGE;
	}
	if (strchr(o.conninfo, '\n') != NULL || o.conninfo[0] == '\0') {
		cli_errorf("init",
		    "--conninfo must be one non-empty line, e.g. "
		    "\"host=db-{region}.internal dbname=app\"");
		return CLI_USAGE;
	}
	if ((rc = parse_regions(regions, &o)) != CLI_OK)
		goto out;
	nonempty = dir_nonempty(o.dir);
	if (nonempty < 0) {
		rc = CLI_FAIL;
		goto out;
	}
	if (nonempty && !o.force) {
		cli_errorf("init",
		    "%s is not empty; nothing was written. Choose a new "
		    "directory, or --force to rewrite skein's configs and "
		    "plan in it (existing key pairs are kept)",
		    o.dir);
		rc = CLI_FAIL;
		goto out;
	}
	rc = run_init(&o);
out:
	for (i = 0; i < o.n_regions; i++)
		free(o.regions[i]);
	return rc;
}
