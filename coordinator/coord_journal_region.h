/* coord_journal_region: a region's journal record between its protobuf
 * form and coord_region_record. Internal to the journal: only
 * coord_journal.c includes it. */
#ifndef COORD_JOURNAL_REGION_H
#define COORD_JOURNAL_REGION_H

#include <stdint.h>

#include "coord_journal.h"
#include "skein.pb-c.h"

/* enum coord_region_state as the journal's RegionRunState. */
Skein__V1__RegionRunState journal_state_to_pb(int state);

/* rec from a RegionRun record written at at_ms; SK_EDECODE when a name
 * does not fit (an unknown state reads as pending). */
int journal_region_from_pb(
    coord_region_record *rec, const Skein__V1__RegionRun *pb, int64_t at_ms);

/* rec from the RegionView of a journal written before RegionRun, read
 * through the wire codec (its checks apply); fails as that decode does. */
int journal_legacy_region(coord_region_record *rec, const Skein__V1__RegionView *pb);

#endif
