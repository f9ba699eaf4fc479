/* coord_server_agents: the agents' socket of the coordinator's loop
 * (coord_server.h): each agent's request verified against its pinned
 * key, its reports applied and acknowledged, its poll answered with the
 * commands it is due (RUN, pause and tune, samples, MOVE_SERVE) or
 * parked until there are some; refusals it can act on answered with a
 * signed reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_control.h"
#include "coord_flags.h"
#include "coord_gate.h"
#include "coord_gate_sample.h"
#include "coord_moves.h"
#include "coord_narrate.h"
#include "coord_rollout.h"
#include "coord_server_int.h"
#include "sk_log.h"
#include "sk_plan.h"
#include "sk_transport.h"
#include "sk_util.h"

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

/* ---- agents ------------------------------------------------------------- */

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
void
coord_server_wake_all(coord_server *srv)
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

void
coord_server_handle_agent(coord_server *srv, nng_msg *msg)
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
		coord_server_wake_all(srv);
out:
	free_commands(cmds, ncmds);
	free(payload);
	sk_agent_msg_fini(&m);
}

void
coord_server_expire_polls(coord_server *srv)
{
	int64_t now = sk_mono_ms();

	for (size_t i = 0; i < srv->inv.nregions; i++)
		if (srv->agents[i].poll.used && srv->agents[i].poll.deadline_ms <= now)
			release_poll(srv, &srv->agents[i], true);
}
