/* coord_server: the coordinator's sockets, agent sessions and the loop
 * that also serves CLI requests (answered by coord_control.c), in one
 * single-threaded poll(2) loop over nng's receive descriptors. One thread
 * means rollout state needs no locks; every handler is short (no database
 * work happens here), so one thread keeps up with many agents. */
#include "coord_server.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coord_agents.h"
#include "coord_control.h"
#include "coord_http.h"
#include "coord_counters.h"
#include "coord_line.h"
#include "coord_moves.h"
#include "coord_gate.h"
#include "coord_gate_sample.h"
#include "coord_flags.h"
#include "coord_opctl.h"
#include "coord_journal.h"
#include "coord_metrics.h"
#include "coord_narrate.h"
#include "coord_registry.h"
#include "coord_replay.h"
#include "coord_rollout.h"
#include "sk_config.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_log.h"
#include "sk_plan.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_wire.h"

#define SEQ_RESERVE_US (60LL * 1000 * 1000)
#define RECV_MAX (SK_ENVELOPE_MAX + 64 * 1024)

#define HEADER_MAX 64
/* moves: the serving_moves kept per agent (more are not kept: their
 * MOVE_SERVE is sent again, which the agent takes as a repeat). */
#define SERVING_MAX 64
/* moves: a MOVE_SERVE the agent does not list yet goes again at most
 * this often, so that an agent refusing it is not asked in a loop. */
#define MOVE_RESEND_MS 2000

/* A long poll waiting for something to say. */
typedef struct parked {
	bool used;
	uint8_t header[HEADER_MAX]; /* raw REP backtrace of the request */
	size_t header_len;
	uint8_t nonce[SK_NONCE_LEN];
	uint64_t boot_id;
	int64_t deadline_ms;
} parked;

/* What the coordinator knows of one region's agent. */
typedef struct agent_conn {
	const sk_region *region;
	uint64_t boot_id;
	uint64_t last_seq; /* highest report seq applied for boot_id */
	/* What people see of it: srv->seen's. */
	coord_agent *seen;
	coord_opctl_peer ctl; /* what it heard of pauses and tunes */
	parked poll;
	/* moves: what it said it serves, and when it was last sent a
	 * MOVE_SERVE (monotonic ms; 0 never). */
	char serving[SERVING_MAX][SK_MOVE_KEY_MAX];
	size_t nserving;
	int64_t move_sent_ms;
	/* http: the databases it last named, for /api/v1/regions (the rest
	 * of what it said of itself is seen's). */
	char (*dbnames)[SK_NAME_MAX];
	size_t ndbnames;
} agent_conn;

struct coord_server {
	const sk_coord_config *cfg;
	sk_seckey *key;
	sk_keyring release;
	sk_keyring agent_keys;
	sk_inventory inv;
	coord_journal *journal;
	coord_registry rollouts;
	coord_line line;    /* stopline: skein stop */
	coord_auth auth;    /* who may ask what on the control socket */
	agent_conn *agents; /* one per inventory region, same order */
	nng_socket agent_sock;
	nng_socket cli_sock;
	bool agent_open;
	bool cli_open;
	uint64_t seq_last;
	uint64_t seq_reserved;
	coord_replay replay; /* what journal replay fills */
	/* moves: a RUN with move peers went out since the last wake_all. */
	bool moves_dispatched;
	coord_http *http; /* NULL: coordinator.yaml has no http: */
	/* metrics: the agents as people see them (coord_agents.h), in
	 * inventory order, and what the loop counts. */
	coord_agents seen;
	coord_counters counters;
};

/* Control sequence numbers must rise across restarts, so that agents can
 * refuse a replayed control message. They follow the wall clock in
 * microseconds and never go below a reservation journaled ahead of use. */
static int
next_seq(coord_server *srv, uint64_t *out, sk_err *err)
{
	uint64_t s = srv->seq_last + 1;
	uint64_t now = (uint64_t)sk_now_us();

	if (s < now)
		s = now;
	if (s > srv->seq_reserved) {
		uint64_t reserve = s + SEQ_RESERVE_US;

		if (coord_journal_seq(srv->journal, reserve, err) != SK_OK)
			return err->code;
		srv->seq_reserved = reserve;
	}
	srv->seq_last = s;
	*out = s;
	return SK_OK;
}

/* ---- setup -------------------------------------------------------------- */

/* Open and listen: over TLS when url is tls+tcp://, where require_peer
 * (the agents' socket) admits only certificates of tls.ca. */
static int
open_socket(nng_socket *s, bool raw, const char *url, const sk_tls_config *tls,
    bool require_peer, const char *what, sk_err *err)
{
	int rv;

	rv = raw ? nng_rep0_open_raw(s) : nng_rep0_open(s);
	if (rv != 0)
		return sk_err_set(
		    err, SK_ENET, "open %s socket: %s", what, nng_strerror(rv));
	if ((rv = nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, RECV_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, 2000)) != 0) {
		nng_close(*s);
		return sk_err_set(err, SK_ENET, "configure %s socket: %s", what,
		    nng_strerror(rv));
	}
	if (sk_transport_listen(*s, url, tls, require_peer, err) != SK_OK) {
		nng_close(*s);
		return sk_err_wrap(err, "open %s socket", what);
	}
	return SK_OK;
}

int
coord_server_create(const sk_coord_config *cfg, coord_server **out, sk_err *err)
{
	coord_server *srv;
	size_t running = 0;
	int rc;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return sk_err_set(err, SK_ENOMEM, "start coordinator: out of memory");
	srv->cfg = cfg;
	if ((rc = coord_auth_init(&srv->auth, cfg, sk_now_ms(), err)) != SK_OK)
		goto fail;
	if (cfg->insecure_local)
		sk_warn("insecure_local: true in %s: the control socket %s takes "
			"UNSIGNED commands from anyone who can reach it (start, "
			"roll back); use it for a local test setup only",
		    cfg->path != NULL ? cfg->path : "coordinator.yaml", cfg->control);
	if ((rc = sk_seckey_load(cfg->key, &srv->key, err)) != SK_OK)
		goto fail;
	for (size_t i = 0; i < cfg->nrelease_keys; i++)
		if ((rc = sk_keyring_add_file(
			 &srv->release, cfg->release_keys[i], err)) != SK_OK)
			goto fail;
	if ((rc = sk_inventory_load(cfg->regions, &srv->inv, err)) != SK_OK)
		goto fail;
	srv->agents = calloc(srv->inv.nregions, sizeof(*srv->agents));
	if (srv->agents == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "start coordinator: out of memory");
		goto fail;
	}
	if ((rc = coord_agents_init(&srv->seen, &srv->inv, err)) != SK_OK ||
	    (rc = coord_counters_init(&srv->counters, srv->inv.nregions, err)) != SK_OK)
		goto fail;
	for (size_t i = 0; i < srv->inv.nregions; i++) {
		srv->agents[i].region = &srv->inv.regions[i];
		srv->agents[i].seen = &srv->seen.v[i];
		if ((rc = sk_keyring_add(&srv->agent_keys,
			 &srv->inv.regions[i].agent_key, err)) != SK_OK)
			goto fail;
	}
	/* Before the journal: a wrong http: section changes nothing. Its
	 * requests wait for the loop, which starts once replay is done. */
	if (cfg->http.enabled &&
	    (rc = coord_http_create(&cfg->http, &srv->http, err)) != SK_OK)
		goto fail;
	srv->replay = (coord_replay){ &srv->rollouts, &srv->line, &srv->seq_reserved };
	rc = coord_journal_open(cfg->state, &coord_replay_visitor, &srv->replay,
	    &srv->journal, err);
	if (rc != SK_OK)
		goto fail;
	srv->seq_last = srv->seq_reserved;
	for (size_t i = 0; i < srv->rollouts.n; i++) {
		coord_rollout *ro = srv->rollouts.v[i];
		bool changed;

		if (ro->state != COORD_RO_RUNNING)
			continue;
		if ((rc = coord_rollout_settle(ro, srv->journal, &changed, err)) != SK_OK)
			goto fail;
		if (ro->state != COORD_RO_RUNNING)
			continue;
		running++;
		if (ro->ctl.paused)
			coord_rollout_event(ro, NULL,
			    "coordinator restarted; phase %u stays paused (by %s) "
			    "until skein rollout resume %s",
			    ro->phase + 1, ro->ctl.paused_by, ro->id);
		else
			coord_rollout_event(ro, NULL,
			    "coordinator restarted; resuming phase %u",
			    ro->phase + 1);
	}
	if (srv->rollouts.n > 0)
		sk_info("journal replayed: %zu rollouts, %zu still running",
		    srv->rollouts.n, running);
	/* Agents must show a certificate of the CA (mutual TLS); the CLI
	 * checks ours, and who the operator is comes from the signature. */
	if ((rc = open_socket(&srv->agent_sock, true, cfg->listen, &cfg->tls,
		 true, "agent", err)) != SK_OK)
		goto fail;
	srv->agent_open = true;
	if ((rc = open_socket(&srv->cli_sock, false, cfg->control, &cfg->tls,
		 false, "control", err)) != SK_OK)
		goto fail;
	srv->cli_open = true;
	sk_info("serving agents on %s and the CLI on %s (%zu regions, %zu "
		"operators)",
	    cfg->listen, cfg->control, srv->inv.nregions, cfg->noperators);
	*out = srv;
	return SK_OK;
fail:
	coord_server_destroy(srv);
	return rc;
}

void
coord_server_destroy(coord_server *srv)
{
	int64_t t0 = sk_mono_ms(), t1;

	if (srv == NULL)
		return;
	coord_http_destroy(srv->http); /* first: it reads the rollouts */
	/* Each close is timed: under load a coordinator has twice taken more
	 * than 10 s to exit after SIGTERM (not understood yet); the log says
	 * which socket held it. */
	if (srv->agent_open)
		nng_close(srv->agent_sock);
	t1 = sk_mono_ms();
	if (t1 - t0 > 1000)
		sk_warn("stopping: closing the agents' socket took %lld ms",
		    (long long)(t1 - t0));
	if (srv->cli_open)
		nng_close(srv->cli_sock);
	t0 = sk_mono_ms();
	if (t0 - t1 > 1000)
		sk_warn("stopping: closing the control socket took %lld ms",
		    (long long)(t0 - t1));
	coord_registry_fini(&srv->rollouts);
	for (size_t i = 0; srv->agents != NULL && i < srv->inv.nregions; i++)
		free(srv->agents[i].dbnames);
	free(srv->agents);
	coord_agents_fini(&srv->seen);
	coord_counters_fini(&srv->counters);
	coord_journal_close(srv->journal);
	sk_inventory_fini(&srv->inv);
	sk_keyring_fini(&srv->release);
	sk_keyring_fini(&srv->agent_keys);
	coord_auth_fini(&srv->auth);
	sk_seckey_destroy(srv->key);
	free(srv);
	sk_info("stopped");
}

/* ---- agents ------------------------------------------------------------- */

/* Keep what the agent says of itself (version, databases) for
 * /api/v1/regions; out of memory keeps the last list. */
static void
agent_note_self(agent_conn *a, const sk_agent_msg *m)
{
	if (m->ndatabases != a->ndbnames) {
		void *p = realloc(a->dbnames,
		    (m->ndatabases ? m->ndatabases : 1) * sizeof(*a->dbnames));

		if (p == NULL)
			return;
		a->dbnames = p;
		a->ndbnames = m->ndatabases;
	}
	for (size_t i = 0; i < m->ndatabases; i++)
		snprintf(a->dbnames[i], SK_NAME_MAX, "%s", m->databases[i]);
}

static agent_conn *
agent_by_key(coord_server *srv, const sk_pubkey *signer)
{
	for (size_t i = 0; i < srv->inv.nregions; i++)
		if (memcmp(srv->agents[i].region->agent_key.pk, signer->pk,
			SK_PUBKEY_LEN) == 0)
			return &srv->agents[i];
	return NULL;
}

static bool
agent_runs(const agent_conn *a, const char *rollout_id)
{
	for (size_t i = 0; i < a->seen->nrunning; i++)
		if (strcmp(a->seen->running[i], rollout_id) == 0)
			return true;
	return false;
}

/* Free what collect_commands made: the move peers it allocated, and
 * the array. */
static void
free_commands(sk_command *cmds, size_t n)
{
	for (size_t i = 0; cmds != NULL && i < n; i++)
		free(cmds[i].move_peers);
	free(cmds);
}

/* Collect commands for an agent: for a rollout it runs, the pause,
 * resume or tune it has not applied (coord_opctl); for one it should run,
 * RUN (marking a pending region dispatched), with the source peers of
 * the moves into its region; for a move out of its region whose target
 * runs, MOVE_SERVE until it lists it (coord_moves). At most
 * COORD_OPCTL_COMMANDS_MAX + 2 per rollout. On failure the caller still
 * frees *cmds (free_commands). */
static int
collect_commands(
    coord_server *srv, agent_conn *a, sk_command **cmds, size_t *n, sk_err *err)
{
	const char *region = a->region->name;
	sk_command ctl[COORD_OPCTL_COMMANDS_MAX];
	int64_t now = sk_mono_ms();
	bool may_serve = a->move_sent_ms == 0 || now - a->move_sent_ms >= MOVE_RESEND_MS;

	*cmds = NULL;
	*n = 0;
	for (size_t i = 0; i < srv->rollouts.n; i++) {
		coord_rollout *ro = srv->rollouts.v[i];
		bool runs = agent_runs(a, ro->id);
		size_t nctl = runs ? coord_opctl_commands(&a->ctl, ro, now, ctl) : 0;
		sk_command sample; /* gates: a sampled exit gate's round */
		bool sampled = coord_gate_sample_command(ro, region, &sample);
		sk_command serve; /* moves */
		bool served = false;
		sk_command *run;

		/* A move the inventory cannot serve (changed since the
		 * start) is logged and skipped: the other rollouts go on. */
		if (may_serve &&
		    coord_moves_serve(ro, &srv->inv, region,
			(const char(*)[SK_MOVE_KEY_MAX])a->serving, a->nserving,
			&serve, &served, err) != SK_OK) {
			sk_log_err(SK_LOG_ERROR, err);
			served = false;
		}
		if (nctl == 0 && !sampled && !served &&
		    (runs || !coord_rollout_wants(ro, region)))
			continue;
		if (*cmds == NULL) {
			*cmds = calloc(srv->rollouts.n * (COORD_OPCTL_COMMANDS_MAX + 2),
			    sizeof(**cmds));
			if (*cmds == NULL) {
				if (served)
					free(serve.move_peers);
				return sk_err_set(err, SK_ENOMEM,
				    "reply to %s: out of memory", region);
			}
		}
		if (served) {
			(*cmds)[(*n)++] = serve;
			a->move_sent_ms = now;
		}
		if (sampled)
			(*cmds)[(*n)++] = sample;
		if (nctl == 0 && (runs || !coord_rollout_wants(ro, region)))
			continue;
		if (nctl > 0) {
			memcpy(*cmds + *n, ctl, nctl * sizeof(*ctl));
			*n += nctl;
			continue;
		}
		run = &(*cmds)[*n];
		coord_opctl_run_state(ro, run);
		run->kind = SK_CMD_RUN_PLAN;
		snprintf(run->rollout_id, SK_ID_MAX, "%s", ro->id);
		run->signed_plan = ro->signed_plan;
		run->signed_plan_len = ro->signed_plan_len;
		run->mode = ro->mode;
		run->no_backup = ro->no_backup;
		run->flags_only = coord_flags_pending(ro); /* flags */
		if (coord_moves_run_peers(ro, &srv->inv, region,
			&run->move_peers, &run->nmove_peers, err) != SK_OK) {
			sk_log_err(SK_LOG_ERROR, err); /* not dispatched */
			memset(run, 0, sizeof(*run));
			continue;
		}
		(*n)++;
		/* Its sources are to hear MOVE_SERVE now (wake_all). */
		srv->moves_dispatched |= run->nmove_peers > 0;
		if (coord_rollout_dispatched(
			ro, region, srv->journal, sk_now_ms(), err) != SK_OK)
			return err->code;
	}
	return SK_OK;
}

/* Sign and send a Control reply carrying cmds to the request whose raw
 * backtrace is header. */
static void
send_control(coord_server *srv, agent_conn *a, const uint8_t *header,
    size_t header_len, const uint8_t nonce[SK_NONCE_LEN], uint64_t boot_id,
    const sk_command *cmds, size_t ncmds)
{
	sk_control c;
	uint8_t *payload = NULL, *sealed = NULL;
	size_t plen = 0, slen = 0;
	nng_msg *msg = NULL;
	sk_err err;
	int rv;

	memset(&c, 0, sizeof(c));
	if (next_seq(srv, &c.seq, &err) != SK_OK)
		goto fail;
	snprintf(c.region, sizeof(c.region), "%s", a->region->name);
	memcpy(c.nonce, nonce, SK_NONCE_LEN);
	c.boot_id = boot_id;
	c.commands = (sk_command *)cmds;
	c.ncommands = ncmds;
	c.acked_report_seq = boot_id == a->boot_id ? a->last_seq : 0;
	if (sk_control_encode(&c, &payload, &plen, &err) != SK_OK ||
	    sk_envelope_seal(&sealed, &slen, SK_KIND_CONTROL, payload, plen,
		srv->key, &err) != SK_OK)
		goto fail;
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
	    (rv = nng_msg_header_append(msg, header, header_len)) != 0 ||
	    (rv = nng_msg_append(msg, sealed, slen)) != 0 ||
	    (rv = nng_sendmsg(srv->agent_sock, msg, 0)) != 0) {
		sk_warn("reply to agent %s: %s", a->region->name, nng_strerror(rv));
		nng_msg_free(msg);
	}
	goto out;
fail:
	sk_log_err(SK_LOG_ERROR, &err);
out:
	free(payload);
	free(sealed);
}

/* Answer a parked poll if there is something to say, or if force. */
static void
release_poll(coord_server *srv, agent_conn *a, bool force)
{
	sk_command *cmds = NULL;
	size_t n = 0;
	sk_err err;

	if (!a->poll.used)
		return;
	if (collect_commands(srv, a, &cmds, &n, &err) != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	if (n > 0 || force) {
		a->poll.used = false;
		send_control(srv, a, a->poll.header, a->poll.header_len,
		    a->poll.nonce, a->poll.boot_id, cmds, n);
	}
	free_commands(cmds, n);
}

/* Answer every parked agent poll that now has a command to carry. A
 * run with moves dispatched meanwhile gives their sources a MOVE_SERVE:
 * a second pass reaches those polled before it. */
static void
wake_all(coord_server *srv)
{
	for (int pass = 0; pass < 2; pass++) {
		srv->moves_dispatched = false;
		for (size_t i = 0; i < srv->inv.nregions; i++)
			release_poll(srv, &srv->agents[i], false);
		if (!srv->moves_dispatched)
			break;
	}
	srv->moves_dispatched = false;
}

/* Apply an agent message's reports. The new ones (above the last
 * acknowledged seq) of known rollouts are first journaled in one batch and
 * kept for `rollout report`, then fed to the state machines in order. If
 * the batch cannot be journaled nothing is acknowledged and the agent
 * sends the reports again. */
static bool
apply_reports(coord_server *srv, agent_conn *a, const sk_agent_msg *m)
{
	const char *region = a->region->name;
	coord_journal_report *recs = NULL;
	sk_region_report *reps = NULL;
	coord_rollout **ros = NULL;
	bool *keep = NULL;
	bool any_change = false;
	size_t n = 0;
	sk_err err;

	if (m->nreports == 0)
		return false;
	recs = calloc(m->nreports, sizeof(*recs));
	reps = calloc(m->nreports, sizeof(*reps));
	ros = calloc(m->nreports, sizeof(*ros));
	keep = calloc(m->nreports, sizeof(*keep));
	if (recs == NULL || reps == NULL || ros == NULL || keep == NULL) {
		sk_error("reports from %s: out of memory; not acknowledged", region);
		goto out;
	}
	for (size_t i = 0; i < m->nreports; i++) {
		const sk_report *r = &m->reports[i];

		if (r->seq <= a->last_seq)
			continue; /* a resend we already applied */
		ros[i] = coord_registry_find(&srv->rollouts, r->rollout_id);
		if (ros[i] == NULL || !coord_rollout_has_region(ros[i], region) ||
		    coord_rollout_report_is_duplicate(ros[i], region, r))
			continue;
		keep[i] = true;
		snprintf(reps[n].region, sizeof(reps[n].region), "%s", region);
		reps[n].report = *r;
		recs[n].rollout_id = ros[i]->id;
		recs[n].report = &reps[n];
		n++;
	}
	if (coord_journal_reports(srv->journal, recs, n, &err) != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		goto out;
	}
	for (size_t i = 0; i < m->nreports; i++)
		if (keep[i]) {
			coord_rollout_keep_report(ros[i], region, &m->reports[i]);
			coord_counters_report(&srv->counters,
			    (size_t)(a - srv->agents), &m->reports[i]);
		}
	for (size_t i = 0; i < m->nreports; i++) {
		const sk_report *r = &m->reports[i];
		bool changed = false;

		if (r->seq <= a->last_seq)
			continue;
		if (ros[i] != NULL) {
			coord_rollout_note_databases(
			    ros[i], region, (uint32_t)m->ndatabases);
			if (coord_rollout_report(ros[i], region, r,
				srv->journal, &changed, &err) != SK_OK) {
				/* Not acked: the agent sends it again. */
				sk_log_err(SK_LOG_ERROR, &err);
				break;
			}
		}
		a->last_seq = r->seq;
		any_change |= changed;
	}
out:
	free(recs);
	free(reps);
	free(ros);
	free(keep);
	return any_change;
}

/* Answer a refused agent message, m (decoded, its signature not
 * trusted), with a signed Control that says why, for the agent's own
 * log (docs/operations.md, "Troubleshooting"). Only for refusals that
 * name no secret: a signer nobody pinned, another region's key. It
 * echoes m's region, nonce and boot, carries no command and
 * acknowledges nothing, so it can do nothing but be logged. */
static void
refuse_agent(coord_server *srv, nng_msg *msg, const sk_agent_msg *m,
    const char *why, const char *hint)
{
	sk_control c;
	uint8_t *payload = NULL, *sealed = NULL;
	size_t plen = 0, slen = 0;
	nng_msg *reply = NULL;
	sk_err err;
	int rv;

	memset(&c, 0, sizeof(c));
	snprintf(c.region, sizeof(c.region), "%s", m->region);
	memcpy(c.nonce, m->nonce, SK_NONCE_LEN);
	c.boot_id = m->boot_id;
	snprintf(c.refused, sizeof(c.refused), "%s", why);
	snprintf(c.refused_hint, sizeof(c.refused_hint), "%s", hint);
	if (next_seq(srv, &c.seq, &err) != SK_OK ||
	    sk_control_encode(&c, &payload, &plen, &err) != SK_OK ||
	    sk_envelope_seal(&sealed, &slen, SK_KIND_CONTROL, payload, plen,
		srv->key, &err) != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		goto out;
	}
	if ((rv = nng_msg_alloc(&reply, 0)) != 0 ||
	    (rv = nng_msg_header_append(
		 reply, nng_msg_header(msg), nng_msg_header_len(msg))) != 0 ||
	    (rv = nng_msg_append(reply, sealed, slen)) != 0 ||
	    (rv = nng_sendmsg(srv->agent_sock, reply, 0)) != 0) {
		sk_warn("answer a refused agent: %s", nng_strerror(rv));
		nng_msg_free(reply);
	}
out:
	free(payload);
	free(sealed);
}

/* A message signed by a key no region pins: answer it with the reason
 * when it decodes as an agent message at all (peeked, not trusted). */
static void
refuse_unknown_key(coord_server *srv, nng_msg *msg)
{
	uint8_t *payload = NULL, id[SK_KEY_ID_LEN];
	char why[512], hint[512], idhex[2 * SK_KEY_ID_LEN + 1];
	size_t plen = 0;
	int kind = 0;
	sk_agent_msg m;
	sk_err err;

	memset(&m, 0, sizeof(m));
	if (sk_envelope_peek(&payload, &plen, &kind, id, nng_msg_body(msg),
		nng_msg_len(msg), NULL) != SK_OK)
		return;
	if (kind == SK_KIND_AGENT &&
	    sk_agent_msg_decode(payload, plen, &m, &err) == SK_OK) {
		sk_key_id_hex(id, idhex);
		snprintf(why, sizeof(why),
		    "its key %s is not the agent key of any region this "
		    "coordinator knows (it says it is region %s)",
		    idhex, m.region);
		snprintf(hint, sizeof(hint),
		    "pin this agent's public key as agent_key in the "
		    "coordinator's regions/%s.yaml, or give the agent region "
		    "%s's key (agent.yaml key:)",
		    m.region, m.region);
		refuse_agent(srv, msg, &m, why, hint);
	}
	sk_agent_msg_fini(&m);
	free(payload);
}

static void
handle_agent(coord_server *srv, nng_msg *msg)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	const sk_pubkey *signer = NULL;
	sk_agent_msg m;
	agent_conn *a;
	sk_command *cmds = NULL;
	size_t ncmds = 0;
	sk_err err;
	bool changed;
	int rc;

	memset(&m, 0, sizeof(m));
	if (nng_msg_header_len(msg) > HEADER_MAX) {
		sk_warn("refuse agent message: routing header of %zu bytes",
		    nng_msg_header_len(msg));
		coord_counters_refused(
		    &srv->counters, COORD_SOCK_AGENT, COORD_REFUSED_MALFORMED);
		return;
	}
	if ((rc = sk_envelope_open(&payload, &plen, &signer, nng_msg_body(msg),
		 nng_msg_len(msg), SK_KIND_AGENT, &srv->agent_keys, &err)) != SK_OK) {
		sk_warn("refuse agent message (%zu bytes): %s",
		    nng_msg_len(msg), err.msg);
		rc = coord_refusal_of_envelope(nng_msg_body(msg),
		    nng_msg_len(msg), SK_KIND_AGENT, &srv->agent_keys, rc);
		coord_counters_refused(&srv->counters, COORD_SOCK_AGENT, rc);
		if (rc == COORD_REFUSED_UNKNOWN_KEY)
			refuse_unknown_key(srv, msg);
		return;
	}
	a = agent_by_key(srv, signer);
	if (sk_agent_msg_decode(payload, plen, &m, &err) != SK_OK) {
		sk_warn("refuse agent message from %s: %s",
		    a ? a->region->name : "?", err.msg);
		coord_counters_refused(
		    &srv->counters, COORD_SOCK_AGENT, COORD_REFUSED_MALFORMED);
		goto out;
	}
	if (a == NULL || strcmp(m.region, a->region->name) != 0) {
		sk_warn("refuse agent message: signed by the agent key of %s but "
			"claims region %s",
		    a ? a->region->name : "?", m.region);
		coord_counters_refused(&srv->counters, COORD_SOCK_AGENT,
		    COORD_REFUSED_MISADDRESSED);
		if (a != NULL) {
			char why[512], hint[512];

			snprintf(why, sizeof(why),
			    "it signs with the agent key of region %s but says "
			    "it is region %s",
			    a->region->name, m.region);
			snprintf(hint, sizeof(hint),
			    "agent.yaml's key: must be region %s's agent key "
			    "(the public half pinned as agent_key in the "
			    "coordinator's regions/%s.yaml), not region %s's",
			    m.region, m.region, a->region->name);
			refuse_agent(srv, msg, &m, why, hint);
		}
		goto out;
	}
	if (m.boot_id != a->boot_id) {
		/* Its connect is coord_agents_note's to say. */
		if (a->seen->connected)
			sk_info("agent %s restarted (boot %016llx)",
			    a->region->name, (unsigned long long)m.boot_id);
		a->boot_id = m.boot_id;
		a->last_seq = 0;
		coord_opctl_peer_reset(&a->ctl);
	}
	coord_agents_note(a->seen, &m, sk_now_ms());
	agent_note_self(a, &m); /* http */
	coord_opctl_peer_note(&a->ctl, &m);
	a->nserving = 0; /* moves */
	for (size_t i = 0; i < m.nserving_moves && i < SERVING_MAX; i++)
		snprintf(a->serving[a->nserving++], SK_MOVE_KEY_MAX, "%s",
		    m.serving_moves[i]);
	changed = apply_reports(srv, a, &m);
	/* A newer request supersedes a parked poll, which the agent has
	 * abandoned (REQ keeps one request): answer it empty, so that no
	 * command is spent on a reply nobody reads. */
	if (a->poll.used) {
		a->poll.used = false;
		send_control(srv, a, a->poll.header, a->poll.header_len,
		    a->poll.nonce, a->poll.boot_id, NULL, 0);
	}
	if (collect_commands(srv, a, &cmds, &ncmds, &err) != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	if (ncmds > 0 || m.nreports > 0 || !m.wait) {
		send_control(srv, a, nng_msg_header(msg),
		    nng_msg_header_len(msg), m.nonce, m.boot_id, cmds, ncmds);
	} else {
		a->poll.used = true;
		a->poll.header_len = nng_msg_header_len(msg);
		memcpy(a->poll.header, nng_msg_header(msg), a->poll.header_len);
		memcpy(a->poll.nonce, m.nonce, SK_NONCE_LEN);
		a->poll.boot_id = m.boot_id;
		a->poll.deadline_ms = sk_mono_ms() +
		    (m.hold_ms < COORD_POLL_HOLD_MAX_MS ? m.hold_ms :
							  COORD_POLL_HOLD_MAX_MS);
	}
	if (changed || srv->moves_dispatched)
		wake_all(srv);
out:
	free_commands(cmds, ncmds);
	free(payload);
	sk_agent_msg_fini(&m);
}

/* ---- the CLI ----------------------------------------------------------- */

/* Answer one request from the control socket with msg (reused for the
 * reply, or freed). A rollout the request started may give parked polls
 * a command: they are answered before the CLI is. */
static void
handle_cli(coord_server *srv, nng_msg *msg)
{
	const coord_control_ctx ctx = {
		.rollouts = &srv->rollouts,
		.journal = srv->journal,
		.release = &srv->release,
		.inv = &srv->inv,
		.auth = &srv->auth,
		.rehearsal_interval_ms = srv->cfg->rehearsal_interval_ms,
		.line = &srv->line,
		.counters = &srv->counters,
		.agents = &srv->seen,
	};
	coord_control_effect effect;
	uint8_t *out = NULL;
	size_t olen = 0;
	sk_err err;
	int rv;

	if (coord_control_answer(&ctx, nng_msg_body(msg), nng_msg_len(msg),
		&out, &olen, &effect, &err) != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	/* Answered before the CLI is, so that a pause is on its way to the
	 * agents by the time the operator reads that it was taken. */
	if (effect.started || effect.held)
		wake_all(srv);
	nng_msg_clear(msg);
	if (out == NULL || (rv = nng_msg_append(msg, out, olen)) != 0 ||
	    (rv = nng_sendmsg(srv->cli_sock, msg, 0)) != 0) {
		sk_warn("reply to control request failed");
		nng_msg_free(msg);
	}
	free(out);
}

int
coord_server_metrics(const coord_server *srv, sk_strbuf *out, sk_err *err)
{
	const coord_metrics_src src = {
		.rollouts = &srv->rollouts,
		.agents = &srv->seen,
		.counters = &srv->counters,
		.journal = srv->journal,
		.now_ms = sk_now_ms(),
	};

	return coord_metrics_render(&src, out, err);
}

/* ---- http --------------------------------------------------------------- */

/* coord_http_source.regions: as `skein agents` sees them
 * (coord_agents.h), with the databases' names. */
static void
http_regions(void *arg, coord_http_region **out, size_t *n)
{
	coord_server *srv = arg;
	int64_t now = sk_now_ms();

	*n = 0;
	*out = calloc(srv->inv.nregions + 1, sizeof(**out));
	if (*out == NULL)
		return;
	for (size_t i = 0; i < srv->inv.nregions; i++) {
		const agent_conn *a = &srv->agents[i];

		(*out)[i] = (coord_http_region){
			.name = a->region->name,
			.connected = coord_agent_is_connected(a->seen, now),
			.last_seen_ms = a->seen->last_seen_ms,
			.version = a->seen->version,
			.databases = (const char(*)[SK_NAME_MAX])a->dbnames,
			.ndatabases = a->ndbnames,
			.running = (const char(*)[SK_NAME_MAX])a->seen->running,
			.nrunning = a->seen->nrunning,
		};
	}
	*n = srv->inv.nregions;
}

/* Answer the HTTP API's waiting requests and feed its streams. */
static void
serve_http(coord_server *srv)
{
	const coord_control_ctx ctx = {
		.rollouts = &srv->rollouts,
		.line = &srv->line,
	};
	const coord_http_source src = { &ctx, http_regions, srv };

	coord_http_serve(srv->http, &src);
}

/* ---- loop --------------------------------------------------------------- */

static int
recv_fd(nng_socket s, int *fd, sk_err *err)
{
	int rv = nng_socket_get_int(s, NNG_OPT_RECVFD, fd);

	if (rv != 0)
		return sk_err_set(err, SK_ENET, "get receive descriptor: %s",
		    nng_strerror(rv));
	return SK_OK;
}

/* Phase gates (coord_gate.c): at least every second, count soaks and
 * open windows; a gate that let work through wakes the agents. */
static void
tick_gates(coord_server *srv, int64_t *last_ms)
{
	int64_t now = sk_now_ms();
	bool wake = false;

	if (now - *last_ms < 250 && now >= *last_ms)
		return;
	*last_ms = now;
	for (size_t i = 0; i < srv->rollouts.n; i++) {
		coord_rollout *ro = srv->rollouts.v[i];
		bool changed = false;
		sk_err err;

		if (ro->state != COORD_RO_RUNNING)
			continue;
		if (coord_rollout_tick(ro, srv->journal, now, &changed, &err) != SK_OK)
			sk_log_err(SK_LOG_ERROR, &err);
		wake |= changed;
	}
	if (wake)
		wake_all(srv);
}

static void
expire_polls(coord_server *srv)
{
	int64_t now = sk_mono_ms();

	for (size_t i = 0; i < srv->inv.nregions; i++)
		if (srv->agents[i].poll.used && srv->agents[i].poll.deadline_ms <= now)
			release_poll(srv, &srv->agents[i], true);
}

int
coord_server_run(coord_server *srv, atomic_int *stop, sk_err *err)
{
	struct pollfd fds[3];
	int64_t gates_ms = 0;
	int afd, cfd;

	if (recv_fd(srv->agent_sock, &afd, err) != SK_OK ||
	    recv_fd(srv->cli_sock, &cfd, err) != SK_OK)
		return err->code;
	while (!atomic_load(stop)) {
		nng_msg *msg;
		int rv;

		fds[0] = (struct pollfd){ .fd = afd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = cfd, .events = POLLIN };
		fds[2] = (struct pollfd){ .fd = coord_http_fd(srv->http),
			.events = POLLIN }; /* -1 without http: ignored */
		if (poll(fds, 3, 100) < 0 && errno != EINTR)
			return sk_err_errno(err, SK_EIO, errno, "poll");
		while ((rv = nng_recvmsg(srv->agent_sock, &msg, NNG_FLAG_NONBLOCK)) == 0) {
			handle_agent(srv, msg);
			nng_msg_free(msg);
		}
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			sk_warn("receive from agents: %s", nng_strerror(rv));
		while ((rv = nng_recvmsg(srv->cli_sock, &msg, NNG_FLAG_NONBLOCK)) == 0)
			handle_cli(srv, msg); /* reuses msg for the reply */
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			sk_warn("receive from control clients: %s", nng_strerror(rv));
		expire_polls(srv);
		tick_gates(srv, &gates_ms);
		if (srv->http != NULL)
			serve_http(srv);
		coord_agents_sweep(&srv->seen, sk_now_ms());
		coord_agents_narrate(&srv->seen, &srv->rollouts, sk_now_ms());
	}
	sk_info("stopping");
	return SK_OK;
}
