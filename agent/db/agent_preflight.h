/* agent_preflight: the checks an agent runs on a database before touching
 * it (plan.yaml `preflight:`): server version, roles, extensions, the
 * oldest open transaction, connection use, and prerequisite plans or
 * steps in the ledger.
 *
 * Each check is one read-only statement outside any transaction, so it
 * works through PgBouncer transaction pooling and changes nothing (a
 * database without a ledger still has none afterwards). As thread-safe as
 * the connection it is given.
 */
#ifndef AGENT_PREFLIGHT_H
#define AGENT_PREFLIGHT_H

#include <libpq-fe.h>

#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* Called once per evaluated check, in order. res is valid only during the
 * call. */
typedef void (*agent_check_fn)(void *arg, const sk_check_result *res);

/* Run pf's checks on conn, outside a transaction (each a single read-only
 * statement; works through PgBouncer transaction pooling). Calls fn (may
 * be NULL) with one result per check, named: "server_version",
 * "role:NAME", "extension:NAME", "transaction_age", "connections",
 * "requires:PLAN" or "requires:PLAN/STEP"; when "preflight". Zero or empty
 * fields of pf are not checked.
 *
 * transaction_age: the oldest open transaction among client backends
 * connected to conn's database, other than our own
 * (pg_stat_activity.xact_start, backend_type = 'client backend'; other
 * databases' sessions hold no lock a step here waits for); seen says its
 * age and pid; passes when no transaction is older than
 * pf->max_transaction_age_ms. The agent's role needs
 * pg_read_all_stats (or pg_monitor) to see other roles' transactions.
 * connections: client backends in pg_stat_activity vs max_connections,
 * passes when count/max < share; seen "12/100 (12%)". requires: a row in
 * skein.steps for that plan (and step); a database without a ledger has
 * none.
 *
 * Returns SK_OK when all passed; SK_EPREFLIGHT when any failed, err->msg
 * naming every failing check with its seen value; SK_ESQL/SK_ECONN on
 * database errors (checks after the failing one are not run). */
int agent_preflight_run(PGconn *conn, const sk_preflight *pf, agent_check_fn fn,
    void *arg, sk_err *err) SK_WARN_UNUSED;

#endif
