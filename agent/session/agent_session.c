/* agent_session: the request/reply loop with the coordinator: signed
 * requests carrying the outbox's reports and what runs here, and signed
 * control messages checked (key, region, nonce, sequence above the
 * persisted high-water mark) before their commands go to the plan runs
 * (agent_runs.c). One session thread talks; one thread per running plan
 * applies it. */
#include "agent_session_int.h"

#include <errno.h>
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_failpoint.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_log.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_wire.h"

#define REPORTS_PER_MESSAGE 256
#define REPLY_GRACE_MS 5000
#define RECV_MAX (SK_ENVELOPE_MAX + 64 * 1024)

/* ---- control messages --------------------------------------------------- */

static int
save_hw(agent_session *s, sk_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", s->hw);

	return sk_file_write_atomic(s->hw_path, buf, (size_t)n, 0600, err);
}

/* A reply that is no signed control message, or one signed by another
 * key: logged with what to check (rate-limited: agent_complain). */
static void
complain_reply(agent_session *s, size_t len, int rc, const sk_err *why)
{
	sk_err err;

	if (rc == SK_ECRYPTO) {
		sk_err_set(&err, SK_ECRYPTO, "refuse control message from %s: %s",
		    s->cfg->coordinator, why->msg);
		snprintf(err.hint, sizeof(err.hint),
		    "coordinator_key: in %s must be the coordinator's public "
		    "key (the .pub of coordinator.yaml's key:)",
		    s->cfg->path != NULL ? s->cfg->path : "agent.yaml");
		agent_complain(s, AGENT_UNTRUSTED, SK_LOG_ERROR, &err);
		return;
	}
	sk_err_set(&err, SK_EDECODE,
	    "refuse control message from %s (%zu bytes): not a signed "
	    "control message: %s",
	    s->cfg->coordinator, len, why->msg);
	snprintf(err.hint, sizeof(err.hint),
	    "coordinator: in %s must be the coordinator's agent address (its "
	    "listen: in coordinator.yaml), not its control socket (control:)",
	    s->cfg->path != NULL ? s->cfg->path : "agent.yaml");
	agent_complain(s, AGENT_NOT_CONTROL, SK_LOG_ERROR, &err);
}

/* The coordinator refused this agent and said why (Control.refused):
 * logged as an error with its hint and this agent's key id. */
static void
complain_refused(agent_session *s, const sk_control *c)
{
	char id[2 * SK_KEY_ID_LEN + 1];
	sk_err err;

	sk_key_id_hex(sk_seckey_public(s->key)->id, id);
	sk_err_set(&err, SK_EREFUSED, "coordinator %s refused this agent: %s",
	    s->cfg->coordinator, c->refused);
	snprintf(err.hint, sizeof(err.hint),
	    "%.300s (this agent of region %s signs with %.100s, key id %s)",
	    c->refused_hint[0] != '\0' ? c->refused_hint : "check the region's agent_key",
	    s->cfg->region, s->cfg->key, id);
	agent_complain(s, AGENT_REFUSED, SK_LOG_ERROR, &err);
}

/* Verify and act on a reply. Returns false if it was refused. */
static bool
handle_control(agent_session *s, const uint8_t *buf, size_t len,
    const uint8_t nonce[SK_NONCE_LEN])
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	sk_control c;
	sk_err err;
	bool ok = false;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = sk_envelope_open(&payload, &plen, NULL, buf, len,
		 SK_KIND_CONTROL, &s->coordinator, &err)) != SK_OK) {
		complain_reply(s, len, rc, &err);
		return false;
	}
	if (sk_control_decode(payload, plen, &c, &err) != SK_OK) {
		sk_warn("refuse control message: %s", err.msg);
		goto out;
	}
	if (strcmp(c.region, s->cfg->region) != 0) {
		sk_warn("refuse control message for region %s: this agent is %s",
		    c.region, s->cfg->region);
		goto out;
	}
	if (sodium_memcmp(c.nonce, nonce, SK_NONCE_LEN) != 0 || c.boot_id != s->boot_id) {
		sk_warn("refuse control message: it answers another request (replayed?)");
		goto out;
	}
	if (c.seq <= s->hw) {
		sk_warn("refuse stale control message: seq %" PRIu64
			" is not above the high-water mark %" PRIu64,
		    c.seq, s->hw);
		goto out;
	}
	if (c.refused[0] != '\0') { /* it carries nothing else */
		complain_refused(s, &c);
		goto out;
	}
	s->hw = c.seq;
	if (c.ncommands > 0 && save_hw(s, &err) != SK_OK) {
		/* Without a durable mark a replay after restart could pass; do
		 * not act on commands we cannot protect. */
		sk_log_err(SK_LOG_ERROR, &err);
		goto out;
	}
	agent_runs_heard(s);
	agent_outbox_ack(s, c.acked_report_seq);
	for (size_t i = 0; i < c.ncommands; i++) {
		switch (c.commands[i].kind) {
		case SK_CMD_RUN_PLAN:
			agent_runs_start(s, &c.commands[i]);
			break;
		case SK_CMD_PAUSE:
		case SK_CMD_RESUME:
		case SK_CMD_TUNE:
		case SK_CMD_ABORT: /* stopline */
			agent_runs_opctl(s, &c.commands[i]);
			break;
		case SK_CMD_SAMPLE: /* sampling */
			agent_samples_start(s, &c.commands[i]);
			break;
		case SK_CMD_MOVE_SERVE: /* moves */
			agent_moves_serve(s, &c.commands[i]);
			break;
		default:
			sk_warn("ignore unknown command kind %d", c.commands[i].kind);
			break;
		}
	}
	ok = true;
out:
	free(payload);
	sk_control_fini(&c);
	return ok;
}

/* ---- session loop ------------------------------------------------------- */

static int
load_hw(agent_session *s, sk_err *err)
{
	char *text = NULL;
	int rc;

	s->hw_path = sk_path_join(s->cfg->state, "control-seq");
	if (s->hw_path == NULL)
		return sk_err_set(err, SK_ENOMEM, "load agent state: out of memory");
	if (sk_mkdir_p(s->cfg->state, 0700, err) != SK_OK)
		return err->code;
	rc = sk_file_read(s->hw_path, 64, &text, NULL, err);
	if (rc != SK_OK) {
		if (err->cause == ENOENT) {
			s->hw = 0;
			return SK_OK;
		}
		return rc;
	}
	s->hw = strtoull(text, NULL, 10);
	free(text);
	return SK_OK;
}

/* Count the socket's connections (nng calls this from its own threads). */
static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	agent_session *s = arg;

	/* A socket left closing (redial) may still report its pipes. */
	if (nng_socket_id(nng_pipe_socket(p)) != atomic_load(&s->sock_id))
		return;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&s->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&s->pipes, 1);
}

/* Open the REQ socket and dial the coordinator in the background: it
 * may come up later, and nng redials with backoff (100 ms to 2 s). Over
 * TLS the dial checks the coordinator's certificate against tls.ca and
 * shows ours.
 *
 * The REQ socket's own resend is off: the loop sends a new request when
 * one goes unanswered. With it on, nng 1.5 resends on the connection at
 * the moment the loop gives up on the reply and closes the socket, and a
 * close that races a send in flight can wait forever for that send
 * (tlstran_pipe_send_cb restarting a transfer on a closed aio), taking
 * nng's reaper, and every later close and redial, with it. */
static int
connect_coordinator(agent_session *s, sk_err *err)
{
	int rv;

	if ((rv = nng_req0_open(&s->sock)) != 0)
		return sk_err_set(err, SK_ENET, "open socket: %s", nng_strerror(rv));
	s->sock_open = true;
	atomic_store(&s->pipes, 0);
	atomic_store(&s->sock_id, nng_socket_id(s->sock));
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, RECV_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME,
		 NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 2000)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_event, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_event, s)) != 0)
		return sk_err_set(
		    err, SK_ENET, "configure socket: %s", nng_strerror(rv));
	if (sk_transport_dial(s->sock, s->cfg->coordinator, &s->cfg->tls,
		NNG_FLAG_NONBLOCK, err) != SK_OK)
		return err->code;
	return SK_OK;
}

/* The failpoint "session-close-hang": from its pass on, every close
 * never returns, as behind a wedged reaper. */
static void
close_hang(void)
{
	static atomic_bool wedged;

	if (!atomic_load(&wedged) && !agent_failpoint_hit("session-close-hang"))
		return;
	atomic_store(&wedged, true);
	sk_warn("failpoint session-close-hang: this close never returns");
	for (;;)
		sk_sleep_ms(60000);
}

/* Drop the connection to the coordinator and dial a new one. Called when
 * a request went unanswered or could not be sent: after a partition,
 * the old TCP connection stays up and the coordinator's retransmissions
 * of what it sent into the partition back off up to two minutes, and
 * every later reply queues behind them (tests/chaos/README.md,
 * "Finding"); and a dial still waiting for a SYN answer retries on the
 * same doubling schedule. A fresh socket and dial start both anew, so
 * the agent talks again within a few seconds of the network coming back.
 * A reply still in flight is lost: the coordinator answers the next
 * request, and resends what the agent lacks (it lists what it runs).
 *
 * The old socket's close is bounded (AGENT_CLOSE_WAIT_MS): nng 1.5's
 * reaper can wedge on a TLS pipe, and the close behind it with it. The
 * session then leaves that close behind and dials on a new socket, which
 * needs no reaper to connect. Every close after a wedge waits for the
 * same reaper; after AGENT_STUCK_CLOSES_MAX of them the session gives
 * up (agent_session_run returns an error, the process exits 1) so that
 * its supervisor starts it afresh: the ledger makes a restart safe at
 * any instant. Returns SK_OK, or SK_ENET when it is time to give up. */
#define AGENT_CLOSE_WAIT_MS 5000
#define AGENT_STUCK_CLOSES_MAX 3
static int
redial(agent_session *s, sk_err *err)
{
	if (s->sock_open) {
		s->sock_open = false;
		if (!sk_transport_close_within(
			&s->sock, 1, AGENT_CLOSE_WAIT_MS, close_hang)) {
			s->stuck_closes++;
			if (s->stuck_closes >= AGENT_STUCK_CLOSES_MAX)
				return sk_err_set(err, SK_ENET,
				    "%d closes of the connection to the "
				    "coordinator never ended (nng's reaper is "
				    "stuck); exiting so that the supervisor "
				    "starts the agent afresh",
				    s->stuck_closes);
			sk_warn("closing the connection to the coordinator did "
				"not end within %d ms (nng's reaper is stuck); "
				"leaving it behind and dialing on a new socket "
				"(%d of %d before the agent exits)",
			    AGENT_CLOSE_WAIT_MS, s->stuck_closes,
			    AGENT_STUCK_CLOSES_MAX);
		}
	}
	if (connect_coordinator(s, err) != SK_OK)
		sk_log_err(SK_LOG_ERROR, err); /* tried again next time */
	return SK_OK;
}

int
agent_session_create(const sk_agent_config *cfg, agent_session **out, sk_err *err)
{
	agent_session *s;
	int rc, rv;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return sk_err_set(err, SK_ENOMEM, "start agent: out of memory");
	s->cfg = cfg;
	pthread_mutex_init(&s->mu, NULL);
	randombytes_buf(&s->boot_id, sizeof(s->boot_id));
	if ((rc = sk_seckey_load(cfg->key, &s->key, err)) != SK_OK ||
	    (rc = sk_keyring_add_file(&s->coordinator, cfg->coordinator_key, err)) != SK_OK)
		goto fail;
	for (size_t i = 0; i < cfg->nrelease_keys; i++)
		if ((rc = sk_keyring_add_file(
			 &s->release, cfg->release_keys[i], err)) != SK_OK)
			goto fail;
	if ((rc = load_hw(s, err)) != SK_OK)
		goto fail;
	if ((rc = agent_samples_init(s, err)) != SK_OK) /* sampling */
		goto fail;
	if ((rc = agent_moves_init(s, err)) != SK_OK) /* moves */
		goto fail;
	if ((rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
		rc = sk_err_set(err, SK_ENET, "start agent: %s", nng_strerror(rv));
		goto fail;
	}
	if ((rc = connect_coordinator(s, err)) != SK_OK) {
		sk_err_wrap(err, "start agent");
		goto fail;
	}
	sk_info("agent for region %s: %zu databases, dialing %s", cfg->region,
	    cfg->ndatabases, cfg->coordinator);
	*out = s;
	return SK_OK;
fail:
	agent_session_destroy(s);
	return rc;
}

void
agent_session_destroy(agent_session *s)
{
	if (s == NULL)
		return;
	if (s->aio != NULL)
		nng_aio_free(s->aio);
	if (s->sock_open &&
	    !sk_transport_close_within(&s->sock, 1, AGENT_CLOSE_WAIT_MS, close_hang))
		sk_warn("stopping: closing the connection to the coordinator did "
			"not end within %d ms; exiting without waiting for it",
		    AGENT_CLOSE_WAIT_MS);
	agent_runs_free(s);
	agent_samples_fini(s); /* sampling */
	agent_moves_fini(s);   /* moves */
	free(s->outbox);
	free(s->hw_path);
	sk_keyring_fini(&s->coordinator);
	sk_keyring_fini(&s->release);
	sk_seckey_destroy(s->key);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Build and seal the next request. */
static int
build_request(agent_session *s, uint8_t nonce[SK_NONCE_LEN], uint8_t **sealed,
    size_t *slen, sk_err *err)
{
	sk_agent_msg m;
	uint8_t *payload = NULL;
	size_t plen = 0;
	char(*dbs)[SK_NAME_MAX] = NULL;
	int rc = SK_OK;

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "%s", s->cfg->region);
	snprintf(m.version, sizeof(m.version), "%s", SKEIN_VERSION);
	randombytes_buf(nonce, SK_NONCE_LEN);
	memcpy(m.nonce, nonce, SK_NONCE_LEN);
	m.boot_id = s->boot_id;
	dbs = calloc(s->cfg->ndatabases + 1, sizeof(*dbs));
	if (dbs == NULL)
		return sk_err_set(err, SK_ENOMEM, "build request: out of memory");
	for (size_t i = 0; i < s->cfg->ndatabases; i++)
		snprintf(dbs[i], SK_NAME_MAX, "%s", s->cfg->databases[i].name);
	m.databases = dbs;
	m.ndatabases = s->cfg->ndatabases;

	pthread_mutex_lock(&s->mu);
	m.nreports = s->nout < REPORTS_PER_MESSAGE ? s->nout : REPORTS_PER_MESSAGE;
	if (m.nreports > 0) {
		m.reports = malloc(m.nreports * sizeof(*m.reports));
		if (m.reports != NULL)
			memcpy(m.reports, s->outbox, m.nreports * sizeof(*m.reports));
		else
			m.nreports = 0;
	}
	agent_runs_list(s, &m);
	pthread_mutex_unlock(&s->mu);
	agent_moves_list(s, &m); /* moves */
	m.wait = m.nreports == 0;
	m.hold_ms = (uint32_t)s->cfg->poll_ms;

	if ((rc = sk_agent_msg_encode(&m, &payload, &plen, err)) == SK_OK)
		rc = sk_envelope_seal(
		    sealed, slen, SK_KIND_AGENT, payload, plen, s->key, err);
	free(payload);
	free(m.reports);
	free(dbs);
	free(m.running);
	free(m.applied);
	free(m.serving_moves);
	return rc;
}

move_auth *
agent_session_move_auth(agent_session *s)
{
	return s != NULL ? s->move_auth : NULL;
}

/* No connection to the coordinator for REPLY_GRACE_MS: say why (a TCP
 * probe), when it starts and then once a minute (agent_complain). */
static void
complain_unreachable(agent_session *s)
{
	char why[384];
	sk_err err;

	if (s->complaint.kind == AGENT_UNREACHABLE &&
	    sk_mono_ms() - s->complaint.at_ms < 60000) {
		s->complaint.quiet++; /* no probe either */
		return;
	}
	agent_reach_probe(s->cfg->coordinator, 2000, why, sizeof(why));
	sk_err_set(&err, SK_ENET,
	    "cannot reach coordinator %s: %s; dialing "
	    "again (every 0.1 to 2 s)",
	    s->cfg->coordinator, why);
	snprintf(err.hint, sizeof(err.hint),
	    "is skein-coordinator running, and is coordinator: in %s its "
	    "listen: address?",
	    s->cfg->path != NULL ? s->cfg->path : "agent.yaml");
	agent_complain(s, AGENT_UNREACHABLE, SK_LOG_ERROR, &err);
}

int
agent_session_run(agent_session *s, atomic_int *stop, sk_err *err)
{
	int64_t backoff = 100, refused_backoff = 100;
	bool was_connected = false, accepted;

	s->stop = stop;
	while (!atomic_load(stop)) {
		uint8_t nonce[SK_NONCE_LEN];
		uint8_t *sealed = NULL;
		size_t slen = 0;
		nng_msg *msg = NULL;
		bool wait;
		int rv;

		if (build_request(s, nonce, &sealed, &slen, err) != SK_OK) {
			sk_log_err(SK_LOG_ERROR, err);
			sk_sleep_ms(1000);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		wait = s->nout == 0;
		pthread_mutex_unlock(&s->mu);
		rv = nng_msg_alloc(&msg, 0);
		if (rv == 0)
			rv = nng_msg_append(msg, sealed, slen);
		free(sealed);
		if (rv != 0) {
			nng_msg_free(msg);
			sk_error("build request: %s", nng_strerror(rv));
			sk_sleep_ms(1000);
			continue;
		}
		nng_aio_set_msg(s->aio, msg);
		nng_aio_set_timeout(s->aio, REPLY_GRACE_MS);
		nng_send_aio(s->sock, s->aio);
		nng_aio_wait(s->aio);
		if ((rv = nng_aio_result(s->aio)) != 0) {
			/* No connection for REPLY_GRACE_MS: a dial may be
			 * stuck behind lost SYNs; start it anew. Not when one
			 * has just come up (the request raced it). */
			nng_msg_free(nng_aio_get_msg(s->aio));
			sk_debug("send to coordinator: %s", nng_strerror(rv));
			if (atomic_load(&s->pipes) == 0) {
				complain_unreachable(s);
				if (redial(s, err) != SK_OK)
					return err->code;
			}
			sk_sleep_ms(backoff);
			backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
			continue;
		}
		nng_aio_set_timeout(s->aio, s->cfg->poll_ms + REPLY_GRACE_MS);
		atomic_store(&s->waiting, wait ? 1 : 0);
		nng_recv_aio(s->sock, s->aio);
		/* A report queued between the check above and here would not
		 * cancel the wait; re-check once the wait is armed. */
		if (wait) {
			pthread_mutex_lock(&s->mu);
			if (s->nout > 0)
				nng_aio_cancel(s->aio);
			pthread_mutex_unlock(&s->mu);
		}
		nng_aio_wait(s->aio);
		atomic_store(&s->waiting, 0);
		rv = nng_aio_result(s->aio);
		if (rv == NNG_ECANCELED)
			continue;
		if (rv != 0) {
			if (was_connected)
				sk_warn("no answer from coordinator %s: %s; dropping "
					"the connection and dialing again",
				    s->cfg->coordinator, nng_strerror(rv));
			was_connected = false;
			if (redial(s, err) != SK_OK)
				return err->code;
			sk_sleep_ms(backoff);
			backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
			continue;
		}
		if (!was_connected)
			sk_info("connected to coordinator %s", s->cfg->coordinator);
		was_connected = true;
		backoff = 100;
		msg = nng_aio_get_msg(s->aio);
		accepted =
		    handle_control(s, nng_msg_body(msg), nng_msg_len(msg), nonce);
		nng_msg_free(msg);
		if (accepted)
			agent_complain_over(s);
		if (!accepted) {
			/* Whoever answers with refused messages must not make the
			 * agent spin or flood its log: back off up to 5 s. */
			sk_sleep_ms(refused_backoff);
			refused_backoff =
			    refused_backoff * 2 > 5000 ? 5000 : refused_backoff * 2;
		} else {
			refused_backoff = 100;
		}
	}
	sk_info("stopping: waiting for running plans to reach a safe point");
	agent_runs_join(s);
	agent_samples_join(s); /* sampling */
	return SK_OK;
}
