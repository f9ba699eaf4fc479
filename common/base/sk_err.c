/* sk_err: error records with fixed buffers, so reporting an error never
 * allocates and never fails. */
#include "sk_err.h"

#include <stdio.h>
#include <string.h>

static const char *const code_names[SK_ECODE_MAX] = {
	[SK_OK] = "ok",
	[SK_EINVAL] = "invalid",
	[SK_ENOMEM] = "nomem",
	[SK_EIO] = "io",
	[SK_ENET] = "net",
	[SK_EDECODE] = "decode",
	[SK_ECRYPTO] = "signature",
	[SK_EEXPIRED] = "expired",
	[SK_EREFUSED] = "refused",
	[SK_ESQL] = "sql",
	[SK_ECONN] = "connection",
	[SK_EDRIFT] = "drift",
	[SK_ENOTFOUND] = "notfound",
	[SK_ESTATE] = "state",
	[SK_ETIMEOUT] = "timeout",
	[SK_ECHECK] = "check",
	[SK_ELOCK] = "lock",
	[SK_EPREFLIGHT] = "preflight",
	[SK_EBACKUP] = "backup",
	[SK_ELINT] = "lint",
};

void
sk_err_clear(sk_err *err)
{
	if (err == NULL)
		return;
	err->code = SK_OK;
	err->cause = 0;
	err->sqlstate[0] = '\0';
	err->msg[0] = '\0';
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	err->db_detail = false;
}

static void
set_v(sk_err *err, int code, const char *fmt, va_list ap)
{
	sk_err_clear(err);
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int
sk_err_set(sk_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	set_v(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int
sk_err_errno(sk_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	set_v(err, code, fmt, ap);
	va_end(ap);
	err->cause = errnum;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return code;
}

int
sk_err_wrap(sk_err *err, const char *fmt, ...)
{
	char prefix[SK_ERR_MSG_MAX];
	char old[SK_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return SK_EINVAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable: the message buffer is fixed on purpose. */
	size_t plen = strnlen(prefix, sizeof(err->msg) - 1);
	memcpy(err->msg, prefix, plen);
	snprintf(err->msg + plen, sizeof(err->msg) - plen, ": %.*s",
	    (int)(sizeof(err->msg) - plen > 3 ? sizeof(err->msg) - plen - 3 : 0), old);
	return err->code;
}

const char *
sk_code_name(int code)
{
	if (code < 0 || code >= SK_ECODE_MAX || code_names[code] == NULL)
		return "unknown";
	return code_names[code];
}

int
sk_code_from_name(const char *name)
{
	for (int i = 0; i < SK_ECODE_MAX; i++)
		if (name != NULL && code_names[i] != NULL &&
		    strcmp(code_names[i], name) == 0)
			return i;
	return SK_EINVAL;
}
