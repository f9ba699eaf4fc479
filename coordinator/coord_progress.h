/* coord_progress: how far a region's run has got, from its agent's
 * reports: for the region as a whole (last step, steps done) and for each
 * database it runs in parallel (state, step, steps done, what it waits
 * for). Figures and flags only: the words people read are coord_narrate's,
 * derived from these.
 *
 * Progress itself is not journaled, the reports it comes from are: a
 * coordinator that restarts folds the journaled reports again
 * (coord_rollout_replay_report), and the agent's later reports carry on
 * from there. Not thread-safe: owned by the coordinator's loop.
 */
#ifndef COORD_PROGRESS_H
#define COORD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_wire.h"

/* Databases tracked per region for `skein rollout status`; reports for
 * more still drive the region, they are only not listed one by one. */
#define COORD_DATABASES_MAX 4096

enum coord_db_state {
	COORD_DB_WAITING, /* waiting to start: unreachable or busy */
	COORD_DB_RUNNING,
	COORD_DB_DONE,
	COORD_DB_FAILED,
};

/* What a region or a database is held up by, or what last stopped it,
 * beside running its steps. */
enum coord_hold {
	COORD_HOLD_NONE,
	COORD_HOLD_START,       /* waiting to start; cause says why */
	COORD_HOLD_LOCK,        /* waiting for a lock; blocker when known */
	COORD_HOLD_STEP_FAILED, /* step failed with cause */
	COORD_HOLD_FAILED,      /* the database failed with cause */
};

typedef struct coord_hold_info {
	int kind;               /* enum coord_hold */
	char step[SK_NAME_MAX]; /* COORD_HOLD_STEP_FAILED: the step */
	bool has_blocker;       /* COORD_HOLD_LOCK: the agent named one */
	int32_t blocker_pid;    /* ... the first it named */
	char blocker_state[32]; /* ... and its state */
	char cause[256];        /* START, STEP_FAILED, FAILED: the agent's */
} coord_hold_info;

/* The backfill a database runs now (a backfill or expand step), as its
 * latest PROGRESS report said: the agent's figures, kept as they came.
 * step "" when none runs: the step's end (finished, failed, skipped...),
 * the next step's start or the database's end clears it. */
typedef struct coord_backfill {
	char step[SK_NAME_MAX];
	int64_t rows;         /* rows changed so far */
	int64_t rows_total;   /* rows in the key range, estimated at start */
	int64_t rows_scanned; /* rows of the key range behind the checkpoint */
	double rate;          /* rows per second */
	int64_t eta_ms;
	int64_t batch_size;
	int64_t batches;    /* batches committed */
	char throttle[128]; /* why it is paused now; "" when running */
	int64_t throttled_ms;
	int64_t at_ms; /* the report's time, the agent's clock */
	/* moves: a move_tenant step's phase and figures ("" phase: not a
	 * move); rows, rows_total, rate and eta_ms above are its copy's. */
	char move_phase[16];
	char move_table[SK_NAME_MAX];
	char move_from[SK_NAME_MAX], move_to[SK_NAME_MAX];
	int64_t bytes, bytes_total, lag_ms, changes, freeze_ms;
} coord_backfill;

/* One database of a region, as its agent last reported it. */
typedef struct coord_db_progress {
	char name[SK_NAME_MAX];
	int state; /* enum coord_db_state */
	char step[SK_NAME_MAX];
	uint32_t steps_done;
	coord_hold_info hold;
	int64_t updated_ms;
	coord_backfill backfill;
	/* The step that last ended here: a PROGRESS report of it that comes
	 * after its end (an agent's workers report on their own) is late,
	 * not the start of another run. */
	char ended_step[SK_NAME_MAX];
} coord_db_progress;

typedef struct coord_progress {
	char step[SK_NAME_MAX];     /* the last step reported */
	char database[SK_NAME_MAX]; /* the database of the last report */
	uint32_t steps_done;        /* over every database */
	uint32_t steps_total;       /* the plan's steps times ndatabases */
	uint32_t steps_per_db;      /* the plan's steps */
	uint32_t ndatabases;        /* as the agent last said; 1 until then */
	bool noted; /* a report was folded in (received or replayed) */
	/* The region's own hold, as if it ran one database: the latest
	 * report's, kept until a report says it is over. */
	coord_hold_info hold;
	/* Each database reported on in this run of the plan (a new run, the
	 * agent accepting the plan again, starts afresh). At most
	 * COORD_DATABASES_MAX. */
	coord_db_progress *dbs;
	size_t ndbs, dbs_cap;
} coord_progress;

/* How a region's databases stand, for the sum-up of a region running
 * several. */
typedef struct coord_db_counts {
	size_t total; /* the agent's count, or the databases reported */
	size_t done;
	size_t failed;
	size_t locked;  /* running, waiting for a lock */
	size_t waiting; /* waiting to start */
} coord_db_counts;

/* Start p for a plan of steps_per_db steps, in one database. */
void coord_progress_init(coord_progress *p, uint32_t steps_per_db);

/* Free p's databases. Accepts NULL; p may be initialized again. */
void coord_progress_fini(coord_progress *p);

/* Apply agent report r, received at now_ms, to the figures. A PROGRESS
 * report of a step becomes its database's backfill figures; the step's
 * end or the next step's start clears them. Never fails: a database
 * beyond COORD_DATABASES_MAX, or one that finds memory short, is only not
 * tracked one by one (the region's figures still move). */
void coord_progress_note(coord_progress *p, const sk_report *r, int64_t now_ms);

/* Note that the agent manages n databases (0: not said; ignored). */
void coord_progress_set_databases(coord_progress *p, uint32_t n);

/* Count p's databases by how they stand. */
void coord_progress_count(const coord_progress *p, coord_db_counts *out);

#endif
