/* sk_step: what a step is, apart from the plan that holds it: the rules
 * of each kind (one row of `kinds` per kind: its name in plan.yaml, what a
 * step of it must hold, its checksum) and the checksum, the fingerprint
 * the ledger keeps so that a step that ran is never run again and never
 * changed. Adding a kind adds a row here and a file in agent/kinds/
 * (docs/adding-a-step-kind.md). */
#include "sk_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sk_flag_int.h"
#include "sk_step_alone.h"
#include "sk_move_int.h"
#include "sk_sql.h"

/* The domains of step checksums; bump them only with a new ledger format.
 * v1 hashes the raw SQL text (sk_step_text_checksum), v2 the statements
 * as sk_sql_normalize gives them (sk_step_checksum). */
static const char checksum_domain[] = "skein-step-v1";
static const char checksum_domain_v2[] = "skein-step-v2";

static int sql_validate(const sk_step *step, sk_err *err);
static int sql_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);
static int check_validate(const sk_step *step, sk_err *err);
static int check_checksum(
    const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);
static int backfill_validate(const sk_step *step, sk_err *err);
static int backfill_checksum(
    const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);
static int expand_validate(const sk_step *step, sk_err *err);
static int contract_validate(const sk_step *step, sk_err *err);
static int expand_checksum(
    const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);

/* One kind's rules. */
typedef struct step_kind {
	int kind;
	const char *name;
	int (*validate)(const sk_step *step, sk_err *err);
	int (*checksum)(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);
} step_kind;

static const step_kind kinds[] = {
	{ SK_STEP_SQL, "sql", sql_validate, sql_checksum },
	{ SK_STEP_CHECK, "check", check_validate, check_checksum },
	{ SK_STEP_BACKFILL, "backfill", backfill_validate, backfill_checksum },
	{ SK_STEP_EXPAND, "expand", expand_validate, expand_checksum },
	{ SK_STEP_CONTRACT, "contract", contract_validate, expand_checksum },
	{ SK_STEP_FLAG, "flag", flag_validate, flag_checksum },
	{ SK_STEP_MOVE_TENANT, "move_tenant", move_validate, move_checksum },
	{ SK_STEP_PURGE_TENANT, "purge_tenant", purge_validate, purge_checksum },
};

static const step_kind *
kind_of(int kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

const char *
sk_step_kind_name(int kind)
{
	const step_kind *k = kind_of(kind);

	return k != NULL ? k->name : NULL;
}

int
sk_step_kind_by_name(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].kind;
	return 0;
}

int
sk_step_validate(const sk_step *step, sk_err *err)
{
	const step_kind *k = kind_of(step->kind);

	if (k == NULL)
		return sk_err_set(err, SK_EINVAL, "has unknown kind %d", step->kind);
	return k->validate(step, err);
}

int
sk_step_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	const step_kind *k = kind_of(step->kind);

	if (k == NULL)
		return sk_err_set(err, SK_EINVAL, "step %s has unknown kind %d",
		    step->id != NULL ? step->id : "-", step->kind);
	return k->checksum(step, out, err);
}

int
sk_step_verify_checksum(const sk_step *step, sk_err *err)
{
	uint8_t sum[SK_CHECKSUM_LEN];
	const char *id = step->id != NULL ? step->id : "-";

	if (sk_step_checksum(step, sum, err) != SK_OK)
		return sk_err_wrap(err, "step %s", id);
	if (sodium_memcmp(sum, step->checksum, SK_CHECKSUM_LEN) != 0)
		return sk_err_set(err, SK_EINVAL,
		    "step %s checksum does not match its content", id);
	if (!sk_step_has_text_checksum(step))
		return SK_OK;
	sk_step_text_checksum(step, sum);
	if (sodium_memcmp(sum, step->text_checksum, SK_CHECKSUM_LEN) != 0)
		return sk_err_set(err, SK_EINVAL,
		    "step %s text checksum does not match its content", id);
	return SK_OK;
}

/* ---- kind sql ------------------------------------------------------------ */

static int
sql_validate(const sk_step *step, sk_err *err)
{
	if (step->sql == NULL || step->sql[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "has no SQL");
	if (step->nchecks > 0)
		return sk_err_set(err, SK_EINVAL,
		    "is of kind sql but carries the checks of a check step");
	if (step->backfill != NULL || step->expand != NULL ||
	    step->flag != NULL || step->move != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is of kind sql but carries a backfill, expand, flag or move body");
	return SK_OK;
}

void
sk_step_text_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN])
{
	crypto_hash_sha256_state st;
	char kind[24];
	const char *mode = step->no_transaction ? "notx" : "tx";
	const char *sql = step->sql ? step->sql : "";

	/* NUL separators keep the fields apart: no SQL text can make one
	 * step's canonical bytes equal to another kind's or mode's. */
	snprintf(kind, sizeof(kind), "%d", step->kind);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(
	    &st, (const uint8_t *)checksum_domain, sizeof(checksum_domain));
	crypto_hash_sha256_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)mode, strlen(mode) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)sql, strlen(sql));
	crypto_hash_sha256_final(&st, out);
}

static int
sql_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	crypto_hash_sha256_state st;
	char kind[24], *norm = NULL;
	const char *mode = step->no_transaction ? "notx" : "tx";
	int rc;

	rc = sk_sql_normalize(step->sql ? step->sql : "",
	    step->sql_path ? step->sql_path : step->id, &norm, err);
	if (rc != SK_OK)
		return rc;
	/* As in the text checksum, NUL separators keep the fields apart; the
	 * domain's own NUL (sizeof) ends it. */
	snprintf(kind, sizeof(kind), "%d", step->kind);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)checksum_domain_v2,
	    sizeof(checksum_domain_v2));
	crypto_hash_sha256_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)mode, strlen(mode) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)norm, strlen(norm));
	crypto_hash_sha256_final(&st, out);
	free(norm);
	return SK_OK;
}

/* ---- kind check ---------------------------------------------------------- */

static int
check_validate(const sk_step *step, sk_err *err)
{
	if (step->nchecks == 0)
		return sk_err_set(err, SK_EINVAL, "is a check step without checks");
	if (step->sql != NULL && step->sql[0] != '\0')
		return sk_err_set(err, SK_EINVAL,
		    "is a check step but has SQL; its checks are its content");
	if (step->revert != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a check step with a revert script; a check step changes "
		    "nothing to revert");
	if (plan_step_has_sql_fields(step))
		return sk_err_set(err, SK_EINVAL,
		    "is a check step but has fields of a SQL step (verify, "
		    "transaction: false, concurrent indexes or a text checksum)");
	if (step->backfill != NULL || step->expand != NULL ||
	    step->flag != NULL || step->move != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a check step but carries a backfill, expand, flag or move body");
	return SK_OK;
}

/* Hash s and its NUL, so that fields cannot run into each other. */
static void
hash_field(crypto_hash_sha256_state *st, const char *s)
{
	const char *v = s != NULL ? s : "";

	crypto_hash_sha256_update(st, (const uint8_t *)v, strlen(v) + 1);
}

static int
check_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	static const char domain[] = "skein-step-check-v1";
	crypto_hash_sha256_state st;
	char kind[24], expect[24];
	int rc;

	snprintf(kind, sizeof(kind), "%d", step->kind);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)domain, sizeof(domain));
	hash_field(&st, kind);
	for (size_t i = 0; i < step->nchecks; i++) {
		const sk_check *c = &step->checks[i];
		char *norm = NULL;

		/* Whitespace and comments in a check's SQL are not drift. */
		rc = sk_sql_normalize(c->sql != NULL ? c->sql : "",
		    c->path != NULL ? c->path : c->name, &norm, err);
		if (rc != SK_OK)
			return rc;
		snprintf(expect, sizeof(expect), "%d", c->expect);
		hash_field(&st, c->name);
		hash_field(&st, norm);
		hash_field(&st, expect);
		hash_field(&st, c->op);
		hash_field(&st, c->value);
		hash_field(&st, c->sqlstate);
		free(norm);
	}
	crypto_hash_sha256_final(&st, out);
	return SK_OK;
}

/* ---- kinds backfill, expand, contract -------------------------------- */

static int
backfill_validate(const sk_step *step, sk_err *err)
{
	char *sql = NULL;
	int rc;

	rc = plan_step_alone(step, "backfill", step->backfill, err);
	if (rc != SK_OK)
		return rc;
	if (step->backfill->table == NULL || step->backfill->table[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "is a backfill step without a table");
	if (step->backfill->update == NULL || step->backfill->update[0] == '\0')
		return sk_err_set(err, SK_EINVAL,
		    "is a backfill step without an update (SET ...)");
	rc = sk_backfill_statement(step->backfill, "true", &sql, err);
	free(sql);
	if (rc == SK_OK)
		rc = sk_backfill_tuning_check(&step->backfill->tuning, err);
	return rc;
}

/* A column name skein quotes itself: any characters but NUL, at most
 * PostgreSQL's 63 bytes. */
static int
column_name(const char *name, const char *field, sk_err *err)
{
	if (name == NULL || name[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "needs %s (a column name)", field);
	if (strlen(name) > 63)
		return sk_err_set(err, SK_EINVAL,
		    "%s \"%.40s...\" is longer than PostgreSQL's 63 bytes",
		    field, name);
	return SK_OK;
}

/* What expand and contract share: table, column, from. */
static int
expand_common(const sk_step *step, const char *kind, sk_err *err)
{
	const sk_expand *e;
	int rc;

	rc = plan_step_alone(step, kind, step->expand, err);
	if (rc != SK_OK)
		return rc;
	e = step->expand;
	if (e->table == NULL || e->table[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "is an %s step without a table", kind);
	rc = sk_sql_fragment_check(e->table, "table", err);
	if (rc == SK_OK)
		rc = column_name(e->column, "column", err);
	if (rc == SK_OK)
		rc = column_name(e->from, "from", err);
	if (rc == SK_OK && strcmp(e->column, e->from) == 0)
		rc = sk_err_set(err, SK_EINVAL,
		    "column and from are both \"%s\": an expand keeps a new "
		    "column in step with an old one",
		    e->column);
	return rc;
}

static int
expand_validate(const sk_step *step, sk_err *err)
{
	const sk_expand *e = step->expand;
	sk_backfill b;
	char *sql = NULL;
	int rc;

	rc = expand_common(step, "expand", err);
	if (rc != SK_OK)
		return rc;
	if (e->type == NULL || e->type[0] == '\0')
		return sk_err_set(err, SK_EINVAL,
		    "is an expand step without the new column's type");
	if (step->revert != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is an expand step with a revert script; its rollback drops "
		    "the trigger and the new column itself");
	rc = sk_sql_fragment_check(e->type, "type", err);
	if (rc == SK_OK)
		rc = sk_sql_fragment_check(e->forward, "using", err);
	if (rc == SK_OK)
		rc = sk_sql_fragment_check(e->backward, "reverse", err);
	if (rc == SK_OK)
		rc = sk_backfill_tuning_check(&e->tuning, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_expand_backfill(e, &b, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_backfill_statement(&b, "true", &sql, err);
	free(sql);
	sk_backfill_fini(&b);
	return rc;
}

static int
contract_validate(const sk_step *step, sk_err *err)
{
	const sk_expand *e = step->expand;
	int rc;

	rc = expand_common(step, "contract", err);
	if (rc != SK_OK)
		return rc;
	if (e->type != NULL || e->forward != NULL || e->backward != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a contract step with type, using or reverse: those belong "
		    "to the expand it ends");
	return SK_OK;
}

/* Backfill: the batch statement, normalized (whitespace and comments are
 * not drift); the tuning is not part of it. */
static int
backfill_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	static const char domain[] = "skein-step-backfill-v1";
	crypto_hash_sha256_state st;
	char kind[24], *sql = NULL, *norm = NULL;
	int rc;

	rc = sk_backfill_statement(step->backfill, "true", &sql, err);
	if (rc == SK_OK)
		rc = sk_sql_normalize(sql, step->id, &norm, err);
	free(sql);
	if (rc != SK_OK)
		return rc;
	snprintf(kind, sizeof(kind), "%d", step->kind);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)domain, sizeof(domain));
	hash_field(&st, kind);
	hash_field(&st, norm);
	crypto_hash_sha256_final(&st, out);
	free(norm);
	return SK_OK;
}

/* Expand and contract: the columns and expressions as written; the
 * kind keeps the two apart. */
static int
expand_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	static const char domain[] = "skein-step-expand-v1";
	const sk_expand *e = step->expand;
	crypto_hash_sha256_state st;
	char kind[24];

	(void)err;
	snprintf(kind, sizeof(kind), "%d", step->kind);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)domain, sizeof(domain));
	hash_field(&st, kind);
	hash_field(&st, e->table);
	hash_field(&st, e->column);
	hash_field(&st, e->type);
	hash_field(&st, e->from);
	hash_field(&st, e->forward);
	hash_field(&st, e->backward);
	crypto_hash_sha256_final(&st, out);
	return SK_OK;
}
