/* coord_server: the coordinator's sockets and the loop that serves the
 * agents (coord_server_agents.c), CLI requests (answered by
 * coord_control.c) and HTTP jobs, in one single-threaded poll(2) loop
 * over nng's receive descriptors. One thread
 * means rollout state needs no locks; every handler is short (no database
 * work happens here), so one thread keeps up with many agents. */
#include "coord_server_int.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Close both sockets, waiting at most COORD_CLOSE_WAIT_MS. nng_close
 * waits for every pipe to end; under load, a coordinator's close has
 * been seen to wait past the harness's 30 s (2026-12-03, rollout_abort
 * and rollout_pause, TLS), so a SIGTERM could not stop it. Nothing the
 * coordinator keeps depends on the close: the journal is written as it
 * goes, and the process exits after this. Past the wait the closes are
 * left to their thread and the exit ends them. */
#define COORD_CLOSE_WAIT_MS 5000
static void
close_sockets(coord_server *srv)
{
	nng_socket socks[2];
	size_t n = 0;

	if (srv->agent_open)
		socks[n++] = srv->agent_sock;
	if (srv->cli_open)
		socks[n++] = srv->cli_sock;
	srv->agent_open = srv->cli_open = false;
	if (!sk_transport_close_within(socks, n, COORD_CLOSE_WAIT_MS, NULL))
		sk_warn("stopping: the sockets' close did not end within %d ms; "
			"exiting without waiting for it",
		    COORD_CLOSE_WAIT_MS);
}

void
coord_server_destroy(coord_server *srv)
{
	if (srv == NULL)
		return;
	coord_http_destroy(srv->http); /* first: it reads the rollouts */
	close_sockets(srv);
	coord_registry_fini(&srv->rollouts);
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
		coord_server_wake_all(srv);
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

/* coord_http_source.agents: as `skein agents` sees them. */
static int
http_agents(void *arg, sk_agent_view **out, size_t *n, sk_err *err)
{
	coord_server *srv = arg;

	return coord_agents_view(&srv->seen, sk_now_ms(), out, n, err);
}

/* coord_http_source.metrics */
static int
http_metrics(void *arg, sk_strbuf *out, sk_err *err)
{
	return coord_server_metrics(arg, out, err);
}

/* Answer the HTTP API's waiting requests and feed its streams. */
static void
serve_http(coord_server *srv)
{
	const coord_control_ctx ctx = {
		.rollouts = &srv->rollouts,
		.line = &srv->line,
	};
	const coord_http_source src = { &ctx, http_agents, srv, http_metrics };

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
		coord_server_wake_all(srv);
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
			coord_server_handle_agent(srv, msg);
			nng_msg_free(msg);
		}
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			sk_warn("receive from agents: %s", nng_strerror(rv));
		while ((rv = nng_recvmsg(srv->cli_sock, &msg, NNG_FLAG_NONBLOCK)) == 0)
			handle_cli(srv, msg); /* reuses msg for the reply */
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			sk_warn("receive from control clients: %s", nng_strerror(rv));
		coord_server_expire_polls(srv);
		tick_gates(srv, &gates_ms);
		if (srv->http != NULL)
			serve_http(srv);
		coord_agents_sweep(&srv->seen, sk_now_ms());
		coord_agents_narrate(&srv->seen, &srv->rollouts, sk_now_ms());
	}
	sk_info("stopping");
	return SK_OK;
}
