/* sk_plan: the plan's protobuf codec, its validation, step checksums and
 * its human and JSON descriptions. Building a plan from a directory lives
 * in sk_plan_build.c. Decoding is the gate every agent passes a plan
 * through, so it checks everything the rest of skein assumes. */
#include "sk_plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "sk_util.h"
#include "skein.pb-c.h"

/* The domain of a step checksum; bump it only with a new ledger format. */
static const char checksum_domain[] = "skein-step-v1";

static void
free_strv(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
sk_plan_destroy(sk_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->nphases; i++) {
		free(plan->phases[i].name);
		free_strv(plan->phases[i].regions, plan->phases[i].nregions);
		free_strv(plan->phases[i].residency, plan->phases[i].nresidency);
	}
	free(plan->phases);
	for (size_t i = 0; i < plan->nsteps; i++) {
		sk_step *s = &plan->steps[i];

		free(s->id);
		free(s->sql);
		free(s->revert);
		free(s->verify);
		free(s->sql_path);
		free(s->revert_path);
		free(s->verify_path);
	}
	free(plan->steps);
	free_strv(plan->regions, plan->nregions);
	free(plan->id);
	free(plan->name);
	free(plan);
}

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
	/* Until the parser-normalized checksum lands this is the text one. */
	(void)err;
	sk_step_text_checksum(step, out);
	return SK_OK;
}

/* protobuf-c wants non-const char * and "" for absent proto3 strings. */
static char *
pb_str(const char *s)
{
	return (char *)(uintptr_t)(s != NULL ? s : protobuf_c_empty_string);
}

int
sk_plan_encode(const sk_plan *plan, uint8_t **out, size_t *out_len, sk_err *err)
{
	Skein__V1__Plan pb = SKEIN__V1__PLAN__INIT;
	Skein__V1__Phase *phases = NULL, **phase_ptrs = NULL;
	Skein__V1__Step *steps = NULL, **step_ptrs = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	phases = calloc(plan->nphases + 1, sizeof(*phases));
	phase_ptrs = calloc(plan->nphases + 1, sizeof(*phase_ptrs));
	steps = calloc(plan->nsteps + 1, sizeof(*steps));
	step_ptrs = calloc(plan->nsteps + 1, sizeof(*step_ptrs));
	if (phases == NULL || phase_ptrs == NULL || steps == NULL || step_ptrs == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "encode plan %s: out of memory",
		    plan->name ? plan->name : "");
		goto out;
	}
	/* The protobuf structs borrow the plan's strings; nothing is copied. */
	for (size_t i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];

		skein__v1__phase__init(&phases[i]);
		phases[i].name = pb_str(ph->name);
		phases[i].n_regions = ph->nregions;
		phases[i].regions = ph->regions;
		phases[i].n_residency = ph->nresidency;
		phases[i].residency = ph->residency;
		phase_ptrs[i] = &phases[i];
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];

		skein__v1__step__init(&steps[i]);
		steps[i].id = pb_str(s->id);
		steps[i].kind = (Skein__V1__StepKind)s->kind;
		steps[i].sql = pb_str(s->sql);
		steps[i].revert = pb_str(s->revert);
		steps[i].verify = pb_str(s->verify);
		steps[i].no_transaction = s->no_transaction;
		steps[i].checksum.data = (uint8_t *)(uintptr_t)s->checksum;
		steps[i].checksum.len = SK_CHECKSUM_LEN;
		steps[i].sql_path = pb_str(s->sql_path);
		steps[i].revert_path = pb_str(s->revert_path);
		steps[i].verify_path = pb_str(s->verify_path);
		step_ptrs[i] = &steps[i];
	}
	pb.format = SK_PLAN_FORMAT;
	pb.id = pb_str(plan->id);
	pb.name = pb_str(plan->name);
	pb.created_unix = plan->created_unix;
	pb.expires_unix = plan->expires_unix;
	pb.n_phases = plan->nphases;
	pb.phases = phase_ptrs;
	pb.n_steps = plan->nsteps;
	pb.steps = step_ptrs;
	pb.n_regions = plan->nregions;
	pb.regions = plan->regions;

	len = skein__v1__plan__get_packed_size(&pb);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "encode plan %s: out of memory",
		    plan->name ? plan->name : "");
		goto out;
	}
	skein__v1__plan__pack(&pb, buf);
	*out = buf;
	*out_len = len;
	rc = SK_OK;
out:
	free(phases);
	free(phase_ptrs);
	free(steps);
	free(step_ptrs);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted copy of the n pointers in v (not the strings); NULL on OOM. */
static char **
sorted_copy(char *const *v, size_t n)
{
	char **s = malloc((n + 1) * sizeof(*s));

	if (s == NULL)
		return NULL;
	if (n > 0) {
		memcpy(s, v, n * sizeof(*s));
		qsort(s, n, sizeof(*s), cmp_str);
	}
	return s;
}

/* First string that occurs twice in sorted v, or NULL. Sorting keeps a
 * hostile plan with many entries from costing quadratic time. */
static const char *
sorted_duplicate(char *const *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			return v[i];
	return NULL;
}

static bool
sorted_contains(char *const *v, size_t n, const char *s)
{
	return bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Check names with sk_name_valid and for duplicates. what names them in
 * the message ("step id", "region of phase canary"). */
static int
check_names(char *const *v, size_t n, const char *what, const char *plan, sk_err *err)
{
	char **sorted;
	const char *dup;

	for (size_t i = 0; i < n; i++)
		if (!sk_name_valid(v[i]))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: invalid %s \"%.64s\" (1-63 characters of "
			    "A-Z a-z 0-9 _ . -, not starting with . or -)",
			    plan, what, v[i]);
	sorted = sorted_copy(v, n);
	if (sorted == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", plan);
	dup = sorted_duplicate(sorted, n);
	if (dup != NULL) {
		int rc = sk_err_set(err, SK_EINVAL,
		    "decode plan %s: duplicate %s %s", plan, what, dup);

		free(sorted);
		return rc;
	}
	free(sorted);
	return SK_OK;
}

/* Everything sk_plan_decode promises about a plan, on the protobuf. */
static int
validate(const Skein__V1__Plan *pb, sk_err *err)
{
	char **regions = NULL, **used = NULL, **ids = NULL;
	size_t nused = 0;
	const char *name = pb->name;
	char what[128];
	int rc;

	if (pb->format != SK_PLAN_FORMAT)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan: unsupported format %" PRIu32 " (this skein reads "
		    "format %d)",
		    pb->format, SK_PLAN_FORMAT);
	if (!sk_name_valid(pb->name))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan: invalid name \"%.64s\"", pb->name);
	if (!sk_name_valid(pb->id))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: invalid id \"%.64s\"", name, pb->id);
	if (pb->created_unix <= 0 || pb->expires_unix <= pb->created_unix)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: expiry %" PRId64 " is not after creation %" PRId64,
		    name, pb->expires_unix, pb->created_unix);
	if (pb->n_steps == 0)
		return sk_err_set(err, SK_EINVAL, "decode plan %s: no steps", name);
	if (pb->n_phases == 0)
		return sk_err_set(err, SK_EINVAL, "decode plan %s: no phases", name);

	ids = malloc(pb->n_steps * sizeof(*ids));
	if (ids == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", name);
	for (size_t i = 0; i < pb->n_steps; i++) {
		const Skein__V1__Step *s = pb->steps[i];
		sk_step tmp = { 0 };
		uint8_t sum[SK_CHECKSUM_LEN];

		ids[i] = s->id;
		if (!sk_name_valid(s->id))
			continue; /* reported by check_names below */
		if (s->kind != SKEIN__V1__STEP_KIND__STEP_KIND_SQL) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s has unknown kind %d", name,
			    s->id, (int)s->kind);
			goto out;
		}
		if (s->sql == NULL || s->sql[0] == '\0') {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s has no SQL", name, s->id);
			goto out;
		}
		tmp.kind = (int)s->kind;
		tmp.sql = s->sql;
		tmp.no_transaction = s->no_transaction;
		if (sk_step_checksum(&tmp, sum, err) != SK_OK) {
			rc = sk_err_wrap(err, "decode plan %s: step %s", name, s->id);
			goto out;
		}
		if (s->checksum.len != SK_CHECKSUM_LEN ||
		    sodium_memcmp(sum, s->checksum.data, SK_CHECKSUM_LEN) != 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s checksum does not match its content",
			    name, s->id);
			goto out;
		}
	}
	rc = check_names(ids, pb->n_steps, "step id", name, err);
	if (rc != SK_OK)
		goto out;

	rc = check_names(pb->regions, pb->n_regions, "region", name, err);
	if (rc != SK_OK)
		goto out;
	regions = sorted_copy(pb->regions, pb->n_regions);
	free(ids);
	ids = malloc(pb->n_phases * sizeof(*ids));
	if (regions == NULL || ids == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < pb->n_phases; i++) {
		const Skein__V1__Phase *ph = pb->phases[i];

		ids[i] = ph->name;
		if (!sk_name_valid(ph->name))
			continue;
		if (ph->n_regions == 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s addresses no regions",
			    name, ph->name);
			goto out;
		}
		snprintf(what, sizeof(what), "region of phase %s", ph->name);
		rc = check_names(ph->regions, ph->n_regions, what, name, err);
		if (rc != SK_OK)
			goto out;
		snprintf(what, sizeof(what), "residency of phase %s", ph->name);
		rc = check_names(ph->residency, ph->n_residency, what, name, err);
		if (rc != SK_OK)
			goto out;
		for (size_t j = 0; j < ph->n_regions; j++)
			if (!sorted_contains(regions, pb->n_regions, ph->regions[j])) {
				rc = sk_err_set(err, SK_EINVAL,
				    "decode plan %s: phase %s region %s is not in the "
				    "plan's regions",
				    name, ph->name, ph->regions[j]);
				goto out;
			}
		nused += ph->n_regions;
	}
	rc = check_names(ids, pb->n_phases, "phase name", name, err);
	if (rc != SK_OK)
		goto out;

	/* regions is the union of the phases' regions: nothing extra. */
	used = malloc((nused + 1) * sizeof(*used));
	if (used == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", name);
		goto out;
	}
	nused = 0;
	for (size_t i = 0; i < pb->n_phases; i++)
		for (size_t j = 0; j < pb->phases[i]->n_regions; j++)
			used[nused++] = pb->phases[i]->regions[j];
	qsort(used, nused, sizeof(*used), cmp_str);
	for (size_t i = 0; i < pb->n_regions; i++)
		if (!sorted_contains(used, nused, pb->regions[i])) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: region %s is in no phase", name,
			    pb->regions[i]);
			goto out;
		}
	rc = SK_OK;
out:
	free(ids);
	free(regions);
	free(used);
	return rc;
}

/* Copy of s, or NULL for an empty string when empty_is_null. Sets *oom. */
static char *
dup_str(const char *s, bool empty_is_null, bool *oom)
{
	char *d;

	if (s == NULL || (empty_is_null && s[0] == '\0'))
		return NULL;
	d = sk_strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

static char **
dup_strv(char *const *v, size_t n, bool *oom)
{
	char **d = calloc(n + 1, sizeof(*d));

	if (d == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = dup_str(v[i], false, oom);
	return d;
}

int
sk_plan_decode(const uint8_t *buf, size_t len, sk_plan **out, sk_err *err)
{
	static const uint8_t empty[1];
	Skein__V1__Plan *pb;
	sk_plan *plan = NULL;
	bool oom = false;
	int rc;

	if (buf == NULL && len > 0)
		return sk_err_set(err, SK_EINVAL, "decode plan: no buffer");
	pb = skein__v1__plan__unpack(NULL, len, buf != NULL ? buf : empty);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode plan: not a valid plan (%zu bytes)", len);
	rc = validate(pb, err);
	if (rc != SK_OK)
		goto out;

	plan = calloc(1, sizeof(*plan));
	if (plan == NULL) {
		oom = true;
		goto out;
	}
	plan->id = dup_str(pb->id, false, &oom);
	plan->name = dup_str(pb->name, false, &oom);
	plan->created_unix = pb->created_unix;
	plan->expires_unix = pb->expires_unix;
	plan->regions = dup_strv(pb->regions, pb->n_regions, &oom);
	if (plan->regions != NULL)
		plan->nregions = pb->n_regions;
	plan->phases = calloc(pb->n_phases, sizeof(*plan->phases));
	if (plan->phases == NULL) {
		oom = true;
		goto out;
	}
	plan->nphases = pb->n_phases;
	for (size_t i = 0; i < pb->n_phases; i++) {
		const Skein__V1__Phase *ph = pb->phases[i];
		sk_phase *p = &plan->phases[i];

		p->name = dup_str(ph->name, false, &oom);
		p->regions = dup_strv(ph->regions, ph->n_regions, &oom);
		if (p->regions != NULL)
			p->nregions = ph->n_regions;
		p->residency = dup_strv(ph->residency, ph->n_residency, &oom);
		if (p->residency != NULL)
			p->nresidency = ph->n_residency;
	}
	plan->steps = calloc(pb->n_steps, sizeof(*plan->steps));
	if (plan->steps == NULL) {
		oom = true;
		goto out;
	}
	plan->nsteps = pb->n_steps;
	for (size_t i = 0; i < pb->n_steps; i++) {
		const Skein__V1__Step *ps = pb->steps[i];
		sk_step *s = &plan->steps[i];

		s->id = dup_str(ps->id, false, &oom);
		s->kind = (int)ps->kind;
		s->sql = dup_str(ps->sql, false, &oom);
		s->revert = dup_str(ps->revert, true, &oom);
		s->verify = dup_str(ps->verify, true, &oom);
		s->no_transaction = ps->no_transaction;
		memcpy(s->checksum, ps->checksum.data, SK_CHECKSUM_LEN);
		s->sql_path = dup_str(ps->sql_path, true, &oom);
		s->revert_path = dup_str(ps->revert_path, true, &oom);
		s->verify_path = dup_str(ps->verify_path, true, &oom);
	}
out:
	if (oom)
		rc = sk_err_set(err, SK_ENOMEM, "decode plan: out of memory");
	skein__v1__plan__free_unpacked(pb, NULL);
	if (rc != SK_OK) {
		sk_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return SK_OK;
}

bool
sk_plan_addresses(const sk_plan *plan, const char *region)
{
	if (plan == NULL || region == NULL)
		return false;
	for (size_t i = 0; i < plan->nregions; i++)
		if (strcmp(plan->regions[i], region) == 0)
			return true;
	return false;
}

/* UTC ISO-8601 of a unix time, "@<n>" if the C library cannot show it. */
static void
iso_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%" PRId64, t);
}

static void
print_list(FILE *out, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", v[i]);
	if (n == 0)
		fputs("(none)", out);
}

void
sk_plan_print(FILE *out, const sk_plan *plan, const char *signer_hex)
{
	char created[40], expires[40];
	int64_t left = plan->expires_unix - (int64_t)time(NULL);

	iso_utc(plan->created_unix, created, sizeof(created));
	iso_utc(plan->expires_unix, expires, sizeof(expires));
	fprintf(out, "plan     %s (%s)\n", plan->name, plan->id);
	fprintf(out, "created  %s\n", created);
	if (left <= 0)
		fprintf(out, "expires  %s (EXPIRED)\n", expires);
	else if (left < 60)
		fprintf(out, "expires  %s (expires in <1m)\n", expires);
	else
		fprintf(out, "expires  %s (expires in %" PRId64 "h%02" PRId64 "m)\n",
		    expires, left / 3600, left % 3600 / 60);
	if (signer_hex != NULL)
		fprintf(out, "signer   %s\n", signer_hex);
	fputs("regions  ", out);
	print_list(out, plan->regions, plan->nregions);
	fprintf(out, "\nphases   %zu\n", plan->nphases);
	for (size_t i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];

		fprintf(out, "  %zu. %s: ", i + 1, ph->name);
		print_list(out, ph->regions, ph->nregions);
		if (ph->nresidency > 0) {
			fputs(" (residency ", out);
			print_list(out, ph->residency, ph->nresidency);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	fprintf(out, "steps    %zu\n", plan->nsteps);
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		char hex[2 * SK_CHECKSUM_LEN + 1];

		sk_hex(s->checksum, SK_CHECKSUM_LEN, hex);
		fprintf(out, "  %zu. %s  %s  checksum %.16s\n", i + 1, s->id,
		    s->no_transaction ? "no transaction" : "in a transaction", hex);
		fprintf(out, "     sql %s, revert %s, verify %s\n",
		    s->sql_path ? s->sql_path : "(inline)",
		    s->revert ? (s->revert_path ? s->revert_path : "(inline)") : "none",
		    s->verify ? (s->verify_path ? s->verify_path : "(inline)") : "none");
	}
}

/* A JSON string of s; null for NULL. Text that is not UTF-8 (SQL may be
 * in any encoding) is shown with '?' for each non-ASCII byte rather than
 * failing the whole description. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j != NULL)
		return j;
	copy = sk_strdup(s);
	if (copy == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *
jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	int bad = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		bad |= json_array_append_new(a, jstr(v[i]));
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int
sk_plan_print_json(FILE *out, const sk_plan *plan, const char *signer_hex, sk_err *err)
{
	json_t *root = json_object(), *phases = json_array(), *steps = json_array();
	int bad = 0;

	if (root == NULL || phases == NULL || steps == NULL) {
		json_decref(root);
		json_decref(phases);
		json_decref(steps);
		return sk_err_set(err, SK_ENOMEM, "describe plan: out of memory");
	}
	/* Each *_set_new takes its value even on failure (and fails on a
	 * NULL value), so one flag collects every allocation failure. */
	bad |= json_object_set_new(root, "format", json_integer(SK_PLAN_FORMAT));
	bad |= json_object_set_new(root, "id", jstr(plan->id));
	bad |= json_object_set_new(root, "name", jstr(plan->name));
	bad |= json_object_set_new(root, "created", json_integer(plan->created_unix));
	bad |= json_object_set_new(root, "expires", json_integer(plan->expires_unix));
	for (size_t i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];
		json_t *o = json_object();

		if (o != NULL) {
			bad |= json_object_set_new(o, "name", jstr(ph->name));
			bad |= json_object_set_new(
			    o, "regions", jstrv(ph->regions, ph->nregions));
			bad |= json_object_set_new(o, "residency",
			    jstrv(ph->residency, ph->nresidency));
		}
		bad |= json_array_append_new(phases, o);
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		json_t *o = json_object();
		char hex[2 * SK_CHECKSUM_LEN + 1];

		sk_hex(s->checksum, SK_CHECKSUM_LEN, hex);
		if (o != NULL) {
			bad |= json_object_set_new(o, "id", jstr(s->id));
			bad |= json_object_set_new(o, "kind",
			    jstr(s->kind == SK_STEP_SQL ? "sql" : "unknown"));
			bad |= json_object_set_new(
			    o, "transaction", json_boolean(!s->no_transaction));
			bad |= json_object_set_new(o, "checksum", jstr(hex));
			bad |= json_object_set_new(o, "sql", jstr(s->sql));
			bad |= json_object_set_new(o, "revert", jstr(s->revert));
			bad |= json_object_set_new(o, "verify", jstr(s->verify));
			bad |= json_object_set_new(o, "sql_path", jstr(s->sql_path));
			bad |= json_object_set_new(
			    o, "revert_path", jstr(s->revert_path));
			bad |= json_object_set_new(
			    o, "verify_path", jstr(s->verify_path));
		}
		bad |= json_array_append_new(steps, o);
	}
	bad |= json_object_set_new(root, "phases", phases);
	bad |= json_object_set_new(root, "steps", steps);
	bad |= json_object_set_new(
	    root, "regions", jstrv(plan->regions, plan->nregions));
	if (signer_hex != NULL)
		bad |= json_object_set_new(root, "signer", jstr(signer_hex));
	if (bad) {
		json_decref(root);
		return sk_err_set(err, SK_ENOMEM, "describe plan: out of memory");
	}
	bad = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad != 0 || fputc('\n', out) == EOF)
		return sk_err_set(err, SK_EIO, "describe plan: cannot write output");
	return SK_OK;
}
