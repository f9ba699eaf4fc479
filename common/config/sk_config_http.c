/* sk_config_http: coordinator.yaml's http: section, the read-only HTTP
 * API (coordinator/coord_http.c). Absent: no HTTP at all. Only shapes are
 * checked here; the token and certificate files are read when the daemon
 * starts, which refuses to start if one is missing or empty. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_config.h"
#include "sk_config_int.h"
#include "sk_util.h"
#include "sk_yaml.h"

static const char *const http_keys[] = { "listen", "tls", "tokens", NULL };
static const char *const http_tls_keys[] = { "cert", "key", NULL };

static int
oom(const char *path, sk_err *err)
{
	return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", path);
}

/* map[key] as a path against the file's directory (as sk_config.c's
 * paths; not shared, so that the two files do not call each other). */
static int
path_field(const char *path, const sk_yaml_node *map, const char *key,
    int flags, char **out, sk_err *err)
{
	char *s = NULL;
	int rc = sk_yaml_string(map, key, flags | SK_YAML_NONEMPTY, &s, err);

	if (rc != SK_OK || s == NULL)
		return rc;
	*out = sk_path_relative_to(path, s);
	free(s);
	return *out != NULL ? SK_OK : oom(path, err);
}

static int
http_tls(const char *path, const sk_yaml_node *m, sk_http_config *out, sk_err *err)
{
	const sk_yaml_node *t = sk_yaml_get(m, "tls");
	int rc;

	if (t == NULL || sk_yaml_is_null(t))
		return SK_OK;
	rc = sk_yaml_expect(t, SK_YAML_MAPPING, "a mapping of cert and key", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(t, http_tls_keys, err);
	if (rc == SK_OK)
		rc = path_field(path, t, "cert", SK_YAML_REQUIRED, &out->tls_cert, err);
	if (rc == SK_OK)
		rc = path_field(path, t, "key", SK_YAML_REQUIRED, &out->tls_key, err);
	return rc;
}

int
config_http_field(const char *path, const sk_yaml_node *root,
    sk_http_config *out, sk_err *err)
{
	const sk_yaml_node *m = sk_yaml_get(root, "http");
	int rc;

	memset(out, 0, sizeof(*out));
	if (m == NULL || sk_yaml_is_null(m))
		return SK_OK;
	rc = sk_yaml_expect(
	    m, SK_YAML_MAPPING, "a mapping of listen, tls and tokens", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(m, http_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(m, "listen", SK_YAML_NONEMPTY, &out->listen, err);
	if (rc == SK_OK && out->listen == NULL) {
		out->listen = strdup(SK_HTTP_LISTEN_DEFAULT);
		if (out->listen == NULL)
			rc = oom(path, err);
	} else if (rc == SK_OK && !config_host_port_valid(out->listen))
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(m, "listen"),
		    "expected HOST:PORT with a port from 1 to 65535, such as "
		    "%s, got \"%.80s\"",
		    SK_HTTP_LISTEN_DEFAULT, out->listen);
	if (rc == SK_OK)
		rc = http_tls(path, m, out, err);
	if (rc == SK_OK && sk_yaml_get(m, "tokens") != NULL) {
		rc = sk_yaml_string_list(m, "tokens", SK_YAML_NONEMPTY,
		    "token file paths", &out->tokens, &out->ntokens, err);
		for (size_t i = 0; rc == SK_OK && i < out->ntokens; i++) {
			char *abs = sk_path_relative_to(path, out->tokens[i]);

			if (abs == NULL)
				rc = oom(path, err);
			else {
				free(out->tokens[i]);
				out->tokens[i] = abs;
			}
		}
	}
	if (rc == SK_OK)
		out->enabled = true;
	return rc;
}

void
config_http_fini(sk_http_config *cfg)
{
	free(cfg->listen);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	sk_strv_free(cfg->tokens, cfg->ntokens);
	memset(cfg, 0, sizeof(*cfg));
}
