/* agent_session: outbox of progress reports, the request/reply loop with
 * the coordinator, and verification of RUN commands. One session thread
 * talks; one thread per running plan applies it. */
#include "agent_session.h"

#include <errno.h>
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_exec.h"
#include "agent_redact.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_log.h"
#include "sk_plan.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_wire.h"

#define OUTBOX_MAX 100000
#define REPORTS_PER_MESSAGE 256
#define REPLY_GRACE_MS 5000
#define RECV_MAX (SK_ENVELOPE_MAX + 64 * 1024)

enum run_state { RUN_RUNNING, RUN_DONE };

typedef struct run_entry {
	char rollout_id[SK_ID_MAX];
	int state;
	sk_report final; /* PLAN_SUCCEEDED, PLAN_FAILED or PLAN_REFUSED */
	sk_plan *plan;
	int mode;       /* enum sk_mode, from the RUN command */
	bool no_backup; /* rollback: --no-backup, from the RUN command */
	pthread_t thread;
	bool joinable;
	struct agent_session *session;
} run_entry;

struct agent_session {
	const sk_agent_config *cfg;
	sk_seckey *key;
	sk_keyring coordinator;
	sk_keyring release;
	nng_socket sock;
	bool sock_open;
	nng_aio *aio;
	uint64_t boot_id;
	char *hw_path;
	uint64_t hw; /* highest control seq accepted */
	atomic_int *stop;
	atomic_int waiting; /* a long poll is in flight */

	pthread_mutex_t mu; /* guards everything below */
	sk_report *outbox;
	size_t nout;
	size_t outcap;
	uint64_t next_seq;
	bool outbox_full_logged;
	run_entry **runs;
	size_t nruns;
	size_t runcap;
};

/* ---- outbox ------------------------------------------------------------- */

/* Queue a report; thread-safe. The report is numbered here. */
static void
enqueue(agent_session *s, const sk_report *r)
{
	bool final = r->event == SK_EV_PLAN_SUCCEEDED ||
	    r->event == SK_EV_PLAN_FAILED || r->event == SK_EV_PLAN_REFUSED;

	pthread_mutex_lock(&s->mu);
	if (s->nout >= OUTBOX_MAX && !final) {
		/* Progress is droppable; outcomes are not. The ledger keeps
		 * the truth either way. */
		if (!s->outbox_full_logged)
			sk_warn("report queue full (%d): dropping progress reports "
				"until the coordinator is reachable",
			    OUTBOX_MAX);
		s->outbox_full_logged = true;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (s->nout == s->outcap) {
		size_t cap = s->outcap ? s->outcap * 2 : 64;
		sk_report *n = realloc(s->outbox, cap * sizeof(*n));

		if (n == NULL) {
			pthread_mutex_unlock(&s->mu);
			sk_error("queue report: out of memory");
			return;
		}
		s->outbox = n;
		s->outcap = cap;
	}
	s->outbox[s->nout] = *r;
	/* The outbox is the way out of the region: what may quote row
	 * values stays behind (the ledger has it whole). */
	agent_redact_report(&s->outbox[s->nout], s->cfg->region);
	s->outbox[s->nout].seq = ++s->next_seq;
	if (s->outbox[s->nout].at_ms == 0)
		s->outbox[s->nout].at_ms = sk_now_ms();
	s->nout++;
	pthread_mutex_unlock(&s->mu);
	if (atomic_load(&s->waiting))
		nng_aio_cancel(s->aio);
}

static void
drop_acked(agent_session *s, uint64_t acked)
{
	size_t k = 0;

	pthread_mutex_lock(&s->mu);
	while (k < s->nout && s->outbox[k].seq <= acked)
		k++;
	if (k == 0) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	memmove(s->outbox, s->outbox + k, (s->nout - k) * sizeof(*s->outbox));
	s->nout -= k;
	if (k > 0)
		s->outbox_full_logged = false;
	pthread_mutex_unlock(&s->mu);
}

static void
exec_report(void *arg, const sk_report *r)
{
	enqueue(arg, r);
}

/* ---- plan runs ---------------------------------------------------------- */

static run_entry *
find_run(agent_session *s, const char *rollout_id)
{
	for (size_t i = 0; i < s->nruns; i++)
		if (strcmp(s->runs[i]->rollout_id, rollout_id) == 0)
			return s->runs[i];
	return NULL;
}

static run_entry *
add_run(agent_session *s, const char *rollout_id)
{
	run_entry *e;

	if (s->nruns == s->runcap) {
		size_t cap = s->runcap ? s->runcap * 2 : 8;
		run_entry **n = realloc(s->runs, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		s->runs = n;
		s->runcap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->rollout_id, sizeof(e->rollout_id), "%s", rollout_id);
	e->session = s;
	s->runs[s->nruns++] = e;
	return e;
}

static void
final_report(sk_report *r, int event, const char *rollout_id,
    const sk_plan *plan, int64_t duration_ms, const sk_err *err)
{
	memset(r, 0, sizeof(*r));
	r->event = event;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "%s", rollout_id);
	if (plan != NULL)
		snprintf(r->plan_id, sizeof(r->plan_id), "%s", plan->id);
	r->duration_ms = duration_ms;
	if (err != NULL)
		r->error = *err;
}

static void *
run_thread(void *arg)
{
	run_entry *e = arg;
	agent_session *s = e->session;
	agent_exec_opts opts;
	int64_t t0 = sk_mono_ms();
	sk_err err;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.region = s->cfg->region;
	opts.rollout_id = e->rollout_id;
	opts.databases = s->cfg->databases;
	opts.ndatabases = s->cfg->ndatabases;
	opts.parallel = s->cfg->parallel;
	opts.report = exec_report;
	opts.report_arg = s;
	opts.stop = s->stop;
	opts.mode = e->mode;
	opts.no_backup = e->no_backup;
	opts.backup_dir = s->cfg->backup_dir;
	opts.pg_dump = s->cfg->pg_dump;
	opts.pg_restore = s->cfg->pg_restore;
	sk_err_clear(&err);
	rc = agent_exec_run(e->plan, &opts, &err);
	if (atomic_load(s->stop)) {
		/* Interrupted by shutdown: the next start runs it again from
		 * the ledger, so report nothing final now. */
		sk_info("rollout %s interrupted by shutdown", e->rollout_id);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	final_report(&e->final, rc == SK_OK ? SK_EV_PLAN_SUCCEEDED : SK_EV_PLAN_FAILED,
	    e->rollout_id, e->plan, sk_mono_ms() - t0, rc == SK_OK ? NULL : &err);
	e->state = RUN_DONE;
	pthread_mutex_unlock(&s->mu);
	if (rc == SK_OK)
		sk_info("rollout %s: plan %s done (%s) in %zu databases", e->rollout_id,
		    e->plan->name, sk_mode_name(e->mode), s->cfg->ndatabases);
	else
		sk_log_err(SK_LOG_ERROR, &err);
	enqueue(s, &e->final);
	return NULL;
}

static bool
outbox_has_final(agent_session *s, const char *rollout_id)
{
	for (size_t i = 0; i < s->nout; i++)
		if (strcmp(s->outbox[i].rollout_id, rollout_id) == 0 &&
		    (s->outbox[i].event == SK_EV_PLAN_SUCCEEDED ||
			s->outbox[i].event == SK_EV_PLAN_FAILED ||
			s->outbox[i].event == SK_EV_PLAN_REFUSED))
			return true;
	return false;
}

/* Verify a signed plan for this region. On success *out owns the plan. */
static int
verify_plan(agent_session *s, const sk_command *cmd, sk_plan **out, sk_err *err)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	const sk_pubkey *signer = NULL;
	sk_plan *plan = NULL;
	int64_t now = sk_now_ms() / 1000;
	char list[256] = "";
	size_t off = 0;
	int rc;

	*out = NULL;
	rc = sk_envelope_open(&payload, &plen, &signer, cmd->signed_plan,
	    cmd->signed_plan_len, SK_KIND_PLAN, &s->release, err);
	if (rc != SK_OK)
		return sk_err_wrap(err, "verify plan of rollout %s in %s",
		    cmd->rollout_id, s->cfg->region);
	rc = sk_plan_decode(payload, plen, &plan, err);
	free(payload);
	if (rc != SK_OK)
		return sk_err_wrap(err, "verify plan of rollout %s in %s",
		    cmd->rollout_id, s->cfg->region);
	if (plan->expires_unix <= now) {
		rc = sk_err_set(err, SK_EEXPIRED,
		    "verify plan %s (%s) in %s: expired %lld s ago; sign a new plan",
		    plan->name, plan->id, s->cfg->region,
		    (long long)(now - plan->expires_unix));
		goto out;
	}
	if (!sk_plan_addresses(plan, s->cfg->region)) {
		for (size_t i = 0; i < plan->nregions && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", i ? ", " : "", plan->regions[i]);
		rc = sk_err_set(err, SK_EREFUSED,
		    "verify plan %s (%s) in %s: the plan addresses %s, not this region",
		    plan->name, plan->id, s->cfg->region, list);
		goto out;
	}
	*out = plan;
	plan = NULL;
	sk_debug("plan %s verified: signed by %s", (*out)->id, signer->name);
out:
	sk_plan_destroy(plan);
	return rc;
}

static void
handle_run(agent_session *s, const sk_command *cmd)
{
	run_entry *e;
	sk_plan *plan = NULL;
	sk_report r;
	sk_err err;

	pthread_mutex_lock(&s->mu);
	e = find_run(s, cmd->rollout_id);
	if (e != NULL) {
		bool resend =
		    e->state == RUN_DONE && !outbox_has_final(s, e->rollout_id);

		pthread_mutex_unlock(&s->mu);
		if (resend)
			enqueue(s, &e->final);
		return;
	}
	pthread_mutex_unlock(&s->mu);

	if (verify_plan(s, cmd, &plan, &err) != SK_OK) {
		sk_log_err(SK_LOG_WARN, &err);
		final_report(&r, SK_EV_PLAN_REFUSED, cmd->rollout_id, NULL, 0, &err);
		pthread_mutex_lock(&s->mu);
		e = add_run(s, cmd->rollout_id);
		if (e != NULL) {
			e->state = RUN_DONE;
			e->final = r;
		}
		pthread_mutex_unlock(&s->mu);
		enqueue(s, &r);
		return;
	}
	pthread_mutex_lock(&s->mu);
	e = add_run(s, cmd->rollout_id);
	if (e == NULL) {
		pthread_mutex_unlock(&s->mu);
		sk_plan_destroy(plan);
		sk_error("run rollout %s: out of memory", cmd->rollout_id);
		return;
	}
	e->plan = plan;
	e->mode = cmd->mode;
	e->no_backup = cmd->no_backup;
	e->state = RUN_RUNNING;
	pthread_mutex_unlock(&s->mu);
	sk_info("rollout %s: running plan %s (%s, %s%s), %zu steps on %zu "
		"databases",
	    cmd->rollout_id, plan->name, plan->id, sk_mode_name(cmd->mode),
	    cmd->no_backup ? " --no-backup" : "", plan->nsteps, s->cfg->ndatabases);
	final_report(&r, SK_EV_PLAN_ACCEPTED, cmd->rollout_id, plan, 0, NULL);
	enqueue(s, &r);
	if (pthread_create(&e->thread, NULL, run_thread, e) != 0) {
		sk_err_set(&err, SK_ENOMEM, "run rollout %s in %s: cannot start a thread",
		    cmd->rollout_id, s->cfg->region);
		pthread_mutex_lock(&s->mu);
		e->state = RUN_DONE;
		final_report(&e->final, SK_EV_PLAN_FAILED, cmd->rollout_id,
		    plan, 0, &err);
		r = e->final;
		pthread_mutex_unlock(&s->mu);
		enqueue(s, &r);
		return;
	}
	e->joinable = true;
}

/* ---- control messages --------------------------------------------------- */

static int
save_hw(agent_session *s, sk_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", s->hw);

	return sk_file_write_atomic(s->hw_path, buf, (size_t)n, 0600, err);
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

	memset(&c, 0, sizeof(c));
	if (sk_envelope_open(&payload, &plen, NULL, buf, len, SK_KIND_CONTROL,
		&s->coordinator, &err) != SK_OK) {
		sk_warn("refuse control message (%zu bytes): %s", len, err.msg);
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
	s->hw = c.seq;
	if (c.ncommands > 0 && save_hw(s, &err) != SK_OK) {
		/* Without a durable mark a replay after restart could pass; do
		 * not act on commands we cannot protect. */
		sk_log_err(SK_LOG_ERROR, &err);
		goto out;
	}
	drop_acked(s, c.acked_report_seq);
	for (size_t i = 0; i < c.ncommands; i++) {
		if (c.commands[i].kind == SK_CMD_RUN_PLAN)
			handle_run(s, &c.commands[i]);
		else
			sk_warn("ignore unknown command kind %d", c.commands[i].kind);
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
	if ((rv = nng_req0_open(&s->sock)) != 0) {
		rc = sk_err_set(err, SK_ENET, "open socket: %s", nng_strerror(rv));
		goto fail;
	}
	s->sock_open = true;
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, RECV_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME,
		 cfg->poll_ms + REPLY_GRACE_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 2000)) != 0 ||
	    (rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
		rc = sk_err_set(
		    err, SK_ENET, "configure socket: %s", nng_strerror(rv));
		goto fail;
	}
	/* Non-blocking dial: the coordinator may come up later; nng keeps
	 * redialing with backoff. Over TLS it checks the coordinator's
	 * certificate against tls.ca and shows ours. */
	if ((rc = sk_transport_dial(s->sock, cfg->coordinator, &cfg->tls,
		 NNG_FLAG_NONBLOCK, err)) != SK_OK) {
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
	if (s->sock_open)
		nng_close(s->sock);
	for (size_t i = 0; i < s->nruns; i++) {
		if (s->runs[i]->joinable)
			pthread_join(s->runs[i]->thread, NULL);
		sk_plan_destroy(s->runs[i]->plan);
		free(s->runs[i]);
	}
	free(s->runs);
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
	char(*running)[SK_NAME_MAX] = NULL;
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
	running = calloc(s->nruns + 1, sizeof(*running));
	for (size_t i = 0; running != NULL && i < s->nruns; i++)
		if (s->runs[i]->state == RUN_RUNNING)
			snprintf(running[m.nrunning++], SK_NAME_MAX, "%s",
			    s->runs[i]->rollout_id);
	pthread_mutex_unlock(&s->mu);
	m.running = running;
	m.wait = m.nreports == 0;
	m.hold_ms = (uint32_t)s->cfg->poll_ms;

	if ((rc = sk_agent_msg_encode(&m, &payload, &plen, err)) == SK_OK)
		rc = sk_envelope_seal(
		    sealed, slen, SK_KIND_AGENT, payload, plen, s->key, err);
	free(payload);
	free(m.reports);
	free(dbs);
	free(running);
	return rc;
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
			nng_msg_free(nng_aio_get_msg(s->aio));
			sk_debug("send to coordinator: %s", nng_strerror(rv));
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
				sk_warn("no answer from coordinator %s: %s; retrying",
				    s->cfg->coordinator, nng_strerror(rv));
			was_connected = false;
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
	for (size_t i = 0; i < s->nruns; i++) {
		if (s->runs[i]->joinable) {
			pthread_join(s->runs[i]->thread, NULL);
			s->runs[i]->joinable = false;
		}
	}
	return SK_OK;
}
