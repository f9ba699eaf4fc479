/* sk_step: what a step is, apart from the plan that holds it: its
 * checksum, the fingerprint the ledger keeps so that a step that ran is
 * never run again and never changed. */
#include "sk_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sk_sql.h"

/* The domains of step checksums; bump them only with a new ledger format.
 * v1 hashes the raw SQL text (sk_step_text_checksum), v2 the statements
 * as sk_sql_normalize gives them (sk_step_checksum). */
static const char checksum_domain[] = "skein-step-v1";
static const char checksum_domain_v2[] = "skein-step-v2";

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

int
sk_step_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
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

bool
sk_step_has_text_checksum(const sk_step *step)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < SK_CHECKSUM_LEN; i++)
		acc |= step->text_checksum[i];
	return acc != 0;
}

