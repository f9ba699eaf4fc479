/* sk_step_alone: what a step of one kind may not carry of the others —
 * the fields of a SQL step, a check step's checks, another kind's body —
 * checked alike for every kind with a body of its own (sk_step.c's
 * table, sk_flag.c, sk_move.c). Calls nothing of theirs. */
#include "sk_step_alone.h"

bool
sk_step_has_text_checksum(const sk_step *step)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < SK_CHECKSUM_LEN; i++)
		acc |= step->text_checksum[i];
	return acc != 0;
}

bool
plan_step_has_sql_fields(const sk_step *step)
{
	return step->verify != NULL || step->no_transaction ||
	    step->nconcurrent_indexes > 0 || sk_step_has_text_checksum(step);
}

int
plan_step_alone(const sk_step *step, const char *kind, const void *body, sk_err *err)
{
	const void *bodies[] = { step->backfill, step->expand, step->flag, step->move };

	if ((step->sql != NULL && step->sql[0] != '\0') ||
	    plan_step_has_sql_fields(step))
		return sk_err_set(err, SK_EINVAL,
		    "is a %s step but has fields of a SQL step (sql, verify, "
		    "transaction: false)",
		    kind);
	if (step->nchecks > 0)
		return sk_err_set(err, SK_EINVAL,
		    "is a %s step but carries the checks of a check step", kind);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		if (bodies[i] != NULL && bodies[i] != body)
			return sk_err_set(err, SK_EINVAL,
			    "is a %s step but carries the body of another kind", kind);
	if (body == NULL)
		return sk_err_set(err, SK_EINVAL, "is a %s step without its body", kind);
	return SK_OK;
}
