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

#include "sk_config.h"
#include "sk_err.h"

#define SK_PLAN_FORMAT 1
#define SK_CHECKSUM_LEN 32

enum sk_step_kind {
	SK_STEP_SQL = 1,
};

typedef struct sk_step {
	char *id;
	int kind; /* enum sk_step_kind */
	char *sql;
	char *revert; /* NULL when absent */
	char *verify; /* NULL when absent */
	bool no_transaction;
	uint8_t checksum[SK_CHECKSUM_LEN];
	char *sql_path; /* as written in plan.yaml */
	char *revert_path;
	char *verify_path;
} sk_step;

typedef struct sk_phase {
	char *name;
	char **regions; /* resolved names */
	size_t nregions;
	char **residency; /* as written, when the phase selected by residency */
	size_t nresidency;
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
} sk_plan;

/* Free a plan and everything it owns. Accepts NULL. */
void sk_plan_destroy(sk_plan *plan);

/* Compute a step's checksum from its content (kind, transaction mode and
 * SQL text). Revert and verify scripts are not part of it: editing them is
 * not drift. */
void sk_step_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN]);

/* Serialize plan to protobuf. *out is malloc'ed (caller frees). */
int sk_plan_encode(const sk_plan *plan, uint8_t **out, size_t *out_len,
    sk_err *err) SK_WARN_UNUSED;

/* Parse and validate a protobuf plan: format, non-empty id and name, valid
 * unique step ids and phase names, every step's checksum matching its
 * content, every phase region listed in regions. On success *out is owned
 * by the caller; on failure nothing is allocated. */
int sk_plan_decode(const uint8_t *buf, size_t len, sk_plan **out, sk_err *err) SK_WARN_UNUSED;

/* True if the plan addresses region. */
bool sk_plan_addresses(const sk_plan *plan, const char *region);

/* Build a plan from dir/plan.yaml. Phases that select by residency are
 * resolved against inv (which may be NULL only if no phase uses
 * residency; a phase naming a region absent from a non-NULL inv is an
 * error). now_unix is the creation time. Errors name the file, and for
 * YAML the line and column. On success *out is owned by the caller. */
int sk_plan_build(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_err *err) SK_WARN_UNUSED;

/* Print a human-readable description of the plan. If signer_hex is not
 * NULL the plan was read from a signed envelope with that signer. */
void sk_plan_print(FILE *out, const sk_plan *plan, const char *signer_hex);

/* Print the plan as one JSON object (with a "signer" member when
 * signer_hex is not NULL). Returns SK_OK or SK_ENOMEM, or SK_EIO when out
 * cannot be written. */
int sk_plan_print_json(FILE *out, const sk_plan *plan, const char *signer_hex,
    sk_err *err) SK_WARN_UNUSED;

#endif
