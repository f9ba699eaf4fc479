/* cli_import: `skein plan import`, which turns another tool's migration
 * directory (Flyway, golang-migrate, Sqitch) into a skein plan directory.
 * Each source tool is one reader (cli_import_flyway.c,
 * cli_import_migrate.c, cli_import_sqitch.c) behind cli_import_reader;
 * cli_import_model.c holds the model and the helpers readers share;
 * cli_import.c is the command: it drives a reader and writes the plan.
 *
 * Ownership: a cli_import owns every string reachable from it;
 * cli_import_fini frees the lot. A reader adds to it and, on failure,
 * leaves what it added for cli_import_fini.
 */
#ifndef CLI_IMPORT_H
#define CLI_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "sk_err.h"

/* One script of a step: where it goes in the plan directory (relative,
 * '/'-separated) and its text, already cleaned (cli_import_script). */
typedef struct cli_import_file {
	char *rel;
	char *text;
} cli_import_file;

typedef struct cli_import_step {
	char *id;      /* the source's id, a valid skein name */
	char *comment; /* one line for plan.yaml: where the step came from */
	cli_import_file sql;
	cli_import_file revert; /* rel NULL: none */
	cli_import_file verify; /* rel NULL: none; a post check, succeeds */
	bool no_tx;             /* a statement cannot run in a transaction */
} cli_import_step;

/* preflight.requires: a step of another plan (a Sqitch project) that must
 * have been applied first. */
typedef struct cli_import_require {
	char *plan;
	char *step;
} cli_import_require;

typedef struct cli_import {
	char *name; /* the plan's name from the source (Sqitch %project), or NULL */
	cli_import_step *steps;
	size_t nsteps, capsteps;
	cli_import_require *requires;
	size_t nrequires, caprequires;
	size_t stripped; /* scripts whose BEGIN/COMMIT were removed */
	char **notes;    /* what could not be carried, one line each */
	size_t nnotes, capnotes;
} cli_import;

/* A source tool: read reads directory dir into imp. Errors say what,
 * where (FILE:LINE when there is one) and what to do. */
typedef struct cli_import_reader {
	const char *name; /* as given to --from */
	int (*read)(const char *dir, cli_import *imp, sk_err *err);
} cli_import_reader;

extern const cli_import_reader cli_import_flyway;
extern const cli_import_reader cli_import_migrate;
extern const cli_import_reader cli_import_sqitch;

/* skein plan import ... (argv[0] is "import"): the command. */
int cli_plan_import(int argc, char **argv);

/* Free everything imp holds and zero it. Accepts NULL. */
void cli_import_fini(cli_import *imp);

/* Append a note (printf format). Out of memory: the note is lost, the
 * import goes on (a note is advice, not content). */
void cli_import_note(cli_import *imp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* id made a valid skein name (characters outside A-Z a-z 0-9 _ . -
 * become _, cut to 63): a new string, or NULL when out of memory. */
char *cli_import_name_from(const char *id);

/* Append a step with id and comment (copied); *out points at it, its
 * files still empty. SK_ENOMEM. An id that is not a valid skein name is
 * made one (characters outside A-Z a-z 0-9 _ . - become _, cut to 63)
 * with a note; SK_EINVAL when that id is already taken. */
int cli_import_step_add(cli_import *imp, const char *id, const char *comment,
    cli_import_step **out, sk_err *err) SK_WARN_UNUSED;

/* Add a preflight requirement (copied). SK_ENOMEM. */
int cli_import_require_add(cli_import *imp, const char *plan, const char *step,
    sk_err *err) SK_WARN_UNUSED;

/* Read the script rel of directory dir (at most 8 MiB, inside dir) into
 * f, under the plan-relative name out_rel (copied). The text is parsed
 * with PostgreSQL's parser (a syntax error fails, naming FILE:LINE), and
 * top-level BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK and ABORT are
 * removed (counted in imp->stripped, left as a comment): skein runs each step in a transaction of its
 * own, with its ledger row. A `${...}` (a Flyway placeholder) gets a note.
 * *nstmts (may be NULL) is the number of statements left; *no_tx (may be
 * NULL) is set when one cannot run in a transaction. When the file holds
 * no statement once cleaned, f is left empty (rel NULL). */
int cli_import_script(cli_import *imp, const char *dir, const char *rel,
    const char *out_rel, cli_import_file *f, size_t *nstmts, bool *no_tx,
    sk_err *err) SK_WARN_UNUSED;

/* The script name in dir as s's revert (cli_import_script, kept under
 * the same name); one without a statement leaves s without a revert and
 * says so in a note. */
int cli_import_revert(cli_import *imp, const char *dir, const char *name,
    cli_import_step *s, sk_err *err) SK_WARN_UNUSED;

/* True when the regular file rel exists in dir. */
bool cli_import_exists(const char *dir, const char *rel);

/* The names of the entries of dir (not . and ..), sorted by strcmp.
 * *out is a new array the caller frees with sk_strv_free. SK_EIO names
 * dir when it cannot be read. */
int cli_import_list(const char *dir, char ***out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* Compare two version strings of digits separated by '.' or '_' part by
 * part, numerically (any length: leading zeros ignored), a missing part
 * counting as 0 (so 1.0 equals 1). <0, 0, >0. */
int cli_import_version_cmp(const char *a, const char *b);

#endif
