/* sk_flagdb: feature flags in a region's database (docs/flags.md): the
 * default store skein.flags, read by applications through
 * skein.flag(name, tenant), the history of every flip in
 * skein.flag_history, and flags kept elsewhere through a plan's SQL
 * templates. The agent's flag kind (agent/kinds/agent_kind_flag.c) and
 * `skein flag` (cli/cli_flag.c) both flip through here, so a flip made
 * in an emergency and one made by a plan are recorded the same way.
 *
 * Every function runs in the caller's open transaction (or, outside one,
 * in its own statements) and leaves it open; strings it returns are
 * malloc'ed and the caller frees them. A tenant of NULL is the flag's
 * every-tenant row.
 */
#ifndef SK_FLAGDB_H
#define SK_FLAGDB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

/* The ledger migration that creates the store (agent_ledger.c, version
 * 4): skein.flags, skein.flag_history and skein.flag(). */
#define SK_FLAGDB_DDL                                                       \
"CREATE TABLE skein.flags (\n"                                              \
    "  name text NOT NULL,\n"                                               \
    "  tenant text,\n"                                                      \
    "  value text NOT NULL,\n"                                              \
    "  set_by text NOT NULL,\n"                                             \
    "  set_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),\n" \
    "  plan text,\n"                                                        \
    "  step text,\n"                                                        \
    "  rollout text,\n"                                                     \
    "  reason text\n"                                                       \
    ");\n"                                                                  \
    "CREATE UNIQUE INDEX flags_name_tenant_idx ON skein.flags (name, "      \
    "COALESCE(tenant, ''));\n"                                              \
    "CREATE TABLE skein.flag_history (\n"                                   \
    "  id bigserial PRIMARY KEY,\n"                                         \
    "  at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),\n"     \
    "  name text NOT NULL,\n"                                               \
    "  tenant text,\n"                                                      \
    "  store text NOT NULL,\n"                                              \
    "  old_value text,\n"                                                   \
    "  new_value text,\n"                                                   \
    "  set_by text NOT NULL,\n"                                             \
    "  reason text,\n"                                                      \
    "  plan text,\n"                                                        \
    "  step text,\n"                                                        \
    "  rollout text,\n"                                                     \
    "  revert_of bigint REFERENCES skein.flag_history (id)\n"               \
    ");\n"                                                                  \
    "CREATE INDEX flag_history_step_idx ON skein.flag_history (plan, "      \
    "step);\n"                                                              \
    "CREATE FUNCTION skein.flag(name text, tenant text) RETURNS text\n"     \
    "  LANGUAGE sql STABLE SECURITY DEFINER\n"                              \
    "  SET search_path = pg_catalog, pg_temp\n"                             \
    "  AS $fn$ SELECT f.value FROM skein.flags f WHERE f.name = $1\n"       \
    "    AND (f.tenant = $2 OR f.tenant IS NULL)\n"                         \
    "    ORDER BY f.tenant IS NULL LIMIT 1 $fn$;\n"                         \
    "COMMENT ON FUNCTION skein.flag(text, text) IS 'feature flag: the "     \
    "tenant''s value, else the every-tenant value, else NULL (skein)';\n"   \
    "GRANT USAGE ON SCHEMA skein TO PUBLIC;\n"                              \
    "GRANT EXECUTE ON FUNCTION skein.flag(text, text) TO PUBLIC;\n"

/* Who flips, why, and for which plan step (NULLs outside a plan). */
typedef struct sk_flagdb_who {
	const char *set_by; /* an operator's name, or "skein-agent" */
	const char *reason;
	const char *plan;
	const char *step;
	const char *rollout;
} sk_flagdb_who;

/* A plan's SQL templates for a flag kept elsewhere; both NULL: the
 * default store. */
typedef struct sk_flagdb_store {
	const char *set_template;
	const char *get_template;
} sk_flagdb_store;

/* One flip: tenant (NULL: every tenant) from old to new (NULL: absent). */
typedef struct sk_flagdb_flip {
	int64_t id; /* its skein.flag_history row */
	char *name;
	char *tenant;
	char *old_value;
	char *new_value;
} sk_flagdb_flip;

/* Free what f owns. Accepts NULL. */
void sk_flagdb_flip_fini(sk_flagdb_flip *f);

/* Free n flips and the array. Accepts NULL. */
void sk_flagdb_flips_free(sk_flagdb_flip *v, size_t n);

/* Whether the database has the store (skein.flags): a database no agent
 * has prepared yet does not. */
int sk_flagdb_present(PGconn *conn, bool *present, sk_err *err) SK_WARN_UNUSED;

/* Set name for tenant to value (NULL: remove the flag, so that it is
 * absent again) in store, and record the flip in skein.flag_history with
 * who; out (when not NULL) receives the flip, its old value read first
 * (the caller fini's it). Serialised per flag with a transaction
 * advisory lock, so run it in a transaction. revert_of: the history row
 * this flip undoes, or 0. SK_ESQL (a template's error too), SK_ECONN,
 * SK_ENOMEM. */
int sk_flagdb_set(PGconn *conn, const sk_flagdb_store *store, const char *name,
    const char *tenant, const char *value, const sk_flagdb_who *who,
    int64_t revert_of, sk_flagdb_flip *out, sk_err *err) SK_WARN_UNUSED;

/* The flag's value for tenant from the default store through
 * skein.flag(name, tenant) (tenant NULL: the every-tenant row only):
 * *value NULL when it is not set. */
int sk_flagdb_get(PGconn *conn, const char *name, const char *tenant,
    char **value, sk_err *err) SK_WARN_UNUSED;

/* The flips plan's step made in this database and that no flip undid
 * yet, newest first (a revert undoes them in that order). */
int sk_flagdb_step_flips(PGconn *conn, const char *plan, const char *step,
    sk_flagdb_flip **out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* Every row of skein.flags, by name then tenant (every-tenant first),
 * as flips whose new_value is the value and old_value NULL. */
int sk_flagdb_list(PGconn *conn, sk_flagdb_flip **out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* A template with :'flag', :'value' and :'tenant' replaced by those as
 * SQL literals (PQescapeLiteral; a NULL value or tenant becomes NULL),
 * never pasted raw. *out is malloc'ed. SK_ENOMEM, or SK_ESQL when libpq
 * cannot quote a value. */
int sk_flagdb_bind(PGconn *conn, const char *tmpl, const char *name,
    const char *value, const char *tenant, char **out, sk_err *err) SK_WARN_UNUSED;

#endif
