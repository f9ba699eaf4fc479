/* sk_config: agent.yaml and coordinator.yaml (the region inventory is
 * sk_config_inventory.c), read
 * through sk_yaml so that every mistake points at its line and column.
 * Each loader fills a local struct and hands it over only when complete. */
#include "sk_config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_config_int.h"
#include "sk_log.h"
#include "sk_util.h"
#include "sk_yaml.h"

static const char *const agent_keys[] = { "region", "coordinator", "key",
	"coordinator_key", "release_keys", "databases", "state", "poll_ms",
	"parallel", "backup_dir", "pg_dump", "pg_restore", "tls", "insecure_transport",
	"health_probe", "dead_man", "move", "log_format", NULL };
static const char *const database_keys[] = { "name", "conninfo",
	"backup_conninfo", "pooler", NULL };
static const char *const coord_keys[] = { "listen", "control", "regions", "key",
	"release_keys", "state", "tls", "insecure_transport", "operators",
	"insecure_local", "rehearsal_interval", "http", "log_format", NULL };
static const char *const tls_keys[] = { "ca", "cert", "key", "server_name", NULL };
static const char *const operator_keys[] = { "name", "key", "role", NULL };

/* log_format: text (the default) or json, into *out (enum sk_log_format). */
static int
log_format_field(const sk_yaml_node *root, int *out, sk_err *err)
{
	char *name = NULL;
	int rc = sk_yaml_string(root, "log_format", SK_YAML_NONEMPTY, &name, err);

	*out = SK_LOG_FORMAT_TEXT;
	if (rc != SK_OK || name == NULL)
		return rc;
	*out = sk_log_format_parse(name);
	if (*out < 0) {
		*out = SK_LOG_FORMAT_TEXT;
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(root, "log_format"),
		    "\"%s\" is not text or json", name);
	}
	free(name);
	return rc;
}

int
config_oom(sk_err *err, const char *path)
{
	return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", path);
}

/* A required nng URL. Only the shape is checked here; nng itself refuses
 * a transport it does not know when the daemon starts. */
static int
url_field(const sk_yaml_node *map, const char *key, char **out, sk_err *err)
{
	char *s = NULL;
	int rc;

	rc = sk_yaml_string(map, key, SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK)
		return rc;
	if (strstr(s, "://") == NULL || strstr(s, "://") == s) {
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, key),
		    "expected an nng URL such as tcp://127.0.0.1:7400, got \"%.80s\"",
		    s);
		free(s);
		return rc;
	}
	*out = s;
	return SK_OK;
}

/* A path, resolved against the directory of the file it is written in.
 * Absent (without SK_YAML_REQUIRED) leaves *out NULL. */
int
config_path_field(const char *file, const sk_yaml_node *map, const char *key,
    int flags, char **out, sk_err *err)
{
	char *s = NULL;
	int rc;

	rc = sk_yaml_string(map, key, flags | SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK)
		return rc;
	if (s == NULL) {
		*out = NULL;
		return SK_OK;
	}
	*out = sk_path_relative_to(file, s);
	free(s);
	return *out ? SK_OK : config_oom(err, file);
}

static int
path_list(const char *file, const sk_yaml_node *map, const char *key,
    const char *what, char ***out, size_t *n, sk_err *err)
{
	char **list = NULL;
	size_t count = 0;
	int rc;

	rc = sk_yaml_string_list(map, key, SK_YAML_REQUIRED | SK_YAML_NONEMPTY,
	    what, &list, &count, err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		char *abs = sk_path_relative_to(file, list[i]);

		if (abs == NULL) {
			sk_strv_free(list, count);
			return config_oom(err, file);
		}
		free(list[i]);
		list[i] = abs;
	}
	*out = list;
	*n = count;
	return SK_OK;
}

/* A program to run: a bare name stays as it is (exec looks it up in
 * PATH); a name with a '/' is a path, resolved against the file's
 * directory. Absent gives a copy of dflt. */
static int
program_field(const char *file, const sk_yaml_node *map, const char *key,
    const char *dflt, char **out, sk_err *err)
{
	char *s = NULL;
	int rc;

	rc = sk_yaml_string(map, key, SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK)
		return rc;
	if (s == NULL) {
		*out = sk_strdup(dflt);
	} else if (strchr(s, '/') == NULL) {
		*out = s;
		s = NULL;
	} else {
		*out = sk_path_relative_to(file, s);
	}
	free(s);
	return *out ? SK_OK : config_oom(err, file);
}

/* root's tls: mapping (absent: all NULL); paths against the file. */
static int
tls_field(const char *path, const sk_yaml_node *root, sk_tls_config *tls, sk_err *err)
{
	const sk_yaml_node *m = sk_yaml_get(root, "tls");
	int rc;

	if (m == NULL || sk_yaml_is_null(m))
		return SK_OK;
	rc = sk_yaml_expect(m, SK_YAML_MAPPING, "a mapping of ca, cert, key", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(m, tls_keys, err);
	if (rc == SK_OK)
		rc = config_path_field(path, m, "ca", 0, &tls->ca, err);
	if (rc == SK_OK)
		rc = config_path_field(path, m, "cert", 0, &tls->cert, err);
	if (rc == SK_OK)
		rc = config_path_field(path, m, "key", 0, &tls->key, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(
		    m, "server_name", SK_YAML_NONEMPTY, &tls->server_name, err);
	return rc;
}

static void
tls_fini(sk_tls_config *tls)
{
	free(tls->ca);
	free(tls->cert);
	free(tls->key);
	free(tls->server_name);
	memset(tls, 0, sizeof(*tls));
}

/* sk_config_transport_check on root[key], the error at its line. */
static int
transport_field(const sk_yaml_node *root, const char *key, const char *url,
    const sk_tls_config *tls, bool need_ca, bool insecure, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(root, key);
	int rc;

	rc = sk_config_transport_check(url, tls, need_ca, insecure, key, err);
	if (rc != SK_OK && node != NULL)
		sk_err_wrap(err, "%s:%d:%d", node->file, node->line, node->col);
	return rc;
}

static int
pooler_field(const sk_yaml_node *map, sk_pooler *out, sk_err *err)
{
	char *s = NULL;
	int rc;

	rc = sk_yaml_string(map, "pooler", 0, &s, err);
	if (rc != SK_OK)
		return rc;
	if (s == NULL || strcmp(s, "none") == 0)
		*out = SK_POOLER_NONE;
	else if (strcmp(s, "transaction") == 0)
		*out = SK_POOLER_TRANSACTION;
	else
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "pooler"),
		    "expected none or transaction (PgBouncer transaction "
		    "pooling), got \"%.80s\"",
		    s);
	free(s);
	return rc;
}

const char *
sk_pooler_name(sk_pooler p)
{
	return p == SK_POOLER_TRANSACTION ? "transaction" : "none";
}

static int
load_databases(const sk_yaml_node *root, sk_agent_config *cfg, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(root, "databases");
	int rc;

	if (list == NULL)
		return sk_yaml_error(
		    err, SK_EINVAL, root, "missing required key \"databases\"");
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE,
	    "a list of databases, each with name and conninfo", err);
	if (rc != SK_OK)
		return rc;
	if (list->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, list,
		    "expected a list of databases, got an empty list");
	cfg->databases = calloc(list->nitems, sizeof(*cfg->databases));
	if (cfg->databases == NULL)
		return config_oom(err, cfg->path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_db_config *db = &cfg->databases[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a mapping with name and conninfo", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, database_keys, err);
		if (rc != SK_OK)
			return rc;
		cfg->ndatabases = i + 1;
		rc = sk_yaml_name(item, "name", "database", &db->name, err);
		if (rc == SK_OK)
			rc = sk_yaml_string(item, "conninfo",
			    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &db->conninfo, err);
		if (rc == SK_OK)
			rc = sk_yaml_string(item, "backup_conninfo",
			    SK_YAML_NONEMPTY, &db->backup_conninfo, err);
		if (rc == SK_OK && db->backup_conninfo == NULL &&
		    (db->backup_conninfo = sk_strdup(db->conninfo)) == NULL)
			rc = config_oom(err, cfg->path);
		if (rc == SK_OK)
			rc = pooler_field(item, &db->pooler, err);
		if (rc != SK_OK)
			return rc;
		for (size_t j = 0; j < i; j++) {
			const sk_yaml_node *first;

			if (strcmp(cfg->databases[j].name, db->name) != 0)
				continue;
			first = sk_yaml_get(list->items[j], "name");
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "name"),
			    "duplicate database \"%s\" (first at line %d, column %d)",
			    db->name, first->line, first->col);
		}
	}
	return SK_OK;
}

/* Parse the YAML file at path, record the path in *path_out, and hand the
 * document's root to load, which fills cfg. The document is freed either
 * way; on failure cfg may be partly filled and the caller finalises it. */
static int
load_file(const char *path,
    int (*load)(const char *, const sk_yaml_node *, void *, sk_err *),
    void *cfg, char **path_out, sk_err *err)
{
	sk_yaml_doc *doc = NULL;
	int rc;

	rc = sk_yaml_load(path, &doc, err);
	if (rc != SK_OK)
		return rc;
	*path_out = sk_strdup(path);
	if (*path_out == NULL)
		rc = config_oom(err, path);
	else
		rc = load(path, sk_yaml_root(doc), cfg, err);
	sk_yaml_destroy(doc);
	return rc;
}

static int
load_agent(const char *path, const sk_yaml_node *root, void *arg, sk_err *err)
{
	sk_agent_config *cfg = arg;
	int64_t v;
	int rc;

	rc = sk_yaml_expect(root, SK_YAML_MAPPING, "a mapping of agent settings", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(root, agent_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_name(root, "region", "region", &cfg->region, err);
	if (rc == SK_OK)
		rc = url_field(root, "coordinator", &cfg->coordinator, err);
	if (rc == SK_OK)
		rc = config_path_field(
		    path, root, "key", SK_YAML_REQUIRED, &cfg->key, err);
	if (rc == SK_OK)
		rc = config_path_field(path, root, "coordinator_key",
		    SK_YAML_REQUIRED, &cfg->coordinator_key, err);
	if (rc == SK_OK)
		rc = path_list(path, root, "release_keys", "release public key paths",
		    &cfg->release_keys, &cfg->nrelease_keys, err);
	if (rc == SK_OK)
		rc = load_databases(root, cfg, err);
	if (rc == SK_OK)
		rc = config_path_field(path, root, "state", 0, &cfg->state, err);
	if (rc == SK_OK && cfg->state == NULL &&
	    (cfg->state = sk_path_relative_to(path, "state")) == NULL)
		rc = config_oom(err, path);
	if (rc == SK_OK)
		rc = sk_yaml_int(root, "poll_ms", 1000, 10, 60000, &cfg->poll_ms, err);
	if (rc == SK_OK)
		rc = log_format_field(root, &cfg->log_format, err);
	if (rc == SK_OK) /* stopline */
		rc = config_duration_field(
		    root, "dead_man", 60000, &cfg->dead_man_ms, err);
	if (rc == SK_OK && cfg->dead_man_ms > 0 && cfg->dead_man_ms <= cfg->poll_ms)
		rc = sk_err_set(err, SK_EINVAL,
		    "%s: dead_man %lld ms must be longer than poll_ms %lld ms (or 0, "
		    "off): an idle poll is that silent",
		    path, (long long)cfg->dead_man_ms, (long long)cfg->poll_ms);
	if (rc == SK_OK)
		rc = sk_yaml_int(root, "parallel", 4, 1, 64, &v, err);
	if (rc == SK_OK)
		cfg->parallel = (int)v;
	if (rc == SK_OK)
		rc = config_path_field(
		    path, root, "backup_dir", 0, &cfg->backup_dir, err);
	if (rc == SK_OK)
		rc = program_field(
		    path, root, "pg_dump", "pg_dump", &cfg->pg_dump, err);
	if (rc == SK_OK)
		rc = program_field(path, root, "pg_restore", "pg_restore",
		    &cfg->pg_restore, err);
	if (rc == SK_OK)
		rc = tls_field(path, root, &cfg->tls, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(root, "insecure_transport", false,
		    &cfg->insecure_transport, err);
	/* The agent dials out: it checks the coordinator's certificate
	 * (ca) and shows its own (cert, key). */
	if (rc == SK_OK)
		rc = transport_field(root, "coordinator", cfg->coordinator,
		    &cfg->tls, true, cfg->insecure_transport, err);
	if (rc == SK_OK)
		rc = config_http_url_field(root, "health_probe",
		    "http://127.0.0.1:8080/health", &cfg->health_probe, err);
	if (rc == SK_OK) /* moves */
		rc = config_agent_move_field(root, &cfg->move_listen,
		    &cfg->move_drain, &cfg->move_drain_timeout_ms, err);
	return rc;
}

int
sk_agent_config_load(const char *path, sk_agent_config *out, sk_err *err)
{
	sk_agent_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	if (load_file(path, load_agent, &cfg, &cfg.path, err) != SK_OK) {
		sk_agent_config_fini(&cfg);
		return err->code;
	}
	*out = cfg;
	return SK_OK;
}

void
sk_agent_config_fini(sk_agent_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->region);
	free(cfg->coordinator);
	free(cfg->key);
	free(cfg->coordinator_key);
	sk_strv_free(cfg->release_keys, cfg->nrelease_keys);
	for (size_t i = 0; i < cfg->ndatabases; i++) {
		free(cfg->databases[i].name);
		free(cfg->databases[i].conninfo);
		free(cfg->databases[i].backup_conninfo);
	}
	free(cfg->databases);
	free(cfg->state);
	free(cfg->backup_dir);
	free(cfg->pg_dump);
	free(cfg->pg_restore);
	free(cfg->health_probe);
	free(cfg->move_listen);
	free(cfg->move_drain);
	tls_fini(&cfg->tls);
	memset(cfg, 0, sizeof(*cfg));
}

/* operators: [{name, key, role}], each name and key once. Required,
 * unless insecure_local says the control socket takes unsigned
 * requests. */
static int
load_operators(const char *path, const sk_yaml_node *root, sk_coord_config *cfg,
    sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(root, "operators");
	char *role = NULL;
	int rc;

	if (list == NULL || sk_yaml_is_null(list)) {
		if (cfg->insecure_local)
			return SK_OK;
		rc = sk_yaml_error(err, SK_EINVAL, root,
		    "no operators: every command on the control socket is signed by "
		    "an operator key this file pins");
		if (err != NULL)
			snprintf(err->hint, sizeof(err->hint),
			    "skein keygen --out ops/NAME, then add operators: [{name: NAME, "
			    "key: ops/NAME.pub, role: admin}] (docs/operations.md); "
			    "insecure_local: true accepts unsigned commands, for a local "
			    "test setup only");
		return rc;
	}
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE, "a list of operators", err);
	if (rc != SK_OK)
		return rc;
	cfg->operators = calloc(list->nitems + 1, sizeof(*cfg->operators));
	if (cfg->operators == NULL)
		return config_oom(err, path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_operator *op = &cfg->operators[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "an operator mapping with name, key and role", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, operator_keys, err);
		if (rc != SK_OK)
			return rc;
		cfg->noperators = i + 1;
		rc = sk_yaml_name(item, "name", "operator", &op->name, err);
		if (rc == SK_OK)
			rc = config_path_field(path, item, "key",
			    SK_YAML_REQUIRED, &op->key_path, err);
		if (rc == SK_OK)
			rc = sk_yaml_string(item, "role",
			    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &role, err);
		if (rc != SK_OK)
			return rc;
		op->role = sk_role_from_name(role);
		free(role);
		role = NULL;
		if (op->role == 0)
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "role"),
			    "expected a role: viewer, operator, approver or admin");
		rc = sk_pubkey_load(op->key_path, &op->key, err);
		if (rc != SK_OK)
			return sk_err_wrap(err, "%s:%d:%d: operators[%zu].key",
			    item->file, item->line, item->col, i);
		for (size_t j = 0; j < i; j++) {
			const sk_operator *o = &cfg->operators[j];

			if (strcmp(o->name, op->name) == 0 ||
			    memcmp(o->key.id, op->key.id, SK_KEY_ID_LEN) == 0)
				return sk_yaml_error(err, SK_EINVAL, item,
				    "operator %s has the name or key of operator %s: "
				    "each person has a key of their own",
				    op->name, o->name);
		}
	}
	return SK_OK;
}

static int
load_coord(const char *path, const sk_yaml_node *root, void *arg, sk_err *err)
{
	sk_coord_config *cfg = arg;
	int rc;

	rc = sk_yaml_expect(
	    root, SK_YAML_MAPPING, "a mapping of coordinator settings", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(root, coord_keys, err);
	if (rc == SK_OK)
		rc = url_field(root, "listen", &cfg->listen, err);
	if (rc == SK_OK)
		rc = url_field(root, "control", &cfg->control, err);
	if (rc == SK_OK)
		rc = config_path_field(path, root, "regions", SK_YAML_REQUIRED,
		    &cfg->regions, err);
	if (rc == SK_OK)
		rc = config_path_field(
		    path, root, "key", SK_YAML_REQUIRED, &cfg->key, err);
	if (rc == SK_OK)
		rc = path_list(path, root, "release_keys", "release public key paths",
		    &cfg->release_keys, &cfg->nrelease_keys, err);
	if (rc == SK_OK)
		rc = config_path_field(
		    path, root, "state", SK_YAML_REQUIRED, &cfg->state, err);
	if (rc == SK_OK)
		rc = tls_field(path, root, &cfg->tls, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(root, "insecure_transport", false,
		    &cfg->insecure_transport, err);
	/* Agents must show a certificate of the CA (mutual TLS); the CLI
	 * checks the coordinator's, and proves who it is by signing. */
	if (rc == SK_OK)
		rc = transport_field(root, "listen", cfg->listen, &cfg->tls,
		    true, cfg->insecure_transport, err);
	if (rc == SK_OK)
		rc = transport_field(root, "control", cfg->control, &cfg->tls,
		    false, cfg->insecure_transport, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(
		    root, "insecure_local", false, &cfg->insecure_local, err);
	if (rc == SK_OK)
		rc = log_format_field(root, &cfg->log_format, err);
	if (rc == SK_OK)
		rc = load_operators(path, root, cfg, err);
	if (rc == SK_OK)
		rc = config_duration_field(root, "rehearsal_interval",
		    SK_REHEARSAL_INTERVAL_MS, &cfg->rehearsal_interval_ms, err);
	if (rc == SK_OK)
		rc = config_http_field(path, root, &cfg->http, err);
	return rc;
}

int
sk_coord_config_load(const char *path, sk_coord_config *out, sk_err *err)
{
	sk_coord_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	if (load_file(path, load_coord, &cfg, &cfg.path, err) != SK_OK) {
		sk_coord_config_fini(&cfg);
		return err->code;
	}
	*out = cfg;
	return SK_OK;
}

void
sk_coord_config_fini(sk_coord_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->listen);
	free(cfg->control);
	free(cfg->regions);
	free(cfg->key);
	sk_strv_free(cfg->release_keys, cfg->nrelease_keys);
	free(cfg->state);
	tls_fini(&cfg->tls);
	for (size_t i = 0; i < cfg->noperators; i++) {
		free(cfg->operators[i].name);
		free(cfg->operators[i].key_path);
	}
	free(cfg->operators);
	config_http_fini(&cfg->http);
	memset(cfg, 0, sizeof(*cfg));
}
