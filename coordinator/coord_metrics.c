/* coord_metrics: Prometheus' text format, written family by family from
 * the rollouts, the agents and the counters (see the header). Label
 * values are escaped as the format says (backslash, double quote, line
 * feed); names are fixed here. */
#include "coord_metrics.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "coord_state.h"

/* Up to three labels of one sample; NULL key ends them. */
typedef struct lbl {
	const char *k[3];
	const char *v[3];
} lbl;

static void
family(sk_strbuf *b, const char *name, const char *type, const char *help)
{
	sk_strbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
escaped(sk_strbuf *b, const char *s)
{
	const char *p = s;

	while (*p != '\0') {
		size_t n = strcspn(p, "\\\"\n");

		if (n > 0)
			sk_strbuf_addf(b, "%.*s", (int)n, p);
		p += n;
		if (*p == '\0')
			break;
		sk_strbuf_add(b,
		    *p == '\\'    ? "\\\\" :
			*p == '"' ? "\\\"" :
				    "\\n");
		p++;
	}
}

/* name{labels} with an extra label (le of a bucket) when ek is set. */
static void
series(sk_strbuf *b, const char *name, const lbl *l, const char *ek, const char *ev)
{
	bool any = false;

	sk_strbuf_add(b, name);
	for (size_t i = 0; l != NULL && i < 3 && l->k[i] != NULL; i++) {
		sk_strbuf_addf(b, "%s%s=\"", any ? "," : "{", l->k[i]);
		escaped(b, l->v[i]);
		sk_strbuf_add(b, "\"");
		any = true;
	}
	if (ek != NULL) {
		sk_strbuf_addf(b, "%s%s=\"", any ? "," : "{", ek);
		escaped(b, ev);
		sk_strbuf_add(b, "\"");
		any = true;
	}
	if (any)
		sk_strbuf_add(b, "}");
}

static void
sample_u(sk_strbuf *b, const char *name, const lbl *l, uint64_t v)
{
	series(b, name, l, NULL, NULL);
	sk_strbuf_addf(b, " %" PRIu64 "\n", v);
}

static void
sample_d(sk_strbuf *b, const char *name, const lbl *l, double v)
{
	series(b, name, l, NULL, NULL);
	sk_strbuf_addf(b, " %.15g\n", v);
}

/* The samples of histogram h as name_bucket, _sum and _count. */
static void
hist(sk_strbuf *b, const char *name, const lbl *l, const coord_hist *h)
{
	char bucket[96], le[32];
	uint64_t cum = 0;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (size_t i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		snprintf(le, sizeof(le), "%.9g", h->bounds[i]);
		series(b, bucket, l, "le", le);
		sk_strbuf_addf(b, " %" PRIu64 "\n", cum);
	}
	series(b, bucket, l, "le", "+Inf");
	sk_strbuf_addf(b, " %" PRIu64 "\n", h->count);
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	sample_d(b, bucket, l, h->sum);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	sample_u(b, bucket, l, h->count);
}

/* The index from which finished rollouts get per-rollout series: that
 * of the COORD_METRICS_FINISHED_MAX-th newest finished one (0: all). */
static size_t
finished_from(const coord_registry *reg)
{
	size_t seen = 0;

	for (size_t i = reg->n; i > 0; i--)
		if (reg->v[i - 1]->state != COORD_RO_RUNNING &&
		    ++seen == COORD_METRICS_FINISHED_MAX)
			return i - 1;
	return 0;
}

/* Whether rollout i gets per-rollout series: running, or among the
 * newest finished ones (from: finished_from). */
static bool
shown(const coord_registry *reg, size_t i, size_t from)
{
	return reg->v[i]->state == COORD_RO_RUNNING || i >= from;
}

enum phase_state { PH_PENDING, PH_RUNNING, PH_SUCCEEDED, PH_FAILED, PH_MAX };
static const char *const phase_names[PH_MAX] = { "pending", "running",
	"succeeded", "failed" };

/* A phase's state from its regions': failed if one failed or was
 * refused, succeeded if all succeeded, running if one was sent the plan,
 * else pending. */
static int
phase_state(const coord_rollout *ro, uint32_t p)
{
	size_t n = 0, ok = 0, started = 0;

	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (rr->phase != p)
			continue;
		n++;
		if (coord_region_done(rr->state) && !coord_region_ok(rr->state))
			return PH_FAILED;
		if (coord_region_ok(rr->state))
			ok++;
		if (rr->state != COORD_R_PENDING)
			started++;
	}
	if (n > 0 && ok == n)
		return PH_SUCCEEDED;
	return started > 0 ? PH_RUNNING : PH_PENDING;
}

static void
rollouts(sk_strbuf *b, const coord_registry *reg)
{
	uint64_t by_state[COORD_RO_MAX] = { 0 };
	size_t from = finished_from(reg);

	for (size_t i = 0; i < reg->n; i++)
		if (reg->v[i]->state >= 0 && reg->v[i]->state < COORD_RO_MAX)
			by_state[reg->v[i]->state]++;
	family(b, "skein_rollouts", "gauge", "Rollouts the coordinator holds, by state.");
	for (int s = 0; s < COORD_RO_MAX; s++) {
		lbl l = { { "state" }, { coord_rollout_state_name(s) } };

		sample_u(b, "skein_rollouts", &l, by_state[s]);
	}
	family(b, "skein_rollout_phase", "gauge",
	    "The phase a rollout is in, 1-based, of skein_rollout_phases.");
	for (size_t i = 0; i < reg->n; i++) {
		lbl l = { { "rollout" }, { reg->v[i]->id } };

		if (shown(reg, i, from))
			sample_u(b, "skein_rollout_phase", &l, reg->v[i]->phase + 1);
	}
	family(b, "skein_rollout_phases", "gauge", "The phases a rollout runs.");
	for (size_t i = 0; i < reg->n; i++) {
		lbl l = { { "rollout" }, { reg->v[i]->id } };

		if (shown(reg, i, from))
			sample_u(b, "skein_rollout_phases", &l, reg->v[i]->nphases);
	}
	family(b, "skein_phase_state", "gauge",
	    "1 for the state a rollout's phase is in, 0 for the others.");
	for (size_t i = 0; i < reg->n; i++) {
		const coord_rollout *ro = reg->v[i];

		for (uint32_t p = 0; shown(reg, i, from) && p < ro->nphases; p++) {
			int st = phase_state(ro, p);

			for (int s = 0; s < PH_MAX; s++) {
				lbl l = { { "rollout", "phase", "state" },
					{ ro->id, ro->phases[p]->name,
					    phase_names[s] } };

				sample_u(b, "skein_phase_state", &l, s == st);
			}
		}
	}
	family(b, "skein_region_state", "gauge",
	    "1 for the state a rollout's region is in, 0 for the others.");
	for (size_t i = 0; i < reg->n; i++) {
		const coord_rollout *ro = reg->v[i];

		for (size_t r = 0; shown(reg, i, from) && r < ro->nregions; r++)
			for (int s = 0; s < COORD_R_MAX; s++) {
				lbl l = { { "rollout", "region", "state" },
					{ ro->id, ro->regions[r].name,
					    coord_region_state_name(s) } };

				sample_u(b, "skein_region_state", &l,
				    s == ro->regions[r].state);
			}
	}
}

/* What a region's databases run now, summed. */
typedef struct running {
	int64_t backfill_rows;
	double backfill_rate;
	uint64_t throttled; /* databases whose backfill is paused now */
	int64_t move_bytes;
	int64_t move_lag_ms; /* the largest */
	bool any_backfill, any_move;
} running;

static void
sum_running(const coord_region_run *rr, running *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t d = 0; d < rr->progress.ndbs; d++) {
		const coord_backfill *bf = &rr->progress.dbs[d].backfill;

		if (bf->step[0] == '\0' || rr->progress.dbs[d].state != COORD_DB_RUNNING)
			continue;
		if (bf->move_phase[0] != '\0') {
			out->any_move = true;
			out->move_bytes += bf->bytes;
			if (bf->lag_ms > out->move_lag_ms)
				out->move_lag_ms = bf->lag_ms;
			continue;
		}
		out->any_backfill = true;
		out->backfill_rows += bf->rows;
		out->backfill_rate += bf->rate;
		out->throttled += bf->throttle[0] != '\0';
	}
}

/* How a field of a struct is rendered: its C type, and whether it is
 * milliseconds shown as seconds. */
enum field_kind { F_U64, F_I64, F_DOUBLE, F_MS };

/* One family whose samples are a field of a struct, at off. */
typedef struct field_family {
	const char *name, *help;
	size_t off;
	int kind;  /* enum field_kind */
	bool move; /* progress: of the moves a region runs (else backfills) */
} field_family;

/* The sample name{l} of the field ff describes, in base. Integers are
 * written exactly; milliseconds as seconds with three decimals. */
static void
field_sample(sk_strbuf *b, const field_family *ff, const lbl *l, const void *base)
{
	const char *p = (const char *)base + ff->off;
	uint64_t u;
	int64_t i;
	double d;

	series(b, ff->name, l, NULL, NULL);
	switch (ff->kind) {
	case F_U64:
		memcpy(&u, p, sizeof(u));
		sk_strbuf_addf(b, " %" PRIu64 "\n", u);
		break;
	case F_I64:
		memcpy(&i, p, sizeof(i));
		sk_strbuf_addf(b, " %" PRId64 "\n", i);
		break;
	case F_DOUBLE:
		memcpy(&d, p, sizeof(d));
		sk_strbuf_addf(b, " %.15g\n", d);
		break;
	default: /* F_MS */
		memcpy(&i, p, sizeof(i));
		if (i < 0)
			i = 0;
		sk_strbuf_addf(b, " %" PRId64 ".%03" PRId64 "\n", i / 1000, i % 1000);
		break;
	}
}

static const field_family progress_fams[] = {
	{ "skein_backfill_rows", "Rows changed so far by the backfills a region runs now.",
	    offsetof(running, backfill_rows), F_I64, false },
	{ "skein_backfill_rate_rows_per_second",
	    "Rows per second of the backfills a region runs now, summed.",
	    offsetof(running, backfill_rate), F_DOUBLE, false },
	{ "skein_backfill_throttled", "Databases of a region whose backfill is throttled now.",
	    offsetof(running, throttled), F_U64, false },
	{ "skein_move_bytes", "Bytes copied so far by the tenant moves a region runs now.",
	    offsetof(running, move_bytes), F_I64, true },
	{ "skein_move_lag_seconds",
	    "The largest replication lag of the tenant moves a region runs now.",
	    offsetof(running, move_lag_ms), F_MS, true },
};

static void
progress(sk_strbuf *b, const coord_registry *reg)
{
	for (size_t f = 0; f < sizeof(progress_fams) / sizeof(progress_fams[0]); f++) {
		const field_family *ff = &progress_fams[f];

		family(b, ff->name, "gauge", ff->help);
		for (size_t i = 0; i < reg->n; i++) {
			const coord_rollout *ro = reg->v[i];

			if (ro->state != COORD_RO_RUNNING)
				continue;
			for (size_t r = 0; r < ro->nregions; r++) {
				lbl l = { { "rollout", "region" },
					{ ro->id, ro->regions[r].name } };
				running s;

				sum_running(&ro->regions[r], &s);
				if (ff->move ? s.any_move : s.any_backfill)
					field_sample(b, ff, &l, &s);
			}
		}
	}
}

static const field_family region_fams[] = {
	{ "skein_steps_applied_total", "Steps a region's agent reported finished.",
	    offsetof(coord_region_counters, steps_applied), F_U64, false },
	{ "skein_steps_failed_total", "Steps a region's agent reported failed.",
	    offsetof(coord_region_counters, steps_failed), F_U64, false },
	{ "skein_lock_waits_total", "Lock timeouts of a region's ended steps.",
	    offsetof(coord_region_counters, lock_waits), F_U64, false },
	{ "skein_lock_wait_seconds_total", "Time a region's ended steps spent in lock waits.",
	    offsetof(coord_region_counters, lock_wait_ms), F_MS, false },
	{ "skein_backfill_rows_total", "Rows changed by a region's finished backfill steps.",
	    offsetof(coord_region_counters, backfill_rows), F_U64, false },
	{ "skein_backfill_throttled_seconds_total",
	    "Time a region's finished backfill steps were throttled.",
	    offsetof(coord_region_counters, throttled_ms), F_MS, false },
	{ "skein_move_bytes_total", "Bytes copied by a region's finished tenant moves.",
	    offsetof(coord_region_counters, move_bytes), F_U64, false },
};

static void
regions(sk_strbuf *b, const coord_agents *as, const coord_counters *c)
{
	size_t n = c->nregions < as->n ? c->nregions : as->n;

	for (size_t f = 0; f < sizeof(region_fams) / sizeof(region_fams[0]); f++) {
		family(b, region_fams[f].name, "counter", region_fams[f].help);
		for (size_t i = 0; i < n; i++) {
			lbl l = { { "region" }, { as->v[i].region } };

			field_sample(b, &region_fams[f], &l, &c->regions[i]);
		}
	}
	family(b, "skein_step_duration_seconds", "histogram",
	    "How long a region's finished steps took.");
	for (size_t i = 0; i < n; i++) {
		lbl l = { { "region" }, { as->v[i].region } };

		hist(b, "skein_step_duration_seconds", &l, &c->regions[i].step_seconds);
	}
}

static void
agents(sk_strbuf *b, const coord_agents *as, int64_t now_ms)
{
	family(b, "skein_agent_connected", "gauge",
	    "1 when a region's agent has polled within its window, else 0.");
	for (size_t i = 0; i < as->n; i++) {
		lbl l = { { "region" }, { as->v[i].region } };

		sample_u(b, "skein_agent_connected", &l,
		    coord_agent_is_connected(&as->v[i], now_ms));
	}
	family(b, "skein_agent_last_seen_timestamp_seconds", "gauge",
	    "When a region's agent last polled, Unix time; 0: not since the "
	    "coordinator started.");
	for (size_t i = 0; i < as->n; i++) {
		lbl l = { { "region" }, { as->v[i].region } };

		sample_d(b, "skein_agent_last_seen_timestamp_seconds", &l,
		    (double)as->v[i].last_seen_ms / 1000.0);
	}
}

int
coord_metrics_render(const coord_metrics_src *src, sk_strbuf *out, sk_err *err)
{
	const coord_counters *c = src->counters;
	coord_hist empty;

	rollouts(out, src->rollouts);
	regions(out, src->agents, c);
	progress(out, src->rollouts);
	agents(out, src->agents, src->now_ms);
	family(out, "skein_journal_fsync_seconds", "histogram",
	    "How long each fsync of the coordinator's journal took.");
	coord_hist_init_fsync(&empty);
	hist(out, "skein_journal_fsync_seconds", NULL,
	    src->journal != NULL ? coord_journal_fsync_hist(src->journal) : &empty);
	family(out, "skein_refused_messages_total", "counter",
	    "Messages refused on the agents' or the control socket, by reason.");
	for (int s = 0; s < COORD_SOCK_MAX; s++)
		for (int r = 1; r < COORD_REFUSED_MAX; r++) {
			lbl l = { { "socket", "reason" },
				{ coord_socket_name(s), coord_refusal_name(r) } };

			sample_u(out, "skein_refused_messages_total", &l,
			    c->refused[s][r]);
		}
	if (out->oom)
		return sk_err_set(err, SK_ENOMEM, "render metrics: out of memory");
	return SK_OK;
}
