/* sk_plan_gates: a phase's gates in the plan codec — soak, sampled checks
 * and health signals (exit gates), approval and window (entry gates):
 * their protobuf form, what a decoded plan's gates must satisfy, and the
 * small parsers (clock times, weekdays, zone names) both plan build and
 * the coordinator use. */
#include "sk_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sk_plan_int.h"
#include "sk_util.h"
#include "skein.pb-c.h"

static const char *const signals[] = { "replication_lag", "rollbacks_per_s",
	"deadlocks", "lock_waits", "http", NULL };

static const char *const weekdays[] = { "mon", "tue", "wed", "thu", "fri",
	"sat", "sun", NULL };

bool
sk_health_signal_known(const char *name)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; signals[i] != NULL; i++)
		if (strcmp(name, signals[i]) == 0)
			return true;
	return false;
}

bool
sk_phase_samples(const sk_phase *ph)
{
	return ph != NULL && (ph->ngate_checks > 0 || ph->nhealth > 0);
}

bool
sk_window_set(const sk_window *w)
{
	return w != NULL && (w->ndays > 0 || w->from != NULL);
}

bool
sk_phase_has_gates(const sk_phase *ph)
{
	return ph != NULL &&
	    (ph->soak_ms > 0 || sk_phase_samples(ph) ||
		ph->approval_count > 0 || sk_window_set(&ph->window));
}

/* Two digits in [0, max] at s. */
static bool
two_digits(const char *s, int max, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return *out <= max;
}

bool
sk_clock_parse(const char *s, int *secs)
{
	int h, m, sec = 0;
	size_t len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len != 5 && len != 8)
		return false;
	if (!two_digits(s, 23, &h) || s[2] != ':' || !two_digits(s + 3, 59, &m))
		return false;
	if (len == 8 && (s[5] != ':' || !two_digits(s + 6, 59, &sec)))
		return false;
	*secs = h * 3600 + m * 60 + sec;
	return true;
}

int
sk_weekday_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; weekdays[i] != NULL; i++)
		if (strcmp(s, weekdays[i]) == 0)
			return i;
	return -1;
}

bool
sk_tz_valid(const char *tz)
{
	char path[320];
	struct stat st;
	size_t len;

	if (tz == NULL || tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL)
		return false;
	len = strlen(tz);
	if (len > 200 ||
	    strspn(tz,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789_+-/") != len)
		return false;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* protobuf-c wants non-const char * and "" for absent proto3 strings. */
static char *
pb_str(const char *s)
{
	return (char *)(uintptr_t)(s != NULL ? s : protobuf_c_empty_string);
}

int
plan_gates_to_pb(const sk_phase *ph, pb_gates *g, Skein__V1__Phase *pp)
{
	pp->soak_ms = ph->soak_ms;
	pp->sample_interval_ms = ph->sample_interval_ms;
	pp->min_samples = ph->min_samples;
	if (ph->nhealth > 0) {
		g->health = calloc(ph->nhealth, sizeof(*g->health));
		g->health_ptrs = calloc(ph->nhealth, sizeof(*g->health_ptrs));
		if (g->health == NULL || g->health_ptrs == NULL)
			return SK_ENOMEM;
		for (size_t i = 0; i < ph->nhealth; i++) {
			skein__v1__health_gate__init(&g->health[i]);
			g->health[i].signal = pb_str(ph->health[i].signal);
			g->health[i].max = ph->health[i].max;
			g->health_ptrs[i] = &g->health[i];
		}
		pp->n_health = ph->nhealth;
		pp->health = g->health_ptrs;
	}
	if (ph->approval_count > 0) {
		skein__v1__approval__init(&g->approval);
		g->approval.count = ph->approval_count;
		g->approval.n_from = ph->napprovers;
		g->approval.from = ph->approvers;
		g->approval.not_by_starter = ph->not_by_starter;
		pp->approval = &g->approval;
	}
	if (sk_window_set(&ph->window)) {
		skein__v1__window__init(&g->window);
		g->window.n_days = ph->window.ndays;
		g->window.days = ph->window.days;
		g->window.from = pb_str(ph->window.from);
		g->window.until = pb_str(ph->window.until);
		g->window.tz = pb_str(ph->window.tz);
		pp->window = &g->window;
	}
	return SK_OK;
}

void
plan_gates_pb_fini(pb_gates *g)
{
	if (g == NULL)
		return;
	free(g->health);
	free(g->health_ptrs);
	g->health = NULL;
	g->health_ptrs = NULL;
}

static char *
gate_str(const char *s, bool *oom)
{
	char *d;

	if (s == NULL || s[0] == '\0')
		return NULL;
	d = sk_strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

static char **
gate_strv(char *const *v, size_t n, size_t *out_n, bool *oom)
{
	char **d;

	*out_n = 0;
	if (n == 0)
		return NULL;
	d = calloc(n + 1, sizeof(*d));
	if (d == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		d[i] = sk_strdup(v[i]);
		if (d[i] == NULL)
			*oom = true;
	}
	*out_n = n;
	return d;
}

void
plan_gates_from_pb(const Skein__V1__Phase *pp, sk_phase *ph, bool *oom)
{
	ph->soak_ms = pp->soak_ms;
	ph->sample_interval_ms = pp->sample_interval_ms;
	ph->min_samples = pp->min_samples;
	if (pp->n_health > 0) {
		ph->health = calloc(pp->n_health, sizeof(*ph->health));
		if (ph->health == NULL) {
			*oom = true;
		} else {
			ph->nhealth = pp->n_health;
			for (size_t i = 0; i < pp->n_health; i++) {
				ph->health[i].signal =
				    gate_str(pp->health[i]->signal, oom);
				ph->health[i].max = pp->health[i]->max;
			}
		}
	}
	if (pp->approval != NULL) {
		ph->approval_count = pp->approval->count;
		ph->approvers = gate_strv(pp->approval->from,
		    pp->approval->n_from, &ph->napprovers, oom);
		ph->not_by_starter = pp->approval->not_by_starter;
	}
	if (pp->window != NULL) {
		ph->window.days = gate_strv(pp->window->days,
		    pp->window->n_days, &ph->window.ndays, oom);
		ph->window.from = gate_str(pp->window->from, oom);
		ph->window.until = gate_str(pp->window->until, oom);
		ph->window.tz = gate_str(pp->window->tz, oom);
	}
}

void
plan_gates_free(sk_phase *ph)
{
	if (ph->health != NULL)
		for (size_t i = 0; i < ph->nhealth; i++)
			free(ph->health[i].signal);
	free(ph->health);
	sk_strv_free(ph->approvers, ph->napprovers);
	sk_strv_free(ph->window.days, ph->window.ndays);
	free(ph->window.from);
	free(ph->window.until);
	free(ph->window.tz);
}

static bool
pb_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static int
validate_window(const Skein__V1__Window *w, const char *plan, const char *phase,
    sk_err *err)
{
	int a, b;

	for (size_t i = 0; i < w->n_days; i++) {
		if (sk_weekday_parse(w->days[i]) < 0)
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s window day \"%.16s\" is not "
			    "one of mon, tue, wed, thu, fri, sat, sun",
			    plan, phase, w->days[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(w->days[i], w->days[j]) == 0)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: phase %s window lists day %s "
				    "twice",
				    plan, phase, w->days[i]);
	}
	if (pb_empty(w->from) != pb_empty(w->until))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s window has %s without %s", plan,
		    phase, pb_empty(w->from) ? "until" : "from",
		    pb_empty(w->from) ? "from" : "until");
	if (!pb_empty(w->from)) {
		if (!sk_clock_parse(w->from, &a) || !sk_clock_parse(w->until, &b))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s window %s \"%.16s\" is not "
			    "HH:MM or HH:MM:SS",
			    plan, phase, sk_clock_parse(w->from, &a) ? "until" : "from",
			    sk_clock_parse(w->from, &a) ? w->until : w->from);
		if (a == b)
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s window opens and closes at "
			    "%s: it is never open",
			    plan, phase, w->from);
	} else if (w->n_days == 0) {
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s window has neither days nor hours",
		    plan, phase);
	}
	if (!pb_empty(w->tz) && !sk_tz_valid(w->tz))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s window time zone \"%.64s\" is not "
		    "a zone under /usr/share/zoneinfo",
		    plan, phase, w->tz);
	return SK_OK;
}

static int
validate_approval(const Skein__V1__Approval *a, const char *plan,
    const char *phase, sk_err *err)
{
	if (a->count == 0)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s approval needs a count of at least 1",
		    plan, phase);
	for (size_t i = 0; i < a->n_from; i++) {
		if (!sk_name_valid(a->from[i]))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s approval names invalid "
			    "operator \"%.64s\"",
			    plan, phase, a->from[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->from[i], a->from[j]) == 0)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: phase %s approval names "
				    "operator %s twice",
				    plan, phase, a->from[i]);
	}
	if (a->n_from > 0 && a->count > a->n_from)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s approval needs %u approvals from "
		    "%zu operators",
		    plan, phase, a->count, a->n_from);
	return SK_OK;
}

int
plan_validate_gates(const Skein__V1__Phase *pp, const char *plan, sk_err *err)
{
	const char *phase = pp->name;
	bool samples = pp->n_gate_checks > 0 || pp->n_health > 0;
	int rc;

	if (pp->soak_ms < 0 || pp->sample_interval_ms < 0)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s has a negative %s", plan, phase,
		    pp->soak_ms < 0 ? "soak" : "sample interval");
	if (samples && (pp->sample_interval_ms <= 0 || pp->min_samples < 1))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: phase %s samples checks or health but has "
		    "%s",
		    plan, phase,
		    pp->sample_interval_ms <= 0 ? "no sample interval" : "min_samples 0");
	for (size_t i = 0; i < pp->n_health; i++) {
		const Skein__V1__HealthGate *h = pp->health[i];

		if (!sk_health_signal_known(h->signal))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s health signal \"%.32s\" is "
			    "unknown (expected replication_lag, rollbacks_per_s, "
			    "deadlocks, lock_waits or http)",
			    plan, phase, h->signal);
		if (!isfinite(h->max) || h->max < 0)
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s health %s has threshold %g "
			    "(expected a finite number >= 0)",
			    plan, phase, h->signal, h->max);
		for (size_t j = 0; j < i; j++)
			if (strcmp(h->signal, pp->health[j]->signal) == 0)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: phase %s health lists %s twice",
				    plan, phase, h->signal);
	}
	if (pp->approval != NULL) {
		rc = validate_approval(pp->approval, plan, phase, err);
		if (rc != SK_OK)
			return rc;
	}
	if (pp->window != NULL)
		return validate_window(pp->window, plan, phase, err);
	return SK_OK;
}
