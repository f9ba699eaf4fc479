/* sk_config_move: what tenant moves add to the configuration: a region's
 * move_endpoint (regions/NAME.yaml) and an agent's move: {listen: ...}
 * (agent.yaml), both tcp://HOST:PORT. The move link encrypts and
 * authenticates itself (sk_peer), so plain tcp:// is what it takes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_config.h"
#include "sk_config_int.h"
#include "sk_yaml.h"

static const char *const move_keys[] = { "listen", "drain", "drain_timeout", NULL };

bool
config_host_port_valid(const char *s)
{
	const char *colon = strrchr(s, ':'), *p;
	long port = 0;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return false;
	if (s[0] == '[' && colon[-1] != ']')
		return false;
	for (p = s; p < colon; p++)
		if (*p <= ' ' || *p > '~' || *p == '/' || *p == '@')
			return false;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (*p - '0');
		if (port > 65535)
			return false;
	}
	return port >= 1;
}

/* True if s is tcp://HOST:PORT (config_host_port_valid). */
static bool
tcp_endpoint_valid(const char *s)
{
	return strncmp(s, "tcp://", 6) == 0 && config_host_port_valid(s + 6);
}

int
config_tcp_endpoint_field(
    const sk_yaml_node *map, const char *key, char **out, sk_err *err)
{
	char *s = NULL;
	int rc;

	*out = NULL;
	rc = sk_yaml_string(map, key, SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK || s == NULL)
		return rc;
	if (!tcp_endpoint_valid(s)) {
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, key),
		    "expected tcp://HOST:PORT with a port from 1 to 65535, such "
		    "as tcp://127.0.0.1:7411, got \"%.80s\"",
		    s);
		free(s);
		return rc;
	}
	*out = s;
	return SK_OK;
}

int
config_agent_move_field(const sk_yaml_node *root, char **listen, char **drain,
    int64_t *drain_timeout_ms, sk_err *err)
{
	const sk_yaml_node *m = sk_yaml_get(root, "move");
	int rc;

	*listen = NULL;
	*drain = NULL;
	*drain_timeout_ms = 5000;
	if (m == NULL || sk_yaml_is_null(m))
		return SK_OK;
	rc = sk_yaml_expect(m, SK_YAML_MAPPING, "a mapping with listen", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(m, move_keys, err);
	if (rc == SK_OK)
		rc = config_tcp_endpoint_field(m, "listen", listen, err);
	if (rc == SK_OK && *listen == NULL)
		rc = sk_yaml_error(err, SK_EINVAL, m,
		    "move needs listen: tcp://HOST:PORT (the address this agent "
		    "serves tenant moves on)");
	if (rc == SK_OK)
		rc = config_http_url_field(m, "drain",
		    "http://127.0.0.1:8080/admin/drain-streams", drain, err);
	if (rc == SK_OK)
		rc = config_duration_field(
		    m, "drain_timeout", 5000, drain_timeout_ms, err);
	if (rc == SK_OK && *drain_timeout_ms <= 0)
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(m, "drain_timeout"),
		    "drain_timeout must be above zero");
	return rc;
}
