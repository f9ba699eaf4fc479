/* agent_backup: a verified pg_dump of one database before a plan changes
 * it. The dump is taken in custom format, read back with
 * `pg_restore --list`, and only then given its final name, so a file with
 * a final name in the backup directory is always a readable dump.
 *
 * Thread-safe: several database threads may back up at once. The tools
 * run as child processes (posix_spawn, argv arrays, no shell).
 */
#ifndef AGENT_BACKUP_H
#define AGENT_BACKUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "sk_err.h"
#include "sk_wire.h"

/* How long pg_dump waits for its shared table locks before it gives up
 * (--lock-wait-timeout), so that a session holding an ACCESS EXCLUSIVE
 * lock makes the backup fail instead of hanging the rollout. */
#define AGENT_BACKUP_LOCK_WAIT "120s"

typedef struct agent_backup_opts {
	const char *dir;        /* backup directory (must exist) */
	const char *pg_dump;    /* program, default "pg_dump" */
	const char *pg_restore; /* default "pg_restore" */
	const char *conninfo;   /* the database's (backup_conninfo if set) */
	const char *region, *database, *plan_name, *rollout_id;
	atomic_int *stop; /* may be NULL; once set, a running tool is ended */
} agent_backup_opts;

/* pg_dump -Fc to DIR/<region>_<database>_<plan>_<rollout>_<UTC
 * yyyymmddThhmmssZ>.dump, written under a temporary name (mode 0600) and
 * renamed only after `pg_restore --list` read it back successfully; fills
 * info (path, size, duration_ms, restore_command = the exact
 * `pg_restore --clean --if-exists --no-owner -d '<conninfo without
 * password>' '<path>'` line to run, shell-quoted). The password (if the
 * conninfo has one) reaches pg_dump through PGPASSWORD in the child's
 * environment, never argv. Both tools run with --no-password, so they
 * never prompt. Should the final name exist already, "_2", "_3", ... is
 * added before ".dump".
 *
 * On any failure returns SK_EBACKUP with the tool's own error (last lines
 * of its stderr, e.g. "No space left on device", "permission denied for
 * table x") and the exit status in the message, and leaves no file
 * behind; *info is then zeroed. When o->stop becomes non-zero while a
 * tool runs, the tool gets SIGTERM (SIGKILL 5 s later), no file is left
 * and SK_ESTATE says the backup was stopped. */
int agent_backup_take(const agent_backup_opts *o, sk_backup_info *info,
    sk_err *err) SK_WARN_UNUSED;

/* The restore command of info as it may leave the region, into cmd (len
 * bytes): the same pg_restore invocation with a connection string that
 * holds only the database's name (dbname from conninfo), since host,
 * port and user do not leave the agent; whoever restores runs it with
 * PGHOST/PGPORT/PGUSER of the region. pg_restore NULL: "pg_restore". The
 * full command is in skein.backups. */
void agent_backup_public_command(const char *pg_restore, const char *conninfo,
    const sk_backup_info *info, char *cmd, size_t len);

/* Append s to buf (len bytes, NUL-terminated) quoted for a POSIX shell:
 * unchanged when it holds only [A-Za-z0-9_./:=@%+,-] and is not empty,
 * else in single quotes with each ' written as '\''. Returns false (buf
 * unchanged) when it does not fit. */
bool agent_shell_quote(char *buf, size_t len, const char *s);

#endif
