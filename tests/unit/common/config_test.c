/* Unit tests for sk_config: agent and coordinator files (from
 * tests/data/configs and from files written per test) and region
 * inventories built in a temporary directory with freshly generated keys,
 * since no secret key may be committed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_config.h"
#include "sk_key.h"
#include "sk_log.h"

#define assert_msg(err, sub)                                \
do {                                                        \
if (strstr((err)->msg, (sub)) == NULL)                      \
fail_msg("message \"%s\" lacks \"%s\"", (err)->msg, (sub)); \
} while (0)

static char tmpdir[64];

static const char *
data_dir(void)
{
	const char *d = getenv("SKEIN_TEST_DATA");

	if (d == NULL)
		fail_msg("SKEIN_TEST_DATA is not set");
	return d;
}

static void
data_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", data_dir(), rel);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to tmpdir/rel (creating one level of directory) and put the
 * full path in buf. */
static void
write_tmp(char *buf, size_t len, const char *rel, const char *text)
{
	char dir[256];
	const char *slash = strrchr(rel, '/');
	FILE *f;

	if (slash != NULL) {
		snprintf(dir, sizeof(dir), "%s/%.*s", tmpdir, (int)(slash - rel), rel);
		mkdir(dir, 0700);
	}
	snprintf(buf, len, "%s/%s", tmpdir, rel);
	f = fopen(buf, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

static void
test_agent_config_loads_every_key(void **state)
{
	char path[512], want[512];
	sk_agent_config cfg;
	sk_err err;

	(void)state;
	data_path(path, sizeof(path), "configs/agent.yaml");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.region, "af");
	assert_string_equal(cfg.coordinator, "tls+tcp://coordinator.example.net:7400");
	data_path(want, sizeof(want), "configs/keys/agent-af.key");
	assert_string_equal(cfg.key, want);
	assert_string_equal(cfg.coordinator_key, "/etc/skein/coordinator.pub");
	assert_int_equal(cfg.nrelease_keys, 2);
	data_path(want, sizeof(want), "configs/keys/release-2026.pub");
	assert_string_equal(cfg.release_keys[0], want);
	assert_string_equal(cfg.release_keys[1], "/etc/skein/release-2025.pub");
	assert_int_equal(cfg.ndatabases, 2);
	assert_string_equal(cfg.databases[0].name, "accounts");
	assert_string_equal(
	    cfg.databases[0].conninfo, "host=/run/postgresql dbname=accounts");
	assert_string_equal(cfg.databases[1].name, "ledger");
	assert_string_equal(cfg.state, "/var/lib/skein");
	assert_int_equal(cfg.poll_ms, 250);
	assert_int_equal(cfg.parallel, 2);
	assert_string_equal(cfg.tls.ca, "/etc/skein/tls/ca.crt");
	data_path(want, sizeof(want), "configs/tls/agent-af.crt");
	assert_string_equal(cfg.tls.cert, want);
	data_path(want, sizeof(want), "configs/tls/agent-af.key");
	assert_string_equal(cfg.tls.key, want);
	assert_string_equal(cfg.tls.server_name, "coordinator.example.net");
	assert_false(cfg.insecure_transport);
	sk_agent_config_fini(&cfg);
	assert_null(cfg.region);
	sk_agent_config_fini(NULL);
}

static void
test_agent_config_defaults(void **state)
{
	char path[512], want[512];
	sk_agent_config cfg;
	sk_err err;

	(void)state;
	data_path(path, sizeof(path), "configs/agent-defaults.yaml");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	data_path(want, sizeof(want), "configs/state");
	assert_string_equal(cfg.state, want);
	assert_int_equal(cfg.poll_ms, 1000);
	assert_int_equal(cfg.log_format, SK_LOG_FORMAT_TEXT);
	assert_int_equal(cfg.dead_man_ms, 60000); /* stopline */
	assert_int_equal(cfg.parallel, 4);
	assert_null(cfg.backup_dir);
	assert_string_equal(cfg.pg_dump, "pg_dump");
	assert_string_equal(cfg.pg_restore, "pg_restore");
	data_path(want, sizeof(want), "configs/release.pub");
	assert_string_equal(cfg.release_keys[0], want);
	assert_int_equal(cfg.ndatabases, 1);
	assert_string_equal(cfg.databases[0].conninfo, "dbname=main");
	assert_string_equal(cfg.databases[0].backup_conninfo, "dbname=main");
	assert_int_equal(cfg.databases[0].pooler, SK_POOLER_NONE);
	sk_agent_config_fini(&cfg);
}

/* backup_dir resolves against the file's directory; a bare program name
 * stays a name for PATH lookup, a relative path resolves like backup_dir;
 * backup_conninfo defaults per database to its conninfo. */
static void
test_agent_config_backup_and_pooler_keys(void **state)
{
	char path[512], want[512];
	sk_agent_config cfg;
	sk_err err;

	(void)state;
	write_tmp(path, sizeof(path), "agent.yaml",
	    "region: af\ncoordinator: tcp://127.0.0.1:7400\nkey: agent.key\n"
	    "coordinator_key: coordinator.pub\nrelease_keys: [r.pub]\n"
	    "databases:\n"
	    "  - name: main\n"
	    "    conninfo: host=pgbouncer port=6432 dbname=main\n"
	    "    backup_conninfo: host=db1 port=5432 dbname=main\n"
	    "    pooler: transaction\n"
	    "  - name: side\n"
	    "    conninfo: dbname=side\n"
	    "    pooler: none\n"
	    "backup_dir: backups\n"
	    "pg_dump: bin/pg_dump\n"
	    "pg_restore: pg_restore15\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	snprintf(want, sizeof(want), "%s/backups", tmpdir);
	assert_string_equal(cfg.backup_dir, want);
	snprintf(want, sizeof(want), "%s/bin/pg_dump", tmpdir);
	assert_string_equal(cfg.pg_dump, want);
	assert_string_equal(cfg.pg_restore, "pg_restore15");
	assert_int_equal(cfg.ndatabases, 2);
	assert_string_equal(
	    cfg.databases[0].backup_conninfo, "host=db1 port=5432 dbname=main");
	assert_int_equal(cfg.databases[0].pooler, SK_POOLER_TRANSACTION);
	assert_string_equal(cfg.databases[1].backup_conninfo, "dbname=side");
	assert_int_equal(cfg.databases[1].pooler, SK_POOLER_NONE);
	assert_string_equal(sk_pooler_name(cfg.databases[0].pooler), "transaction");
	assert_string_equal(sk_pooler_name(cfg.databases[1].pooler), "none");
	sk_agent_config_fini(&cfg);
	assert_null(cfg.backup_dir);
	assert_null(cfg.pg_dump);

	write_tmp(path, sizeof(path), "agent.yaml",
	    "region: af\ncoordinator: tcp://127.0.0.1:7400\nkey: agent.key\n"
	    "coordinator_key: coordinator.pub\nrelease_keys: [r.pub]\n"
	    "databases: [{name: a, conninfo: x}]\n"
	    "backup_dir: /var/backups/skein\npg_dump: /usr/lib/postgresql/15/bin/pg_dump\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_string_equal(cfg.backup_dir, "/var/backups/skein");
	assert_string_equal(cfg.pg_dump, "/usr/lib/postgresql/15/bin/pg_dump");
	assert_string_equal(cfg.pg_restore, "pg_restore");
	sk_agent_config_fini(&cfg);
}

#define AGENT_HEAD                        \
"region: af\n"                            \
    "coordinator: tcp://127.0.0.1:7400\n" \
    "key: agent.key\n"                    \
    "coordinator_key: coordinator.pub\n"

static const struct {
	const char *text;
	const char *want;
} agent_bad[] = {
	{ AGENT_HEAD "release_keys: [r.pub]\ndatabases: [{name: a, conninfo: x}]\n"
		     "pol_ms: 5\n",
	    "agent.yaml:7:1: unknown key \"pol_ms\" (allowed: region, coordinator, key, "
	    "coordinator_key, release_keys, databases, state, poll_ms, parallel, "
	    "backup_dir, pg_dump, pg_restore, tls, insecure_transport, "
	    "health_probe, dead_man, move, log_format)" },
	{ "coordinator: tcp://127.0.0.1:7400\nkey: a\ncoordinator_key: c\n"
	  "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n",
	    "agent.yaml:1:1: missing required key \"region\"" },
	{ "region: 'a b'\ncoordinator: tcp://h:1\nkey: a\ncoordinator_key: c\n"
	  "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n",
	    "agent.yaml:1:9: region: \"a b\" is not a valid region name" },
	{ AGENT_HEAD "release_keys: []\ndatabases: [{name: a, conninfo: x}]\n",
	    "agent.yaml:5:15: release_keys: expected a list of release public key "
	    "paths, got an empty list" },
	{ AGENT_HEAD "release_keys: r.pub\ndatabases: [{name: a, conninfo: x}]\n",
	    "agent.yaml:5:15: release_keys: expected a list of release public key "
	    "paths, got a string \"r.pub\"" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: []\n",
	    "agent.yaml:6:12: databases: expected a list of databases, got an empty list" },
	{ AGENT_HEAD "release_keys: [r]\n",
	    "agent.yaml:1:1: missing required key \"databases\"" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  name: a\n  conninfo: x\n",
	    "agent.yaml:7:3: databases: expected a list of databases, each with name "
	    "and conninfo, got a mapping" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: a\n",
	    "agent.yaml:7:5: databases[0]: missing required key \"conninfo\"" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: a\n    conninfo: x\n"
		     "  - name: a\n    conninfo: y\n",
	    "agent.yaml:9:11: databases[1].name: duplicate database \"a\" (first at "
	    "line 7, column 11)" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: .hidden\n    conninfo: x\n",
	    "agent.yaml:7:11: databases[0].name: \".hidden\" is not a valid database name" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: a\n    conninfo: x\n"
		     "    user: y\n",
	    "agent.yaml:9:5: databases[0]: unknown key \"user\" (allowed: name, conninfo, "
	    "backup_conninfo, pooler)" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "log_format: yaml\n",
	    "agent.yaml:7:13: log_format: \"yaml\" is not text or json" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "log_format: [json]\n",
	    "agent.yaml:7:13: log_format: expected a string, got a list" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\npoll_ms: 5\n",
	    "agent.yaml:7:10: poll_ms: expected an integer from 10 to 60000, got \"5\"" },
	/* stopline: a dead_man an idle poll would trip, and one that is no
	 * duration. */
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "dead_man: 500ms\n",
	    "dead_man 500 ms must be longer than poll_ms 1000 ms" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "dead_man: soon\n",
	    "dead_man" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\nparallel: 65\n",
	    "agent.yaml:7:11: parallel: expected an integer from 1 to 64, got \"65\"" },
	{ "region: af\ncoordinator: localhost\nkey: a\ncoordinator_key: c\n"
	  "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n",
	    "agent.yaml:2:14: coordinator: expected an nng URL" },
	{ AGENT_HEAD "key: again\n",
	    "agent.yaml:5:1: duplicate key \"key\" (first at "
	    "line 3, column 1)" },
	{ AGENT_HEAD "release_keys: [r\n",
	    "agent.yaml:6:1: did not find expected ',' or ']'" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: a\n    conninfo: x\n"
		     "    pooler: session\n",
	    "agent.yaml:9:13: databases[0].pooler: expected none or transaction "
	    "(PgBouncer transaction pooling), got \"session\"" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: a\n    conninfo: x\n"
		     "    pooler: [transaction]\n",
	    "agent.yaml:9:13: databases[0].pooler: expected a string, got a list" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases:\n  - name: a\n    conninfo: x\n"
		     "    backup_conninfo: ''\n",
	    "agent.yaml:9:22: databases[0].backup_conninfo: " },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "backup_dir: ''\n",
	    "agent.yaml:7:13: backup_dir: " },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "backup_dir: [a, b]\n",
	    "agent.yaml:7:13: backup_dir: expected a string, got a list" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "pg_dump: ''\n",
	    "agent.yaml:7:10: pg_dump: " },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "pg_restore: {path: x}\n",
	    "agent.yaml:7:13: pg_restore: expected a string, got a mapping" },
	{ "- region: af\n",
	    "agent.yaml:1:1: expected a mapping of agent settings, got a list" },
	/* sampling: health_probe is an http:// URL with a host */
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "health_probe: https://127.0.0.1/health\n",
	    "agent.yaml:7:15: health_probe: expected an http:// URL such as "
	    "http://127.0.0.1:8080/health, got \"https://127.0.0.1/health\"" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "health_probe: 127.0.0.1:8080\n",
	    "agent.yaml:7:15: health_probe: expected an http:// URL" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "health_probe: http:///health\n",
	    "agent.yaml:7:15: health_probe: expected an http:// URL" },
	{ AGENT_HEAD "release_keys: [r]\ndatabases: [{name: a, conninfo: x}]\n"
		     "health_probe: ''\n",
	    "agent.yaml:7:15: health_probe: " },
};

static void
test_agent_config_rejects_bad_files(void **state)
{
	char path[512];
	sk_agent_config cfg, before;
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(agent_bad) / sizeof(agent_bad[0]); i++) {
		write_tmp(path, sizeof(path), "agent.yaml", agent_bad[i].text);
		memset(&cfg, 0xA5, sizeof(cfg));
		memcpy(&before, &cfg, sizeof(cfg));
		sk_err_clear(&err);
		assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_EINVAL);
		if (strstr(err.msg, agent_bad[i].want) == NULL)
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i,
			    err.msg, agent_bad[i].want);
		assert_true(strncmp(err.msg, path, strlen(path)) == 0);
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
}

/* sampling: health_probe as written; absent, NULL. */
static void
test_agent_config_health_probe(void **state)
{
	char path[512];
	sk_agent_config cfg;
	sk_err err;

	(void)state;
	write_tmp(path, sizeof(path), "agent.yaml",
	    "region: af\ncoordinator: tcp://127.0.0.1:7400\nkey: agent.key\n"
	    "coordinator_key: coordinator.pub\nrelease_keys: [r.pub]\n"
	    "databases: [{name: a, conninfo: x}]\n"
	    "health_probe: http://app.internal:8080/skein/health\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_string_equal(cfg.health_probe, "http://app.internal:8080/skein/health");
	sk_agent_config_fini(&cfg);
	assert_null(cfg.health_probe);
	write_tmp(path, sizeof(path), "agent.yaml",
	    "region: af\ncoordinator: tcp://127.0.0.1:7400\nkey: agent.key\n"
	    "coordinator_key: coordinator.pub\nrelease_keys: [r.pub]\n"
	    "databases: [{name: a, conninfo: x}]\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_null(cfg.health_probe);
	sk_agent_config_fini(&cfg);
}

/* moves: move: {listen: tcp://HOST:PORT}; absent, NULL; anything else
 * names the line. */
static void
test_agent_config_move_listen(void **state)
{
	static const struct {
		const char *tail;
		const char *want;
	} bad[] = {
		{ "move: {listen: 'udp://127.0.0.1:7411'}\n",
		    "agent.yaml:7:16: move.listen: expected tcp://HOST:PORT" },
		{ "move: {listen: 'tcp://127.0.0.1:0'}\n", "with a port from 1 to 65535" },
		{ "move: {listen: 'tcp://127.0.0.1:65536'}\n",
		    "got \"tcp://127.0.0.1:65536\"" },
		{ "move: {listen: 'tcp://:7411'}\n", "expected tcp://HOST:PORT" },
		{ "move: {listen: 'tcp://127.0.0.1'}\n", "expected tcp://HOST:PORT" },
		{ "move: {listen: 'tcp://127.0.0.1:74x1'}\n", "expected tcp://HOST:PORT" },
		{ "move: {}\n", "agent.yaml:7:7: move: move needs listen" },
		{ "move: tcp://127.0.0.1:7411\n",
		    "agent.yaml:7:7: move: expected a mapping with listen" },
		{ "move: {listen: 'tcp://127.0.0.1:7411', lisen: x}\n",
		    "unknown key \"lisen\" (allowed: listen, drain, drain_timeout)" },
		{ "move: {listen: 'tcp://127.0.0.1:7411', drain: 'https://x/d'}\n",
		    "move.drain: expected an http:// URL" },
		{ "move: {listen: 'tcp://127.0.0.1:7411', drain: 'http://x/d', "
		  "drain_timeout: 0}\n",
		    "drain_timeout must be above zero" },
		{ "move: {listen: 'tcp://127.0.0.1:7411', drain_timeout: soon}\n",
		    "drain_timeout" },
	};
	char path[512], text[1024];
	sk_agent_config cfg;
	sk_err err;

	(void)state;
	write_tmp(path, sizeof(path), "agent.yaml",
	    AGENT_HEAD "release_keys: [r.pub]\ndatabases: [{name: a, conninfo: x}]\n"
		       "move: {listen: 'tcp://127.0.0.1:7411'}\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_string_equal(cfg.move_listen, "tcp://127.0.0.1:7411");
	assert_null(cfg.move_drain);
	assert_int_equal(cfg.move_drain_timeout_ms, 5000);
	sk_agent_config_fini(&cfg);
	assert_null(cfg.move_listen);
	write_tmp(path, sizeof(path), "agent.yaml",
	    AGENT_HEAD
	    "release_keys: [r.pub]\ndatabases: [{name: a, conninfo: x}]\n"
	    "move: {listen: 'tcp://127.0.0.1:7411', drain: "
	    "'http://127.0.0.1:8080/admin/drain-streams', drain_timeout: 2s}\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_string_equal(cfg.move_drain, "http://127.0.0.1:8080/admin/drain-streams");
	assert_int_equal(cfg.move_drain_timeout_ms, 2000);
	sk_agent_config_fini(&cfg);
	write_tmp(path, sizeof(path), "agent.yaml",
	    AGENT_HEAD "release_keys: [r.pub]\ndatabases: [{name: a, conninfo: x}]\n");
	assert_int_equal(sk_agent_config_load(path, &cfg, &err), SK_OK);
	assert_null(cfg.move_listen);
	sk_agent_config_fini(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    AGENT_HEAD "release_keys: [r.pub]\n"
			       "databases: [{name: a, conninfo: x}]\n%s",
		    bad[i].tail);
		write_tmp(path, sizeof(path), "agent.yaml", text);
		sk_err_clear(&err);
		if (sk_agent_config_load(path, &cfg, &err) != SK_EINVAL)
			fail_msg("case %zu: loaded", i);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i,
			    err.msg, bad[i].want);
	}
}

static void
test_agent_config_missing_file(void **state)
{
	sk_agent_config cfg;
	sk_err err;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(
	    sk_agent_config_load("/nonexistent/agent.yaml", &cfg, &err), SK_EIO);
	assert_msg(&err, "/nonexistent/agent.yaml");
	assert_null(cfg.path);
}

static void
test_coord_config_loads_and_resolves_paths(void **state)
{
	char path[512], want[512];
	sk_coord_config cfg;
	sk_err err;

	(void)state;
	data_path(path, sizeof(path), "configs/coordinator.yaml");
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_OK);
	assert_string_equal(cfg.listen, "tls+tcp://0.0.0.0:7400");
	assert_string_equal(cfg.control, "ipc:///run/skein/control.sock");
	data_path(want, sizeof(want), "configs/../regions");
	assert_string_equal(cfg.regions, want);
	data_path(want, sizeof(want), "configs/keys/coordinator.key");
	assert_string_equal(cfg.key, want);
	assert_int_equal(cfg.nrelease_keys, 1);
	data_path(want, sizeof(want), "configs/keys/release.pub");
	assert_string_equal(cfg.release_keys[0], want);
	data_path(want, sizeof(want), "configs/state");
	assert_string_equal(cfg.state, want);
	data_path(want, sizeof(want), "configs/tls/ca.crt");
	assert_string_equal(cfg.tls.ca, want);
	assert_string_equal(cfg.tls.key, "/etc/skein/tls/coordinator.key");
	assert_true(cfg.insecure_local);
	assert_int_equal(cfg.noperators, 0);
	assert_int_equal(cfg.rehearsal_interval_ms, 90 * 1000);
	sk_coord_config_fini(&cfg);
	sk_coord_config_fini(NULL);
}

/* rehearsal_interval: 5m when absent, 0 for no limit, a duration
 * otherwise; anything else names the line and changes nothing. */
static void
test_coord_config_rehearsal_interval(void **state)
{
	static const char base[] =
	    "listen: tcp://127.0.0.1:7400\ncontrol: ipc:///tmp/c\nregions: r\n"
	    "key: k\nrelease_keys: [a]\nstate: s\ninsecure_local: true\n";
	static const struct {
		const char *line;
		int64_t want_ms;
	} good[] = {
		{ "", SK_REHEARSAL_INTERVAL_MS },
		{ "rehearsal_interval: 0\n", 0 },
		{ "rehearsal_interval: 1h30m\n", 90 * 60 * 1000 },
	};
	char path[512], text[512];
	sk_coord_config cfg, before;
	sk_err err;

	(void)state;
	assert_int_equal(SK_REHEARSAL_INTERVAL_MS, 5 * 60 * 1000);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, good[i].line);
		write_tmp(path, sizeof(path), "coordinator.yaml", text);
		if (sk_coord_config_load(path, &cfg, &err) != SK_OK)
			fail_msg("case %zu: %s", i, err.msg);
		assert_int_equal(cfg.rehearsal_interval_ms, good[i].want_ms);
		sk_coord_config_fini(&cfg);
	}
	snprintf(text, sizeof(text), "%srehearsal_interval: soon\n", base);
	write_tmp(path, sizeof(path), "coordinator.yaml", text);
	memset(&cfg, 0x5A, sizeof(cfg));
	memcpy(&before, &cfg, sizeof(cfg));
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_EINVAL);
	assert_msg(&err, "coordinator.yaml:8:21: rehearsal_interval: parse duration");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	snprintf(text, sizeof(text), "%srehearsal_interval: -5m\n", base);
	write_tmp(path, sizeof(path), "coordinator.yaml", text);
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_EINVAL);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

/* http: absent, HTTP off; listen defaults to loopback; tls needs both
 * files; tokens are paths against the file. Every bad value names its
 * line and column, and the caller's struct is untouched. */
static void
test_coord_config_http(void **state)
{
	static const char base[] =
	    "listen: tcp://127.0.0.1:7400\ncontrol: ipc:///tmp/c\nregions: r\n"
	    "key: k\nrelease_keys: [a]\nstate: s\ninsecure_local: true\n";
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "http: yes\n",
		    "coordinator.yaml:8:7: http: expected a mapping of listen, tls and tokens" },
		{ "http: {port: 80}\n", "coordinator.yaml:8:" },
		{ "http: {listen: \"8080\"}\n",
		    "coordinator.yaml:8:16: http.listen: expected HOST:PORT" },
		{ "http: {listen: \"127.0.0.1:99999\"}\n",
		    "expected HOST:PORT with a port from 1 to 65535" },
		{ "http: {listen: \"127.0.0.1:\"}\n", "expected HOST:PORT" },
		{ "http: {listen: \"a b:80\"}\n", "expected HOST:PORT" },
		{ "http: {listen: \"\"}\n", "coordinator.yaml:8:" },
		{ "http: {tls: {cert: c.pem}}\n", "key" },
		{ "http: {tls: {cert: c.pem, key: k.pem, ca: x}}\n", "ca" },
		{ "http: {tokens: []}\n", "coordinator.yaml:8:" },
		{ "http: {tokens: t}\n", "coordinator.yaml:8:" },
	};
	char path[512], text[512], want[512];
	sk_coord_config cfg, before;
	sk_err err;

	(void)state;
	write_tmp(path, sizeof(path), "coordinator.yaml", base);
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_OK);
	assert_false(cfg.http.enabled);
	assert_null(cfg.http.listen);
	sk_coord_config_fini(&cfg);
	snprintf(text, sizeof(text), "%shttp: {}\n", base);
	write_tmp(path, sizeof(path), "coordinator.yaml", text);
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_OK);
	assert_true(cfg.http.enabled);
	assert_string_equal(cfg.http.listen, SK_HTTP_LISTEN_DEFAULT);
	assert_string_equal(cfg.http.listen, "127.0.0.1:7480");
	assert_null(cfg.http.tls_cert);
	assert_int_equal(cfg.http.ntokens, 0);
	sk_coord_config_fini(&cfg);
	snprintf(text, sizeof(text),
	    "%shttp:\n  listen: \"[::1]:9090\"\n  tls: {cert: c.pem, key: "
	    "/k.pem}\n  tokens: [a.token, /etc/b.token]\n",
	    base);
	write_tmp(path, sizeof(path), "coordinator.yaml", text);
	if (sk_coord_config_load(path, &cfg, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.http.listen, "[::1]:9090");
	snprintf(want, sizeof(want), "%.*s/c.pem",
	    (int)(strrchr(path, '/') - path), path);
	assert_string_equal(cfg.http.tls_cert, want);
	assert_string_equal(cfg.http.tls_key, "/k.pem");
	assert_int_equal(cfg.http.ntokens, 2);
	assert_string_equal(cfg.http.tokens[1], "/etc/b.token");
	sk_coord_config_fini(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, bad[i].text);
		write_tmp(path, sizeof(path), "coordinator.yaml", text);
		memset(&cfg, 0x5A, sizeof(cfg));
		memcpy(&before, &cfg, sizeof(cfg));
		if (sk_coord_config_load(path, &cfg, &err) == SK_OK)
			fail_msg("case %zu (%s) loaded", i, bad[i].text);
		if (strstr(err.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i,
			    err.msg, bad[i].msg);
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
}

/* log_format: text when absent, text or json; anything else names the
 * line and changes nothing. */
static void
test_coord_config_log_format(void **state)
{
	static const char base[] =
	    "listen: tcp://127.0.0.1:7400\ncontrol: ipc:///tmp/c\nregions: r\n"
	    "key: k\nrelease_keys: [a]\nstate: s\ninsecure_local: true\n";
	static const struct {
		const char *line;
		int want;
	} good[] = {
		{ "", SK_LOG_FORMAT_TEXT },
		{ "log_format: text\n", SK_LOG_FORMAT_TEXT },
		{ "log_format: json\n", SK_LOG_FORMAT_JSON },
	};
	char path[512], text[512];
	sk_coord_config cfg, before;
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, good[i].line);
		write_tmp(path, sizeof(path), "coordinator.yaml", text);
		if (sk_coord_config_load(path, &cfg, &err) != SK_OK)
			fail_msg("case %zu: %s", i, err.msg);
		assert_int_equal(cfg.log_format, good[i].want);
		sk_coord_config_fini(&cfg);
	}
	snprintf(text, sizeof(text), "%slog_format: JSON\n", base);
	write_tmp(path, sizeof(path), "coordinator.yaml", text);
	memset(&cfg, 0x5A, sizeof(cfg));
	memcpy(&before, &cfg, sizeof(cfg));
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_EINVAL);
	assert_msg(&err,
	    "coordinator.yaml:8:13: log_format: \"JSON\" is not text or json");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static void
test_coord_config_rejects_bad_files(void **state)
{
	char path[512];
	sk_coord_config cfg, before;
	sk_err err;

	(void)state;
	memset(&cfg, 0x5A, sizeof(cfg));
	memcpy(&before, &cfg, sizeof(cfg));
	data_path(path, sizeof(path), "configs/coordinator-typo.yaml");
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_EINVAL);
	assert_msg(&err,
	    "coordinator-typo.yaml:3:1: unknown key \"regoins\" (allowed: "
	    "listen, control, regions, key, release_keys, state, tls, "
	    "insecure_transport, operators, insecure_local, rehearsal_interval, http, "
	    "log_format)");
	assert_memory_equal(&cfg, &before, sizeof(cfg));

	write_tmp(path, sizeof(path), "coordinator.yaml",
	    "listen: tcp://0.0.0.0:7400\ncontrol: ipc:///tmp/c\nregions: r\n"
	    "key: k\nrelease_keys: [a]\n");
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_EINVAL);
	assert_msg(&err, "coordinator.yaml:1:1: missing required key \"state\"");
	assert_memory_equal(&cfg, &before, sizeof(cfg));

	write_tmp(path, sizeof(path), "coordinator.yaml",
	    "listen: [tcp://0.0.0.0:7400]\ncontrol: ipc:///tmp/c\nregions: r\n"
	    "key: k\nrelease_keys: [a]\nstate: s\n");
	assert_int_equal(sk_coord_config_load(path, &cfg, &err), SK_EINVAL);
	assert_msg(&err, "coordinator.yaml:1:9: listen: expected a string, got a list");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

/* Generate tmpdir/keys/<name>.{key,pub} and return the public key. */
static void
gen_key(const char *name, sk_pubkey *pub)
{
	char base[256], pubpath[300];
	sk_err err;

	snprintf(base, sizeof(base), "%s/keys", tmpdir);
	mkdir(base, 0700);
	snprintf(base, sizeof(base), "%s/keys/%s", tmpdir, name);
	if (sk_key_generate(base, &err) != SK_OK)
		fail_msg("generate key: %s", err.msg);
	snprintf(pubpath, sizeof(pubpath), "%s.pub", base);
	if (sk_pubkey_load(pubpath, pub, &err) != SK_OK)
		fail_msg("load key: %s", err.msg);
}

static void
write_region(const char *file, const char *name, const char *residency, const char *key)
{
	char text[512], rel[128], path[512];

	snprintf(text, sizeof(text), "name: %s\nresidency: %s\nagent_key: %s\n",
	    name, residency, key);
	snprintf(rel, sizeof(rel), "regions/%s", file);
	write_tmp(path, sizeof(path), rel, text);
}

static void
regions_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/regions", tmpdir);
}

static void
test_inventory_loads_sorted_regions_with_keys(void **state)
{
	sk_pubkey af, in, ksa;
	char dir[256], want[512];
	sk_inventory inv;
	sk_err err;

	(void)state;
	gen_key("ksa", &ksa);
	gen_key("af", &af);
	gen_key("in", &in);
	write_region("ksa.yaml", "ksa", "ksa", "../keys/ksa.pub");
	write_region("in.yaml", "in", "in", "../keys/in.pub");
	write_region("af.yaml", "af", "af\nmove_endpoint: tcp://127.0.0.1:7411",
	    "../keys/af.pub");
	/* Hidden files and other extensions are not region files. */
	write_region(".af.yaml", "zz", "zz", "nope");
	write_region("README.txt", "zz", "zz", "nope");
	regions_dir(dir, sizeof(dir));
	assert_int_equal(sk_inventory_load(dir, &inv, &err), SK_OK);
	assert_string_equal(inv.dir, dir);
	assert_int_equal(inv.nregions, 3);
	assert_string_equal(inv.regions[0].name, "af");
	assert_string_equal(inv.regions[1].name, "in");
	assert_string_equal(inv.regions[2].name, "ksa");
	assert_string_equal(inv.regions[2].residency, "ksa");
	snprintf(want, sizeof(want), "%s/regions/../keys/ksa.pub", tmpdir);
	assert_string_equal(inv.regions[2].agent_key_path, want);
	snprintf(want, sizeof(want), "%s/regions/ksa.yaml", tmpdir);
	assert_string_equal(inv.regions[2].path, want);
	assert_string_equal(inv.regions[0].move_endpoint, "tcp://127.0.0.1:7411");
	assert_null(inv.regions[1].move_endpoint); /* optional */
	assert_memory_equal(inv.regions[0].agent_key.pk, af.pk, SK_PUBKEY_LEN);
	assert_memory_equal(inv.regions[1].agent_key.pk, in.pk, SK_PUBKEY_LEN);
	assert_memory_equal(inv.regions[2].agent_key.pk, ksa.pk, SK_PUBKEY_LEN);
	assert_ptr_equal(sk_inventory_find(&inv, "in"), &inv.regions[1]);
	assert_ptr_equal(sk_inventory_find(&inv, "af"), &inv.regions[0]);
	assert_null(sk_inventory_find(&inv, "eu"));
	assert_null(sk_inventory_find(NULL, "af"));
	sk_inventory_fini(&inv);
	assert_int_equal(inv.nregions, 0);
	sk_inventory_fini(NULL);
}

/* Load the inventory expecting failure with code and sub in the message,
 * and out left untouched. */
static void
inventory_fails(const char *dir, int code, const char *sub)
{
	sk_inventory inv, before;
	sk_err err;

	memset(&inv, 0xA5, sizeof(inv));
	memcpy(&before, &inv, sizeof(inv));
	sk_err_clear(&err);
	assert_int_equal(sk_inventory_load(dir, &inv, &err), code);
	assert_msg(&err, sub);
	assert_memory_equal(&inv, &before, sizeof(inv));
}

static void
test_inventory_rejects_bad_directories(void **state)
{
	char dir[256], path[512], want[600];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
	mkdir(dir, 0700);
	snprintf(want, sizeof(want), "load region inventory %s: no region files", dir);
	inventory_fails(dir, SK_EINVAL, want);

	write_tmp(path, sizeof(path), "plainfile", "x\n");
	snprintf(want, sizeof(want), "load region inventory %s: Not a directory", path);
	inventory_fails(path, SK_EIO, want);

	snprintf(dir, sizeof(dir), "%s/absent", tmpdir);
	snprintf(want, sizeof(want), "load region inventory %s", dir);
	inventory_fails(dir, SK_ENOTFOUND, want);
}

static void
test_inventory_rejects_bad_region_files(void **state)
{
	sk_pubkey af, in;
	char dir[256], want[600];

	(void)state;
	gen_key("af", &af);
	gen_key("in", &in);
	regions_dir(dir, sizeof(dir));

	write_region("af.yaml", "af", "af", "../keys/af.pub");
	write_region("india.yaml", "in", "in", "../keys/in.pub");
	snprintf(want, sizeof(want),
	    "%s/india.yaml:1:7: name: region \"in\" is "
	    "defined in india.yaml: rename the file to in.yaml",
	    dir);
	inventory_fails(dir, SK_EINVAL, want);
	remove(strcat(strcpy(want, dir), "/india.yaml"));

	write_region("in.yaml", "in", "in", "../keys/missing.pub");
	snprintf(want, sizeof(want), "%s/in.yaml:3:12: agent_key: ", dir);
	inventory_fails(dir, SK_EIO, want);
	inventory_fails(dir, SK_EIO, "keys/missing.pub");

	write_region("in.yaml", "in", "'in dia'", "../keys/in.pub");
	snprintf(want, sizeof(want),
	    "%s/in.yaml:2:12: residency: \"in dia\" is not "
	    "a valid residency name",
	    dir);
	inventory_fails(dir, SK_EINVAL, want);

	write_region("in.yaml", "in", "in", "../keys/af.pub");
	inventory_fails(dir, SK_EINVAL, "regions af and in share agent key");

	write_region("in.yaml", "in", "in\nagent_keys: x", "../keys/in.pub");
	snprintf(want, sizeof(want),
	    "%s/in.yaml:3:1: unknown key \"agent_keys\" "
	    "(allowed: name, residency, agent_key, move_endpoint)",
	    dir);
	inventory_fails(dir, SK_EINVAL, want);

	/* moves: move_endpoint is tcp://HOST:PORT, port 1-65535 */
	write_region("in.yaml", "in",
	    "in\nmove_endpoint: 'tcp://10.0.0.1:99999'", "../keys/in.pub");
	snprintf(want, sizeof(want),
	    "%s/in.yaml:3:16: move_endpoint: expected tcp://HOST:PORT with a "
	    "port from 1 to 65535",
	    dir);
	inventory_fails(dir, SK_EINVAL, want);
	write_region("in.yaml", "in",
	    "in\nmove_endpoint: 'http://10.0.0.1:7412'", "../keys/in.pub");
	inventory_fails(dir, SK_EINVAL, "got \"http://10.0.0.1:7412\"");
	write_region("in.yaml", "in", "in\nmove_endpoint: ''", "../keys/in.pub");
	inventory_fails(dir, SK_EINVAL, "in.yaml:3:16: move_endpoint: ");

	write_region("in.yaml", "in", "in", "../keys/in.pub");
	write_region("ksa.yaml", "ksa", "ksa", "");
	snprintf(want, sizeof(want),
	    "%s/ksa.yaml:3:11: agent_key: expected a string, "
	    "got null",
	    dir);
	inventory_fails(dir, SK_EINVAL, want);
}

#define COORD_HEAD                                              \
"listen: tcp://127.0.0.1:7400\ncontrol: tcp://127.0.0.1:7401\n" \
    "regions: r\nkey: k\nrelease_keys: [a]\nstate: s\n"

/* Load text as coordinator.yaml expecting failure with want; cfg is
 * untouched. */
static void
coord_fails_with(int code, const char *text, const char *want)
{
	char path[512];
	sk_coord_config cfg, before;
	sk_err err;

	memset(&cfg, 0x5A, sizeof(cfg));
	memcpy(&before, &cfg, sizeof(cfg));
	write_tmp(path, sizeof(path), "coordinator.yaml", text);
	sk_err_clear(&err);
	if (sk_coord_config_load(path, &cfg, &err) != code)
		fail_msg("load: want code %d, got: %s", code, err.msg);
	assert_msg(&err, want);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static void
coord_fails(const char *text, const char *want)
{
	coord_fails_with(SK_EINVAL, text, want);
}

static void
test_coord_config_pins_operators_with_roles(void **state)
{
	char path[512];
	sk_pubkey alice, bob;
	sk_coord_config cfg;
	const sk_operator *op;
	sk_err err;

	(void)state;
	gen_key("alice", &alice);
	gen_key("bob", &bob);
	write_tmp(path, sizeof(path), "coordinator.yaml",
	    COORD_HEAD "operators:\n"
		       "  - {name: alice, key: keys/alice.pub, role: admin}\n"
		       "  - {name: bob, key: keys/bob.pub, role: viewer}\n");
	if (sk_coord_config_load(path, &cfg, &err) != SK_OK)
		fail_msg("load: %s", err.msg);
	assert_int_equal(cfg.noperators, 2);
	assert_false(cfg.insecure_local);
	op = sk_coord_operator_find(&cfg, bob.id);
	assert_non_null(op);
	assert_string_equal(op->name, "bob");
	assert_int_equal(op->role, SK_ROLE_VIEWER);
	assert_memory_equal(op->key.pk, bob.pk, SK_PUBKEY_LEN);
	assert_int_equal(sk_coord_operator_find(&cfg, alice.id)->role, SK_ROLE_ADMIN);
	sk_coord_config_fini(&cfg);

	/* The role lattice. */
	assert_true(sk_role_allows(SK_ROLE_VIEWER, SK_ROLE_VIEWER));
	assert_false(sk_role_allows(SK_ROLE_VIEWER, SK_ROLE_OPERATOR));
	assert_true(sk_role_allows(SK_ROLE_OPERATOR, SK_ROLE_OPERATOR));
	assert_false(sk_role_allows(SK_ROLE_OPERATOR, SK_ROLE_ADMIN));
	assert_false(sk_role_allows(SK_ROLE_APPROVER, SK_ROLE_OPERATOR));
	assert_true(sk_role_allows(SK_ROLE_APPROVER, SK_ROLE_APPROVER));
	assert_true(sk_role_allows(SK_ROLE_ADMIN, SK_ROLE_APPROVER));
	assert_false(sk_role_allows((sk_role)0, SK_ROLE_VIEWER));
	assert_string_equal(sk_role_name(SK_ROLE_APPROVER), "approver");
	assert_int_equal(sk_role_from_name("admin"), SK_ROLE_ADMIN);
	assert_int_equal(sk_role_from_name("root"), 0);

	/* What is refused, each at its line. */
	coord_fails(COORD_HEAD, "coordinator.yaml:1:1: no operators: every command");
	coord_fails(COORD_HEAD
	    "operators:\n  - {name: eve, key: keys/alice.pub, role: root}\n",
	    "coordinator.yaml:8:44: operators[0].role: expected a role: viewer, "
	    "operator, approver or admin");
	coord_fails(COORD_HEAD "operators:\n"
			       "  - {name: alice, key: keys/alice.pub, role: admin}\n"
			       "  - {name: alias, key: keys/alice.pub, role: viewer}\n",
	    "operator alias has the name or key of operator alice");
	coord_fails_with(SK_EIO,
	    COORD_HEAD "operators:\n  - {name: carol, key: keys/carol.pub, role: admin}\n",
	    "operators[0].key");
}

static void
test_transport_policy_refuses_plain_tcp_beyond_loopback(void **state)
{
	sk_tls_config none = { 0 },
		      server = { NULL, (char *)"c.crt", (char *)"c.key", NULL };
	sk_err err;

	(void)state;
	assert_int_equal(sk_config_transport_check("tcp://127.0.0.1:1", &none,
			     true, false, "listen", &err),
	    SK_OK);
	assert_int_equal(sk_config_transport_check("tcp://localhost:1", &none,
			     true, false, "listen", &err),
	    SK_OK);
	assert_int_equal(sk_config_transport_check("tcp://[::1]:1", &none, true,
			     false, "listen", &err),
	    SK_OK);
	assert_int_equal(sk_config_transport_check("ipc:///run/x", &none, true,
			     false, "control", &err),
	    SK_OK);
	assert_int_equal(sk_config_transport_check("tcp://10.1.2.3:7400", &none,
			     true, false, "listen", &err),
	    SK_EINVAL);
	assert_msg(&err, "listen: tcp://10.1.2.3:7400 is plain TCP to 10.1.2.3");
	assert_non_null(strstr(err.hint, "insecure_transport: true"));
	assert_int_equal(sk_config_transport_check(
			     "tcp://:7400", &none, true, false, "listen", &err),
	    SK_EINVAL);
	assert_int_equal(sk_config_transport_check("tcp://10.1.2.3:7400", &none,
			     true, true, "listen", &err),
	    SK_OK);
	assert_int_equal(sk_config_transport_check("tls+tcp://10.1.2.3:7400",
			     &none, false, false, "control", &err),
	    SK_EINVAL);
	assert_msg(&err, "tls: sets no cert and key");
	assert_int_equal(sk_config_transport_check("tls+tcp://10.1.2.3:7400",
			     &server, true, false, "listen", &err),
	    SK_EINVAL);
	assert_msg(&err, "sets no ca to check the peer's certificate against");
	assert_int_equal(sk_config_transport_check("tls+tcp://10.1.2.3:7400",
			     &server, false, false, "control", &err),
	    SK_OK);

	/* In a file, at the URL's line. */
	coord_fails("listen: tcp://0.0.0.0:7400\ncontrol: tcp://127.0.0.1:7401\n"
		    "regions: r\nkey: k\nrelease_keys: [a]\nstate: s\n"
		    "insecure_local: true\n",
	    "coordinator.yaml:1:9: listen: tcp://0.0.0.0:7400 is plain TCP");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_config_loads_every_key),
		cmocka_unit_test(test_agent_config_defaults),
		cmocka_unit_test_setup_teardown(
		    test_agent_config_rejects_bad_files, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_agent_config_move_listen, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_agent_config_missing_file),
		cmocka_unit_test_setup_teardown(test_agent_config_backup_and_pooler_keys,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_agent_config_health_probe, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_coord_config_loads_and_resolves_paths),
		cmocka_unit_test_setup_teardown(
		    test_coord_config_http, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_coord_config_pins_operators_with_roles,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_transport_policy_refuses_plain_tcp_beyond_loopback,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_coord_config_rejects_bad_files, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_coord_config_rehearsal_interval, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_coord_config_log_format, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_inventory_loads_sorted_regions_with_keys,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_inventory_rejects_bad_directories, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_inventory_rejects_bad_region_files, setup_tmp, teardown_tmp),
	};
	sk_err err;

	if (sk_crypto_init(&err) != SK_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
