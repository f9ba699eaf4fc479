/* sk_err: the error record every fallible skein function fills in.
 *
 * Functions that can fail return an int status (SK_OK == 0, or one of the
 * SK_E* codes below) and, on failure, fill a caller-provided sk_err. The
 * message reads "<operation> <object>: <cause>" and is complete on its own:
 * callers log it once, where they handle it, and do not re-wrap it.
 */
#ifndef SK_ERR_H
#define SK_ERR_H

#include <stdbool.h>

#include <stdarg.h>
#include <stddef.h>

#define SK_WARN_UNUSED __attribute__((warn_unused_result))
#define SK_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum sk_code {
	SK_OK = 0,
	SK_EINVAL, /* bad input: config, plan, arguments */
	SK_ENOMEM,
	SK_EIO,      /* file system */
	SK_ENET,     /* nng transport */
	SK_EDECODE,  /* bytes that are not a valid message */
	SK_ECRYPTO,  /* bad or unknown signature, unpinned key */
	SK_EEXPIRED, /* plan past its expiry */
	SK_EREFUSED, /* message not meant for us, stale or replayed */
	SK_ESQL,     /* the database reported an error (sqlstate is set) */
	SK_ECONN,    /* the database could not be reached */
	SK_EDRIFT,   /* recorded step with different content */
	SK_ENOTFOUND,
	SK_ESTATE, /* operation not valid in the current state */
	SK_ETIMEOUT,
	SK_ECHECK,     /* a pre or post check did not hold */
	SK_ELOCK,      /* lock timeouts outlasted the retry limit */
	SK_EPREFLIGHT, /* a preflight check blocked the database */
	SK_EBACKUP,    /* the backup could not be taken or verified */
	SK_ELINT,      /* an unwaived error-severity lint finding */
	SK_ECODE_MAX
};

#define SK_ERR_MSG_MAX 1024

typedef struct sk_err {
	int code;         /* enum sk_code */
	int cause;        /* errno or nng error when relevant, else 0 */
	char sqlstate[6]; /* "" unless the database reported one */
	char msg[SK_ERR_MSG_MAX];
	char detail[SK_ERR_MSG_MAX / 2];
	char hint[SK_ERR_MSG_MAX / 2];
	/* detail is the database's DETAIL, which may quote row values
	 * ("Key (email)=(...) already exists"): it stays in the region (the
	 * agent withholds it from the control plane). Not on the wire. */
	bool db_detail;
} sk_err;

/* Reset err to SK_OK with empty strings. Accepts NULL. */
void sk_err_clear(sk_err *err);

/* Set code and a printf-style message; clears sqlstate, detail and hint.
 * Returns code so that callers can write `return sk_err_set(err, ...)`.
 * err may be NULL, in which case only the code is returned. */
int sk_err_set(sk_err *err, int code, const char *fmt, ...) SK_PRINTF(3, 4);

/* Like sk_err_set with an errno-style cause appended as ": strerror". */
int sk_err_errno(sk_err *err, int code, int errnum, const char *fmt, ...)
    SK_PRINTF(4, 5);

/* Prepend context to an existing message: "<ctx>: <old msg>". Keeps the
 * code, cause, sqlstate, detail and hint. Returns err->code. */
int sk_err_wrap(sk_err *err, const char *fmt, ...) SK_PRINTF(2, 3);

/* Stable lower-case name of a code ("sql", "drift", ...); "unknown" for
 * values out of range. The names are part of the wire contract. */
const char *sk_code_name(int code);

/* Inverse of sk_code_name; SK_EINVAL for an unknown name. */
int sk_code_from_name(const char *name);

#endif
