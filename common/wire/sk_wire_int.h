/* sk_wire_int: what sk_wire.c (agent and control messages),
 * sk_wire_cli.c (CLI messages and region reports) and sk_wire_operator.c
 * (operator requests, pause and tune) share: the copy helpers that refuse
 * or truncate at the edge, a report's and a tune's protobuf form.
 * Internal to the codec: nothing outside those files includes it, so
 * protobuf-c types go no further. */
#ifndef SK_WIRE_INT_H
#define SK_WIRE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_wire.h"
#include "skein.pb-c.h"

#define WIRE_MAX_ITEMS 4096

/* Storage for one report's protobuf form while it is being packed; the
 * protobuf structs borrow the report's strings. */
typedef struct report_store {
	Skein__V1__Report rep;
	Skein__V1__Error error;
	Skein__V1__CheckResult check;
	Skein__V1__Blocker blockers[SK_BLOCKERS_MAX];
	Skein__V1__Blocker *blockerp[SK_BLOCKERS_MAX];
	Skein__V1__Backup backup;
	Skein__V1__HealthSample health; /* sampling */
	Skein__V1__FlagBody flag;       /* flags */
	char *flag_tenant[1];
	Skein__V1__MoveFigures move; /* moves */
	Skein__V1__MoveSignedSums move_sums[SK_MOVE_SUMS_N];
} report_store;

/* sk_wire_copy.c (a leaf every codec file may call). Copy an identifier
 * (NULL reads as ""); SK_EDECODE naming what when it
 * does not fit in cap, rather than truncate it. */
int wire_copy_id(char *dst, size_t cap, const char *src, const char *what, sk_err *err);

/* Copy free text (NULL reads as ""), truncating to cap. */
void wire_copy_text(char *dst, size_t cap, const char *src);

/* Pack m into a new buffer *out (caller frees) of *len bytes. */
int wire_pack_msg(const ProtobufCMessage *m, uint8_t **out, size_t *len, sk_err *err);

/* An error to and from the wire; the protobuf form borrows e's strings. */
void wire_error_to_pb(Skein__V1__Error *pb, const sk_err *e);
void wire_error_from_pb(sk_err *e, const Skein__V1__Error *pb);

/* A report into s, which borrows r's strings. */
void wire_report_to_pb(report_store *s, const sk_report *r);

/* A report from the wire (see sk_wire.c for what is refused). */
int wire_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err);

/* A tune to the wire (pb borrows nothing), and from it: SK_EDECODE,
 * prefixed with what, for a negative batch or a rate that is negative or
 * not a finite number. */
void wire_tune_to_pb(Skein__V1__Tune *pb, const sk_tune *t);
int wire_tune_from_pb(
    sk_tune *t, const Skein__V1__Tune *pb, const char *what, sk_err *err);

/* Storage for the pause and tune requests of one CliRequest while it is
 * being packed. */
typedef struct opctl_request_store {
	Skein__V1__PauseRequest pause;
	char *regions[SK_OP_REGIONS_MAX]; /* stopline: --region */
	Skein__V1__TuneRequest tune_req;
	Skein__V1__Tune tune;
} opctl_request_store;

/* sk_wire_operator.c: the operator's word to a running rollout in a
 * CliRequest. to_pb sets pb's op for m->op SK_CLI_PAUSE, SK_CLI_RESUME or
 * SK_CLI_TUNE (pb borrows m's strings and s); from_pb reads one of those
 * ops into out (SK_EDECODE when it is empty or does not fit). */
void wire_opctl_request_to_pb(
    Skein__V1__CliRequest *pb, opctl_request_store *s, const sk_cli_request *m);
int wire_opctl_request_from_pb(
    sk_cli_request *out, const Skein__V1__CliRequest *pb, sk_err *err);

/* sk_wire_operator.c: a rollout view's pause and tune (pb borrows v's
 * strings and tune), and back (SK_EDECODE as wire_tune_from_pb, or for
 * an operator name that does not fit). */
void wire_view_opctl_to_pb(Skein__V1__RolloutView *pb, Skein__V1__Tune *tune,
    const sk_rollout_view *v);
int wire_view_opctl_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err);

/* sk_wire_request.c: SK_EDECODE "decode WHAT: unknown mode N" unless
 * mode is an enum sk_mode. */
int wire_mode_check(int mode, const char *what, sk_err *err);

/* ---- stopline (sk_wire_stopline.c) ---------------------------------------- */

/* Storage for an abort or stop request while it is being packed. */
typedef struct stopline_request_store {
	Skein__V1__AbortRequest abort;
	Skein__V1__StopRequest stop;
	char *regions[SK_OP_REGIONS_MAX];
	char *except[SK_LINE_EXCEPT_MAX];
} stopline_request_store;

/* An abort or stop into pb (borrowing m's strings and s), and back
 * (SK_EDECODE when empty, an unknown action, or an id that does not
 * fit). */
void wire_stopline_request_to_pb(Skein__V1__CliRequest *pb,
    stopline_request_store *s, const sk_cli_request *m);
int wire_stopline_request_from_pb(
    sk_cli_request *out, const Skein__V1__CliRequest *pb, sk_err *err);
/* A pause's --region list into out (SK_EDECODE beyond SK_OP_REGIONS_MAX). */
int wire_pause_regions_from_pb(
    sk_cli_request *out, const Skein__V1__PauseRequest *pb, sk_err *err);

/* Storage for a view's controls, region pauses and leftovers. */
typedef struct stopline_view_store {
	Skein__V1__ControlView *ctl;
	Skein__V1__ControlView **ctlp;
	char **ctl_regions;
	Skein__V1__RegionPauseView *rp;
	Skein__V1__RegionPauseView **rpp;
	Skein__V1__LeftView *left;
	Skein__V1__LeftView **leftp;
} stopline_view_store;

/* v's stopline parts into rv (borrowing v and s); SK_ENOMEM (no err set)
 * when s cannot be allocated; s must be finished either way. */
int wire_view_stopline_to_pb(stopline_view_store *s, Skein__V1__RolloutView *rv,
    const sk_rollout_view *v);
void wire_view_stopline_store_fini(stopline_view_store *s);
/* From the wire into v (which owns the arrays: wire_view_stopline_fini). */
int wire_view_stopline_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err);
void wire_view_stopline_fini(sk_rollout_view *v);

/* Storage for an answer's line view. */
typedef struct stopline_line_store {
	Skein__V1__LineView lv;
	char *except[SK_LINE_EXCEPT_MAX];
	char *paused[SK_LINE_PAUSED_MAX];
} stopline_line_store;

/* m's line (with has_line) into pb, and back. */
void wire_line_to_pb(stopline_line_store *s, Skein__V1__CliResponse *pb,
    const sk_cli_response *m);
int wire_line_from_pb(
    sk_cli_response *out, const Skein__V1__CliResponse *pb, sk_err *err);
/* sk_wire_agents.c: skein agents' answer (CliResponse.agents). */

/* Storage for an answer's agent views while it is packed; it borrows
 * the views' strings. wire_agents_store_fini frees it. */
typedef struct agents_store {
	Skein__V1__AgentView *v;
	Skein__V1__AgentView **p;
	char **running; /* SK_AGENT_VIEW_RUNNING_MAX per view */
} agents_store;

/* m's agents into pb (zero s first). SK_ENOMEM. */
int wire_agents_to_pb(agents_store *s, Skein__V1__CliResponse *pb,
    const sk_cli_response *m, sk_err *err) SK_WARN_UNUSED;
void wire_agents_store_fini(agents_store *s);
/* pb's agents into out (the caller frees them with the response). */
int wire_agents_from_pb(sk_cli_response *out, const Skein__V1__CliResponse *pb,
    sk_err *err) SK_WARN_UNUSED;

/* sk_wire_gate.c: the gates a rollout view carries (RolloutView 27-29)
 * and the approve request. */

/* Storage for one view's gates while it is being packed; it borrows the
 * view's strings. wire_view_gates_fini frees what to_pb allocated. */
typedef struct gate_view_store {
	Skein__V1__GateView gate;
	Skein__V1__GateView *gates;
	Skein__V1__GateView **gatep;
	Skein__V1__GateView__Judged *judged;
	Skein__V1__GateView__Judged **judgedp;
	char **names; /* approved_by pointers, per gate */
	Skein__V1__ApprovalView *approvals;
	Skein__V1__ApprovalView **approvalp;
} gate_view_store;

/* Point pb's gate, approvals and gates at v's (SK_ENOMEM). */
int wire_view_gates_to_pb(
    Skein__V1__RolloutView *pb, gate_view_store *s, const sk_rollout_view *v);
void wire_view_gates_fini(gate_view_store *s);

/* v's gate, approvals and gates from pb: SK_EDECODE for a name that does
 * not fit or too many items; SK_ENOMEM. */
int wire_view_gates_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err);

/* The approve request (SK_CLI_APPROVE) into pb, borrowing m and s. */
void wire_approve_to_pb(Skein__V1__CliRequest *pb, Skein__V1__ApproveRequest *s,
    const sk_cli_request *m);
int wire_approve_from_pb(
    sk_cli_request *out, const Skein__V1__CliRequest *pb, sk_err *err);

/* sk_wire_sample.c (sampling). A report's health sample, round and
 * phase into s (borrowing r's strings), and back: SK_EDECODE for a
 * signal name that is empty or over 31 bytes, or a value that is not a
 * finite number. A SAMPLE command's phase and round into pc (using sr,
 * borrowing nothing; other kinds leave pc alone), and back: SK_EDECODE
 * for a SAMPLE command i without them. */
void wire_sample_report_to_pb(report_store *s, const sk_report *r);
int wire_sample_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err);
void wire_sample_command_to_pb(
    Skein__V1__Command *pc, Skein__V1__SampleRequest *sr, const sk_command *c);
int wire_sample_command_from_pb(
    sk_command *c, const Skein__V1__Command *pc, size_t i, sk_err *err);
/* ---- flags (sk_wire_flag.c) */

/* A report's flip and flags_only to the wire, into s (borrowing r's
 * strings), and back: SK_EDECODE for a flag name or tenant that does
 * not fit. */
void wire_flag_report_to_pb(report_store *s, const sk_report *r);
int wire_flag_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err);

/* Storage for a view's flags-first regions while it is packed
 * (sk_wire_cli.c). */
typedef struct view_flags_store {
	Skein__V1__RegionView *regions;
	Skein__V1__RegionView **regionp;
	Skein__V1__Error *errors;
} view_flags_store;

/* v's flags_first into pb (s holds the protobuf; fini it after
 * packing); SK_ENOMEM. And back: SK_EDECODE for too many or a bad
 * region; v->flags_first owned by v. */
int wire_view_flags_to_pb(
    view_flags_store *s, Skein__V1__RolloutView *pb, const sk_rollout_view *v);
void wire_view_flags_store_fini(view_flags_store *s);
int wire_view_flags_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err);
/* ---- end flags */

/* ---- moves (sk_wire_move.c) */

/* A report's move figures to the wire, into s (borrowing r's strings
 * and bytes), and back: SK_EDECODE for a region or table name that does
 * not fit, or a signer's key or signature of the wrong size. */
void wire_move_report_to_pb(report_store *s, const sk_report *r);
int wire_move_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err);

/* Storage for one command's move peers while it is packed. */
typedef struct move_peer_store {
	Skein__V1__MovePeer *peers;
	Skein__V1__MovePeer **peerp;
} move_peer_store;

/* c's move peers into pc (borrowing c's strings and s; finish s after
 * packing, whatever this returns): SK_EINVAL for more than
 * SK_MOVE_PEERS_MAX, SK_ENOMEM. And back, for command i: c->move_peers
 * owned by c; SK_EDECODE for too many peers, an unknown role, a key that
 * is not SK_MOVE_KEY_LEN bytes, a string that does not fit, a peer
 * without a step id or region. */
int wire_move_command_to_pb(Skein__V1__Command *pc, move_peer_store *s,
    const sk_command *c, sk_err *err);
void wire_move_peer_store_fini(move_peer_store *s);
int wire_move_command_from_pb(
    sk_command *c, const Skein__V1__Command *pc, size_t i, sk_err *err);

/* An agent message's serving_moves from the wire into out (owned by
 * out): SK_EDECODE for too many or one over SK_MOVE_KEY_MAX - 1 bytes. */
int wire_move_serving_from_pb(
    sk_agent_msg *out, const Skein__V1__AgentMessage *pb, sk_err *err);
/* ---- end moves */

#endif
