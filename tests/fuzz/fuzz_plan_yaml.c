/* fuzz_plan_yaml: `skein plan build` on a plan.yaml an author wrote. Plan
 * build reads a directory, so the input is written as plan.yaml into a
 * scratch plan directory each run and sk_plan_build runs on it against an
 * inventory of the regions af, in and ksa (residency as the name).
 *
 * The SQL files a plan.yaml names must be there for build to go past its
 * first step: the plan directory holds links to every entry of
 * $SKEIN_FUZZ_PLAN_FILES (tests/fuzz/run points it at the SQL files of
 * examples/ and tests/data/plans, gathered by the corpus build) and, in
 * any case, s1.sql and s2.sql. A crash that needs those files reproduces
 * with the same variable.
 *
 * A plan that builds must also decode once encoded: what the author's
 * tools accept, agents must not refuse.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "sk_plan.h"
#include "sk_plan_build.h"
#include "sk_util.h"

#define HARNESS "plan_yaml"
/* A fixed creation time, so that a run does not depend on the clock. */
#define FUZZ_NOW 1767225600 /* 2026-01-01 */

static char *plan_dir, *plan_yaml;
static sk_inventory inv;

static void
release(void)
{
	sk_inventory_fini(&inv);
	free(plan_dir);
	free(plan_yaml);
}

static void
write_in_plan_dir(const char *name, const char *text)
{
	char *p = sk_path_join(plan_dir, name);

	if (p == NULL)
		fuzz_fail(HARNESS, "out of memory");
	fuzz_write_file(p, text, strlen(text));
	free(p);
}

/* Link each entry of dir into the plan directory. */
static void
link_plan_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		fuzz_fail(HARNESS, "cannot read SKEIN_FUZZ_PLAN_FILES %s", dir);
	while ((de = readdir(d)) != NULL) {
		char *from, *to;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "plan.yaml") == 0)
			continue;
		from = sk_path_join(dir, de->d_name);
		to = sk_path_join(plan_dir, de->d_name);
		if (from == NULL || to == NULL)
			fuzz_fail(HARNESS, "out of memory");
		(void)symlink(from, to); /* an existing name keeps its file */
		free(from);
		free(to);
	}
	closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = { "af", "in", "ksa" };
	const char *files = getenv("SKEIN_FUZZ_PLAN_FILES");
	char *regions;
	sk_err err;

	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	fuzz_make_inventory(names, 3);
	regions = fuzz_path("regions");
	if (sk_inventory_load(regions, &inv, &err) != SK_OK)
		fuzz_fail(HARNESS, "%s", err.msg);
	free(regions);
	plan_dir = fuzz_path("plan");
	plan_yaml = fuzz_path("plan/plan.yaml");
	fuzz_mkdir(plan_dir);
	atexit(release);
	write_in_plan_dir("s1.sql", "CREATE TABLE t (id bigint PRIMARY KEY);\n");
	write_in_plan_dir("s2.sql", "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n");
	if (files != NULL && files[0] != '\0')
		link_plan_files(files);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sk_plan *plan = NULL, *decoded = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	fuzz_write_file(plan_yaml, data, size);
	if (sk_plan_build(plan_dir, &inv, FUZZ_NOW, &plan, &err) != SK_OK)
		return 0;
	if (sk_plan_encode(plan, &buf, &len, &err) != SK_OK)
		fuzz_fail(HARNESS, "encode a built plan: %s", err.msg);
	if (sk_plan_decode(buf, len, &decoded, &err) != SK_OK)
		fuzz_fail(HARNESS, "decode a built plan: %s", err.msg);
	free(buf);
	sk_plan_destroy(plan);
	sk_plan_destroy(decoded);
	return 0;
}
