/* coord_journal_gate: a gate's and an approval's journal records between
 * their protobuf form and coord_journal.h's structs. Internal to the
 * journal: only coord_journal.c includes it. */
#ifndef COORD_JOURNAL_GATE_H
#define COORD_JOURNAL_GATE_H

#include "coord_journal.h"
#include "skein.pb-c.h"

/* Storage for a gate record's protobuf form; it borrows the record. */
typedef struct journal_gate_store {
	Skein__V1__GateRecord gate;
	Skein__V1__GateView__Judged judged;
	Skein__V1__ApprovalView approval;
} journal_gate_store;

/* Set r's oneof to rec (GateRecord), held in s. */
void journal_gate_to_pb(Skein__V1__JournalRecord *r, journal_gate_store *s,
    const coord_gate_record *rec);

/* Set r's oneof to rec (ApprovalView), held in s. */
void journal_approval_to_pb(Skein__V1__JournalRecord *r, journal_gate_store *s,
    const coord_approval_record *rec);

/* Hand r (a gate or approval record) to v's gate or approval. */
void journal_gate_dispatch(const Skein__V1__JournalRecord *r,
    const coord_journal_visitor *v, void *arg);

#endif
