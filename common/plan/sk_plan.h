/* sk_plan: the migration plan in memory, its protobuf codec, and its
 * construction from a plan directory (plan.yaml plus SQL files).
 *
 * Ownership: an sk_plan owns every string and array reachable from it;
 * sk_plan_destroy frees the lot.
 */
#ifndef SK_PLAN_H
#define SK_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sk_err.h"

#define SK_PLAN_FORMAT 1
#define SK_CHECKSUM_LEN 32

/* What a step does. The wire's StepKind; each kind's rules (what a step of
 * it must hold, its checksum) are one row of sk_step.c's table, and each
 * kind has one file in the agent (agent/kinds/). A SQL step with
 * no_transaction runs as the agent's "concurrent" kind. */
enum sk_step_kind {
	SK_STEP_SQL = 1,   /* SQL in the step's transaction (or outside one) */
	SK_STEP_CHECK = 2, /* only checks (sk_step.checks) */
	SK_STEP_BACKFILL = 3,    /* an UPDATE in batches (sk_step.backfill) */
	SK_STEP_EXPAND = 4,      /* a new column kept in step with an old one */
	SK_STEP_CONTRACT = 5,    /* the end of an expand: the old column goes */
	SK_STEP_FLAG = 6,        /* a feature flag set (sk_step.flag) */
	SK_STEP_MOVE_TENANT = 7, /* one tenant to another region (sk_step.move) */
	/* the rows a moved tenant left in `from` deleted in batches
	 * (sk_step.move: tenant, from, to, tables or discover only) */
	SK_STEP_PURGE_TENANT = 8,
};

/* What a check expects (proto CheckExpect). */
enum sk_check_expect {
	SK_EXPECT_COMPARE = 1,  /* first column of the single row <op> value */
	SK_EXPECT_NO_ROWS = 2,  /* the query returns no rows */
	SK_EXPECT_FAILS = 3,    /* the statement fails with sqlstate */
	SK_EXPECT_SUCCEEDS = 4, /* it runs without an error (Sqitch verify) */
};

/* A check with an expectation. op is one of "=", "!=", "<", "<=", ">",
 * ">=" (COMPARE only); value is compared as a number when both sides parse
 * as numbers, else as text, with true/false matching PostgreSQL's t/f.
 * sqlstate (FAILS only) is five characters. */
typedef struct sk_check {
	char *name;
	char *sql;
	int expect;     /* enum sk_check_expect */
	char *op;       /* COMPARE; NULL otherwise */
	char *value;    /* COMPARE; NULL otherwise */
	char *sqlstate; /* FAILS; NULL otherwise */
	char *path; /* the check's SQL file when it came from one, else NULL */
	/* The value seen may cross to the coordinator even when it is not a
	 * figure (plan.yaml report_value: true); otherwise only figures do
	 * (agent/db/agent_redact.h). */
	bool report_value;
} sk_check;

/* A lint rule waived for one step, with the author's reason. */
typedef struct sk_waiver {
	char *rule;
	char *reason;
} sk_waiver;

/* A ledger prerequisite: plan (and step, when not NULL) recorded. */
typedef struct sk_prereq {
	char *plan;
	char *step; /* NULL: any step of plan */
} sk_prereq;

/* Checks an agent runs on each database before touching it. Zero or NULL
 * fields are not checked. */
typedef struct sk_preflight {
	uint32_t min_server_version; /* server_version_num, e.g. 150000 */
	char **roles;
	size_t nroles;
	char **extensions;
	size_t nextensions;
	int64_t max_transaction_age_ms;
	double max_connections_share; /* (0, 1] */
	sk_prereq *requires;
	size_t nrequires;
} sk_preflight;

/* Defaults of plan.yaml's `defaults:` when it does not set them. */
#define SK_DEFAULT_LOCK_TIMEOUT_MS 3000
#define SK_DEFAULT_STATEMENT_TIMEOUT_MS (30 * 60 * 1000)
#define SK_DEFAULT_LOCK_RETRIES 5
#define SK_DEFAULT_RETRY_BACKOFF_MS 1000
#define SK_LOCK_RETRIES_MAX \
100 /* lock_retries accepted in plan.yaml and on decode */

/* Defaults and bounds of a backfill's batches (docs/backfills.md). */
#define SK_BACKFILL_BATCH_MIN 100
#define SK_BACKFILL_BATCH_MAX 50000
#define SK_BACKFILL_TARGET_MS 200
#define SK_BACKFILL_DEAD_MAN_MS 60000
#define SK_BACKFILL_WORKERS_MAX 16
#define SK_BACKFILL_BATCH_LIMIT 1000000 /* batch_max accepted at most */

/* How a backfill runs: its batches and its throttles. Part of neither
 * checksum: an operator may change them (and tunes some while it runs)
 * without it being another step. */
typedef struct sk_backfill_tuning {
	int64_t batch_min; /* rows; 1 <= batch_min <= batch_max */
	int64_t batch_max;
	int64_t batch_target_ms;    /* a batch's duration the size aims at */
	double max_rows_per_second; /* 0: no limit */
	int64_t max_replication_lag_ms; /* 0: not watched */
	char *throttle_query;   /* pauses while it returns true; NULL: none */
	bool ignore_autovacuum; /* do not pause while autovacuum works on it */
	int64_t dead_man_ms; /* pause when the coordinator is silent so long; 0: never */
	uint32_t workers; /* connections working disjoint key ranges, >= 1 */
} sk_backfill_tuning;

/* BACKFILL's body: UPDATE table AS t <update> for the rows of each batch
 * that match where. */
typedef struct sk_backfill {
	char *table;  /* as written: name or schema.name */
	char *update; /* "SET ... [FROM ...]", no WHERE; the row is t */
	char *where;  /* the rows that still need it; NULL: every row */
	sk_backfill_tuning tuning;
} sk_backfill;

/* EXPAND's and CONTRACT's body. EXPAND adds column (of type) to table,
 * keeps it in step with from through a trigger (new = forward(old row),
 * and old = backward(new row) for writes that set only the new column),
 * and backfills it; CONTRACT drops the trigger and from. */
typedef struct sk_expand {
	char *table;    /* as written: name or schema.name */
	char *column;   /* the new column */
	char *type;     /* EXPAND: its type as SQL */
	char *from;     /* the old column */
	char *forward;  /* EXPAND: the new value from the row; NULL: from */
	char *backward; /* EXPAND: the old value from the row; NULL: none */
	sk_backfill_tuning tuning; /* EXPAND: how its backfill runs */
} sk_expand;

/* ---- flags: FLAG's body (docs/flags.md). value is normalised
 * (sk_flag_value_normalize); tenants empty: the flag's every-tenant row;
 * regions (residency resolved at build) empty: every region of the plan;
 * set_template and get_template both NULL (skein.flags) or both set. */
#define SK_FLAG_NAME_MAX 63
#define SK_FLAG_VALUE_MAX 1024
#define SK_FLAG_TENANT_MAX 128
typedef struct sk_flag {
	char *name;
	char *value;
	char **tenants;
	size_t ntenants;
	char **residency; /* as written */
	size_t nresidency;
	char **regions; /* resolved */
	size_t nregions;
	char *set_template; /* :'flag', :'value', :'tenant' bound as literals */
	char *get_template;
} sk_flag;

/* Whether name is a flag name: [a-z0-9_.-], 1..SK_FLAG_NAME_MAX bytes. */
bool sk_flag_name_valid(const char *name);

/* The value as stored: "true" for true/on/yes/1 (any case), "false" for
 * false/off/no/0, anything else as given. *out is malloc'ed. SK_EINVAL
 * for an empty value, one over SK_FLAG_VALUE_MAX bytes or holding control
 * characters; SK_ENOMEM. */
int sk_flag_value_normalize(const char *in, char **out, sk_err *err) SK_WARN_UNUSED;

/* Whether a template is usable: a fragment of one statement (no ';',
 * sk_sql_fragment_check) whose placeholders (:'name') are only :'flag',
 * :'value' and :'tenant'. what names it in the error ("template.set").
 * NULL passes. */
int sk_flag_template_check(const char *tmpl, const char *what, sk_err *err) SK_WARN_UNUSED;

/* Whether the flag step runs in region: regions empty or listing it. */
bool sk_flag_in_region(const sk_flag *f, const char *region);

/* Free what f owns (not f). Accepts NULL. */
void sk_flag_fini(sk_flag *f);
/* ---- end flags */

/* ---- tenant moves: MOVE_TENANT's body (docs/formats.md, "Tenant
 * moves"; issue 11). Only the plan side exists: agents of this version
 * refuse a plan with such a step. Names are SQL identifiers
 * (sk_move_ident_valid); tables may be schema-qualified. */
#define SK_MOVE_VALUE_MAX 256
#define SK_MOVE_EVENT_DEFAULT "tenant.region_changed.v1"
#define SK_MOVE_EVENT_TYPE_MAX 128
#define SK_MOVE_FREEZE_TIMEOUT_DEFAULT_MS 1000
#define SK_MOVE_MAX_LAG_DEFAULT_MS 1000
/* parallel: tables copied at once, default and bounds. The default is
 * one transaction: on the 2-core bench, where both databases share the
 * cores, two tables at once copied slower (bench/RESULTS.md, move). */
#define SK_MOVE_PARALLEL_DEFAULT 1
#define SK_MOVE_PARALLEL_MAX 8

/* A table that stays in the source (regulatory data), and the entry the
 * move writes for each of the tenant's rows of it in the target: a row
 * of index_table with the row's index_columns and original_region. */
typedef struct sk_move_stay {
	char *table;
	char *index_table;
	char **index_columns; /* >= 1 */
	size_t nindex_columns;
} sk_move_stay;

typedef struct sk_move_tenant {
	char *column;  /* the tenant key column */
	char *value;   /* the tenant's key, as text */
	char *from;    /* source region */
	char *to;      /* target region, != from */
	char **tables; /* in dependency order; none when discover */
	size_t ntables;
	bool discover; /* the agent finds the tables (tenant column, FKs) */
	sk_move_stay *stay;
	size_t nstay;
	char *event_table;  /* the outbox; NULL: no event */
	char *event_type;   /* set iff event_table is */
	char *route_source; /* one statement for the source; NULL: none */
	char *route_target; /* one statement for the target; NULL: none */
	/* The move back (a rollback): one statement for `to`, which the
	 * tenant leaves, and one for `from`; NULL: none. */
	char *route_back_source;
	char *route_back_target;
	/* > 0: the copy's limit in bytes per second; 0: none */
	int64_t max_copy_bytes_per_s;
	/* 1..SK_MOVE_PARALLEL_MAX: tables copied at once (1: one target
	 * transaction, table after table); 0: not given, the default
	 * (sk_move_parallel) */
	int parallel;
	int64_t freeze_timeout_ms; /* > 0 */
	int64_t max_lag_ms;        /* > 0 */
} sk_move_tenant;

/* Whether s is an SQL identifier skein accepts in a move: 1..63 bytes of
 * [A-Za-z0-9_], not starting with a digit; with qualified, also
 * "schema.name" of two such. */
bool sk_move_ident_valid(const char *s, bool qualified);

/* What a move body must hold on its own (not the plan's regions):
 * SK_EINVAL saying what is wrong, unprefixed ("has from and to both
 * af"). */
int sk_move_tenant_check(const sk_move_tenant *m, sk_err *err) SK_WARN_UNUSED;

/* How many tables m's copy runs at once: its parallel, or the default
 * when not given. */
int sk_move_parallel(const sk_move_tenant *m);

/* The move back a rollback of m runs: from and to swapped, route.back's
 * statements as its route, no staying tables (their index rows stay
 * where the move wrote them: they name the region the rows are in), the
 * same tables, event and limits. *out borrows m's strings: never pass
 * it to sk_move_tenant_fini. */
void sk_move_tenant_back(const sk_move_tenant *m, sk_move_tenant *out);

/* Free what m owns (not m). Accepts NULL. */
void sk_move_tenant_fini(sk_move_tenant *m);
/* ---- end tenant moves */

/* A step. Every kind has the id, limits, revert, pre/post checks and
 * waivers; the SQL fields (sql, no_transaction, sql_path,
 * concurrent_indexes, text_checksum) are kind SQL's body, checks kind
 * CHECK's. */
typedef struct sk_step {
	char *id;
	int kind;     /* enum sk_step_kind */
	char *sql;    /* SQL: the statements; NULL for other kinds */
	char *revert; /* NULL when absent */
	char *verify; /* NULL when absent */
	bool no_transaction;
	uint8_t checksum[SK_CHECKSUM_LEN];
	char *sql_path; /* as written in plan.yaml */
	char *revert_path;
	char *verify_path;
	sk_check *pre; /* in the step's transaction, before its SQL */
	size_t npre;
	sk_check *post; /* in the step's transaction, after its SQL */
	size_t npost;
	/* Effective limits: plan defaults with the step's overrides. 0 means
	 * no limit for the timeouts. */
	int64_t lock_timeout_ms;
	int64_t statement_timeout_ms;
	uint32_t lock_retries; /* further attempts after a lock timeout */
	int64_t retry_backoff_ms;
	sk_waiver *waivers;
	size_t nwaivers;
	/* Index names (as written, maybe schema-qualified) the step creates
	 * with CREATE INDEX CONCURRENTLY; filled by plan build from the
	 * parse tree. */
	char **concurrent_indexes;
	size_t nconcurrent_indexes;
	/* SHA-256 of the raw SQL (format-1 checksum), accepted in place of
	 * checksum when matching ledger rows written before normalized
	 * checksums. */
	uint8_t text_checksum[SK_CHECKSUM_LEN];
	/* CHECK: the checks that are the step's content, reported with when
	 * "check". */
	sk_check *checks;
	size_t nchecks;
	sk_backfill *backfill; /* BACKFILL */
	sk_expand *expand;     /* EXPAND, CONTRACT */
	sk_flag *flag;         /* FLAG */
	sk_move_tenant *move;  /* MOVE_TENANT, PURGE_TENANT */
} sk_step;

/* A health signal sampled during a soak: a value over max fails. */
typedef struct sk_health_gate {
	char *signal; /* one of sk_health_signal_known's names */
	double max;
} sk_health_gate;

/* When a phase may start. days are "mon".."sun", the day the window
 * opens (none: every day); from/until "HH:MM[:SS]" local time in tz
 * (until <= from crosses midnight; from NULL: the whole day); tz a
 * zoneinfo name (NULL: UTC). ndays 0 and from NULL: no window. */
typedef struct sk_window {
	char **days;
	size_t ndays;
	char *from;
	char *until;
	char *tz;
} sk_window;

typedef struct sk_phase {
	char *name;
	char **regions; /* resolved names */
	size_t nregions;
	char **residency; /* as written, when the phase selected by residency */
	size_t nresidency;
	sk_check *pre; /* per database, before the phase's first step */
	size_t npre;
	sk_check *post; /* per database, after the phase's last step */
	size_t npost;
	/* Gates (sk_plan_gates.c). Exit: soak_ms, gate_checks and health,
	 * sampled per database every sample_interval_ms, min_samples good
	 * samples each; entry: approval and window. All zero: none. */
	int64_t soak_ms;
	sk_check *gate_checks;
	size_t ngate_checks;
	sk_health_gate *health;
	size_t nhealth;
	int64_t sample_interval_ms;
	uint32_t min_samples;
	uint32_t approval_count; /* 0: no approval needed */
	char **approvers; /* operator names that may approve; none: any */
	size_t napprovers;
	bool not_by_starter;
	sk_window window;
} sk_phase;

typedef struct sk_plan {
	char *id;
	char *name;
	int64_t created_unix;
	int64_t expires_unix;
	sk_phase *phases;
	size_t nphases;
	sk_step *steps;
	size_t nsteps;
	char **regions; /* union of the phases' regions, in phase order */
	size_t nregions;
	sk_preflight preflight;
	bool backup; /* pg_dump -Fc before the first change in each database */
	/* plan.yaml rollback_backup: false: a rollback reverts without the
	 * verified pg_dump taken of each database before its first revert. */
	bool no_rollback_backup;
} sk_plan;

/* Free a plan and everything it owns. Accepts NULL. */
void sk_plan_destroy(sk_plan *plan);

/* The name of kind as plan.yaml writes it ("sql", "check"), or NULL for
 * a kind this skein does not know. */
const char *sk_step_kind_name(int kind);

/* The kind plan.yaml's name stands for; 0 when there is none. */
int sk_step_kind_by_name(const char *name);

/* What a step of its kind must hold beyond what every step holds (SQL:
 * non-empty SQL and no checks body; CHECK: at least one check, no SQL,
 * verify, concurrent indexes or text checksum, and in a transaction).
 * SK_EINVAL saying what is wrong, unprefixed ("has no SQL"); SK_EINVAL
 * "has unknown kind N" for a kind that is not in the table. */
int sk_step_validate(const sk_step *step, sk_err *err) SK_WARN_UNUSED;

/* Compute a step's checksum from its content, as its kind defines it. SQL:
 * kind, transaction mode and the SQL's statements as PostgreSQL's parser
 * sees them (sk_sql_normalize), so that whitespace and comments are not
 * part of it; revert, verify and pre/post checks are not part of it
 * either: editing them is not drift. CHECK: the checks (names, normalized
 * SQL, expectations). Fails with SK_EINVAL, naming the parser's message,
 * when SQL does not parse, or for an unknown kind. */
int sk_step_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN],
    sk_err *err) SK_WARN_UNUSED;

/* The format-1 checksum: the same fields with the raw SQL text (kind SQL
 * only; the others have none). */
void sk_step_text_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN]);

/* Whether step carries a format-1 text checksum (decoded plans that had
 * none leave it all zero). */
bool sk_step_has_text_checksum(const sk_step *step);

/* SK_OK when step's checksum (and text checksum, when it has one) match
 * its content; else SK_EINVAL "step ID checksum does not match its
 * content", or sk_step_checksum's error prefixed with "step ID". */
int sk_step_verify_checksum(const sk_step *step, sk_err *err) SK_WARN_UNUSED;

/* The tuning a backfill gets when plan.yaml says nothing. */
void sk_backfill_tuning_default(sk_backfill_tuning *t);

/* SK_EINVAL saying which tuning field is out of bounds ("batch_min 0 is
 * not in [1, batch_max]"), unprefixed. */
int sk_backfill_tuning_check(const sk_backfill_tuning *t, sk_err *err) SK_WARN_UNUSED;

/* The statement of a backfill's batch: "UPDATE table AS t <update>
 * WHERE (keycond) AND (<where>)", keycond being the agent's condition on
 * the batch's key range ("true" to check a plan). table, update and where
 * are checked with sk_sql_fragment_check first, so that none can end the
 * statement or escape its place in it. *out is malloc'ed. SK_EINVAL
 * naming the field for a fragment that escapes, or the parser's message
 * ("update:LINE: syntax error ...") when the whole does not parse as one
 * UPDATE — also when update holds a WHERE of its own. */
int sk_backfill_statement(const sk_backfill *b, const char *keycond, char **out,
    sk_err *err) SK_WARN_UNUSED;

/* The backfill an EXPAND step runs: table, update "SET column =
 * (forward)" and where "t.column IS DISTINCT FROM (forward)" (forward
 * defaulting to "t.from"), and e's tuning, into *out; fini with
 * sk_backfill_fini. SK_ENOMEM. */
int sk_expand_backfill(const sk_expand *e, sk_backfill *out, sk_err *err) SK_WARN_UNUSED;

/* Free what a backfill owns (not b itself). Accepts NULL. */
void sk_backfill_fini(sk_backfill *b);

/* Free what an expand owns (not e itself). Accepts NULL. */
void sk_expand_fini(sk_expand *e);

/* Whether pf asks for nothing (no preflight section). */
bool sk_preflight_empty(const sk_preflight *pf);

/* The human form of c's expectation into buf: "= 0", ">= 1", "no rows",
 * "fails with 23514". Always NUL-terminates (truncating). */
void sk_check_expect_format(const sk_check *c, char *buf, size_t len);

/* Serialize plan to protobuf. *out is malloc'ed (caller frees). */
int sk_plan_encode(const sk_plan *plan, uint8_t **out, size_t *out_len,
    sk_err *err) SK_WARN_UNUSED;

/* Parse and validate a protobuf plan: format, non-empty id and name, valid
 * unique step ids and phase names, every step's checksum (and text
 * checksum, when present) matching its content, every phase region listed
 * in regions; checks with valid names unique within their list, non-empty
 * SQL and a consistent expectation; limits >= 0 and lock_retries at most
 * SK_LOCK_RETRIES_MAX; waivers with a rule id and a reason; a preflight
 * with max_connections_share in [0, 1] and valid prerequisite names.
 * Check paths are not carried: decoded checks have path NULL. A step
 * whose plan carried no text checksum has it all zero. On success *out is
 * owned by the caller; on failure nothing is allocated. */
int sk_plan_decode(const uint8_t *buf, size_t len, sk_plan **out, sk_err *err) SK_WARN_UNUSED;

/* Whether name is a health signal skein samples: "replication_lag"
 * (seconds), "rollbacks_per_s", "deadlocks", "lock_waits", "http". */
bool sk_health_signal_known(const char *name);

/* Whether the phase has an exit gate to sample (gate checks or health). */
bool sk_phase_samples(const sk_phase *ph);

/* Whether the phase has any gate: soak, sampled items, approval, window. */
bool sk_phase_has_gates(const sk_phase *ph);

/* Whether w restricts when its phase may start. */
bool sk_window_set(const sk_window *w);

/* "HH:MM" or "HH:MM:SS" (00:00:00..23:59:59) as seconds after midnight
 * into *secs; false (and *secs untouched) for anything else. */
bool sk_clock_parse(const char *s, int *secs);

/* 0 for "mon" .. 6 for "sun"; -1 for anything else. */
int sk_weekday_parse(const char *s);

/* Whether tz is a zone name (letters, digits, _ + - /, no "..", not
 * absolute) with a file under /usr/share/zoneinfo. */
bool sk_tz_valid(const char *tz);
/* flags: whether plan has a flag step (a rollback flips them back
 * first). */
bool sk_plan_has_flags(const sk_plan *plan);

/* True if the plan addresses region. */
bool sk_plan_addresses(const sk_plan *plan, const char *region);

/* The phase that runs in region, or NULL when no phase lists it (or plan
 * or region is NULL). A region belongs to one phase: plan build and
 * sk_plan_decode both refuse a plan that lists one in two, so the agent
 * and the coordinator, which both ask this function, always agree. The
 * result points into plan. */
const sk_phase *sk_plan_phase_of(const sk_plan *plan, const char *region);

#endif
