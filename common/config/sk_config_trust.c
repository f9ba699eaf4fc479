/* sk_config_trust: who and what the daemons trust, as configured: the
 * operators' roles and the transport policy (TLS, or plain TCP only on
 * loopback unless the file says insecure_transport). */
#include "sk_config.h"

#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {
	[SK_ROLE_VIEWER] = "viewer",
	[SK_ROLE_OPERATOR] = "operator",
	[SK_ROLE_APPROVER] = "approver",
	[SK_ROLE_ADMIN] = "admin",
};

const char *
sk_role_name(sk_role role)
{
	if ((int)role <= 0 ||
	    (size_t)role >= sizeof(role_names) / sizeof(role_names[0]))
		return "unknown";
	return role_names[role];
}

sk_role
sk_role_from_name(const char *name)
{
	for (size_t i = 1;
	     name != NULL && i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(role_names[i], name) == 0)
			return (sk_role)i;
	return (sk_role)0;
}

bool
sk_role_allows(sk_role role, sk_role need)
{
	if (need == SK_ROLE_VIEWER)
		return role >= SK_ROLE_VIEWER && role <= SK_ROLE_ADMIN;
	if (role == SK_ROLE_ADMIN)
		return true;
	return role == need;
}

const sk_operator *
sk_coord_operator_find(const sk_coord_config *cfg, const uint8_t id[SK_KEY_ID_LEN])
{
	for (size_t i = 0; i < cfg->noperators; i++)
		if (memcmp(cfg->operators[i].key.id, id, SK_KEY_ID_LEN) == 0)
			return &cfg->operators[i];
	return NULL;
}

/* The host of a tcp:// or tls+tcp:// URL into host (len bytes): the part
 * after "://" up to the last ':' (brackets of an IPv6 literal kept). */
static void
url_host(const char *url, char *host, size_t len)
{
	const char *h = strstr(url, "://"), *end;

	h = h != NULL ? h + 3 : url;
	if (*h == '[') {
		end = strchr(h, ']');
		end = end != NULL ? end + 1 : h + strlen(h);
	} else {
		end = strrchr(h, ':');
		if (end == NULL)
			end = h + strlen(h);
	}
	snprintf(host, len, "%.*s", (int)(end - h), h);
}

static bool
loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 ||
	    strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0;
}

int
sk_config_transport_check(const char *url, const sk_tls_config *tls,
    bool need_ca, bool insecure, const char *what, sk_err *err)
{
	char host[256];

	if (strncmp(url, "tls+tcp://", 10) == 0) {
		if (tls->cert == NULL || tls->key == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "%s: %s is a TLS URL but tls: sets no cert and key",
			    what, url);
		if (need_ca && tls->ca == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "%s: %s is a TLS URL but tls: sets no ca to check the "
			    "peer's certificate against",
			    what, url);
		return SK_OK;
	}
	if (strncmp(url, "tcp://", 6) != 0)
		return SK_OK; /* ipc://, inproc://: never leave the machine */
	url_host(url, host, sizeof(host));
	if (loopback(host) || insecure)
		return SK_OK;
	sk_err_set(err, SK_EINVAL,
	    "%s: %s is plain TCP to %s, which is not loopback: messages would "
	    "cross the network unencrypted",
	    what, url, host[0] != '\0' ? host : "any address");
	if (err != NULL)
		snprintf(err->hint, sizeof(err->hint),
		    "use tls+tcp:// with a tls: section (docs/operations.md, "
		    "\"TLS\"), or set insecure_transport: true");
	return SK_EINVAL;
}
