/* util_test: durations, whole-file I/O, paths, identifiers and names. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_util.h"

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-util-test-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_duration_parses_each_unit_and_combinations(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} cases[] = {
		{ "72h", INT64_C(72) * 3600 * 1000 },
		{ "1h30m", INT64_C(5400000) },
		{ "45s", 45000 },
		{ "500ms", 500 },
		{ "7d", INT64_C(7) * 86400 * 1000 },
		{ "1.5s", 1500 },
		{ "2.5h", INT64_C(9000000) },
		{ "1d2h3m4s5ms", INT64_C(93784005) },
		{ "1m500ms", 60500 },
	};
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -1;

		assert_int_equal(sk_duration_parse(cases[i].text, &ms, &err), SK_OK);
		assert_int_equal(ms, cases[i].ms);
	}
}

static void
test_duration_rejects_malformed_zero_and_huge(void **state)
{
	static const char *const bad[] = {
		"",
		"h",
		"10",
		"10x",
		"-5s",
		"+5s",
		"5 s",
		" 5s",
		"5s ",
		"0s",
		"0ms",
		"0h0m",
		"1.s",
		".s",
		"1y",
		"40000d",
		"99999999999999999999h",
		"9223372036854775807ms",
		"36525d",
		"1h-1m",
		"ms",
		"5m5",
	};
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 12345;

		assert_int_equal(sk_duration_parse(bad[i], &ms, &err), SK_EINVAL);
		assert_int_equal(err.code, SK_EINVAL);
		assert_int_equal(ms, 12345); /* untouched on failure */
		assert_non_null(strstr(err.msg, "parse duration"));
	}
	/* The largest accepted value is just under 100 years. */
	{
		int64_t ms = 0;

		assert_int_equal(sk_duration_parse("36524d", &ms, &err), SK_OK);
		assert_int_equal(ms, INT64_C(36524) * 86400 * 1000);
	}
}

static void
test_duration_rejects_null(void **state)
{
	int64_t ms = 7;
	sk_err err;

	(void)state;
	assert_int_equal(sk_duration_parse(NULL, &ms, &err), SK_EINVAL);
	assert_int_equal(ms, 7);
}

static void
test_duration_format_is_short_and_parses_back(void **state)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
		{ 0, "0ms" },
		{ 120, "120ms" },
		{ 2500, "2.5s" },
		{ 45000, "45s" },
		{ 5400000, "1h30m" },
		{ INT64_C(90061000), "1d1h1m1s" },
		{ INT64_C(259200000), "3d" },
		{ -1500, "-1.5s" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t back = 0;
		sk_err err;

		sk_duration_format(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
		if (cases[i].ms > 0) {
			assert_int_equal(sk_duration_parse(buf, &back, &err), SK_OK);
			assert_int_equal(back, cases[i].ms);
		}
	}
	/* A short buffer truncates rather than overflowing. */
	sk_duration_format(5400000, buf, 3);
	assert_string_equal(buf, "1h");
}

static void
test_atomic_write_creates_with_mode_and_replaces(void **state)
{
	char *path = sk_path_join(tmpdir, "plan.bin");
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	sk_err err;

	(void)state;
	assert_int_equal(sk_file_write_atomic(path, "first", 5, 0600, &err), SK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(sk_file_write_atomic(path, "second!", 7, 0644, &err), SK_OK);
	assert_int_equal(sk_file_read(path, 1024, &data, &len, &err), SK_OK);
	assert_int_equal(len, 7);
	assert_string_equal(data, "second!");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* Only the target remains: no temporary file left behind. */
	assert_int_equal(count_entries(tmpdir), 1);
	free(data);
	free(path);
}

static void
test_atomic_write_failure_leaves_target_and_no_temp(void **state)
{
	char *dirpath = sk_path_join(tmpdir, "occupied");
	char *inner = sk_path_join(dirpath, "keep");
	char *missing = sk_path_join(tmpdir, "no/such/dir/file");
	sk_err err;
	struct stat st;

	(void)state;
	/* The target is a non-empty directory: rename must fail, and the
	 * directory and its content stay as they were. */
	assert_int_equal(sk_mkdir_p(dirpath, 0755, &err), SK_OK);
	assert_int_equal(sk_file_write_atomic(inner, "x", 1, 0644, &err), SK_OK);
	assert_int_equal(sk_file_write_atomic(dirpath, "new", 3, 0644, &err), SK_EIO);
	assert_non_null(strstr(err.msg, dirpath));
	assert_int_equal(stat(inner, &st), 0);
	assert_int_equal(count_entries(tmpdir), 1);
	assert_int_equal(sk_file_write_atomic(missing, "x", 1, 0644, &err), SK_EIO);
	assert_int_equal(err.cause, ENOENT);
	free(dirpath);
	free(inner);
	free(missing);
}

static void
test_file_read_enforces_limit_and_names_path(void **state)
{
	char *path = sk_path_join(tmpdir, "big");
	char *missing = sk_path_join(tmpdir, "missing");
	char *data = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	assert_int_equal(
	    sk_file_write_atomic(path, "0123456789", 10, 0644, &err), SK_OK);
	assert_int_equal(sk_file_read(path, 9, &data, &len, &err), SK_EINVAL);
	assert_null(data);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(sk_file_read(path, 10, &data, NULL, &err), SK_OK);
	assert_string_equal(data, "0123456789");
	free(data);
	data = NULL;
	assert_int_equal(sk_file_read(missing, 10, &data, &len, &err), SK_EIO);
	assert_null(data);
	assert_non_null(strstr(err.msg, missing));
	assert_int_equal(sk_file_read(tmpdir, 10, &data, &len, &err), SK_EIO);
	assert_null(data);
	free(path);
	free(missing);
}

/* Write data to dir/name. */
static void
put(const char *dir, const char *name, const char *data)
{
	char *path = sk_path_join(dir, name);
	sk_err err;

	assert_int_equal(
	    sk_file_write_atomic(path, data, strlen(data), 0644, &err), SK_OK);
	free(path);
}

/* sk_file_read_in_dir on rel must fail with code, name rel and want, and
 * never quote what the file outside the directory holds. */
static void
in_dir_fails(const char *dir, const char *rel, int code, const char *want)
{
	char *data = NULL;
	sk_err err;

	sk_err_clear(&err);
	assert_int_equal(
	    sk_file_read_in_dir(dir, rel, "SQL file", 1024, &data, NULL, &err), code);
	assert_null(data);
	if (strstr(err.msg, rel) == NULL || strstr(err.msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\" or \"%s\"", err.msg, rel, want);
	assert_null(strstr(err.msg, "root:x"));
	assert_null(strstr(err.detail, "root:x"));
}

static void
test_file_read_in_dir_reads_only_regular_files_inside(void **state)
{
	char *plan = sk_path_join(tmpdir, "plan");
	char *sub = sk_path_join(tmpdir, "plan/sub");
	char *outside = sk_path_join(tmpdir, "outside");
	char *secret = sk_path_join(tmpdir, "outside/secret.sql");
	char *link_out = sk_path_join(tmpdir, "plan/evil.sql");
	char *link_in = sk_path_join(tmpdir, "plan/alias.sql");
	char *link_dir = sk_path_join(tmpdir, "plan/up");
	char *fifo = sk_path_join(tmpdir, "plan/fifo.sql");
	char *big = sk_path_join(tmpdir, "plan/big.sql");
	char *data = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	assert_int_equal(sk_mkdir_p(sub, 0755, &err), SK_OK);
	assert_int_equal(sk_mkdir_p(outside, 0755, &err), SK_OK);
	put(plan, "a.sql", "SELECT 1;\n");
	put(sub, "b.sql", "SELECT 2;\n");
	put(outside, "secret.sql", "SELECT 'root:x:0:0';\n");
	assert_int_equal(symlink(secret, link_out), 0);
	assert_int_equal(symlink("sub/b.sql", link_in), 0);
	assert_int_equal(symlink("../outside", link_dir), 0);
	assert_int_equal(mkfifo(fifo, 0644), 0);

	/* Inside, directly, in a subdirectory, or through a link that stays. */
	assert_int_equal(
	    sk_file_read_in_dir(plan, "a.sql", "SQL file", 1024, &data, &len, &err),
	    SK_OK);
	assert_string_equal(data, "SELECT 1;\n");
	assert_int_equal(len, 10);
	free(data);
	data = NULL;
	assert_int_equal(sk_file_read_in_dir(plan, "./sub/../sub/b.sql",
			     "SQL file", 1024, &data, NULL, &err),
	    SK_OK);
	assert_string_equal(data, "SELECT 2;\n");
	free(data);
	data = NULL;
	assert_int_equal(sk_file_read_in_dir(plan, "alias.sql", "SQL file",
			     1024, &data, NULL, &err),
	    SK_OK);
	assert_string_equal(data, "SELECT 2;\n");
	free(data);
	data = NULL;

	/* Out: absolute, "..", a link to a file or a directory outside. */
	in_dir_fails(plan, secret, SK_EINVAL, "not a path relative to the directory");
	in_dir_fails(plan, "../outside/secret.sql", SK_EINVAL, "climbs out");
	in_dir_fails(plan, "sub/../../outside/secret.sql", SK_EINVAL, "climbs out");
	in_dir_fails(plan, "evil.sql", SK_EINVAL, "outside the directory");
	in_dir_fails(plan, "up/secret.sql", SK_EINVAL, "outside the directory");
	/* Not regular files: refused without blocking on the FIFO. */
	in_dir_fails(plan, "fifo.sql", SK_EINVAL, "is a FIFO, not a regular file");
	in_dir_fails(plan, "sub", SK_EINVAL, "is a directory, not a regular file");
	in_dir_fails(plan, ".", SK_EINVAL, "is a directory, not a regular file");
	in_dir_fails(plan, "missing.sql", SK_EIO, "No such file or directory");

	/* Over the limit by its size, before a byte is read: a sparse 1 GiB
	 * file costs nothing to refuse. */
	put(plan, "big.sql", "");
	assert_int_equal(truncate(big, (off_t)1 << 30), 0);
	in_dir_fails(plan, "big.sql", SK_EINVAL,
	    "1073741824 bytes is more than the 1024 byte limit");
	/* A directory that is not there names the file asked for. */
	in_dir_fails(outside, "../nowhere/x.sql", SK_EINVAL, "climbs out");
	in_dir_fails(sub, "b.sql/x", SK_EIO, "Not a directory");

	free(plan);
	free(sub);
	free(outside);
	free(secret);
	free(link_out);
	free(link_in);
	free(link_dir);
	free(fifo);
	free(big);
}

static void
test_mkdir_p_creates_parents_and_refuses_a_file(void **state)
{
	char *deep = sk_path_join(tmpdir, "a/b/c/");
	char *file = sk_path_join(tmpdir, "f");
	char *under = sk_path_join(tmpdir, "f/g");
	struct stat st;
	sk_err err;

	(void)state;
	assert_int_equal(sk_mkdir_p(deep, 0700, &err), SK_OK);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(sk_mkdir_p(deep, 0700, &err), SK_OK); /* idempotent */
	assert_int_equal(sk_file_write_atomic(file, "x", 1, 0644, &err), SK_OK);
	assert_int_equal(sk_mkdir_p(file, 0700, &err), SK_EIO);
	assert_int_equal(sk_mkdir_p(under, 0700, &err), SK_EIO);
	free(deep);
	free(file);
	free(under);
}

static void
test_paths_join_and_resolve(void **state)
{
	static const struct {
		const char *a, *b, *want;
		int relative;
	} cases[] = {
		{ "dir", "name", "dir/name", 0 },
		{ "dir/", "name", "dir/name", 0 },
		{ "dir//", "/name", "dir/name", 0 },
		{ "/", "etc", "/etc", 0 },
		{ "", "name", "name", 0 },
		{ "/etc/skein/agent.yaml", "keys/a.key", "/etc/skein/keys/a.key", 1 },
		{ "/etc/skein/agent.yaml", "/abs/a.key", "/abs/a.key", 1 },
		{ "agent.yaml", "a.key", "a.key", 1 },
		{ "conf/agent.yaml", "a.key", "conf/a.key", 1 },
		{ "/agent.yaml", "a.key", "/a.key", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = cases[i].relative ?
		    sk_path_relative_to(cases[i].a, cases[i].b) :
		    sk_path_join(cases[i].a, cases[i].b);

		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void
test_hex_and_random_id_shapes(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x0f, 0xa5, 0xff };
	char hex[9], a[32], b[32], small[6];

	(void)state;
	sk_hex(bytes, sizeof(bytes), hex);
	assert_string_equal(hex, "000fa5ff");
	sk_random_id("r-", a, sizeof(a));
	sk_random_id("r-", b, sizeof(b));
	assert_int_equal(strlen(a), 14);
	assert_memory_equal(a, "r-", 2);
	for (const char *p = a + 2; *p; p++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", *p));
	assert_string_not_equal(a, b);
	assert_true(sk_name_valid(a));
	sk_random_id("r-", small, sizeof(small));
	assert_int_equal(strlen(small), 5);
}

static void
test_name_valid_accepts_safe_names_only(void **state)
{
	char long_ok[64], too_long[65];

	(void)state;
	memset(long_ok, 'a', 63);
	long_ok[63] = '\0';
	memset(too_long, 'a', 64);
	too_long[64] = '\0';
	assert_true(sk_name_valid("af"));
	assert_true(sk_name_valid("0003_add-region.v2"));
	assert_true(sk_name_valid("_x"));
	assert_true(sk_name_valid(long_ok));
	assert_false(sk_name_valid(too_long));
	assert_false(sk_name_valid(NULL));
	assert_false(sk_name_valid(""));
	assert_false(sk_name_valid(".hidden"));
	assert_false(sk_name_valid("-flag"));
	assert_false(sk_name_valid("a/b"));
	assert_false(sk_name_valid("a b"));
	assert_false(sk_name_valid("../etc"));
	assert_false(sk_name_valid("caf\xc3\xa9"));
}

static void
test_clocks_advance_and_sleep_waits(void **state)
{
	int64_t m0 = sk_mono_ms(), w0 = sk_now_ms(), u0 = sk_now_us();

	(void)state;
	sk_sleep_ms(20);
	assert_true(sk_mono_ms() - m0 >= 20);
	assert_true(sk_now_ms() >= w0);
	assert_true(sk_now_us() >= u0);
	assert_true(w0 > INT64_C(1600000000000)); /* after 2020 */
	sk_sleep_ms(0);
	sk_sleep_ms(-5);
	assert_null(sk_strdup(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parses_each_unit_and_combinations),
		cmocka_unit_test(test_duration_rejects_malformed_zero_and_huge),
		cmocka_unit_test(test_duration_rejects_null),
		cmocka_unit_test(test_duration_format_is_short_and_parses_back),
		cmocka_unit_test_setup_teardown(test_atomic_write_creates_with_mode_and_replaces,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_atomic_write_failure_leaves_target_and_no_temp,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_file_read_enforces_limit_and_names_path,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_file_read_in_dir_reads_only_regular_files_inside,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mkdir_p_creates_parents_and_refuses_a_file,
		    setup_dir, teardown_dir),
		cmocka_unit_test(test_paths_join_and_resolve),
		cmocka_unit_test(test_hex_and_random_id_shapes),
		cmocka_unit_test(test_name_valid_accepts_safe_names_only),
		cmocka_unit_test(test_clocks_advance_and_sleep_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
