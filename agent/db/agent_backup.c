/* agent_backup: pg_dump -Fc, verified with pg_restore --list, under a
 * temporary name until verified. The tools are child processes started
 * with posix_spawn (safe in a threaded program, unlike fork followed by
 * anything but exec), their stderr read through a pipe so that a failure
 * says what the tool said. */
#define _GNU_SOURCE /* pipe2, mkostemp, posix_spawn_file_actions_addclosefrom_np */
#include "agent_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_stmt.h"
#include "sk_util.h"

extern char **environ;

/* How often a running tool's *stop is looked at, and how long a stopped
 * tool gets between SIGTERM and SIGKILL. */
#define STOP_POLL_MS 100
#define STOP_GRACE_MS 5000

/* How much of a tool's stderr is kept: its last lines carry the error. */
#define STDERR_TAIL 8192
/* How many of those last lines go into the error message. */
#define STDERR_LINES 3

/* What a tool run produced. */
typedef struct tool_run {
	int spawn_errno; /* posix_spawn failure, else 0 */
	int status;      /* waitpid status */
	bool stopped;    /* *stop was set: the tool was terminated */
	bool reaped;     /* its status was already collected */
	char tail[STDERR_TAIL + 1];
	size_t tail_len;
} tool_run;

static bool
shell_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_./:=@%+,-",
			*s) == NULL)
			return false;
	return true;
}

bool
agent_shell_quote(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf), need = 2;

	for (const char *p = s; *p != '\0'; p++)
		need += *p == '\'' ? 4 : 1;
	if (used + need + 1 > len)
		return false;
	buf[used++] = '\'';
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(buf + used, "'\\''", 4);
			used += 4;
		} else {
			buf[used++] = *p;
		}
	}
	buf[used++] = '\'';
	buf[used] = '\0';
	return true;
}

/* A file name component: [A-Za-z0-9_.-] kept, anything else '-'. Names
 * are validated upstream; this keeps a path from ever gaining a '/'. */
static void
name_part(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	if (src == NULL || *src == '\0')
		src = "none";
	for (; *src != '\0' && n + 1 < len; src++)
		dst[n++] = strchr("_.-", *src) != NULL ||
			(*src >= 'a' && *src <= 'z') ||
			(*src >= 'A' && *src <= 'Z') ||
			(*src >= '0' && *src <= '9') ?
		    *src :
		    '-';
	dst[n] = '\0';
	if (dst[0] == '.')
		dst[0] = '_'; /* never a hidden file */
}

/* Append a libpq conninfo value, quoted when it needs to be. */
static void
conninfo_value(char *buf, size_t len, const char *v)
{
	size_t used = strlen(buf);
	bool quote = *v == '\0' || strpbrk(v, " \t\n'\\") != NULL;

	if (!quote) {
		snprintf(buf + used, len - used, "%s", v);
		return;
	}
	if (used + 1 < len)
		buf[used++] = '\'';
	for (; *v != '\0' && used + 2 < len; v++) {
		if (*v == '\'' || *v == '\\')
			buf[used++] = '\\';
		buf[used++] = *v;
	}
	if (used + 1 < len)
		buf[used++] = '\'';
	buf[used < len ? used : len - 1] = '\0';
}

/* Split conninfo into a copy without its password (the original string
 * when it has none) and the password (NULL when none). Both are new
 * strings. */
static int
split_password(const char *what, const char *conninfo, char **safe,
    char **password, sk_err *err)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL, *out;
	size_t cap;

	*safe = NULL;
	*password = NULL;
	opts = PQconninfoParse(conninfo, &msg);
	if (opts == NULL) {
		/* libpq's message may quote the string, password and all. */
		PQfreemem(msg);
		return sk_err_set(err, SK_EBACKUP,
		    "%s: the backup connection string does not parse (not "
		    "shown: it may hold a password)",
		    what);
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			*password = sk_strdup(o->val);
	if (*password == NULL) {
		PQconninfoFree(opts);
		*safe = sk_strdup(conninfo);
		return *safe ? SK_OK :
			       sk_err_set(err, SK_ENOMEM, "back up: out of memory");
	}
	cap = strlen(conninfo) * 2 + 64;
	out = calloc(1, cap);
	if (out == NULL) {
		PQconninfoFree(opts);
		free(*password);
		*password = NULL;
		return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
	}
	for (o = opts; o->keyword != NULL; o++) {
		size_t used = strlen(out);

		if (o->val == NULL || strcmp(o->keyword, "password") == 0)
			continue;
		snprintf(out + used, cap - used, "%s%s=", used > 0 ? " " : "",
		    o->keyword);
		conninfo_value(out, cap, o->val);
	}
	PQconninfoFree(opts);
	*safe = out;
	return SK_OK;
}

/* The environment for a child: ours, with PGPASSWORD replaced by password
 * (or removed when password is NULL, so that a stale one cannot leak in).
 * The array is new; its strings are environ's except the PGPASSWORD
 * entry, which is new too (pw_entry, for the caller to wipe and free). */
static char **
child_env(const char *password, char **pw_entry)
{
	size_t n = 0, k = 0;
	char **env;

	*pw_entry = NULL;
	while (environ != NULL && environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			env[k++] = environ[i];
	if (password != NULL) {
		size_t len = strlen(password) + 12;

		*pw_entry = malloc(len);
		if (*pw_entry == NULL) {
			free(env);
			return NULL;
		}
		snprintf(*pw_entry, len, "PGPASSWORD=%s", password);
		env[k++] = *pw_entry;
	}
	env[k] = NULL;
	return env;
}

/* Keep the last STDERR_TAIL bytes read from fd until EOF. While it runs,
 * look at *stop (may be NULL) every STOP_POLL_MS: once it is set, ask pid
 * to end (SIGTERM), and force it (SIGKILL) after STOP_GRACE_MS, so that a
 * slow dump cannot hold up the agent's shutdown. */
static void
read_tail(int fd, pid_t pid, atomic_int *stop, tool_run *t)
{
	char chunk[STDERR_TAIL / 2]; /* one read never overflows the tail */
	int64_t kill_at = 0;
	struct pollfd pfd;
	ssize_t r;

	for (;;) {
		if (!t->stopped && agent_stop_set(stop)) {
			t->stopped = true;
			(void)kill(pid, SIGTERM);
			kill_at = sk_mono_ms() + STOP_GRACE_MS;
		} else if (kill_at != 0 && sk_mono_ms() >= kill_at) {
			(void)kill(pid, SIGKILL);
			kill_at = 0;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, STOP_POLL_MS) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0) {
			/* Ended, but a child of its own may hold the pipe. */
			if (t->stopped && waitpid(pid, &t->status, WNOHANG) == pid) {
				t->reaped = true;
				break;
			}
			continue;
		}
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (t->tail_len + (size_t)r > STDERR_TAIL) {
			size_t drop = t->tail_len + (size_t)r - STDERR_TAIL;

			memmove(t->tail, t->tail + drop, t->tail_len - drop);
			t->tail_len -= drop;
		}
		memcpy(t->tail + t->tail_len, chunk, (size_t)r);
		t->tail_len += (size_t)r;
	}
	t->tail[t->tail_len] = '\0';
}

/* Run argv[0] (looked up in PATH when it has no '/') with stdin and stdout
 * on /dev/null and stderr captured, and wait for it (or, once *stop is
 * set, end it). */
static void
run_tool(char *const argv[], char *const envp[], atomic_int *stop, tool_run *t)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	int pipefd[2], rc;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	/* O_CLOEXEC: a tool another thread starts meanwhile must not inherit
	 * our pipe, or our read would wait for that tool to exit too. */
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		t->spawn_errno = errno;
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* Database sockets and the like stay with the agent. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	/* The agent may block or ignore signals; the tools get defaults. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGHUP);
	sigaddset(&deflt, SIGQUIT);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		t->spawn_errno = rc;
		return;
	}
	read_tail(pipefd[0], pid, stop, t);
	close(pipefd[0]);
	while (!t->reaped && waitpid(pid, &t->status, 0) < 0) {
		if (errno != EINTR) {
			t->spawn_errno = errno;
			return;
		}
	}
}

static bool
tool_ok(const tool_run *t)
{
	return t->spawn_errno == 0 && WIFEXITED(t->status) &&
	    WEXITSTATUS(t->status) == 0;
}

/* Replace every occurrence of secret in buf (len bytes) with "***". */
static void
redact(char *buf, size_t len, const char *secret)
{
	char tmp[1024];
	size_t slen = strlen(secret), n = 0;
	const char *p = buf, *hit;

	if (len > sizeof(tmp))
		len = sizeof(tmp);
	while ((hit = strstr(p, secret)) != NULL) {
		int w = snprintf(tmp + n, len - n, "%.*s***", (int)(hit - p), p);

		if (w < 0 || n + (size_t)w >= len) {
			n = len - 1;
			break;
		}
		n += (size_t)w;
		p = hit + slen;
	}
	if (p == buf)
		return;
	if (n + 1 < len)
		snprintf(tmp + n, len - n, "%s", p);
	else
		tmp[len - 1] = '\0';
	memcpy(buf, tmp, strlen(tmp) + 1);
}

/* The last STDERR_LINES non-empty lines of the tool's stderr, joined with
 * " / ", runs of spaces folded, and every occurrence of secret removed. */
static void
tail_lines(const tool_run *t, const char *secret, char *out, size_t len)
{
	const char *start[STDERR_LINES];
	size_t lens[STDERR_LINES], nl = 0, used = 0;
	const char *end = t->tail + t->tail_len;

	/* Walk backwards collecting lines. */
	while (end > t->tail && nl < STDERR_LINES) {
		const char *e = end, *b;

		while (e > t->tail && (e[-1] == '\n' || e[-1] == '\r'))
			e--;
		b = e;
		while (b > t->tail && b[-1] != '\n')
			b--;
		if (e > b) {
			start[nl] = b;
			lens[nl] = (size_t)(e - b);
			nl++;
		}
		end = b;
	}
	out[0] = '\0';
	for (size_t i = nl; i-- > 0 && used + 1 < len;) {
		bool space = false;

		if (used > 0)
			used += (size_t)snprintf(out + used, len - used, " / ");
		for (size_t j = 0; j < lens[i] && used + 1 < len; j++) {
			char c = start[i][j];

			if (c == ' ' || c == '\t') {
				space = true;
				continue;
			}
			if (space && used > 0 && out[used - 1] != ' ' && used + 2 < len)
				out[used++] = ' ';
			space = false;
			out[used++] = c;
		}
		if (used >= len)
			used = len - 1;
		out[used] = '\0';
	}
	if (secret != NULL && secret[0] != '\0')
		redact(out, len, secret);
}

/* Set err for a failed tool run. */
static int
tool_error(sk_err *err, const char *what, const char *tool, const tool_run *t,
    const char *secret)
{
	char said[600], how[64];

	if (t->spawn_errno != 0) {
		sk_err_errno(err, SK_EBACKUP, t->spawn_errno, "%s: run %s", what, tool);
		if (err != NULL)
			snprintf(err->hint, sizeof(err->hint),
			    "install PostgreSQL's client tools or set pg_dump "
			    "and pg_restore in agent.yaml");
		return SK_EBACKUP;
	}
	if (WIFEXITED(t->status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(t->status));
	else if (WIFSIGNALED(t->status))
		snprintf(how, sizeof(how), "was killed by signal %d",
		    WTERMSIG(t->status));
	else
		snprintf(how, sizeof(how), "ended with wait status %d", t->status);
	tail_lines(t, secret, said, sizeof(said));
	return sk_err_set(err, SK_EBACKUP, "%s: %s %s%s%s", what, tool, how,
	    said[0] != '\0' ? ": " : "", said);
}

/* The agent is stopping: the tool was ended, the dump is thrown away. */
static int
stopped_error(sk_err *err, const char *what, const char *tool)
{
	sk_err_set(err, SK_ESTATE,
	    "%s: stopped while %s ran; the partial dump was removed", what, tool);
	if (err != NULL)
		snprintf(err->hint, sizeof(err->hint),
		    "nothing was applied; the next run takes the backup again");
	return SK_ESTATE;
}

/* "20260102T030405Z" for now, UTC. */
static void
utc_stamp(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}

/* Make path's data and its directory entry durable. Best effort for the
 * directory: some file systems refuse fsync on one. */
static int
sync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* The restore command for path into cmd (len bytes); false if it does
 * not fit. */
static bool
restore_command(const char *pg_restore, const char *conninfo, const char *path,
    char *cmd, size_t len)
{
	cmd[0] = '\0';
	if (shell_safe(pg_restore)) {
		if ((size_t)snprintf(cmd, len, "%s", pg_restore) >= len)
			return false;
	} else if (!agent_shell_quote(cmd, len, pg_restore)) {
		return false;
	}
	if (strlen(cmd) + 50 >= len)
		return false;
	strcat(cmd, " --clean --if-exists --no-owner -d ");
	if (!agent_shell_quote(cmd, len, conninfo) || strlen(cmd) + 2 >= len)
		return false;
	strcat(cmd, " ");
	return agent_shell_quote(cmd, len, path);
}

int
agent_backup_take(const agent_backup_opts *o, sk_backup_info *info, sk_err *err)
{
	char what[256], base[400], final[sizeof(info->path)], tmp[600];
	char region[SK_NAME_MAX], db[SK_NAME_MAX], plan[SK_NAME_MAX];
	char rollout[SK_ID_MAX], stamp[32], lockwait[64];
	const char *pg_dump, *pg_restore;
	char *safe = NULL, *password = NULL, *pw_entry = NULL, **env = NULL;
	bool have_tmp = false;
	struct stat st;
	tool_run *t = NULL;
	int64_t started;
	int fd, rc = SK_OK;

	memset(info, 0, sizeof(*info));
	started = sk_mono_ms();
	snprintf(what, sizeof(what), "back up %s/%s",
	    o->region ? o->region : "?", o->database ? o->database : "?");
	pg_dump = o->pg_dump != NULL && o->pg_dump[0] ? o->pg_dump : "pg_dump";
	pg_restore = o->pg_restore != NULL && o->pg_restore[0] ? o->pg_restore :
								 "pg_restore";
	if (o->dir == NULL || o->dir[0] == '\0') {
		sk_err_set(err, SK_EBACKUP, "%s: no backup directory configured", what);
		if (err != NULL)
			snprintf(err->hint, sizeof(err->hint),
			    "set backup_dir in agent.yaml");
		return SK_EBACKUP;
	}
	if (o->conninfo == NULL)
		return sk_err_set(err, SK_EBACKUP, "%s: no connection string", what);
	if (stat(o->dir, &st) != 0)
		return sk_err_errno(err, SK_EBACKUP, errno,
		    "%s: backup directory %s", what, o->dir);
	if (!S_ISDIR(st.st_mode))
		return sk_err_set(err, SK_EBACKUP,
		    "%s: backup directory %s is not a directory", what, o->dir);

	name_part(region, sizeof(region), o->region);
	name_part(db, sizeof(db), o->database);
	name_part(plan, sizeof(plan), o->plan_name);
	name_part(rollout, sizeof(rollout), o->rollout_id);
	utc_stamp(stamp, sizeof(stamp));
	/* Room for "_NN.dump" and the temporary name's extra characters. */
	if ((size_t)snprintf(base, sizeof(base), "%s/%s_%s_%s_%s_%s", o->dir,
		region, db, plan, rollout, stamp) +
		16 >=
	    sizeof(final))
		return sk_err_set(err, SK_EBACKUP,
		    "%s: backup path under %s is too long", what, o->dir);

	rc = split_password(what, o->conninfo, &safe, &password, err);
	if (rc != SK_OK)
		return rc;
	/* Checked now so that a good dump is never thrown away for it. */
	if (!restore_command(pg_restore, safe, base, info->restore_command,
		sizeof(info->restore_command) - 8)) {
		rc = sk_err_set(err, SK_EBACKUP,
		    "%s: the restore command would exceed %zu characters "
		    "(connection string too long)",
		    what, sizeof(info->restore_command));
		goto out;
	}
	env = child_env(password, &pw_entry);
	t = malloc(sizeof(*t));
	if (env == NULL || t == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
		goto out;
	}

	snprintf(tmp, sizeof(tmp), "%s/.%s_%s_%s_%s_%s.dump.XXXXXX", o->dir,
	    region, db, plan, rollout, stamp);
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		rc = sk_err_errno(err, SK_EBACKUP, errno,
		    "%s: create a file in backup directory %s", what, o->dir);
		goto out;
	}
	have_tmp = true;
	close(fd);

	snprintf(lockwait, sizeof(lockwait), "--lock-wait-timeout=%s",
	    AGENT_BACKUP_LOCK_WAIT);
	{
		char *argv[] = { (char *)pg_dump, "--format=custom", "--no-password",
			lockwait, "--file", tmp, "--dbname", safe, NULL };

		run_tool(argv, env, o->stop, t);
	}
	if (t->stopped) {
		rc = stopped_error(err, what, pg_dump);
		goto out;
	}
	if (!tool_ok(t)) {
		rc = tool_error(err, what, pg_dump, t, password);
		goto out;
	}
	{
		char *argv[] = { (char *)pg_restore, "--list", tmp, NULL };

		run_tool(argv, env, o->stop, t);
	}
	if (t->stopped) {
		rc = stopped_error(err, what, pg_restore);
		goto out;
	}
	if (!tool_ok(t)) {
		char verify[300];

		snprintf(verify, sizeof(verify), "%s: verify the dump", what);
		rc = tool_error(err, verify, pg_restore, t, password);
		goto out;
	}
	if (sync_file(tmp) != 0 || stat(tmp, &st) != 0) {
		rc = sk_err_errno(err, SK_EBACKUP, errno, "%s: sync %s", what, tmp);
		goto out;
	}
	/* The same database, plan and rollout within one second: keep both. */
	snprintf(final, sizeof(final), "%s.dump", base);
	for (int i = 2; access(final, F_OK) == 0 && i < 100; i++)
		snprintf(final, sizeof(final), "%s_%d.dump", base, i);
	if (rename(tmp, final) != 0) {
		rc = sk_err_errno(err, SK_EBACKUP, errno, "%s: rename %s to %s",
		    what, tmp, final);
		goto out;
	}
	have_tmp = false;
	sync_dir(o->dir);
	if (!restore_command(pg_restore, safe, final, info->restore_command,
		sizeof(info->restore_command))) {
		/* Cannot happen: checked above with room to spare. */
		rc = sk_err_set(err, SK_EBACKUP, "%s: restore command too long", what);
		unlink(final);
		goto out;
	}
	snprintf(info->path, sizeof(info->path), "%s", final);
	info->size = (int64_t)st.st_size;
	info->duration_ms = sk_mono_ms() - started;
out:
	if (have_tmp)
		unlink(tmp);
	if (rc != SK_OK)
		memset(info, 0, sizeof(*info));
	if (pw_entry != NULL) {
		memset(pw_entry, 0, strlen(pw_entry));
		free(pw_entry);
	}
	if (password != NULL) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(env);
	free(safe);
	free(t);
	return rc;
}

void
agent_backup_public_command(const char *pg_restore, const char *conninfo,
    const sk_backup_info *info, char *cmd, size_t len)
{
	PQconninfoOption *opts =
	    PQconninfoParse(conninfo != NULL ? conninfo : "", NULL);
	const char *dbname = NULL;
	char only[SK_NAME_MAX + 16];

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val != NULL)
			dbname = o->val;
	/* A dbname that is itself a connection string or URI says more than
	 * a name: leave it to PGDATABASE. */
	if (dbname != NULL && strpbrk(dbname, "=/:@ ") == NULL)
		snprintf(only, sizeof(only), "dbname=%.*s", SK_NAME_MAX, dbname);
	else
		snprintf(only, sizeof(only), "dbname=");
	if (!restore_command(pg_restore != NULL ? pg_restore : "pg_restore",
		only, info->path, cmd, len))
		snprintf(cmd, len,
		    "pg_restore --clean --if-exists --no-owner -d "
		    "DBNAME BACKUP_FILE");
	PQconninfoFree(opts);
}
