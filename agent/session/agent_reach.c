/* agent_reach: what the agent says in its own log when its link to the
 * coordinator is wrong — no connection, answers that are not control
 * messages, a refusal — said when it starts and then at most once a
 * minute, and why a coordinator cannot be reached (a plain TCP probe:
 * nng's background dialer keeps its reasons to itself). */
#include "agent_session_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sk_log.h"
#include "sk_util.h"

#define COMPLAIN_EVERY_MS 60000

void
agent_complain(agent_session *s, int kind, int level, const sk_err *err)
{
	agent_complaint *c = &s->complaint;
	int64_t now = sk_mono_ms();
	sk_err e = *err;

	if (c->kind == kind && now - c->at_ms < COMPLAIN_EVERY_MS) {
		c->quiet++;
		return;
	}
	if (c->kind == kind && c->quiet > 0) {
		size_t n = strlen(e.msg);

		snprintf(e.msg + n, sizeof(e.msg) - n,
		    " (%llu more times in the last minute)",
		    (unsigned long long)c->quiet);
	}
	sk_log_err(level, &e);
	c->kind = kind;
	c->at_ms = now;
	c->quiet = 0;
}

void
agent_complain_over(agent_session *s)
{
	if (s->complaint.kind == AGENT_OK)
		return;
	sk_info("coordinator %s answers again", s->cfg->coordinator);
	memset(&s->complaint, 0, sizeof(s->complaint));
}

/* Split url (scheme://host:port, host maybe [v6]) into host and port. */
static bool
split_url(const char *url, char *host, size_t hsize, char *port, size_t psize)
{
	const char *p = strstr(url, "://"), *colon;
	size_t n;

	if (p == NULL)
		return false;
	p += 3;
	if (*p == '[') {
		const char *end = strchr(p, ']');

		if (end == NULL || end[1] != ':')
			return false;
		n = (size_t)(end - p - 1);
		p++;
		colon = end + 1;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL)
			return false;
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= hsize || strlen(colon + 1) == 0 || strlen(colon + 1) >= psize)
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	snprintf(port, psize, "%s", colon + 1);
	return true;
}

void
agent_reach_probe(const char *url, int timeout_ms, char *why, size_t size)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[16];
	int fd = -1, rc, soerr = 0;
	socklen_t slen = sizeof(soerr);
	struct pollfd pfd;

	if (!split_url(url, host, sizeof(host), port, sizeof(port))) {
		snprintf(why, size, "%s is not a tcp://HOST:PORT address", url);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, size, "cannot resolve %s: %s", host, gai_strerror(rc));
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, size, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
		soerr = 0;
	} else if (errno != EINPROGRESS) {
		soerr = errno;
	} else {
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			snprintf(why, size,
			    "no answer from %s port %s within %d ms (a firewall, "
			    "or a host that is down)",
			    host, port, timeout_ms);
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
			soerr = errno;
	}
	if (soerr != 0)
		snprintf(why, size, "%s port %s: %s", host, port, strerror(soerr));
	else
		snprintf(why, size,
		    "%s port %s takes TCP connections, but no session comes up "
		    "(TLS refused on either side, or not a skein socket)",
		    host, port);
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
}
