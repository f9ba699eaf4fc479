/* sk_plan_build_gates: a phase's gates from plan.yaml — soak, checks
 * (the pre/post check syntax), health thresholds, sampling, approval and
 * window — with each bad value refused at its line and column. The codec
 * checks the same rules again on decode (common/plan/sk_plan_gates.c). */
#include "sk_plan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_util.h"
#include "sk_yaml.h"

#define DEFAULT_SAMPLE_EVERY_MS 5000
#define DEFAULT_MIN_SAMPLES 3
#define MAX_MIN_SAMPLES 100000
#define MAX_APPROVALS 100

static const char *const sample_keys[] = { "every", "min", NULL };
static const char *const approval_keys[] = { "count", "from", "not_by_starter", NULL };
static const char *const window_keys[] = { "days", "from", "until", "tz", NULL };

/* A scalar as a finite number >= 0 into *out. */
static int
yaml_number(const sk_yaml_node *node, const char *what, double *out, sk_err *err)
{
	char *end;
	double v;

	if (node->kind != SK_YAML_SCALAR || sk_yaml_is_null(node) ||
	    node->quoted || node->text[0] == '\0')
		return sk_yaml_error(err, SK_EINVAL, node,
		    "expected %s as a number, got %s", what, sk_yaml_describe(node));
	errno = 0;
	v = strtod(node->text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "expected %s as a finite number >= 0, got \"%.32s\"", what,
		    node->text);
	*out = v;
	return SK_OK;
}

/* health: {signal: max, ...}; replication_lag also takes a duration. */
static int
build_health(const sk_yaml_node *item, sk_phase *ph, sk_err *err)
{
	const sk_yaml_node *map = sk_yaml_get(item, "health");
	int rc;

	if (map == NULL || sk_yaml_is_null(map))
		return SK_OK;
	rc = sk_yaml_expect(map, SK_YAML_MAPPING,
	    "a mapping of health signals to thresholds", err);
	if (rc != SK_OK)
		return rc;
	if (map->npairs == 0)
		return sk_yaml_error(err, SK_EINVAL, map,
		    "expected at least one health signal, got an empty mapping");
	ph->health = calloc(map->npairs, sizeof(*ph->health));
	if (ph->health == NULL)
		return build_oom(err, map->file);
	for (size_t i = 0; i < map->npairs; i++) {
		const sk_yaml_node *key = map->pairs[i].key;
		const sk_yaml_node *v = map->pairs[i].value;
		sk_health_gate *h = &ph->health[i];
		int64_t ms;

		if (!sk_health_signal_known(key->text))
			return sk_yaml_error(err, SK_EINVAL, key,
			    "unknown health signal \"%.32s\" (expected "
			    "replication_lag, rollbacks_per_s, deadlocks, "
			    "lock_waits or http)",
			    key->text);
		h->signal = sk_strdup(key->text);
		if (h->signal == NULL)
			return build_oom(err, map->file);
		ph->nhealth = i + 1;
		/* Keys of a YAML mapping are unique (the loader refuses
		 * duplicates), so each signal comes once. */
		if (strcmp(h->signal, "replication_lag") == 0 &&
		    v->kind == SK_YAML_SCALAR && !sk_yaml_is_null(v) &&
		    strspn(v->text, "0123456789.") != strlen(v->text)) {
			rc = build_yaml_duration(map, key->text, true, 0, &ms, err);
			if (rc != SK_OK)
				return rc;
			h->max = (double)ms / 1000.0;
			continue;
		}
		rc = yaml_number(v, key->text, &h->max, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

static int
build_sample(const sk_yaml_node *item, sk_phase *ph, sk_err *err)
{
	const sk_yaml_node *map = sk_yaml_get(item, "sample");
	int64_t min;
	int rc;

	if (map == NULL || sk_yaml_is_null(map)) {
		if (sk_phase_samples(ph)) {
			ph->sample_interval_ms = DEFAULT_SAMPLE_EVERY_MS;
			ph->min_samples = DEFAULT_MIN_SAMPLES;
		}
		return SK_OK;
	}
	if (!sk_phase_samples(ph))
		return sk_yaml_error(err, SK_EINVAL, map,
		    "phase %s has sample: but no checks or health to sample",
		    ph->name);
	rc = sk_yaml_expect(map, SK_YAML_MAPPING, "a mapping with every and min", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(map, sample_keys, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(map, "every", false,
		    DEFAULT_SAMPLE_EVERY_MS, &ph->sample_interval_ms, err);
	if (rc == SK_OK)
		rc = sk_yaml_int(map, "min", DEFAULT_MIN_SAMPLES, 1,
		    MAX_MIN_SAMPLES, &min, err);
	if (rc != SK_OK)
		return rc;
	ph->min_samples = (uint32_t)min;
	return SK_OK;
}

static int
build_approval(const sk_yaml_node *item, sk_phase *ph, sk_err *err)
{
	const sk_yaml_node *map = sk_yaml_get(item, "approval");
	int64_t count;
	int rc;

	if (map == NULL || sk_yaml_is_null(map))
		return SK_OK;
	rc = sk_yaml_expect(map, SK_YAML_MAPPING,
	    "a mapping with count, from and not_by_starter", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(map, approval_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_int(map, "count", 1, 1, MAX_APPROVALS, &count, err);
	if (rc == SK_OK)
		rc = sk_yaml_string_list(map, "from", SK_YAML_NONEMPTY,
		    "operator names", &ph->approvers, &ph->napprovers, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(
		    map, "not_by_starter", false, &ph->not_by_starter, err);
	if (rc != SK_OK)
		return rc;
	ph->approval_count = (uint32_t)count;
	for (size_t i = 0; i < ph->napprovers; i++) {
		if (!sk_name_valid(ph->approvers[i]))
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "from"),
			    "\"%.64s\" is not an operator name (1-63 characters of "
			    "A-Z a-z 0-9 _ . -)",
			    ph->approvers[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ph->approvers[i], ph->approvers[j]) == 0)
				return sk_yaml_error(err, SK_EINVAL,
				    sk_yaml_get(map, "from"),
				    "operator %s is named twice", ph->approvers[i]);
	}
	if (ph->napprovers > 0 && count > (int64_t)ph->napprovers)
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "count"),
		    "count %lld is more than the %zu operators in from: the "
		    "phase could never start",
		    (long long)count, ph->napprovers);
	return SK_OK;
}

static int
build_window(const sk_yaml_node *item, sk_phase *ph, sk_err *err)
{
	const sk_yaml_node *map = sk_yaml_get(item, "window");
	sk_window *w = &ph->window;
	int a, b;
	int rc;

	if (map == NULL || sk_yaml_is_null(map))
		return SK_OK;
	rc = sk_yaml_expect(map, SK_YAML_MAPPING,
	    "a mapping with days, from, until and tz", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(map, window_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_string_list(map, "days", SK_YAML_NONEMPTY,
		    "weekdays (mon..sun)", &w->days, &w->ndays, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(map, "from", SK_YAML_NONEMPTY, &w->from, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(map, "until", SK_YAML_NONEMPTY, &w->until, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(map, "tz", SK_YAML_NONEMPTY, &w->tz, err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < w->ndays; i++) {
		if (sk_weekday_parse(w->days[i]) < 0)
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "days"),
			    "\"%.16s\" is not a weekday (mon, tue, wed, thu, fri, "
			    "sat, sun)",
			    w->days[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(w->days[i], w->days[j]) == 0)
				return sk_yaml_error(err, SK_EINVAL,
				    sk_yaml_get(map, "days"),
				    "day %s is listed twice", w->days[i]);
	}
	if ((w->from == NULL) != (w->until == NULL))
		return sk_yaml_error(err, SK_EINVAL, map,
		    "window needs both from and until (or neither, for whole days)");
	if (w->from != NULL && !sk_clock_parse(w->from, &a))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "from"),
		    "\"%.16s\" is not a time of day (HH:MM or HH:MM:SS; quote it)",
		    w->from);
	if (w->until != NULL && !sk_clock_parse(w->until, &b))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "until"),
		    "\"%.16s\" is not a time of day (HH:MM or HH:MM:SS; quote it)",
		    w->until);
	if (w->from != NULL && a == b)
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "until"),
		    "window opens and closes at %s: it is never open", w->from);
	if (w->from == NULL && w->ndays == 0)
		return sk_yaml_error(err, SK_EINVAL, map,
		    "window needs days, from and until, or both");
	if (w->tz != NULL && !sk_tz_valid(w->tz))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, "tz"),
		    "unknown time zone \"%.64s\" (a name under /usr/share/zoneinfo, "
		    "such as Europe/Berlin or UTC)",
		    w->tz);
	return SK_OK;
}

int
build_gates(const sk_yaml_node *item, sk_phase *ph, sk_err *err)
{
	int rc;

	rc = build_yaml_duration(item, "soak", true, 0, &ph->soak_ms, err);
	if (rc == SK_OK)
		rc = build_checks(item->file, item, "checks", &ph->gate_checks,
		    &ph->ngate_checks, err);
	if (rc == SK_OK)
		rc = build_health(item, ph, err);
	if (rc == SK_OK)
		rc = build_sample(item, ph, err);
	if (rc == SK_OK)
		rc = build_approval(item, ph, err);
	if (rc == SK_OK)
		rc = build_window(item, ph, err);
	if (rc != SK_OK)
		return rc;
	if (sk_phase_samples(ph) && ph->soak_ms == 0)
		return sk_yaml_error(err, SK_EINVAL, item,
		    "phase %s has checks or health but no soak: they are sampled "
		    "during the soak (add soak: DURATION)",
		    ph->name);
	return SK_OK;
}
