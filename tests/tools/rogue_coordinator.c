/* rogue_coordinator: a test double for a compromised or broken coordinator.
 * It answers a real agent's polls with what a test asks for (a plan the
 * agent must refuse, a stale or replayed control message, garbage, a
 * message signed by the wrong key) and prints every report the agent sends
 * back, one per line: "report <event> <rollout> <database> <step> <code>
 * <sqlstate> <message>". It exits 0 after --reports final reports or 3 on
 * timeout. Only for tests: it has no journal and no phases.
 * sampling: --mode sample sends a SAMPLE of --phase N (round: the reply's
 * number) with every reply, prints each GATE_SAMPLE report as "sample
 * <round> <database> <item> <value|pass|fail> <code> <sqlstate>
 * <message>" and counts those as the final reports.
 * moves: --mode move-serve sends a MOVE_SERVE of --step ID with a TARGET
 * peer (region --target-region, key --target-pub) with every reply,
 * prints each agent message's serving_moves as "serving <rollout>/<step>"
 * and counts as final a listing of that move or a STEP_FAILED report. */
#include <getopt.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_log.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_wire.h"

enum mode {
	MODE_RUN,
	MODE_STALE,
	MODE_REPLAY,
	MODE_GARBAGE,
	MODE_WRONG_REGION,
	MODE_SAMPLE,    /* sampling */
	MODE_MOVE_SERVE /* moves */
};

typedef struct rogue {
	nng_socket sock;
	sk_seckey *key;
	sk_keyring agents;
	int mode;
	uint8_t *plan;
	size_t plan_len;
	char rollout[SK_ID_MAX];
	uint64_t seq;
	uint8_t *saved; /* a control message kept for replay */
	size_t saved_len;
	int replies;
	int finals;
	uint32_t phase;      /* sampling: MODE_SAMPLE's phase */
	sk_move_peer target; /* moves: MODE_MOVE_SERVE's peer */
} rogue;

static int
reply(rogue *r, nng_msg *req, const uint8_t *body, size_t len)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, 0) != 0)
		return -1;
	if (nng_msg_header_append(m, nng_msg_header(req), nng_msg_header_len(req)) != 0 ||
	    nng_msg_append(m, body, len) != 0 || nng_sendmsg(r->sock, m, 0) != 0) {
		nng_msg_free(m);
		return -1;
	}
	return 0;
}

static int
seal_control(rogue *r, const sk_agent_msg *am, uint64_t seq, bool with_run,
    const char *region, uint8_t **out, size_t *len)
{
	sk_control c;
	sk_command cmd;
	uint8_t *payload = NULL;
	size_t plen = 0;
	sk_err err;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&cmd, 0, sizeof(cmd));
	c.seq = seq;
	snprintf(c.region, sizeof(c.region), "%s", region);
	memcpy(c.nonce, am->nonce, SK_NONCE_LEN);
	c.boot_id = am->boot_id;
	c.acked_report_seq = am->nreports ? am->reports[am->nreports - 1].seq : 0;
	if (with_run) {
		cmd.kind = SK_CMD_RUN_PLAN;
		snprintf(cmd.rollout_id, sizeof(cmd.rollout_id), "%s", r->rollout);
		cmd.signed_plan = r->plan;
		cmd.signed_plan_len = r->plan_len;
		if (r->mode == MODE_SAMPLE) { /* sampling */
			cmd.kind = SK_CMD_SAMPLE;
			cmd.sample_phase = r->phase;
			cmd.sample_round = (uint64_t)r->replies;
		}
		if (r->mode == MODE_MOVE_SERVE) { /* moves */
			cmd.kind = SK_CMD_MOVE_SERVE;
			cmd.move_peers = &r->target;
			cmd.nmove_peers = 1;
		}
		c.commands = &cmd;
		c.ncommands = 1;
	}
	rc = sk_control_encode(&c, &payload, &plen, &err);
	if (rc == SK_OK)
		rc = sk_envelope_seal(
		    out, len, SK_KIND_CONTROL, payload, plen, r->key, &err);
	if (rc != SK_OK)
		fprintf(stderr, "rogue: %s\n", err.msg);
	free(payload);
	return rc;
}

/* Sequence numbers as a real coordinator makes them: from the clock, so
 * that they are above whatever an earlier run left as the agent's mark. */
static uint64_t
next_seq(rogue *r)
{
	uint64_t now = (uint64_t)sk_now_us();

	r->seq = now > r->seq ? now : r->seq + 1;
	return r->seq;
}

static void
print_reports(rogue *r, const sk_agent_msg *am)
{
	for (size_t i = 0; i < am->nreports; i++) {
		const sk_report *p = &am->reports[i];

		printf("report %s %s %s %s %s %s %s\n", sk_event_name(p->event),
		    p->rollout_id, p->database[0] ? p->database : "-",
		    p->step_id[0] ? p->step_id : "-",
		    p->error.code ? sk_code_name(p->error.code) : "-",
		    p->error.sqlstate[0] ? p->error.sqlstate : "-", p->error.msg);
		if (p->event == SK_EV_PLAN_REFUSED || p->event == SK_EV_PLAN_FAILED ||
		    p->event == SK_EV_PLAN_SUCCEEDED ||
		    (r->mode == MODE_MOVE_SERVE && p->event == SK_EV_STEP_FAILED))
			r->finals++;
		if (p->event == SK_EV_GATE_SAMPLE) { /* sampling */
			char v[64];

			if (p->has_health)
				snprintf(v, sizeof(v), "%g", p->health.value);
			else
				snprintf(v, sizeof(v), "%s",
				    p->check.passed ? "pass" : "fail");
			printf("sample %llu %s %s %s %s %s %s\n",
			    (unsigned long long)p->sample_round,
			    p->database[0] ? p->database : "-",
			    p->has_health    ? p->health.signal :
				p->has_check ? p->check.name :
					       "-",
			    v, p->error.code ? sk_code_name(p->error.code) : "-",
			    p->error.sqlstate[0] ? p->error.sqlstate : "-",
			    p->error.msg);
			r->finals++;
		}
	}
	for (size_t i = 0; r->mode == MODE_MOVE_SERVE && i < am->nserving_moves;
	     i++) { /* moves */
		char want[SK_MOVE_KEY_MAX];

		printf("serving %s\n", am->serving_moves[i]);
		snprintf(want, sizeof(want), "%s/%s", r->rollout, r->target.step_id);
		if (strcmp(am->serving_moves[i], want) == 0)
			r->finals++;
	}
	fflush(stdout);
}

static void
handle(rogue *r, nng_msg *req)
{
	uint8_t *payload = NULL, *out = NULL;
	size_t plen = 0, olen = 0;
	sk_agent_msg am;
	sk_err err;
	uint8_t junk[256];

	memset(&am, 0, sizeof(am));
	if (sk_envelope_open(&payload, &plen, NULL, nng_msg_body(req),
		nng_msg_len(req), SK_KIND_AGENT, &r->agents, &err) != SK_OK ||
	    sk_agent_msg_decode(payload, plen, &am, &err) != SK_OK) {
		fprintf(stderr, "rogue: bad agent message: %s\n", err.msg);
		free(payload);
		return;
	}
	print_reports(r, &am);
	r->replies++;
	switch (r->mode) {
	case MODE_RUN:
	case MODE_SAMPLE:     /* sampling: a SAMPLE instead of a RUN */
	case MODE_MOVE_SERVE: /* moves: a MOVE_SERVE instead */
		if (seal_control(r, &am, next_seq(r), true, am.region, &out, &olen) == SK_OK)
			reply(r, req, out, olen);
		break;
	case MODE_WRONG_REGION:
		if (seal_control(r, &am, next_seq(r), true, "elsewhere", &out,
			&olen) == SK_OK)
			reply(r, req, out, olen);
		break;
	case MODE_STALE:
		/* First a fresh, empty message to raise the agent's mark, then
		 * a RUN with an older sequence number. */
		if (r->replies == 1)
			r->seq = next_seq(r);
		if (seal_control(r, &am, r->replies == 1 ? r->seq : r->seq - 1,
			r->replies > 1, am.region, &out, &olen) == SK_OK)
			reply(r, req, out, olen);
		break;
	case MODE_REPLAY:
		/* First answer carries a RUN; later answers replay it byte
		 * for byte. */
		if (r->saved == NULL) {
			if (seal_control(r, &am, next_seq(r), true, am.region,
				&out, &olen) == SK_OK) {
				r->saved = malloc(olen);
				memcpy(r->saved, out, olen);
				r->saved_len = olen;
				reply(r, req, out, olen);
			}
		} else {
			reply(r, req, r->saved, r->saved_len);
		}
		break;
	case MODE_GARBAGE:
		randombytes_buf(junk, sizeof(junk));
		reply(r, req, junk, (size_t)(r->replies % 2 ? sizeof(junk) : 3));
		break;
	}
	free(out);
	free(payload);
	sk_agent_msg_fini(&am);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: rogue_coordinator --listen URL --key COORD.key --agent-pub PUB\n"
	    "    [--plan SIGNED --rollout ID] [--mode run|stale|replay|garbage|wrong-region]\n"
	    "    [--mode sample --phase N]\n"
	    "    [--mode move-serve --step ID --target-region R --target-pub PUB]\n"
	    "    [--finals N] [--seconds S] [--tls-ca CA --tls-cert CRT --tls-key KEY]\n"
	    "A tls+tcp:// URL needs the three TLS files; agents must show a\n"
	    "certificate of the CA.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "agent-pub", required_argument, NULL, 'a' },
		{ "plan", required_argument, NULL, 'p' },
		{ "rollout", required_argument, NULL, 'r' },
		{ "mode", required_argument, NULL, 'm' },
		{ "finals", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 's' },
		{ "tls-ca", required_argument, NULL, 'A' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'Y' },
		{ "phase", required_argument, NULL, 'P' }, /* sampling */
		{ "step", required_argument, NULL, 'S' },  /* moves */
		{ "target-region", required_argument, NULL, 'R' },
		{ "target-pub", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *key = NULL, *agent = NULL, *plan = NULL;
	const char *target_pub = NULL; /* moves */
	sk_pubkey tk;
	sk_tls_config tls = { 0 };
	rogue r;
	int finals = 1, seconds = 20, c, rv;
	int64_t deadline;
	sk_err err;
	char *buf = NULL;

	memset(&r, 0, sizeof(r));
	snprintf(r.rollout, sizeof(r.rollout), "r-rogue");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'a':
			agent = optarg;
			break;
		case 'p':
			plan = optarg;
			break;
		case 'r':
			snprintf(r.rollout, sizeof(r.rollout), "%s", optarg);
			break;
		case 'f':
			finals = atoi(optarg);
			break;
		case 's':
			seconds = atoi(optarg);
			break;
		case 'A':
			tls.ca = optarg;
			break;
		case 'C':
			tls.cert = optarg;
			break;
		case 'Y':
			tls.key = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "run") == 0)
				r.mode = MODE_RUN;
			else if (strcmp(optarg, "stale") == 0)
				r.mode = MODE_STALE;
			else if (strcmp(optarg, "replay") == 0)
				r.mode = MODE_REPLAY;
			else if (strcmp(optarg, "garbage") == 0)
				r.mode = MODE_GARBAGE;
			else if (strcmp(optarg, "wrong-region") == 0)
				r.mode = MODE_WRONG_REGION;
			else if (strcmp(optarg, "sample") == 0) /* sampling */
				r.mode = MODE_SAMPLE;
			else if (strcmp(optarg, "move-serve") == 0) /* moves */
				r.mode = MODE_MOVE_SERVE;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'P': /* sampling */
			r.phase = (uint32_t)atoi(optarg);
			break;
		case 'S': /* moves */
			snprintf(r.target.step_id, sizeof(r.target.step_id),
			    "%s", optarg);
			break;
		case 'R':
			snprintf(r.target.region, sizeof(r.target.region), "%s", optarg);
			break;
		case 'T':
			target_pub = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (listen == NULL || key == NULL || agent == NULL) {
		usage(stderr);
		return 2;
	}
	sk_log_init("rogue-coordinator", NULL);
	if (sk_crypto_init(&err) != SK_OK || sk_seckey_load(key, &r.key, &err) != SK_OK ||
	    sk_keyring_add_file(&r.agents, agent, &err) != SK_OK ||
	    (plan != NULL &&
		sk_file_read(plan, SK_ENVELOPE_MAX, &buf, &r.plan_len, &err) != SK_OK)) {
		fprintf(stderr, "rogue: %s\n", err.msg);
		return 1;
	}
	r.plan = (uint8_t *)buf;
	if (target_pub != NULL) { /* moves */
		if (sk_pubkey_load(target_pub, &tk, &err) != SK_OK) {
			fprintf(stderr, "rogue: %s\n", err.msg);
			return 1;
		}
		r.target.role = SK_MOVE_ROLE_TARGET;
		memcpy(r.target.agent_key, tk.pk, SK_MOVE_KEY_LEN);
	}
	/* Never outlive --seconds by much, whatever nng does: a reply to an
	 * agent that redialled meanwhile, or nng_close waiting on such a
	 * send, hung this tool (and fault_agent_refusals with it) now and
	 * then. SIGALRM's default ends the process; the test then fails on
	 * what it did not see, instead of timing out. */
	alarm((unsigned)seconds + 10);
	if ((rv = nng_rep0_open_raw(&r.sock)) != 0 ||
	    (rv = nng_socket_set_ms(r.sock, NNG_OPT_RECVTIMEO, 200)) != 0 ||
	    (rv = nng_socket_set_ms(r.sock, NNG_OPT_SENDTIMEO, 1000)) != 0) {
		fprintf(stderr, "rogue: listen %s: %s\n", listen, nng_strerror(rv));
		return 1;
	}
	if (sk_transport_listen(r.sock, listen, &tls, true, &err) != SK_OK) {
		fprintf(stderr, "rogue: %s\n", err.msg);
		return 1;
	}
	deadline = sk_mono_ms() + (int64_t)seconds * 1000;
	while (sk_mono_ms() < deadline && r.finals < finals) {
		nng_msg *m;

		if (nng_recvmsg(r.sock, &m, 0) != 0)
			continue;
		handle(&r, m);
		nng_msg_free(m);
	}
	printf("replies %d finals %d\n", r.replies, r.finals);
	nng_close(r.sock);
	sk_seckey_destroy(r.key);
	sk_keyring_fini(&r.agents);
	free(buf);
	free(r.saved);
	return r.finals >= finals ? 0 : 3;
}
