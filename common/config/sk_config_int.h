/* sk_config_int: what sk_config.c and sk_config_inventory.c share. */
#ifndef SK_CONFIG_INT_H
#define SK_CONFIG_INT_H

#include "sk_err.h"
#include "sk_yaml.h"

/* SK_ENOMEM "load PATH: out of memory"; returns the code. */
int config_oom(sk_err *err, const char *path);

/* The string at key of map, a path resolved against the directory of
 * file; flags as sk_yaml_string's (SK_YAML_NONEMPTY always). Absent
 * (without SK_YAML_REQUIRED): *out NULL. On success *out is the
 * caller's. */
int config_path_field(const char *file, const sk_yaml_node *map,
    const char *key, int flags, char **out, sk_err *err);

/* sk_config_move.c: map[key] as tcp://HOST:PORT (port 1-65535), or
 * absent (*out NULL). SK_EINVAL at the key's line otherwise. On success
 * *out is the caller's. */
int config_tcp_endpoint_field(
    const sk_yaml_node *map, const char *key, char **out, sk_err *err);

/* sk_config_move.c: root's move: {listen: tcp://HOST:PORT} (absent:
 * *listen NULL); a move mapping without listen is an error. */
int config_agent_move_field(const sk_yaml_node *root, char **listen,
    char **drain, int64_t *drain_timeout_ms, sk_err *err);
/* map[key] as a duration ("5m", "90s"; "0" for none) into *out_ms;
 * dflt_ms when absent (sk_config.c). */
int config_duration_field(const sk_yaml_node *map, const char *key,
    int64_t dflt_ms, int64_t *out_ms, sk_err *err);
/* An http:// URL with a host under key, or absent (sk_config.c). */
int config_http_url_field(const sk_yaml_node *map, const char *key,
    const char *example, char **out, sk_err *err);

/* sk_config_http.c: root's http: into *out (absent: out->enabled false).
 * SK_EINVAL at the offending line otherwise; *out is then partly filled,
 * for config_http_fini. */
int config_http_field(const char *path, const sk_yaml_node *root,
    sk_http_config *out, sk_err *err) SK_WARN_UNUSED;
void config_http_fini(sk_http_config *cfg);

/* True if s is HOST:PORT: a host of printable characters without '/',
 * '@' or spaces (an IPv6 address in brackets), and a port 1-65535 with
 * nothing after it (sk_config_move.c; http: listen, move endpoints). */
bool config_host_port_valid(const char *s);

#endif
