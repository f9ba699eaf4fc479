/* sk_config: the YAML files operators write for daemons and inventories.
 *
 *   agent.yaml        region, coordinator, key, coordinator_key,
 *                     release_keys, databases [{name, conninfo,
 *                     backup_conninfo, pooler}], state, poll_ms, parallel,
 *                     backup_dir, pg_dump, pg_restore, tls, insecure_transport,
 *                     health_probe, dead_man, move {listen}
 *   coordinator.yaml  listen, control, regions, key, release_keys, state,
 *                     tls, insecure_transport, operators [{name, key,
 *                     role}], insecure_local, rehearsal_interval
 *   regions/NAME.yaml name, residency, agent_key, move_endpoint
 *
 * Relative paths inside a file are resolved against that file's directory;
 * the loaded structs hold absolute (or as-given absolute) paths. Errors name
 * the file and, for YAML problems, the line and column. Unknown keys are
 * errors, so a typo never silently falls back to a default.
 *
 * Ownership: each struct owns its strings; the matching _fini frees them
 * and accepts NULL.
 */
#ifndef SK_CONFIG_H
#define SK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_key.h"

/* How the agent reaches a database. */
typedef enum sk_pooler {
	SK_POOLER_NONE = 0,    /* a direct connection: session state is kept */
	SK_POOLER_TRANSACTION, /* PgBouncer transaction pooling: no session
	                        * state (no session SETs, advisory locks or
	                        * prepared statements) survives a transaction */
} sk_pooler;

typedef struct sk_db_config {
	char *name;
	char *conninfo;
	/* Conninfo pg_dump uses for backups; a copy of conninfo when not
	 * set (e.g. a direct connection when conninfo goes through a pooler). */
	char *backup_conninfo;
	sk_pooler pooler; /* default SK_POOLER_NONE */
} sk_db_config;

/* TLS of an nng tls+tcp:// endpoint; paths resolved against the file. */
typedef struct sk_tls_config {
	char *ca; /* PEM CA certificate(s) the peer's certificate must chain to */
	char *cert; /* PEM certificate (chain) we present */
	char *key;  /* PEM private key of cert */
	/* Dialers: the name the server's certificate must carry; NULL: the
	 * host of the URL. */
	char *server_name;
} sk_tls_config;

/* What an operator key may do on the control socket. Each role includes
 * viewer; admin includes operator. */
typedef enum sk_role {
	SK_ROLE_VIEWER = 1, /* status, report, list */
	SK_ROLE_OPERATOR,   /* + start, rehearse, pause, resume */
	SK_ROLE_APPROVER,   /* + approve a phase */
	SK_ROLE_ADMIN,      /* + rollback, abort: everything */
} sk_role;

/* A person, by name, key and role (coordinator.yaml operators). */
typedef struct sk_operator {
	char *name;
	char *key_path;
	sk_pubkey key;
	sk_role role;
} sk_operator;

typedef struct sk_agent_config {
	char *path; /* the file it was loaded from */
	char *region;
	char *coordinator;     /* nng URL */
	char *key;             /* path of the agent's secret key */
	char *coordinator_key; /* path of the coordinator's public key */
	char **release_keys;   /* paths of pinned release public keys */
	size_t nrelease_keys;
	sk_db_config *databases;
	size_t ndatabases;
	char *state; /* state directory; default: <file dir>/state */
	int64_t poll_ms; /* idle long-poll hold asked of the coordinator; default 1000 */
	int log_format;   /* log_format: enum sk_log_format; default text */
	int parallel;     /* databases applied at once; default 4 */
	char *backup_dir; /* where backups are written; NULL when not set */
	/* Programs run for backups: a bare name ("pg_dump") is looked up in
	 * PATH, a name with a '/' is resolved against the file's directory.
	 * Defaults "pg_dump" and "pg_restore". */
	char *pg_dump;
	char *pg_restore;
	sk_tls_config tls; /* with a tls+tcp:// coordinator URL */
	/* Allows plain tcp:// to a non-loopback address (refused otherwise). */
	bool insecure_transport;
	/* stopline: no step starts while the coordinator has been silent
	 * this long (dead_man; default 60 s; 0 off). */
	int64_t dead_man_ms;
	/* sampling: the application's health URL (http:// only), GET by the
	 * exit gates' "http" signal; NULL when not set. */
	char *health_probe;
	/* moves: move: {listen: tcp://HOST:PORT}, where this agent serves
	 * tenant moves whose source it is; NULL when not set (it serves
	 * none). */
	char *move_listen;
	/* moves: move: drain: an http:// URL this agent POSTs, as the source
	 * of a move, before the tenant's writes are frozen (the
	 * application's "drain live streams" hook; never from a plan);
	 * NULL: none. move: drain_timeout (default 5 s): how long it may
	 * take; a failure or a timeout aborts the move. */
	char *move_drain;
	int64_t move_drain_timeout_ms;
} sk_agent_config;

/* coordinator.yaml's http: the read-only HTTP API (coord_http). */
typedef struct sk_http_config {
	bool enabled;   /* the section is present */
	char *listen;   /* HOST:PORT; default SK_HTTP_LISTEN_DEFAULT */
	char *tls_cert; /* PEM; with tls_key, HTTPS; both NULL: plain HTTP */
	char *tls_key;
	/* Files of one bearer token each; none: no token asked for. */
	char **tokens;
	size_t ntokens;
} sk_http_config;

#define SK_HTTP_LISTEN_DEFAULT "127.0.0.1:7480"

typedef struct sk_coord_config {
	char *path;
	char *listen;  /* nng URL agents dial */
	char *control; /* nng URL the skein CLI uses */
	char *regions; /* region inventory directory */
	char *key;     /* coordinator secret key path */
	char **release_keys;
	size_t nrelease_keys;
	char *state; /* journal directory */
	/* For tls+tcp:// listen and control URLs; listen also needs tls.ca,
	 * to authenticate agents by their certificates. */
	sk_tls_config tls;
	bool insecure_transport; /* see sk_agent_config */
	sk_operator *operators;  /* the keys allowed on the control socket */
	size_t noperators;
	/* Accepts unsigned control requests (a local test setup only; the
	 * coordinator warns at every start). */
	bool insecure_local;
	int log_format; /* log_format: enum sk_log_format; default text */
	/* A rehearsal of a plan (by name) is refused within this long of the
	 * last one's start; 0: no limit. Default SK_REHEARSAL_INTERVAL_MS. */
	int64_t rehearsal_interval_ms;
	sk_http_config http; /* absent: no HTTP */
} sk_coord_config;

/* A rehearsal holds ACCESS EXCLUSIVE locks in every region while it runs:
 * by default at most one per plan every five minutes. */
#define SK_REHEARSAL_INTERVAL_MS (5LL * 60 * 1000)

typedef struct sk_region {
	char *path;
	char *name;
	char *residency;
	char *agent_key_path;
	sk_pubkey agent_key; /* loaded from agent_key_path */
	/* moves: move_endpoint, tcp://HOST:PORT where this region's agent
	 * serves tenant moves (its agent.yaml move.listen, as the other
	 * agents reach it); NULL when not set. */
	char *move_endpoint;
} sk_region;

typedef struct sk_inventory {
	char *dir;
	sk_region *regions; /* sorted by name */
	size_t nregions;
} sk_inventory;

int sk_agent_config_load(const char *path, sk_agent_config *out, sk_err *err) SK_WARN_UNUSED;
void sk_agent_config_fini(sk_agent_config *cfg);

int sk_coord_config_load(const char *path, sk_coord_config *out, sk_err *err) SK_WARN_UNUSED;
void sk_coord_config_fini(sk_coord_config *cfg);

/* Load every *.yaml in dir. A region file whose name does not match its
 * `name`, a duplicate name, or an unreadable agent key is an error. An
 * empty directory is an error. */
int sk_inventory_load(const char *dir, sk_inventory *out, sk_err *err) SK_WARN_UNUSED;
void sk_inventory_fini(sk_inventory *inv);

/* The region called name, or NULL. */
const sk_region *sk_inventory_find(const sk_inventory *inv, const char *name);

/* "none" or "transaction", for messages and logs. */
const char *sk_pooler_name(sk_pooler p);

/* "viewer", "operator", "approver", "admin" ("unknown" otherwise), and
 * back (0 for an unknown name). */
const char *sk_role_name(sk_role role);
sk_role sk_role_from_name(const char *name);

/* Whether role may do what needs `need` (every role may view; admin may
 * do what operator may; approver may view and approve). */
bool sk_role_allows(sk_role role, sk_role need);

/* The transport policy for url (a listen or dial URL of a daemon): a
 * tls+tcp:// URL needs tls's cert and key (and its ca when need_ca: the
 * peer must show a certificate too, or a dialer checks the server's); a
 * plain tcp:// URL to an address other than loopback (127.0.0.0/8,
 * localhost, [::1]) is refused unless insecure. SK_EINVAL naming what key
 * (in `what`, e.g. "coordinator.yaml listen") to add. */
int sk_config_transport_check(const char *url, const sk_tls_config *tls,
    bool need_ca, bool insecure, const char *what, sk_err *err) SK_WARN_UNUSED;

/* Find the operator whose key has id, or NULL. */
const sk_operator *sk_coord_operator_find(
    const sk_coord_config *cfg, const uint8_t id[SK_KEY_ID_LEN]);

#endif
