/* sk_config_fields: field readers the configuration files share
 * (sk_config.c, sk_config_move.c): a duration, an http:// URL. A leaf:
 * it calls only the YAML reader. */
#include <stdlib.h>
#include <string.h>

#include "sk_config.h"
#include "sk_config_int.h"
#include "sk_util.h"
#include "sk_yaml.h"

/* map[key] as a duration ("5m", "90s"; "0" for none) into *out_ms;
 * dflt_ms when absent. */
int
config_duration_field(const sk_yaml_node *map, const char *key, int64_t dflt_ms,
    int64_t *out_ms, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(map, key);
	char *s = NULL;
	int rc;

	*out_ms = dflt_ms;
	rc = sk_yaml_string(map, key, SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK || s == NULL)
		return rc;
	if (strcmp(s, "0") == 0)
		*out_ms = 0;
	else if ((rc = sk_duration_parse(s, out_ms, err)) != SK_OK)
		sk_err_wrap(err, "%s:%d:%d: %s", node->file, node->line,
		    node->col, key);
	free(s);
	return rc;
}

/* An http:// URL with a host under key of map (example: a URL to show
 * in the error), or absent. Only the shape is checked here; the HTTP
 * call reports what nng makes of it. Used by health_probe (sampling) and
 * move: drain (moves). */
int
config_http_url_field(const sk_yaml_node *map, const char *key,
    const char *example, char **out, sk_err *err)
{
	char *s = NULL;
	int rc;

	*out = NULL;
	rc = sk_yaml_string(map, key, SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK || s == NULL)
		return rc;
	if (strncmp(s, "http://", 7) != 0 || s[7] == '\0' || s[7] == '/') {
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, key),
		    "expected an http:// URL such as %s, got \"%.80s\"", example, s);
		free(s);
		return rc;
	}
	*out = s;
	return SK_OK;
}
