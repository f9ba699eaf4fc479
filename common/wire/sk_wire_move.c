/* sk_wire_move: what a tenant move adds to the wire (sk_wire_int.h): a
 * report's figures (Report.move, a MoveFigures) with the two agents'
 * signed sums; a command's move peers (Command.move_peers) and an agent
 * message's serving_moves. A leaf: sk_wire.c calls in, nothing here
 * calls back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_key.h"

#include "sk_wire.h"
#include "sk_wire_int.h"
#include "skein.pb-c.h"

void
wire_move_report_to_pb(report_store *s, const sk_report *r)
{
	Skein__V1__MoveFigures *f = &s->move;
	Skein__V1__MoveSignedSums **slot[SK_MOVE_SUMS_N] = {
		&f->source_sums,
		&f->target_sums,
		&f->source_freeze_sums,
		&f->target_freeze_sums,
	};
	const sk_move_report *m = &r->move;

	if (!r->has_move)
		return;
	skein__v1__move_figures__init(f);
	f->phase = (char *)m->phase;
	f->source_region = (char *)m->source_region;
	f->target_region = (char *)m->target_region;
	f->table = (char *)m->table;
	f->rows = m->rows;
	f->rows_total = m->rows_total;
	f->bytes = m->bytes;
	f->bytes_total = m->bytes_total;
	f->rate = m->rate;
	f->eta_ms = m->eta_ms;
	f->lag_ms = m->lag_ms;
	f->changes = m->changes;
	f->freeze_ms = m->freeze_ms;
	f->copy_ms = m->copy_ms;
	f->catchup_ms = m->catchup_ms;
	f->verdict = (char *)m->verdict;
	f->est_copy_ms = m->est_copy_ms;
	f->est_freeze_ms = m->est_freeze_ms;
	f->est_rollback_ms = m->est_rollback_ms;
	f->aborted = m->aborted;
	f->committed = m->committed;
	for (int i = 0; i < SK_MOVE_SUMS_N; i++) {
		Skein__V1__MoveSignedSums *ss = &s->move_sums[i];

		if (m->sums[i].len == 0)
			continue;
		skein__v1__move_signed_sums__init(ss);
		ss->sums.data = (uint8_t *)m->sums[i].sums;
		ss->sums.len = m->sums[i].len;
		ss->agent_key.data = (uint8_t *)m->sums[i].key;
		ss->agent_key.len = sizeof(m->sums[i].key);
		ss->signature.data = (uint8_t *)m->sums[i].sig;
		ss->signature.len = sizeof(m->sums[i].sig);
		*slot[i] = ss;
	}
	s->rep.move = f;
}

static int
signed_from_pb(sk_move_signed *d, const Skein__V1__MoveSignedSums *pb, sk_err *err)
{
	if (pb == NULL)
		return SK_OK;
	if (pb->agent_key.len != sizeof(d->key) || pb->signature.len != sizeof(d->sig))
		return sk_err_set(err, SK_EDECODE,
		    "decode report: move sums signed with a key of %zu bytes and a "
		    "signature of %zu (want %zu and %zu)",
		    pb->agent_key.len, pb->signature.len, sizeof(d->key),
		    sizeof(d->sig));
	if (pb->sums.len == 0 || pb->sums.len > sizeof(d->sums))
		return SK_OK; /* kept only in the target's skein.moves */
	memcpy(d->sums, pb->sums.data, pb->sums.len);
	memcpy(d->key, pb->agent_key.data, sizeof(d->key));
	memcpy(d->sig, pb->signature.data, sizeof(d->sig));
	d->len = pb->sums.len;
	return SK_OK;
}

int
wire_move_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err)
{
	const Skein__V1__MoveFigures *f = pb->move;
	const Skein__V1__MoveSignedSums *sums[SK_MOVE_SUMS_N];
	sk_move_report *m = &r->move;

	if (f == NULL)
		return SK_OK;
	r->has_move = true;
	wire_copy_text(m->phase, sizeof(m->phase), f->phase);
	if (wire_copy_id(m->source_region, sizeof(m->source_region),
		f->source_region, "move source region", err) != SK_OK ||
	    wire_copy_id(m->target_region, sizeof(m->target_region),
		f->target_region, "move target region", err) != SK_OK ||
	    wire_copy_id(m->table, sizeof(m->table), f->table, "move table", err) != SK_OK)
		return err->code;
	m->rows = f->rows;
	m->rows_total = f->rows_total;
	m->bytes = f->bytes;
	m->bytes_total = f->bytes_total;
	m->rate = f->rate;
	m->eta_ms = f->eta_ms;
	m->lag_ms = f->lag_ms;
	m->changes = f->changes;
	m->freeze_ms = f->freeze_ms;
	m->copy_ms = f->copy_ms;
	m->catchup_ms = f->catchup_ms;
	wire_copy_text(m->verdict, sizeof(m->verdict), f->verdict);
	m->est_copy_ms = f->est_copy_ms;
	m->est_freeze_ms = f->est_freeze_ms;
	m->est_rollback_ms = f->est_rollback_ms;
	m->aborted = f->aborted;
	m->committed = f->committed;
	sums[SK_MOVE_SUMS_SOURCE] = f->source_sums;
	sums[SK_MOVE_SUMS_TARGET] = f->target_sums;
	sums[SK_MOVE_SUMS_SOURCE_FREEZE] = f->source_freeze_sums;
	sums[SK_MOVE_SUMS_TARGET_FREEZE] = f->target_freeze_sums;
	for (int i = 0; i < SK_MOVE_SUMS_N; i++)
		if (signed_from_pb(&m->sums[i], sums[i], err) != SK_OK)
			return err->code;
	return SK_OK;
}

int
sk_move_sums_open(const sk_move_signed *s, sk_move_sums_view *out, sk_err *err)
{
	static const char domain[] = SK_MOVE_SUMS_DOMAIN;
	Skein__V1__MoveSums *ms;
	uint8_t *msg;
	sk_pubkey key;

	memset(out, 0, sizeof(*out));
	ms = skein__v1__move_sums__unpack(NULL, s->len, s->sums);
	if (ms == NULL)
		return sk_err_set(err, SK_EDECODE, "move sums: not a MoveSums message");
	if (ms->n_tables > SK_MOVE_TABLES_MAX) {
		skein__v1__move_sums__free_unpacked(ms, NULL);
		return sk_err_set(err, SK_EDECODE,
		    "move sums: %zu tables; the most is %d", ms->n_tables,
		    SK_MOVE_TABLES_MAX);
	}
	wire_copy_text(out->region, sizeof(out->region), ms->region);
	wire_copy_text(out->snapshot, sizeof(out->snapshot), ms->snapshot);
	out->delta = ms->delta;
	out->ntables = ms->n_tables;
	for (size_t i = 0; i < ms->n_tables; i++) {
		wire_copy_text(out->tables[i].table,
		    sizeof(out->tables[i].table), ms->tables[i]->table);
		out->tables[i].rows = ms->tables[i]->rows;
		out->tables[i].sum = ms->tables[i]->sum;
		out->tables[i].keys = ms->tables[i]->keys;
	}
	skein__v1__move_sums__free_unpacked(ms, NULL);

	sk_pubkey_set(&key, s->key, "move sums signer");
	sk_key_id_hex(key.id, out->key_id);
	msg = malloc(sizeof(domain) + s->len);
	if (msg == NULL)
		return sk_err_set(err, SK_ENOMEM, "move sums: out of memory");
	memcpy(msg, domain, sizeof(domain));
	memcpy(msg + sizeof(domain), s->sums, s->len);
	out->signature_ok =
	    sk_pubkey_verify(&key, msg, sizeof(domain) + s->len, s->sig) == SK_OK;
	free(msg);
	return SK_OK;
}

/* ---- move peers and serving_moves */

int
wire_move_command_to_pb(Skein__V1__Command *pc, move_peer_store *s,
    const sk_command *c, sk_err *err)
{
	size_t n = c->nmove_peers;

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return SK_OK;
	if (n > SK_MOVE_PEERS_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "encode control: %zu move peers in one command; the most is %d",
		    n, SK_MOVE_PEERS_MAX);
	s->peers = calloc(n, sizeof(*s->peers));
	s->peerp = calloc(n, sizeof(*s->peerp));
	if (s->peers == NULL || s->peerp == NULL) {
		wire_move_peer_store_fini(s);
		return sk_err_set(err, SK_ENOMEM, "encode control: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const sk_move_peer *p = &c->move_peers[i];
		Skein__V1__MovePeer *q = &s->peers[i];

		skein__v1__move_peer__init(q);
		q->step_id = (char *)p->step_id;
		q->role = (Skein__V1__MoveRole)p->role;
		q->back = p->back;
		q->region = (char *)p->region;
		q->address = (char *)p->address;
		q->agent_key.data = (uint8_t *)p->agent_key;
		q->agent_key.len = SK_MOVE_KEY_LEN;
		s->peerp[i] = q;
	}
	pc->move_peers = s->peerp;
	pc->n_move_peers = n;
	return SK_OK;
}

void
wire_move_peer_store_fini(move_peer_store *s)
{
	free(s->peers);
	free(s->peerp);
	s->peers = NULL;
	s->peerp = NULL;
}

/* A string that must fit in cap (NULL reads as ""); the error names the
 * command and the peer's field (wire_copy_id's names neither). */
static int
copy_str(char *dst, size_t cap, const char *src, const char *what, size_t cmd,
    sk_err *err)
{
	const char *s = src != NULL ? src : "";
	size_t n = strlen(s);

	if (n >= cap)
		return sk_err_set(err, SK_EDECODE,
		    "decode control: command %zu has a move peer %s of %zu "
		    "bytes; the most is %zu",
		    cmd, what, n, cap - 1);
	memcpy(dst, s, n + 1);
	return SK_OK;
}

int
wire_move_command_from_pb(
    sk_command *c, const Skein__V1__Command *pc, size_t i, sk_err *err)
{
	size_t n = pc->n_move_peers;

	if (n == 0)
		return SK_OK;
	if (n > SK_MOVE_PEERS_MAX)
		return sk_err_set(err, SK_EDECODE,
		    "decode control: command %zu has %zu move peers; the most "
		    "is %d",
		    i, n, SK_MOVE_PEERS_MAX);
	c->move_peers = calloc(n, sizeof(*c->move_peers));
	if (c->move_peers == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode control: out of memory");
	c->nmove_peers = n;
	for (size_t k = 0; k < n; k++) {
		const Skein__V1__MovePeer *q = pc->move_peers[k];
		sk_move_peer *p = &c->move_peers[k];

		if (q->role != SKEIN__V1__MOVE_ROLE__MOVE_ROLE_SOURCE &&
		    q->role != SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET)
			return sk_err_set(err, SK_EDECODE,
			    "decode control: command %zu has a move peer of "
			    "unknown role %d",
			    i, (int)q->role);
		p->role = (int)q->role;
		p->back = q->back;
		if (q->agent_key.len != SK_MOVE_KEY_LEN)
			return sk_err_set(err, SK_EDECODE,
			    "decode control: command %zu has a move peer key of "
			    "%zu bytes, want %d",
			    i, q->agent_key.len, SK_MOVE_KEY_LEN);
		memcpy(p->agent_key, q->agent_key.data, SK_MOVE_KEY_LEN);
		if (copy_str(p->step_id, sizeof(p->step_id), q->step_id,
			"step id", i, err) != SK_OK ||
		    copy_str(p->region, sizeof(p->region), q->region, "region",
			i, err) != SK_OK ||
		    copy_str(p->address, sizeof(p->address), q->address,
			"address", i, err) != SK_OK)
			return err->code;
		if (p->step_id[0] == '\0' || p->region[0] == '\0')
			return sk_err_set(err, SK_EDECODE,
			    "decode control: command %zu has a move peer without "
			    "a step id or region",
			    i);
	}
	return SK_OK;
}

int
wire_move_serving_from_pb(
    sk_agent_msg *out, const Skein__V1__AgentMessage *pb, sk_err *err)
{
	size_t n = pb->n_serving_moves;

	if (n == 0)
		return SK_OK;
	if (n > WIRE_MAX_ITEMS)
		return sk_err_set(err, SK_EDECODE,
		    "decode agent message: %zu serving moves", n);
	out->serving_moves = calloc(n, sizeof(*out->serving_moves));
	if (out->serving_moves == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode agent message: out of memory");
	out->nserving_moves = n;
	for (size_t i = 0; i < n; i++) {
		const char *s =
		    pb->serving_moves[i] != NULL ? pb->serving_moves[i] : "";
		size_t len = strlen(s);

		if (len >= SK_MOVE_KEY_MAX)
			return sk_err_set(err, SK_EDECODE,
			    "decode agent message: a serving move of %zu bytes; "
			    "the most is %d",
			    len, SK_MOVE_KEY_MAX - 1);
		memcpy(out->serving_moves[i], s, len + 1);
	}
	return SK_OK;
}
