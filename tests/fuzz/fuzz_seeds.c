/* fuzz_seeds: writes the seed corpus of the message harnesses from real
 * signed plans, with skein's own encoders, so that every seed is a message
 * the programs really exchange:
 *
 *   fuzz_seeds --key KEY OUT SIGNED...
 *
 * KEY is a key pair's path without .key (the release key the plans were
 * signed with); OUT gets one directory per harness (agent_msg, control,
 * cli_request, cli_response, region_view, region_report, journal and
 * envelope, for the sealed agent and control messages). The plans go into
 * RUN_PLAN commands, START requests, REPORT responses and journal
 * "created" records. Run by tests/fuzz/make-corpus; never installed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_journal.h"
#include "sk_envelope.h"
#include "sk_err.h"
#include "sk_util.h"
#include "sk_wire.h"

#define MAX_PLANS 32

typedef struct seeds {
	const char *out;
	sk_seckey *key;
	uint8_t *plans[MAX_PLANS];
	size_t plan_lens[MAX_PLANS];
	size_t nplans;
} seeds;

static _Noreturn void
die(const char *what, const sk_err *err)
{
	fprintf(stderr, "fuzz_seeds: %s%s%s\n", what, err ? ": " : "",
	    err ? err->msg : "");
	exit(1);
}

/* Write OUT/dir/name. */
static void
put(const seeds *s, const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	sk_err err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->out, dir);
	if (sk_mkdir_p(path, 0755, &err) != SK_OK)
		die("create a seed directory", &err);
	snprintf(path, sizeof(path), "%s/%s/%s", s->out, dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path, NULL);
}

/* Seal buf as kind and write it as an envelope seed too. */
static void
put_sealed(const seeds *s, int kind, const char *name, const uint8_t *buf, size_t len)
{
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	sk_err err;

	if (sk_envelope_seal(&sealed, &sealed_len, kind, buf, len, s->key, &err) != SK_OK)
		die("seal a seed", &err);
	put(s, "envelope", name, sealed, sealed_len);
	free(sealed);
}

/* ---- reports ------------------------------------------------------------ */

/* A report of event ev with the fields that event carries. */
static void
make_report(sk_report *r, int ev, uint64_t seq)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->event = ev;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "r-seedrollout01");
	snprintf(r->plan_id, sizeof(r->plan_id), "p-seedplan0001");
	snprintf(r->database, sizeof(r->database), "accounts");
	snprintf(r->step_id, sizeof(r->step_id), "0002_add_client_status");
	r->at_ms = 1767225600000 + (int64_t)seq;
	r->duration_ms = 1500;
	r->attempt = 1;
	snprintf(r->detail, sizeof(r->detail), "%s", sk_event_name(ev));
	switch (ev) {
	case SK_EV_PROGRESS:
		r->rows = 120000;
		r->batch = 7;
		r->rate = 2500.5;
		r->eta_ms = 48000;
		break;
	case SK_EV_CHECK:
		r->has_check = true;
		snprintf(r->check.name, sizeof(r->check.name), "rows_without_status");
		snprintf(r->check.when, sizeof(r->check.when), "post");
		r->check.passed = false;
		snprintf(r->check.seen, sizeof(r->check.seen), "3");
		snprintf(r->check.expected, sizeof(r->check.expected), "= 0");
		break;
	case SK_EV_LOCK_WAIT:
	case SK_EV_STEP_FAILED:
		r->nblockers = 2;
		for (size_t i = 0; i < r->nblockers; i++) {
			sk_blocker *b = &r->blockers[i];

			b->pid = 4242 + (int32_t)i;
			snprintf(b->state, sizeof(b->state), "idle in transaction");
			b->age_ms = 61000;
			snprintf(b->query, sizeof(b->query),
			    "SELECT * FROM clients FOR UPDATE");
			snprintf(b->user, sizeof(b->user), "app");
			snprintf(b->application, sizeof(b->application), "psql");
		}
		r->lock_waits = 3;
		r->lock_wait_ms = 6000;
		if (ev == SK_EV_STEP_FAILED) {
			sk_err_set(&r->error, SK_ELOCK,
			    "apply step 0002 in af: lock timeout after 5 attempts");
			snprintf(r->error.sqlstate, sizeof(r->error.sqlstate), "55P03");
			snprintf(r->error.detail, sizeof(r->error.detail),
			    "blocked by pid 4242");
			snprintf(r->error.hint, sizeof(r->error.hint),
			    "end the blocking transaction");
		}
		break;
	case SK_EV_BACKUP:
		r->has_backup = true;
		snprintf(r->backup.path, sizeof(r->backup.path),
		    "/var/backups/skein/accounts.dump");
		r->backup.size = 1 << 20;
		r->backup.duration_ms = 900;
		snprintf(r->backup.restore_command, sizeof(r->backup.restore_command),
		    "pg_restore -d accounts /var/backups/skein/accounts.dump");
		break;
	case SK_EV_PLAN_REFUSED:
	case SK_EV_DB_FAILED:
	case SK_EV_PLAN_FAILED:
		sk_err_set(&r->error, SK_EDRIFT,
		    "apply plan in af: step 0001 recorded with other content");
		break;
	default:
		break;
	}
}

static void
agent_messages(const seeds *s)
{
	static const char databases[2][SK_NAME_MAX] = { "accounts", "ledger" };
	static const char running[1][SK_NAME_MAX] = { "r-seedrollout01" };
	sk_report reports[SK_EV_MAX];
	sk_agent_msg m;
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	sk_err err;

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "af");
	memset(m.nonce, 0xa5, sizeof(m.nonce));
	m.boot_id = 0x1122334455667788ULL;
	snprintf(m.version, sizeof(m.version), "0.1.0");
	m.databases = (char(*)[SK_NAME_MAX])databases;
	m.ndatabases = 2;
	m.running = (char(*)[SK_NAME_MAX])running;
	m.nrunning = 1;

	/* The long poll: nothing to report. */
	m.wait = true;
	m.hold_ms = 1000;
	if (sk_agent_msg_encode(&m, &buf, &len, &err) != SK_OK)
		die("encode an agent message", &err);
	put(s, "agent_msg", "poll", buf, len);
	put_sealed(s, SK_KIND_AGENT, "agent-poll", buf, len);
	free(buf);

	/* One report of every event. */
	for (int ev = 1; ev < SK_EV_MAX; ev++)
		make_report(&reports[n++], ev, (uint64_t)ev);
	m.wait = false;
	m.hold_ms = 0;
	m.reports = reports;
	m.nreports = n;
	if (sk_agent_msg_encode(&m, &buf, &len, &err) != SK_OK)
		die("encode an agent message", &err);
	put(s, "agent_msg", "reports", buf, len);
	put_sealed(s, SK_KIND_AGENT, "agent-reports", buf, len);
	free(buf);

	/* moves: a source agent serving two moves. */
	{
		static const char serving[2][SK_MOVE_KEY_MAX] = {
			"r-seedrollout01/0002_move_h1", "r-seedrollout02/0005_move_h9"
		};
		sk_agent_msg sm = m;

		sm.reports = NULL;
		sm.nreports = 0;
		sm.serving_moves = (char(*)[SK_MOVE_KEY_MAX])serving;
		sm.nserving_moves = 2;
		if (sk_agent_msg_encode(&sm, &buf, &len, &err) != SK_OK)
			die("encode an agent message", &err);
		put(s, "agent_msg", "serving-moves", buf, len);
		free(buf);
	}

	/* Each report alone, as region reports (the journal's records). */
	for (size_t i = 0; i < n; i++) {
		sk_region_report rr;
		char name[64];

		memset(&rr, 0, sizeof(rr));
		snprintf(rr.region, sizeof(rr.region), "af");
		rr.report = reports[i];
		if (sk_region_report_encode(&rr, &buf, &len, &err) != SK_OK)
			die("encode a region report", &err);
		snprintf(name, sizeof(name), "%s", sk_event_name(reports[i].event));
		put(s, "region_report", name, buf, len);
		free(buf);
	}
}

/* ---- control messages ------------------------------------------------- */

static void
controls(const seeds *s)
{
	sk_command cmds[3];
	sk_control c;
	uint8_t *buf = NULL;
	size_t len = 0;
	char name[64];
	sk_err err;

	memset(&c, 0, sizeof(c));
	c.seq = 17;
	snprintf(c.region, sizeof(c.region), "af");
	memset(c.nonce, 0xa5, sizeof(c.nonce));
	c.boot_id = 0x1122334455667788ULL;
	c.acked_report_seq = 12;
	if (sk_control_encode(&c, &buf, &len, &err) != SK_OK)
		die("encode a control message", &err);
	put(s, "control", "ack", buf, len);
	put_sealed(s, SK_KIND_CONTROL, "control-ack", buf, len);
	free(buf);

	/* RUN_PLAN in each mode for each plan. */
	for (size_t p = 0; p < s->nplans; p++) {
		for (int mode = 0; mode < SK_MODE_MAX; mode++) {
			memset(&cmds[mode], 0, sizeof(cmds[mode]));
			cmds[mode].kind = SK_CMD_RUN_PLAN;
			snprintf(cmds[mode].rollout_id,
			    sizeof(cmds[mode].rollout_id), "r-seed%02zu%d", p, mode);
			cmds[mode].signed_plan = s->plans[p];
			cmds[mode].signed_plan_len = s->plan_lens[p];
			cmds[mode].mode = mode;
		}
		c.commands = cmds;
		c.ncommands = SK_MODE_MAX;
		if (sk_control_encode(&c, &buf, &len, &err) != SK_OK)
			die("encode a control message", &err);
		snprintf(name, sizeof(name), "run-plan-%02zu", p);
		put(s, "control", name, buf, len);
		snprintf(name, sizeof(name), "control-run-plan-%02zu", p);
		put_sealed(s, SK_KIND_CONTROL, name, buf, len);
		free(buf);
	}

	/* moves: a RUN_PLAN with a SOURCE peer, a MOVE_SERVE with a TARGET
	 * peer. */
	{
		sk_move_peer peers[2];

		memset(peers, 0, sizeof(peers));
		snprintf(peers[0].step_id, sizeof(peers[0].step_id), "0002_move_h1");
		peers[0].role = SK_MOVE_ROLE_SOURCE;
		snprintf(peers[0].region, sizeof(peers[0].region), "ksa");
		snprintf(peers[0].address, sizeof(peers[0].address),
		    "tcp://127.0.0.1:7413");
		memset(peers[0].agent_key, 0x5a, sizeof(peers[0].agent_key));
		peers[1] = peers[0];
		peers[1].role = SK_MOVE_ROLE_TARGET;
		snprintf(peers[1].region, sizeof(peers[1].region), "af");
		peers[1].address[0] = '\0';
		memset(cmds, 0, sizeof(cmds));
		cmds[0].kind = SK_CMD_RUN_PLAN;
		cmds[1].kind = SK_CMD_MOVE_SERVE;
		for (size_t i = 0; i < 2; i++) {
			snprintf(cmds[i].rollout_id, sizeof(cmds[i].rollout_id),
			    "r-seedmove");
			cmds[i].signed_plan = s->nplans > 0 ? s->plans[0] : NULL;
			cmds[i].signed_plan_len = s->nplans > 0 ? s->plan_lens[0] : 0;
			cmds[i].move_peers = &peers[i];
			cmds[i].nmove_peers = 1;
		}
		c.commands = cmds;
		c.ncommands = 2;
		if (sk_control_encode(&c, &buf, &len, &err) != SK_OK)
			die("encode a control message", &err);
		put(s, "control", "move-peers", buf, len);
		put_sealed(s, SK_KIND_CONTROL, "control-move-peers", buf, len);
		free(buf);
	}
}

/* ---- CLI requests and responses --------------------------------------- */

/* The CLI request req as an operator sends it: an OperatorRequest, on
 * its own and sealed in an operator envelope (the operator harness's
 * seeds). */
static void
operator_seed(const seeds *s, const char *name, const uint8_t *req, size_t len)
{
	sk_operator_request orq;
	uint8_t *body = NULL, *sealed = NULL;
	size_t blen = 0, slen = 0;
	char seal_name[80];
	sk_err err;

	memset(&orq, 0, sizeof(orq));
	orq.request = (uint8_t *)(uintptr_t)req;
	orq.request_len = len;
	orq.at_ms = 1767225600000;
	memset(orq.nonce, 0x5a, sizeof(orq.nonce));
	if (sk_operator_request_encode(&orq, &body, &blen, &err) != SK_OK)
		die("encode an operator request", &err);
	put(s, "operator", name, body, blen);
	if (sk_envelope_seal(&sealed, &slen, SK_KIND_OPERATOR, body, blen,
		s->key, &err) != SK_OK)
		die("seal an operator request", &err);
	snprintf(seal_name, sizeof(seal_name), "sealed-%s", name);
	put(s, "operator", seal_name, sealed, slen);
	free(body);
	free(sealed);
}

static void
cli_requests(const seeds *s)
{
	sk_cli_request r;
	uint8_t *buf = NULL;
	size_t len = 0;
	char name[64];
	sk_err err;

	for (size_t p = 0; p < s->nplans; p++) {
		for (int mode = SK_MODE_APPLY; mode <= SK_MODE_REHEARSE; mode++) {
			memset(&r, 0, sizeof(r));
			r.op = SK_CLI_START;
			r.signed_plan = s->plans[p];
			r.signed_plan_len = s->plan_lens[p];
			r.mode = mode;
			if (sk_cli_request_encode(&r, &buf, &len, &err) != SK_OK)
				die("encode a CLI request", &err);
			snprintf(name, sizeof(name), "start-%02zu-%s", p,
			    sk_mode_name(mode));
			put(s, "cli_request", name, buf, len);
			free(buf);
		}
	}
	for (int op = SK_CLI_STATUS; op <= SK_CLI_REPORT; op++) {
		memset(&r, 0, sizeof(r));
		r.op = op;
		snprintf(r.rollout_id, sizeof(r.rollout_id), "r-seedrollout01");
		if (op == SK_CLI_ROLLBACK)
			snprintf(r.region, sizeof(r.region), "af");
		r.events_since = 5;
		if (sk_cli_request_encode(&r, &buf, &len, &err) != SK_OK)
			die("encode a CLI request", &err);
		snprintf(name, sizeof(name), "op-%d", op);
		put(s, "cli_request", name, buf, len);
		operator_seed(s, name, buf, len);
		free(buf);
	}
}

static void
region_view(sk_region_view *v, const char *name, const char *state)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->state, sizeof(v->state), "%s", state);
	snprintf(v->step, sizeof(v->step), "0002_add_client_status");
	snprintf(v->database, sizeof(v->database), "accounts");
	v->updated_ms = 1767225600000;
	v->steps_done = 1;
	v->steps_total = 3;
	snprintf(v->detail, sizeof(v->detail), "running 0002 on accounts");
	if (strcmp(state, "failed") == 0)
		sk_err_set(&v->error, SK_ECHECK,
		    "post check rows_without_status in af: 3, expected = 0");
}

/* A region's state as the coordinator journals it. */
static void
region_record(coord_region_record *v, const char *name, int state)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->state = state;
	snprintf(v->step, sizeof(v->step), "0002_add_client_status");
	snprintf(v->database, sizeof(v->database), "accounts");
	v->at_ms = 1767225600000;
	v->steps_done = 1;
	v->steps_total = 3;
	if (state == COORD_R_FAILED)
		sk_err_set(&v->error, SK_ECHECK,
		    "post check rows_without_status in af: 3, expected = 0");
}

static void
cli_responses(const seeds *s)
{
	sk_region_view canary[1], rest[2];
	sk_phase_view phases[2];
	sk_event_view events[2];
	sk_database_view dbs[1];
	sk_region_report reports[3];
	sk_rollout_view v;
	sk_cli_response m;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	/* Each region view alone, as the journal records them. */
	region_view(&canary[0], "af", "succeeded");
	region_view(&rest[0], "in", "running");
	region_view(&rest[1], "ksa", "failed");
	for (size_t i = 0; i < 3; i++) {
		const sk_region_view *rv = i == 0 ? &canary[0] : &rest[i - 1];

		if (sk_region_view_encode(rv, &buf, &len, &err) != SK_OK)
			die("encode a region view", &err);
		put(s, "region_view", rv->name, buf, len);
		free(buf);
	}

	memset(phases, 0, sizeof(phases));
	snprintf(phases[0].name, sizeof(phases[0].name), "canary");
	snprintf(phases[0].state, sizeof(phases[0].state), "succeeded");
	phases[0].regions = canary;
	phases[0].nregions = 1;
	snprintf(phases[1].name, sizeof(phases[1].name), "rest");
	snprintf(phases[1].state, sizeof(phases[1].state), "running");
	phases[1].regions = rest;
	phases[1].nregions = 2;
	memset(events, 0, sizeof(events));
	for (size_t i = 0; i < 2; i++) {
		events[i].seq = i + 1;
		events[i].at_ms = 1767225600000 + (int64_t)i;
		snprintf(events[i].region, sizeof(events[i].region), "af");
		snprintf(events[i].text, sizeof(events[i].text),
		    "step 0001_create_clients finished on accounts");
	}
	memset(dbs, 0, sizeof(dbs));
	snprintf(dbs[0].region, sizeof(dbs[0].region), "in");
	snprintf(dbs[0].name, sizeof(dbs[0].name), "accounts");
	snprintf(dbs[0].state, sizeof(dbs[0].state), "waiting");
	snprintf(dbs[0].step, sizeof(dbs[0].step), "0002_add_client_status");
	dbs[0].blocker_pid = 4242;

	memset(&v, 0, sizeof(v));
	snprintf(v.id, sizeof(v.id), "r-seedrollout01");
	snprintf(v.plan_id, sizeof(v.plan_id), "p-seedplan0001");
	snprintf(v.plan_name, sizeof(v.plan_name), "quickstart");
	snprintf(v.state, sizeof(v.state), "running");
	v.current_phase = 1;
	v.created_ms = 1767225600000;
	v.phases = phases;
	v.nphases = 2;
	v.events = events;
	v.nevents = 2;
	v.databases = dbs;
	v.ndatabases = 1;

	memset(&m, 0, sizeof(m));
	m.ok = true;
	m.rollouts = &v;
	m.nrollouts = 1;
	if (sk_cli_response_encode(&m, &buf, &len, &err) != SK_OK)
		die("encode a CLI response", &err);
	put(s, "cli_response", "status", buf, len);
	free(buf);

	v.mode = SK_MODE_ROLLBACK;
	snprintf(v.of_rollout, sizeof(v.of_rollout), "r-seedrollout00");
	snprintf(v.state, sizeof(v.state), "failed");
	snprintf(v.reason, sizeof(v.reason), "region ksa failed");
	v.finished_ms = 1767225660000;
	if (sk_cli_response_encode(&m, &buf, &len, &err) != SK_OK)
		die("encode a CLI response", &err);
	put(s, "cli_response", "status-rollback", buf, len);
	free(buf);

	memset(&m, 0, sizeof(m));
	sk_err_set(&m.error, SK_ENOTFOUND, "status of rollout r-x: no such rollout");
	if (sk_cli_response_encode(&m, &buf, &len, &err) != SK_OK)
		die("encode a CLI response", &err);
	put(s, "cli_response", "error", buf, len);
	free(buf);

	memset(&m, 0, sizeof(m));
	m.ok = true;
	snprintf(m.rollout_id, sizeof(m.rollout_id), "r-seedrollout01");
	for (size_t i = 0; i < 3; i++) {
		memset(&reports[i], 0, sizeof(reports[i]));
		snprintf(reports[i].region, sizeof(reports[i].region), "af");
		make_report(&reports[i].report,
		    i == 0     ? SK_EV_STEP_FINISHED :
			i == 1 ? SK_EV_CHECK :
				 SK_EV_LOCK_WAIT,
		    i + 1);
	}
	m.reports = reports;
	m.nreports = 3;
	if (s->nplans > 0) {
		m.signed_plan = s->plans[0];
		m.signed_plan_len = s->plan_lens[0];
	}
	if (sk_cli_response_encode(&m, &buf, &len, &err) != SK_OK)
		die("encode a CLI response", &err);
	put(s, "cli_response", "report", buf, len);
	free(buf);
}

/* ---- the journal ---------------------------------------------------------- */

/* The journal's file format (coord_journal.h): a magic line, then records
 * of a 24-byte header (length, its complement, checksum) and a payload.
 * The framed seed is the payloads, each behind a 2-byte length, as
 * fuzz_journal frames them. */
#define JOURNAL_MAGIC_LEN 17
#define JOURNAL_HDR_LEN 24

static void
journal_seeds(const seeds *s, const char *dir)
{
	char path[4096];
	char *file = NULL;
	size_t flen = 0, off, olen = 1;
	uint8_t *raw, *framed;
	sk_err err;

	snprintf(path, sizeof(path), "%s/journal", dir);
	if (sk_file_read(path, 64u << 20, &file, &flen, &err) != SK_OK)
		die("read the seed journal", &err);
	raw = malloc(flen + 1);
	framed = malloc(flen + 1);
	if (raw == NULL || framed == NULL)
		die("out of memory", NULL);
	raw[0] = 0;
	memcpy(raw + 1, file, flen);
	put(s, "journal", "raw", raw, flen + 1);

	framed[0] = 1;
	for (off = JOURNAL_MAGIC_LEN; off + JOURNAL_HDR_LEN <= flen;) {
		const uint8_t *h = (const uint8_t *)file + off;
		size_t n = (size_t)h[0] | (size_t)h[1] << 8 |
		    (size_t)h[2] << 16 | (size_t)h[3] << 24;

		if (n > 0xffff || off + JOURNAL_HDR_LEN + n > flen)
			break;
		framed[olen++] = (uint8_t)n;
		framed[olen++] = (uint8_t)(n >> 8);
		memcpy(framed + olen, h + JOURNAL_HDR_LEN, n);
		olen += n;
		off += JOURNAL_HDR_LEN + n;
	}
	put(s, "journal", "framed", framed, olen);
	free(raw);
	free(framed);
	free(file);
}

/* A journal with a record of every kind, written by the coordinator's own
 * coord_journal_* functions into dir (which must not hold one yet). */
static void
journal(const seeds *s, const char *dir)
{
	static const char *const only[] = { "af", "in" };
	coord_origin rollback = {
		.mode = SK_MODE_ROLLBACK,
		.of_rollout = "r-seedrollout00",
		.only_regions = only,
		.nonly_regions = 2,
	};
	coord_journal_report recs[3];
	sk_region_report rr[3];
	coord_region_record v;
	coord_journal *j = NULL;
	char id[SK_ID_MAX];
	sk_err err;

	if (coord_journal_open(dir, NULL, NULL, &j, &err) != SK_OK)
		die("open the seed journal", &err);
	if (coord_journal_seq(j, 64, &err) != SK_OK)
		die("journal", &err);
	for (size_t p = 0; p < s->nplans; p++) {
		snprintf(id, sizeof(id), "r-seed%02zu", p);
		if (coord_journal_created(j, id, 1767225600000, s->plans[p],
			s->plan_lens[p], p % 2 ? &rollback : NULL, &err) != SK_OK)
			die("journal", &err);
	}
	snprintf(id, sizeof(id), "r-seed%02d", 0);
	if (coord_journal_phase(j, id, 0, 1767225600001, &err) != SK_OK)
		die("journal", &err);
	region_record(&v, "af", COORD_R_RUNNING);
	if (coord_journal_region(j, id, &v, &err) != SK_OK)
		die("journal", &err);
	for (size_t i = 0; i < 3; i++) {
		memset(&rr[i], 0, sizeof(rr[i]));
		snprintf(rr[i].region, sizeof(rr[i].region), "af");
		make_report(&rr[i].report,
		    i == 0     ? SK_EV_STEP_STARTED :
			i == 1 ? SK_EV_BACKUP :
				 SK_EV_STEP_FAILED,
		    i + 1);
		recs[i].rollout_id = id;
		recs[i].report = &rr[i];
	}
	if (coord_journal_reports(j, recs, 3, &err) != SK_OK)
		die("journal", &err);
	region_record(&v, "af", COORD_R_FAILED);
	if (coord_journal_region(j, id, &v, &err) != SK_OK ||
	    coord_journal_finished(j, id, "failed", "region af failed",
		1767225600002, &err) != SK_OK)
		die("journal", &err);
	coord_journal_close(j);
	journal_seeds(s, dir);
}

int
main(int argc, char **argv)
{
	seeds s;
	char path[4096];
	sk_err err;

	memset(&s, 0, sizeof(s));
	if (argc < 4 || strcmp(argv[1], "--key") != 0) {
		fprintf(stderr, "usage: fuzz_seeds --key KEY OUT SIGNED...\n");
		return 2;
	}
	if (sk_crypto_init(&err) != SK_OK)
		die("init", &err);
	snprintf(path, sizeof(path), "%s.key", argv[2]);
	if (sk_seckey_load(path, &s.key, &err) != SK_OK)
		die("load the key", &err);
	s.out = argv[3];
	for (int i = 4; i < argc && s.nplans < MAX_PLANS; i++) {
		char *buf = NULL;
		size_t len = 0;

		if (sk_file_read(argv[i], SK_ENVELOPE_MAX, &buf, &len, &err) != SK_OK)
			die("read a signed plan", &err);
		s.plans[s.nplans] = (uint8_t *)buf;
		s.plan_lens[s.nplans++] = len;
	}
	agent_messages(&s);
	controls(&s);
	cli_requests(&s);
	cli_responses(&s);
	snprintf(path, sizeof(path), "%s/.journal", s.out);
	journal(&s, path);
	for (size_t i = 0; i < s.nplans; i++)
		free(s.plans[i]);
	sk_seckey_destroy(s.key);
	return 0;
}
