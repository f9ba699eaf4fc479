/* agent_backup against real PostgreSQL and the real pg_dump/pg_restore: a
 * verified dump whose restore command really restores, the password kept
 * out of argv, and failures (no space, read-only directory, no permission
 * on a table, missing tool, unreadable dump) that say why and leave no
 * file behind. Uses the shared `pg` fixture cluster (SKEIN_PGFIXTURE).
 * The no-space and read-only cases mount small tmpfs file systems and are
 * skipped, saying so, where mounting is not permitted. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_backup.h"
#include "sk_pg.h"

static char fixture_port[16];
static char db_name[64];
static char tmpdir[64];
static PGconn *conn;

static void
conninfo(char *buf, size_t len, const char *db, const char *user)
{
	snprintf(buf, len, "host=127.0.0.1 port=%s user=%s dbname=%s",
	    fixture_port, user, db);
}

static PGconn *
connect_to(const char *db)
{
	return pgfixture_connect(fixture_port, db, "backup-test");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup_db(void **state)
{
	(void)state;
	pgfixture_create_db(fixture_port, "backup", db_name, sizeof(db_name));
	conn = connect_to(db_name);
	pgfixture_exec(conn,
	    "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL);"
	    "INSERT INTO accounts SELECT g, 'owner ' || g FROM "
	    "generate_series(1, 500) g;"
	    "CREATE TABLE secret (k text); INSERT INTO secret VALUES ('s')");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-backup-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_db(void **state)
{
	(void)state;
	PQfinish(conn);
	conn = NULL;
	pgfixture_drop_db(fixture_port, db_name);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* Entries of dir, hidden ones included. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_script(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static int
run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
opts_for(agent_backup_opts *o, const char *dir, const char *ci)
{
	memset(o, 0, sizeof(*o));
	o->dir = dir;
	o->conninfo = ci;
	o->region = "af";
	o->database = "app";
	o->plan_name = "accounts_v2";
	o->rollout_id = "r-abc123";
}

static void
test_backup_verifies_and_restores(void **state)
{
	char ci[300], wrapper[128], argvfile[128], pwfile[128], script[512];
	char text[2048], prefix[256], buf[64], cmd[1200];
	agent_backup_opts o;
	sk_backup_info info;
	struct stat st;
	sk_err err;

	(void)state;
	/* A wrapper records how pg_dump was called, then runs the real one. */
	snprintf(wrapper, sizeof(wrapper), "%s/pg_dump_wrapper", tmpdir);
	snprintf(argvfile, sizeof(argvfile), "%s/argv", tmpdir);
	snprintf(pwfile, sizeof(pwfile), "%s/pgpassword", tmpdir);
	snprintf(script, sizeof(script),
	    "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\n"
	    "printf '%%s' \"$PGPASSWORD\" > %s\nexec pg_dump \"$@\"\n",
	    argvfile, pwfile);
	write_script(wrapper, script);
	snprintf(text, sizeof(text), "%s/dumps", tmpdir);
	assert_int_equal(mkdir(text, 0700), 0);

	snprintf(ci, sizeof(ci),
	    "host=127.0.0.1 port=%s user=postgres dbname=%s password=Sekr1t'pw",
	    fixture_port, db_name);
	opts_for(&o, text, ci);
	o.pg_dump = wrapper;
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_OK);

	snprintf(prefix, sizeof(prefix),
	    "%s/dumps/af_app_accounts_v2_r-abc123_2", tmpdir);
	assert_true(strncmp(info.path, prefix, strlen(prefix)) == 0);
	assert_string_equal(info.path + strlen(info.path) - 6, "Z.dump");
	assert_int_equal(stat(info.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(info.size > 0);
	assert_int_equal(info.size, st.st_size);
	assert_true(info.duration_ms >= 0);
	assert_int_equal(count_entries(text), 1); /* no temporary left */
	snprintf(cmd, sizeof(cmd), "pg_restore --list '%s' >/dev/null", info.path);
	assert_int_equal(run(cmd), 0);

	/* The password reached pg_dump through its environment only. */
	read_file(argvfile, text, sizeof(text));
	assert_null(strstr(text, "Sekr1t"));
	assert_contains(text, "--format=custom");
	read_file(pwfile, buf, sizeof(buf));
	assert_string_equal(buf, "Sekr1t'pw");
	assert_null(strstr(info.restore_command, "Sekr1t"));
	assert_contains(info.restore_command,
	    "pg_restore --clean --if-exists --no-owner -d '");
	snprintf(text, sizeof(text), "'%s'", info.path);
	assert_string_equal(
	    info.restore_command + strlen(info.restore_command) - strlen(text), text);

	/* The restore command, run as printed, undoes later changes... */
	pgfixture_exec(conn, "DELETE FROM accounts WHERE id > 10; DROP TABLE secret");
	snprintf(cmd, sizeof(cmd), "%s 2>&1", info.restore_command);
	assert_int_equal(run(cmd), 0);
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM accounts",
				buf, sizeof(buf)),
	    "500");
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT k FROM secret", buf, sizeof(buf)), "s");

	/* ...and fills a fresh, empty database. */
	PQfinish(conn);
	pgfixture_recreate_db(fixture_port, db_name);
	conn = connect_to(db_name);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
				buf, sizeof(buf)),
	    "0");
	assert_int_equal(run(cmd), 0);
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM accounts",
				buf, sizeof(buf)),
	    "500");
	assert_string_equal(pgfixture_scalar(conn, "SELECT owner FROM accounts WHERE id = 42",
				buf, sizeof(buf)),
	    "owner 42");
}

static void
test_backup_names_do_not_collide(void **state)
{
	char ci[256];
	agent_backup_opts o;
	sk_backup_info a, b;
	sk_err err;

	(void)state;
	conninfo(ci, sizeof(ci), db_name, "postgres");
	opts_for(&o, tmpdir, ci);
	o.rollout_id = "r/../../x";
	assert_int_equal(agent_backup_take(&o, &a, &err), SK_OK);
	assert_int_equal(agent_backup_take(&o, &b, &err), SK_OK);
	assert_string_not_equal(a.path, b.path);
	/* An odd rollout id cannot move the file out of the directory. */
	assert_non_null(strstr(a.path, "_r-..-..-x_"));
	assert_int_equal(count_entries(tmpdir), 2);
}

typedef struct thread_arg {
	agent_backup_opts o;
	sk_backup_info info;
	int rc;
	sk_err err;
} thread_arg;

static void *
backup_thread(void *p)
{
	thread_arg *t = p;

	t->rc = agent_backup_take(&t->o, &t->info, &t->err);
	return NULL;
}

static void
test_concurrent_backups(void **state)
{
	char ci[256];
	thread_arg t[3];
	pthread_t th[3];
	const char *names[3] = { "one", "two", "three" };

	(void)state;
	conninfo(ci, sizeof(ci), db_name, "postgres");
	for (int i = 0; i < 3; i++) {
		opts_for(&t[i].o, tmpdir, ci);
		t[i].o.database = names[i];
		assert_int_equal(
		    pthread_create(&th[i], NULL, backup_thread, &t[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		if (t[i].rc != SK_OK)
			fail_msg("backup %d: %s", i, t[i].err.msg);
		assert_true(t[i].info.size > 0);
	}
	assert_int_equal(count_entries(tmpdir), 3);
}

static void
test_permission_denied_says_why(void **state)
{
	char ci[256], sql[512], role[64];
	agent_backup_opts o;
	sk_backup_info info;
	sk_err err;

	(void)state;
	/* Roles are cluster-wide: one name per test process. */
	snprintf(role, sizeof(role), "sk_backup_limited_%ld", (long)getpid());
	snprintf(sql, sizeof(sql),
	    "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN; "
	    "GRANT SELECT ON accounts TO %s",
	    role, role, role);
	pgfixture_exec(conn, sql);
	conninfo(ci, sizeof(ci), db_name, role);
	opts_for(&o, tmpdir, ci);
	memset(&info, 0x5a, sizeof(info));
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_int_equal(err.code, SK_EBACKUP);
	assert_contains(err.msg, "back up af/app: pg_dump exited with status 1: ");
	assert_contains(err.msg, "permission denied for table secret");
	assert_int_equal(count_entries(tmpdir), 0);
	assert_string_equal(info.path, "");
	assert_int_equal(info.size, 0);
	snprintf(sql, sizeof(sql),
	    "REVOKE ALL ON accounts FROM %s; DROP ROLE %s", role, role);
	pgfixture_exec(conn, sql);
}

static void
test_no_space_says_why_and_leaves_no_file(void **state)
{
	char ci[256], dir[128];
	agent_backup_opts o;
	sk_backup_info info;
	sk_err err;
	int n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/full", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700") != 0) {
		print_message("SKIP no-space case: mount tmpfs: %s\n", strerror(errno));
		skip();
	}
	/* About 2.5 MB of incompressible text: far more than 64k. */
	pgfixture_exec(conn,
	    "CREATE TABLE big AS SELECT g, md5(random()::text) || "
	    "md5(random()::text) || md5(random()::text) || md5(random()::text) "
	    "AS v FROM generate_series(1, 20000) g");
	conninfo(ci, sizeof(ci), db_name, "postgres");
	opts_for(&o, dir, ci);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	n = count_entries(dir);
	/* Unmounted before asserting, so that a failure leaves no mount. */
	umount2(dir, MNT_DETACH);
	assert_int_equal(n, 0);
	assert_contains(err.msg, "back up af/app: pg_dump exited with status 1: ");
	assert_contains(err.msg, "No space left on device");
}

static void
test_read_only_directory_says_why(void **state)
{
	char ci[256], dir[128];
	agent_backup_opts o;
	sk_backup_info info;
	sk_err err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (mount("tmpfs", dir, "tmpfs", MS_RDONLY, "size=64k") != 0) {
		print_message(
		    "SKIP read-only case: mount tmpfs: %s\n", strerror(errno));
		skip();
	}
	conninfo(ci, sizeof(ci), db_name, "postgres");
	opts_for(&o, dir, ci);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	umount2(dir, MNT_DETACH);
	assert_contains(err.msg, "create a file in backup directory");
	assert_contains(err.msg, "Read-only file system");
}

static void
test_bad_setups_are_refused(void **state)
{
	char ci[256], dir[128], fake[128];
	agent_backup_opts o;
	sk_backup_info info;
	sk_err err;

	(void)state;
	conninfo(ci, sizeof(ci), db_name, "postgres");

	snprintf(dir, sizeof(dir), "%s/absent", tmpdir);
	opts_for(&o, dir, ci);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg, "backup directory");
	assert_contains(err.msg, "No such file or directory");

	opts_for(&o, NULL, ci);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg, "no backup directory configured");
	assert_contains(err.hint, "backup_dir");

	opts_for(&o, tmpdir, ci);
	o.pg_dump = "/nonexistent/pg_dump";
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg, "run /nonexistent/pg_dump: No such file or directory");
	assert_int_equal(count_entries(tmpdir), 0);

	/* A dump that pg_restore cannot read back is not kept. */
	snprintf(fake, sizeof(fake), "%s/pg_restore_fails", tmpdir);
	write_script(fake,
	    "#!/bin/sh\necho 'pg_restore: error: input file is too "
	    "short' >&2\nexit 1\n");
	opts_for(&o, tmpdir, ci);
	o.pg_restore = fake;
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg, "back up af/app: verify the dump: ");
	assert_contains(err.msg,
	    "pg_restore_fails exited with status 1: "
	    "pg_restore: error: input file is too short");
	assert_int_equal(count_entries(tmpdir), 1); /* the script only */

	/* A tool killed by a signal. */
	snprintf(fake, sizeof(fake), "%s/pg_dump_killed", tmpdir);
	write_script(fake, "#!/bin/sh\necho 'about to die' >&2\nkill -9 $$\n");
	opts_for(&o, tmpdir, ci);
	o.pg_dump = fake;
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg, "was killed by signal 9: about to die");
	assert_int_equal(count_entries(tmpdir), 2);

	/* A tool that prints the password does not get it into the error. */
	snprintf(fake, sizeof(fake), "%s/pg_dump_leaky", tmpdir);
	write_script(fake,
	    "#!/bin/sh\necho \"pg_dump: error: bad password "
	    "$PGPASSWORD for $PGPASSWORD\" >&2\nexit 1\n");
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%s dbname=%s password=pw",
	    fixture_port, db_name);
	opts_for(&o, tmpdir, ci);
	o.pg_dump = fake;
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg,
	    "pg_dump_leaky exited with status 1: pg_dump: "
	    "error: bad password *** for ***");
	assert_int_equal(count_entries(tmpdir), 3);

	/* A connection string that does not parse is never quoted. */
	opts_for(&o, tmpdir, "host=x password=Sekr1t bogus");
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg,
	    "back up af/app: the backup connection string "
	    "does not parse");
	assert_null(strstr(err.msg, "Sekr1t"));
}

typedef struct stop_later {
	pthread_t thread;
	atomic_int *stop;
	int ms;
} stop_later;

static void *
stop_later_main(void *arg)
{
	stop_later *sl = arg;

	usleep((useconds_t)sl->ms * 1000);
	atomic_store(sl->stop, 1);
	return NULL;
}

/* A dump that takes very long while the agent is asked to stop: the tool
 * is ended, no file is left, and the call returns soon (the agent's
 * shutdown does not wait for the dump). One that ignores SIGTERM is
 * killed after the grace period. */
static void
test_stop_ends_a_slow_dump(void **state)
{
	char ci[256], fake[128];
	agent_backup_opts o;
	sk_backup_info info;
	sk_err err;
	atomic_int stop;
	stop_later sl;
	struct timespec t0, t1;
	double took;

	(void)state;
	conninfo(ci, sizeof(ci), db_name, "postgres");
	snprintf(fake, sizeof(fake), "%s/pg_dump_slow", tmpdir);
	/* Writes to the --file it was given, then takes forever. */
	write_script(fake,
	    "#!/bin/sh\nwhile [ $# -gt 0 ]; do "
	    "[ \"$1\" = --file ] && echo partial > \"$2\"; shift; done\n"
	    "exec sleep 600\n");
	opts_for(&o, tmpdir, ci);
	o.pg_dump = fake;
	atomic_init(&stop, 0);
	o.stop = &stop;
	sl.stop = &stop;
	sl.ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&sl.thread, NULL, stop_later_main, &sl), 0);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_ESTATE);
	pthread_join(sl.thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took < 3.0);
	assert_contains(err.msg, "back up af/app: stopped while");
	assert_contains(err.msg, "pg_dump_slow ran");
	assert_string_equal(info.path, "");
	assert_int_equal(count_entries(tmpdir), 1); /* the script only */

	/* Deaf to SIGTERM: SIGKILL after the grace period. */
	snprintf(fake, sizeof(fake), "%s/pg_dump_deaf", tmpdir);
	write_script(fake,
	    "#!/bin/sh\ntrap '' TERM\n"
	    "i=0; while [ $i -lt 600 ]; do sleep 1; i=$((i+1)); done\n");
	opts_for(&o, tmpdir, ci);
	o.pg_dump = fake;
	atomic_store(&stop, 0);
	o.stop = &stop;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&sl.thread, NULL, stop_later_main, &sl), 0);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_ESTATE);
	pthread_join(sl.thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took < 9.0);
	assert_int_equal(count_entries(tmpdir), 2); /* the scripts only */
}

/* The backup directory is a file; pg_dump is not in PATH. */
static void
test_dir_is_a_file_and_pg_dump_not_in_path(void **state)
{
	char ci[256], file[128], *old_path;
	agent_backup_opts o;
	sk_backup_info info;
	sk_err err;
	FILE *f;

	(void)state;
	conninfo(ci, sizeof(ci), db_name, "postgres");
	snprintf(file, sizeof(file), "%s/plain", tmpdir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	opts_for(&o, file, ci);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	assert_contains(err.msg, "is not a directory");
	assert_int_equal(count_entries(tmpdir), 1);

	old_path = getenv("PATH") != NULL ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", "/nonexistent", 1);
	opts_for(&o, tmpdir, ci);
	assert_int_equal(agent_backup_take(&o, &info, &err), SK_EBACKUP);
	if (old_path != NULL) {
		setenv("PATH", old_path, 1);
		free(old_path);
	}
	assert_contains(err.msg, "run pg_dump: No such file or directory");
	assert_contains(err.hint, "install PostgreSQL's client tools");
	assert_int_equal(count_entries(tmpdir), 1);
}

static void
test_shell_quote(void **state)
{
	char buf[64];

	(void)state;
	buf[0] = '\0';
	assert_true(agent_shell_quote(buf, sizeof(buf), "it's"));
	assert_string_equal(buf, "'it'\\''s'");
	buf[0] = '\0';
	assert_true(agent_shell_quote(buf, sizeof(buf), ""));
	assert_string_equal(buf, "''");
	snprintf(buf, sizeof(buf), "x ");
	assert_true(agent_shell_quote(buf, sizeof(buf), "$(rm -rf /)"));
	assert_string_equal(buf, "x '$(rm -rf /)'");
	assert_false(agent_shell_quote(buf, 12, "long enough to overflow"));
	assert_string_equal(buf, "x '$(rm -rf /)'");
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port));
}

#define DB_TEST(f) cmocka_unit_test_setup_teardown(f, setup_db, teardown_db)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DB_TEST(test_backup_verifies_and_restores),
		DB_TEST(test_backup_names_do_not_collide),
		DB_TEST(test_concurrent_backups),
		DB_TEST(test_permission_denied_says_why),
		DB_TEST(test_no_space_says_why_and_leaves_no_file),
		DB_TEST(test_read_only_directory_says_why),
		DB_TEST(test_bad_setups_are_refused),
		cmocka_unit_test(test_shell_quote),
		DB_TEST(test_stop_ends_a_slow_dump),
		DB_TEST(test_dir_is_a_file_and_pg_dump_not_in_path),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}
