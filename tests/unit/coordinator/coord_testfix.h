/* coord_testfix: the fixture the coordinator's tests share — for the
 * control tests a temporary directory with a release key, the inventory
 * af, in, ksa, an open journal, pinned operators and a control context,
 * plus the signed plans and signed operator requests they send it; for
 * the rollout tests a temporary directory, journal and rollouts.
 *
 * Test code: every helper asserts (cmocka) on what should not fail, so a
 * test reads as its steps. Ownership: what a function returns is the
 * caller's to free (free(), or the named _fini); everything else is
 * borrowed. Not thread-safe.
 */
#ifndef COORD_TESTFIX_H
#define COORD_TESTFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_auth.h"
#include "coord_control.h"
#include "coord_journal.h"
#include "coord_line.h"
#include "coord_opctl.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "sk_config.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_wire.h"

#define COORD_TESTFIX_MAX_KEYS 6

/* An operator key to make: name and role; role 0 makes a key nobody
 * pinned (a stranger). name must outlive the fixture (a literal). */
typedef struct coord_testfix_who {
	const char *name;
	sk_role role;
} coord_testfix_who;

typedef struct coord_testfix {
	char dir[64];
	sk_seckey *release_key;
	sk_keyring release;
	sk_region regions[3];
	sk_inventory inv;
	coord_registry rollouts;
	coord_journal *journal;
	coord_control_ctx ctx;
	/* keys[i] is who[i]'s key, in the order given to setup. */
	sk_seckey *keys[COORD_TESTFIX_MAX_KEYS];
	size_t nkeys;
	sk_operator operators[COORD_TESTFIX_MAX_KEYS];
	sk_coord_config cfg;
	coord_auth auth;
	coord_line line;
} coord_testfix;

/* Make a fresh directory /tmp/sk-<tag>-test-XXXXXX, its path into dir
 * (size bytes). 0, or -1 (errno set) when it could not be made. */
int coord_testfix_mkdtemp(char *dir, size_t size, const char *tag);

/* Remove the directory dir and all in it (rm -rf). 0, or -1 when rm
 * failed. */
int coord_testfix_rmtree(const char *dir);

/* The fixture of the tests that drive a rollout directly: a temporary
 * directory, the journal a test opens there and the rollouts it builds
 * (ro, and for some tests a second), each freed by the teardown when
 * set. C11's anonymous union gives the second its name in each test. */
typedef struct coord_testfix_dir {
	char dir[64];
	coord_journal *j;
	coord_rollout *ro;
	union {
		coord_rollout *orig; /* the rollout a rollback test rolls back */
		coord_rollout *again; /* ro rebuilt from the journal */
	};
} coord_testfix_dir;

/* A cmocka setup's body: *state a new coord_testfix_dir with a fresh
 * /tmp/sk-<tag>-test-XXXXXX and nothing else. 0; -1 on failure (*state
 * not set, nothing left behind). */
int coord_testfix_dir_setup(void **state, const char *tag);

/* A cmocka teardown of a coord_testfix_dir: destroys ro and the second
 * rollout, closes j, removes the directory and frees it. 0, or -1 when
 * the directory could not be removed. */
int coord_testfix_dir_teardown(void **state);

/* Fill fx (zeroed by the caller): a fresh /tmp/sk-<tag>-test-XXXXXX
 * holding the release key and a key per who[0..nwho) (at most
 * COORD_TESTFIX_MAX_KEYS), those with a role pinned as operators; the
 * journal opened there; the control context over the registry, journal,
 * release keyring, inventory and auth, and over fx->line when line is
 * true (else no line). 0 on success; -1 on failure, with what was made
 * left for coord_testfix_teardown (as a cmocka setup leaves it). */
int coord_testfix_setup(coord_testfix *fx, const char *tag,
    const coord_testfix_who *who, size_t nwho, bool line);

/* Free what setup made and remove the directory; fx itself stays the
 * caller's. 0, or -1 when the directory could not be removed. */
int coord_testfix_teardown(coord_testfix *fx);

/* The cast most control tests need: operators admin, op (operator) and
 * viewer, pinned; and a stranger's key nobody pinned. The keys are fx's,
 * borrowed. */
typedef struct coord_testfix_staff {
	coord_testfix fx;
	sk_seckey *admin, *op, *viewer, *stranger;
} coord_testfix_staff;

/* A cmocka setup's body: *state a new coord_testfix_staff, its fx set up
 * as coord_testfix_setup(tag, line). 0; -1 on failure (*state not set). */
int coord_testfix_staff_setup(void **state, const char *tag, bool line);

/* A cmocka teardown of a coord_testfix_staff: coord_testfix_teardown,
 * then frees it. 0, or -1 when the directory could not be removed. */
int coord_testfix_staff_teardown(void **state);

/* sk_strdup that asserts it got the memory; the caller frees it. */
char *coord_testfix_strdup(const char *s);

/* A plan id, named name, of a SQL step (and, with backfill, a backfill
 * step of batches 100..50000) over af (canary), then in and ksa; valid
 * for a day. The caller may add to it before coord_testfix_seal. */
sk_plan *coord_testfix_plan(const char *id, const char *name, bool backfill);

/* plan's steps checksummed, encoded and sealed with fx's release key;
 * its length into *len. Takes plan (destroyed); the caller frees the
 * result. */
uint8_t *coord_testfix_seal(const coord_testfix *fx, sk_plan *plan, size_t *len);

/* req as key signs it, made at at_ms with nonce (NULL: a fresh one);
 * its length into *len. The caller frees the result. */
uint8_t *coord_testfix_sign(const sk_cli_request *req, const sk_seckey *key,
    int64_t at_ms, const uint8_t *nonce, size_t *len);

/* Answer the bytes msg, decoding the answer into resp (the caller
 * sk_cli_response_fini's it); the effect. */
coord_control_effect coord_testfix_answer(
    coord_testfix *fx, const uint8_t *msg, size_t len, sk_cli_response *resp);

/* Answer req signed by key now (a fresh nonce), into resp. */
coord_control_effect coord_testfix_ask_as(coord_testfix *fx,
    const sk_seckey *key, const sk_cli_request *req, sk_cli_response *resp);

/* Start, as key, coord_testfix_plan(name, name, backfill) in mode; its
 * id into id (SK_ID_MAX); the rollout (borrowed from fx->rollouts). */
coord_rollout *coord_testfix_start(coord_testfix *fx, const sk_seckey *key,
    const char *name, bool backfill, int mode, char *id);

/* Ask, as key, to pause (reason), resume or tune (t, unless NULL)
 * rollout id: op; the answer into resp. */
coord_control_effect coord_testfix_opctl(coord_testfix *fx,
    const sk_seckey *key, int op, const char *id, const char *reason,
    const sk_tune *t, sk_cli_response *resp);

/* req sent unsigned (no operator envelope): asserts it is refused
 * (SK_ECRYPTO, "not a signed operator request") and held nothing. */
void coord_testfix_unsigned_req_refused(coord_testfix *fx, const sk_cli_request *req);

/* op of rollout id sent unsigned, as coord_testfix_unsigned_req_refused. */
void coord_testfix_unsigned_refused(coord_testfix *fx, int op, const char *id);

/* Region of ro reports event (an agent's word; a failure says "boom"),
 * and when step is not NULL, of database app at step, made now; whether
 * that changed ro. */
bool coord_testfix_report_step(coord_testfix *fx, coord_rollout *ro,
    const char *region, int event, const char *step);

/* coord_testfix_report_step without a step. */
bool coord_testfix_report(
    coord_testfix *fx, coord_rollout *ro, const char *region, int event);

/* The commands the agent of region, running ro, is sent now (out has
 * COORD_OPCTL_COMMANDS_MAX places); how many. */
size_t coord_testfix_commands(
    const coord_rollout *ro, const char *region, sk_command *out);

/* What the journal's operator records say, replayed. */
typedef struct coord_testfix_opctls {
	int records;
	int kinds[SK_CMD_MAX];
	char last_actor[SK_NAME_MAX], last_reason[SK_REASON_MAX];
} coord_testfix_opctls;

/* Replay the journal in dir, as a restarted coordinator reads it, through
 * a handle of its own (closed again) into v's callbacks with arg; asserts
 * it opens. */
void coord_testfix_journal_visit(
    const char *dir, const coord_journal_visitor *v, void *arg);

/* The operator records in fx's journal, read by a second handle. */
coord_testfix_opctls coord_testfix_journal_opctl(const coord_testfix *fx);

/* The rollouts as a restarted coordinator would see them. */
typedef struct coord_testfix_replayed {
	coord_registry rollouts;
	coord_line line;
} coord_testfix_replayed;

/* Replay fx's journal into r (overwritten): rollouts created, regions,
 * phases, ends and operator records; with line, also each rollout
 * adopted by r->line and the line's records. The caller
 * coord_registry_fini's r->rollouts. */
void coord_testfix_replay(
    const coord_testfix *fx, bool line, coord_testfix_replayed *r);

#endif
