/* agent_preflight: preflight checks, each one read-only statement run in
 * autocommit, so that nothing here holds a transaction open on a busy
 * database or depends on session state a pooler would not keep. */
#include "agent_preflight.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"
#include "sk_util.h"

typedef struct preflight {
	PGconn *conn;
	agent_check_fn fn;
	void *arg;
	char failed[SK_ERR_MSG_MAX]; /* "name: expected X, saw Y; ..." */
	size_t used;
	size_t nfailed;
	int ledger; /* -1 unknown, 0 absent, 1 present */
} preflight;

static void result_init(sk_check_result *res, const char *fmt, ...) SK_PRINTF(2, 3);

static void
result_init(sk_check_result *res, const char *fmt, ...)
{
	va_list ap;

	memset(res, 0, sizeof(*res));
	va_start(ap, fmt);
	vsnprintf(res->name, sizeof(res->name), fmt, ap);
	va_end(ap);
	snprintf(res->when, sizeof(res->when), "preflight");
}

/* Report a result and remember a failure for the error message. */
static void
report(preflight *p, const sk_check_result *res)
{
	if (!res->passed) {
		int w = snprintf(p->failed + p->used, sizeof(p->failed) - p->used,
		    "%s%s: expected %s, saw %s", p->nfailed > 0 ? "; " : "",
		    res->name, res->expected, res->seen);

		if (w > 0)
			p->used += (size_t)w;
		if (p->used >= sizeof(p->failed))
			p->used = sizeof(p->failed) - 1;
		p->nfailed++;
	}
	if (p->fn != NULL)
		p->fn(p->arg, res);
}

/* "15.4" from 150004; "9.6.24" from 90624. */
static void
version_text(int64_t num, char *buf, size_t len)
{
	if (num >= 100000)
		snprintf(buf, len, "%" PRId64 ".%" PRId64, num / 10000, num % 10000);
	else
		snprintf(buf, len, "%" PRId64 ".%" PRId64 ".%" PRId64,
		    num / 10000, num / 100 % 100, num % 100);
}

static int
check_server_version(preflight *p, uint32_t min, sk_err *err)
{
	char have[32], want[32];
	sk_check_result res;
	PGresult *pr = NULL;
	int64_t num;
	int rc;

	result_init(&res, "server_version");
	rc = sk_pg_exec(p->conn, "preflight server_version",
	    "SELECT pg_catalog.current_setting('server_version_num')::int", &pr, err);
	if (rc != SK_OK)
		return rc;
	num = strtoll(PQgetvalue(pr, 0, 0), NULL, 10);
	PQclear(pr);
	version_text(num, have, sizeof(have));
	version_text(min, want, sizeof(want));
	snprintf(res.seen, sizeof(res.seen), "%s (%" PRId64 ")", have, num);
	snprintf(res.expected, sizeof(res.expected), ">= %s (%" PRIu32 ")", want, min);
	res.passed = num >= (int64_t)min;
	report(p, &res);
	return SK_OK;
}

static int
check_role(preflight *p, const char *role, sk_err *err)
{
	const char *params[1] = { role };
	sk_check_result res;
	PGresult *pr = NULL;
	int rc;

	result_init(&res, "role:%s", role);
	rc = sk_pg_execp(p->conn, "preflight role",
	    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)",
	    1, params, &pr, err);
	if (rc != SK_OK)
		return rc;
	res.passed = strcmp(PQgetvalue(pr, 0, 0), "t") == 0;
	PQclear(pr);
	snprintf(res.expected, sizeof(res.expected), "exists");
	snprintf(res.seen, sizeof(res.seen), "%s", res.passed ? "exists" : "missing");
	report(p, &res);
	return SK_OK;
}

static int
check_extension(preflight *p, const char *ext, sk_err *err)
{
	const char *params[1] = { ext };
	sk_check_result res;
	PGresult *pr = NULL;
	int rc;

	result_init(&res, "extension:%s", ext);
	rc = sk_pg_execp(p->conn, "preflight extension",
	    "SELECT (SELECT extversion FROM pg_catalog.pg_extension "
	    "        WHERE extname = $1), "
	    "       (SELECT default_version FROM "
	    "        pg_catalog.pg_available_extensions WHERE name = $1)",
	    1, params, &pr, err);
	if (rc != SK_OK)
		return rc;
	snprintf(res.expected, sizeof(res.expected), "installed");
	res.passed = !PQgetisnull(pr, 0, 0);
	if (res.passed)
		snprintf(res.seen, sizeof(res.seen), "installed (%.64s)",
		    PQgetvalue(pr, 0, 0));
	else if (!PQgetisnull(pr, 0, 1))
		snprintf(res.seen, sizeof(res.seen),
		    "not installed (available: %.64s)", PQgetvalue(pr, 0, 1));
	else
		snprintf(res.seen, sizeof(res.seen),
		    "not installed (not available on the server)");
	PQclear(pr);
	report(p, &res);
	return SK_OK;
}

static int
check_transaction_age(preflight *p, int64_t max_ms, sk_err *err)
{
	char age[32], limit[32], unseen[96] = "";
	sk_check_result res;
	PGresult *pr = NULL;
	long hidden;
	int64_t ms;
	int rc;

	result_init(&res, "transaction_age");
	/* Only sessions in this database: a transaction elsewhere in the
	 * cluster holds no lock the plan's steps can wait for (formats.md:
	 * "no transaction in the database"). datid is shown for every
	 * session, whatever our role may see. Without pg_read_all_stats,
	 * other roles' sessions show no backend_type and no xact_start:
	 * count them, so that a pass that could not see everything says so. */
	rc = sk_pg_exec(p->conn, "preflight transaction_age",
	    "WITH a AS (SELECT * FROM pg_catalog.pg_stat_activity "
	    "           WHERE pid <> pg_catalog.pg_backend_pid() "
	    "             AND datid = (SELECT oid FROM pg_catalog.pg_database "
	    "               WHERE datname = pg_catalog.current_database())), "
	    "oldest AS (SELECT pid, (extract(epoch FROM "
	    "             pg_catalog.clock_timestamp() - xact_start) * 1000)::bigint "
	    "             AS age_ms, coalesce(state, '') AS state, "
	    "             coalesce(usename::text, '') AS usename "
	    "           FROM a WHERE backend_type = 'client backend' "
	    "             AND xact_start IS NOT NULL "
	    "           ORDER BY xact_start LIMIT 1) "
	    "SELECT o.pid, o.age_ms, o.state, o.usename, "
	    "  (SELECT count(*) FROM a WHERE backend_type IS NULL "
	    "     AND datid IS NOT NULL) "
	    "FROM (SELECT 1) one LEFT JOIN oldest o ON true",
	    &pr, err);
	if (rc != SK_OK)
		return rc;
	sk_duration_format(max_ms, limit, sizeof(limit));
	snprintf(res.expected, sizeof(res.expected),
	    "no transaction older than %s", limit);
	hidden = strtol(PQgetvalue(pr, 0, 4), NULL, 10);
	if (hidden > 0)
		snprintf(unseen, sizeof(unseen),
		    "; %ld session%s of other roles not visible without "
		    "pg_read_all_stats",
		    hidden, hidden == 1 ? "" : "s");
	if (PQgetisnull(pr, 0, 0)) {
		snprintf(res.seen, sizeof(res.seen), "no open transaction%s", unseen);
		res.passed = true;
	} else {
		const char *state = PQgetvalue(pr, 0, 2);
		const char *user = PQgetvalue(pr, 0, 3);

		ms = strtoll(PQgetvalue(pr, 0, 1), NULL, 10);
		sk_duration_format(ms, age, sizeof(age));
		snprintf(res.seen, sizeof(res.seen), "%s (pid %s%s%.32s%s%.63s)%s",
		    age, PQgetvalue(pr, 0, 0), state[0] ? ", " : "", state,
		    user[0] ? ", user " : "", user, unseen);
		res.passed = ms <= max_ms;
	}
	PQclear(pr);
	report(p, &res);
	return SK_OK;
}

/* A share as a percentage with up to three significant digits. */
static void
percent(double share, char *buf, size_t len)
{
	snprintf(buf, len, "%.3g%%", share * 100.0);
}

static int
check_connections(preflight *p, double share, sk_err *err)
{
	char used_pct[32], limit_pct[32];
	sk_check_result res;
	PGresult *pr = NULL;
	long count, max;
	int rc;

	result_init(&res, "connections");
	/* Client backends only: background processes do not take a
	 * max_connections slot. Other roles' sessions show no backend_type
	 * without pg_read_all_stats; those with a database are counted, which
	 * errs towards counting an autovacuum worker too. */
	rc = sk_pg_exec(p->conn, "preflight connections",
	    "SELECT count(*) FILTER (WHERE backend_type = 'client backend' "
	    "  OR (backend_type IS NULL AND datid IS NOT NULL)), "
	    "pg_catalog.current_setting('max_connections')::int "
	    "FROM pg_catalog.pg_stat_activity",
	    &pr, err);
	if (rc != SK_OK)
		return rc;
	count = strtol(PQgetvalue(pr, 0, 0), NULL, 10);
	max = strtol(PQgetvalue(pr, 0, 1), NULL, 10);
	PQclear(pr);
	percent(max > 0 ? (double)count / (double)max : 1.0, used_pct,
	    sizeof(used_pct));
	percent(share, limit_pct, sizeof(limit_pct));
	snprintf(res.seen, sizeof(res.seen), "%ld/%ld (%s)", count, max, used_pct);
	snprintf(res.expected, sizeof(res.expected), "< %s of max_connections",
	    limit_pct);
	res.passed = max > 0 && (double)count / (double)max < share;
	report(p, &res);
	return SK_OK;
}

static int
check_requires(preflight *p, const sk_prereq *req, sk_err *err)
{
	const char *params[2] = { req->plan, req->step };
	sk_check_result res;
	PGresult *pr = NULL;
	long count = 0;
	int rc;

	if (req->step != NULL)
		result_init(&res, "requires:%s/%s", req->plan, req->step);
	else
		result_init(&res, "requires:%s", req->plan);
	snprintf(res.expected, sizeof(res.expected), "recorded in the ledger");
	/* Looking at the catalog first keeps this read-only and error-free on
	 * a database that has never seen skein. */
	if (p->ledger < 0) {
		rc = sk_pg_exec(p->conn, "preflight requires",
		    "SELECT pg_catalog.to_regclass('skein.steps') IS NOT NULL",
		    &pr, err);
		if (rc != SK_OK)
			return rc;
		p->ledger = strcmp(PQgetvalue(pr, 0, 0), "t") == 0;
		PQclear(pr);
		pr = NULL;
	}
	if (!p->ledger) {
		snprintf(res.seen, sizeof(res.seen), "no ledger in this database");
		res.passed = false;
		report(p, &res);
		return SK_OK;
	}
	if (req->step != NULL)
		rc = sk_pg_execp(p->conn, "preflight requires",
		    "SELECT count(*) FROM skein.steps "
		    "WHERE plan_name = $1 AND step_id = $2",
		    2, params, &pr, err);
	else
		rc = sk_pg_execp(p->conn, "preflight requires",
		    "SELECT count(*) FROM skein.steps WHERE plan_name = $1", 1,
		    params, &pr, err);
	if (rc != SK_OK)
		return rc;
	count = strtol(PQgetvalue(pr, 0, 0), NULL, 10);
	PQclear(pr);
	res.passed = count > 0;
	if (count == 0)
		snprintf(res.seen, sizeof(res.seen), "not recorded");
	else if (req->step != NULL)
		snprintf(res.seen, sizeof(res.seen), "recorded");
	else
		snprintf(res.seen, sizeof(res.seen), "%ld step%s recorded",
		    count, count == 1 ? "" : "s");
	report(p, &res);
	return SK_OK;
}

int
agent_preflight_run(PGconn *conn, const sk_preflight *pf, agent_check_fn fn,
    void *arg, sk_err *err)
{
	preflight p;
	int rc = SK_OK;

	memset(&p, 0, sizeof(p));
	p.conn = conn;
	p.fn = fn;
	p.arg = arg;
	p.ledger = -1;
	if (pf == NULL)
		return SK_OK;
	if (pf->min_server_version > 0)
		rc = check_server_version(&p, pf->min_server_version, err);
	for (size_t i = 0; rc == SK_OK && i < pf->nroles; i++)
		rc = check_role(&p, pf->roles[i], err);
	for (size_t i = 0; rc == SK_OK && i < pf->nextensions; i++)
		rc = check_extension(&p, pf->extensions[i], err);
	if (rc == SK_OK && pf->max_transaction_age_ms > 0)
		rc = check_transaction_age(&p, pf->max_transaction_age_ms, err);
	if (rc == SK_OK && pf->max_connections_share > 0)
		rc = check_connections(&p, pf->max_connections_share, err);
	for (size_t i = 0; rc == SK_OK && i < pf->nrequires; i++)
		rc = check_requires(&p, &pf->requires[i], err);
	if (rc != SK_OK)
		return rc;
	if (p.nfailed == 0)
		return SK_OK;
	sk_err_set(err, SK_EPREFLIGHT, "preflight: %zu check%s failed: %s",
	    p.nfailed, p.nfailed == 1 ? "" : "s", p.failed);
	if (err != NULL)
		snprintf(err->hint, sizeof(err->hint),
		    "fix the database or the plan's preflight settings, then "
		    "start the rollout again; nothing was changed");
	return SK_EPREFLIGHT;
}
