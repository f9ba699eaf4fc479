/* agent_check: evaluate a plan's pre and post checks (sk_check) on a
 * database connection: a query and what it must return, or a statement
 * that must fail with a given SQLSTATE.
 *
 * Results are plain values (sk_check_result) for the progress stream and
 * the ledger. Functions are as thread-safe as the connection they are
 * given (one thread per connection).
 */
#ifndef AGENT_CHECK_H
#define AGENT_CHECK_H

#include <libpq-fe.h>

#include "agent_stmt.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* Who watches a check's statement while it waits for a lock, the way a
 * step's SQL is watched (agent_stmt_run): fn(arg, pid) asks a monitor
 * connection who blocks pid, the backend of the check's transaction (0:
 * nobody to ask about). limits (may be NULL: default timing) is the step
 * whose lock_timeout is in force, so that the first look comes before
 * it fires. */
typedef struct agent_check_watch {
	const sk_step *limits;
	int pid;
	agent_stmt_watch_fn fn;
	void *arg;
} agent_check_watch;

/* Evaluate check inside the caller's open transaction. COMPARE and
 * NO_ROWS run the query; COMPARE needs exactly one row and compares its
 * first column with check->value using check->op (numerically when both
 * parse as numbers, else as text; a number against a non-number never
 * holds, whatever the operator; "true"/"false" match t/f; a NULL never
 * matches). FAILS runs the statement between SAVEPOINT skein_check and
 * ROLLBACK TO SAVEPOINT skein_check (then RELEASE), so whatever it did is
 * undone whether it failed or not; it passes when it fails with
 * check->sqlstate; a lock timeout, statement timeout, deadlock or
 * serialization failure (55P03, 57014, 40P01, 40001) other than the one
 * expected is an evaluation error, as for a query. SUCCEEDS runs the
 * same way under the savepoint and passes when the statement ends without
 * an error, whatever it returns (Sqitch's verify convention); any error
 * but those four fails it. Called outside a transaction, FAILS and
 * SUCCEEDS wrap themselves in BEGIN ... ROLLBACK instead.
 *
 * Fills *res in every case (name, when, passed, seen, expected: e.g. seen
 * "3", "no rows", "2 rows", "succeeded (INSERT 0 1)", "23505: duplicate
 * key ..."; expected "= 0", "no rows", "fails with 23514"). Returns SK_OK
 * when the check was evaluated, whether it passed or not. When a
 * COMPARE/NO_ROWS query itself errors (or a FAILS savepoint cannot be
 * taken or rolled back to), returns SK_ESQL (or SK_ECONN) with
 * res->passed = false and seen "error SQLSTATE: message"; the caller's
 * transaction is then aborted. SK_EINVAL for a check that is not
 * well-formed (unknown expect or op). */
int agent_check_eval(PGconn *conn, const sk_check *check, const char *when,
    sk_check_result *res, sk_err *err) SK_WARN_UNUSED;

/* agent_check_eval with the check's statement watched by w (may be NULL:
 * not watched) while it runs. */
int agent_check_eval_watched(PGconn *conn, const sk_check *check, const char *when,
    const agent_check_watch *w, sk_check_result *res, sk_err *err) SK_WARN_UNUSED;

/* Set err to SK_ECHECK: "check NAME (WHEN) failed: expected EXPECTED, saw
 * SEEN"; returns SK_ECHECK. */
int agent_check_fail(sk_err *err, const sk_check_result *res);

/* Compare seen (a value as PostgreSQL prints it) with value using op, the
 * way COMPARE does. Sets *ok to the outcome; returns false (and leaves
 * *ok false) when op is not one of = != < <= > >=. */
bool agent_check_compare(const char *seen, const char *op, const char *value, bool *ok);

#endif
