/*
 * http/server — the daemon, the checks every request passes before a route
 * sees it (Host, Origin, route, key, role, rate, body size), the route
 * table, replies, and the per-request audit line and metrics. See
 * server.h for the threading model and the defaults.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "http/audit.h"
#include "http/http_int.h"
#include "http/metrics.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define PEM_MAX ((size_t)1 << 20)

/* A connection, for the watchdog that enforces the header deadline: the
 * idle timeout of libmicrohttpd restarts with every byte, so a client
 * sending its headers one byte at a time ("slowloris") would hold a
 * connection for days. since: when the connection started waiting for a
 * request's headers (0 while a request is being handled). */
struct hrt_conn_track {
	int fd;
	uint64_t since;
	struct hrt_conn_track *prev, *next;
};

/* ---------------- routes ---------------- */

static void route_root(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	static const char msg[] = "Ollama is running";
	hrt_http_reply(r, 200, "text/plain; charset=utf-8", msg, sizeof msg - 1);
}

static void route_health(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", "ok");
	cJSON_AddNumberToObject(j, "models_loaded", (double)hrt_models_n_loaded(r->srv->models));
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

static void route_metrics(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	struct hrt_hbuf b;
	hrt_hbuf_init(&b, (size_t)16 << 20);
	if (r->srv->metrics)
		hrt_metrics_render(r->srv->metrics, r->srv->models, &b);
	if (b.oom)
		hrt_http_error(r, 500, "metrics page too large");
	else
		hrt_http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len);
	hrt_hbuf_free(&b);
}

static const struct hrt_route routes[] = {
	{ "GET", "/", HRT_ROLE_NONE, HRT_API_OLLAMA, route_root, false, false },
	{ "HEAD", "/", HRT_ROLE_NONE, HRT_API_OLLAMA, route_root, false, false },
	{ "GET", "/api/version", HRT_ROLE_NONE, HRT_API_OLLAMA, hrt_ollama_version, false, false },
	{ "GET", "/health", HRT_ROLE_NONE, HRT_API_OLLAMA, route_health, false, false },
	{ "GET", "/metrics", HRT_ROLE_ADMIN, HRT_API_OLLAMA, route_metrics, false, false },
	{ "POST", "/api/generate", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_generate, true, false },
	{ "POST", "/api/chat", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_chat, true, false },
	{ "GET", "/api/tags", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_tags, false, false },
	{ "POST", "/api/show", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_show, true, false },
	{ "GET", "/api/ps", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_ps, false, false },
	{ "POST", "/api/embed", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_embed, true, false },
	{ "POST", "/api/embeddings", HRT_ROLE_USER, HRT_API_OLLAMA, hrt_ollama_embeddings, true, false },
	{ "POST", "/api/pull", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_pull, true, false },
	{ "POST", "/api/push", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_push, true, false },
	{ "POST", "/api/create", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_create, true, false },
	{ "POST", "/api/copy", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_copy, true, false },
	{ "DELETE", "/api/delete", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_delete, true, false },
	{ "HEAD", "/api/blobs/", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_blob_head, false, false },
	{ "POST", "/api/blobs/", HRT_ROLE_ADMIN, HRT_API_OLLAMA, hrt_api_blob_post, false, true },
	{ "POST", "/v1/chat/completions", HRT_ROLE_USER, HRT_API_OPENAI, hrt_openai_chat, true, false },
	{ "POST", "/v1/completions", HRT_ROLE_USER, HRT_API_OPENAI, hrt_openai_completions, true, false },
	{ "POST", "/v1/embeddings", HRT_ROLE_USER, HRT_API_OPENAI, hrt_openai_embeddings, true, false },
	{ "GET", "/v1/models", HRT_ROLE_USER, HRT_API_OPENAI, hrt_openai_models, false, false },
	{ "GET", "/v1/models/", HRT_ROLE_USER, HRT_API_OPENAI, hrt_openai_model, false, false },
};

static bool path_match(const struct hrt_route *rt, const char *url)
{
	size_t n = strlen(rt->path);
	if (n > 1 && rt->path[n - 1] == '/')
		return !strncmp(url, rt->path, n) && url[n] != 0;
	return !strcmp(url, rt->path);
}

/* route for method+url; *path_known: some route has this path */
static const struct hrt_route *route_find(const char *method, const char *url,
					  bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < HRT_ARRAY_LEN(routes); i++) {
		if (!path_match(&routes[i], url))
			continue;
		*path_known = true;
		if (!strcmp(routes[i].method, method))
			return &routes[i];
	}
	return NULL;
}

/* ---------------- small helpers ---------------- */

int64_t hrt_http_unix_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void hrt_http_time_rfc3339(char *buf, size_t cap, int64_t unix_ns)
{
	time_t s = (time_t)(unix_ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(unix_ns % 1000000000));
}

bool hrt_srv_is_loopback(const char *host)
{
	if (!host)
		return false;
	if (!strcasecmp(host, "localhost") || !strcmp(host, "::1") || !strcmp(host, "[::1]"))
		return true;
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) == 1)
		return (ntohl(a.s_addr) >> 24) == 127;
	return false;
}

static bool is_wildcard(const char *host)
{
	return !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "[::]") || !*host;
}

int hrt_srv_parse_hostport(const char *s, char *host, size_t cap, int *port,
			   struct hrt_err *err)
{
	if (!s)
		return HRT_ERR(err, HRT_EINVAL, "no address");
	if (!strncmp(s, "http://", 7))
		s += 7;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	char tmp[300];
	if (strlen(s) >= sizeof tmp)
		return HRT_ERR(err, HRT_EINVAL, "address too long");
	strcpy(tmp, s);
	size_t n = strlen(tmp);
	if (n && tmp[n - 1] == '/')
		tmp[--n] = 0;
	char *h = tmp, *p = NULL;
	if (*h == '[') {
		char *close = strchr(h, ']');
		if (!close)
			return HRT_ERR(err, HRT_EINVAL, "'%s': missing ']'", s);
		*close = 0;
		h++;
		if (close[1] == ':')
			p = close + 2;
		else if (close[1])
			return HRT_ERR(err, HRT_EINVAL, "'%s': unexpected text after ']'", s);
	} else {
		char *c = strrchr(h, ':');
		if (c && strchr(h, ':') == c) { /* one colon: host:port */
			*c = 0;
			p = c + 1;
		}
	}
	if (p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (!*p || *end || v < 0 || v > 65535)
			return HRT_ERR(err, HRT_EINVAL, "'%s': bad port", s);
		*port = (int)v;
	}
	for (const char *q = h; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '-' || *q == ':' || *q == '_'))
			return HRT_ERR(err, HRT_EINVAL, "'%s': bad host name", s);
	if (strlen(h) >= cap)
		return HRT_ERR(err, HRT_EINVAL, "host name too long");
	strcpy(host, *h ? h : "0.0.0.0");
	return HRT_OK;
}

static const char *header(struct hrt_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Host header check against DNS rebinding: a browser tricked into sending
 * a page's requests to us carries the attacker's host name. */
static bool host_ok(struct hrt_srv *s, const char *h)
{
	if (!h)
		return true; /* HTTP/1.0 without Host: not a browser */
	char name[256];
	if (*h == '[') {
		const char *close = strchr(h, ']');
		if (!close || (size_t)(close - h) >= sizeof name)
			return false;
		memcpy(name, h + 1, (size_t)(close - h - 1));
		name[close - h - 1] = 0;
	} else {
		size_t n = strcspn(h, ":");
		if (n >= sizeof name)
			return false;
		memcpy(name, h, n);
		name[n] = 0;
	}
	for (size_t i = 0; i < s->o.n_allow_hosts; i++)
		if (!strcmp(s->allow_hosts[i], "*") || !strcasecmp(s->allow_hosts[i], name))
			return true;
	/* IP literals cannot be rebound; localhost names resolve to us */
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1)
		return true;
	size_t nl = strlen(name);
	if (!strcasecmp(name, "localhost") || (nl > 10 && !strcasecmp(name + nl - 10, ".localhost")))
		return true;
	if (!strcasecmp(name, s->host))
		return true;
	/* exposed servers need keys anyway; names are checked when listed */
	return !s->loopback && s->o.n_allow_hosts == 0;
}

static const char *origin_allowed(struct hrt_srv *s, const char *origin)
{
	for (size_t i = 0; i < s->o.n_cors; i++)
		if (!strcmp(s->cors[i], "*") || !strcmp(s->cors[i], origin))
			return s->cors[i];
	return NULL;
}

/* ---------------- replies ---------------- */

static void add_headers(struct hrt_http_req *r, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->cors_origin) {
		const char *o = header(r, "Origin");
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
					!strcmp(r->cors_origin, "*") ? "*" : (o ? o : r->cors_origin));
		MHD_add_response_header(resp, "Vary", "Origin");
	}
}

void hrt_http_reply(struct hrt_http_req *r, int status, const char *ctype,
		    const char *body, size_t len)
{
	if (r->responded)
		return;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return;
	MHD_add_response_header(resp, "Content-Type", ctype);
	add_headers(r, resp);
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (status == 429 && r->retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	r->responded = true;
}

void hrt_http_reply_json(struct hrt_http_req *r, int status, const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	if (!s) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		hrt_http_reply(r, 503, "application/json", oom, sizeof oom - 1);
		return;
	}
	hrt_http_reply(r, status, "application/json; charset=utf-8", s, strlen(s));
	cJSON_free(s);
}

static const char *openai_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 429: return "rate_limit_error";
	case 503: return "overloaded_error";
	default: return status >= 500 ? "server_error" : "invalid_request_error";
	}
}

void hrt_http_error(struct hrt_http_req *r, int status, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *j = cJSON_CreateObject();
	if (r->api == HRT_API_OPENAI) {
		cJSON *e = cJSON_AddObjectToObject(j, "error");
		cJSON_AddStringToObject(e, "message", msg);
		cJSON_AddStringToObject(e, "type", openai_type(status));
		cJSON_AddNullToObject(e, "param");
		cJSON_AddNullToObject(e, "code");
	} else {
		cJSON_AddStringToObject(j, "error", msg);
	}
	hrt_http_reply_json(r, status, j);
	cJSON_Delete(j);
}

void hrt_http_refused(struct hrt_http_req *r, const char *msg, const char *report_json)
{
	cJSON *j = cJSON_CreateObject();
	if (r->api == HRT_API_OPENAI) {
		cJSON *e = cJSON_AddObjectToObject(j, "error");
		cJSON_AddStringToObject(e, "message", msg);
		cJSON_AddStringToObject(e, "type", openai_type(403));
		cJSON_AddNullToObject(e, "param");
		cJSON_AddStringToObject(e, "code", "refused_by_policy");
	} else {
		cJSON_AddStringToObject(j, "error", msg);
	}
	cJSON *rep = report_json ? cJSON_Parse(report_json) : NULL;
	if (rep)
		cJSON_AddItemToObject(j, "report", rep);
	hrt_http_reply_json(r, 403, j);
	cJSON_Delete(j);
}

void hrt_http_error_err(struct hrt_http_req *r, const struct hrt_err *e)
{
	int st;
	switch (e->code) {
	case HRT_EINVAL: case HRT_EFORMAT: case HRT_ERANGE: st = 400; break;
	case HRT_ENOTFOUND: st = 404; break;
	case HRT_ENOTSUP: st = 501; break;
	case HRT_ENOMEM: st = 503; break;
	default: st = 500; break;
	}
	hrt_http_error(r, st, "%s", e->msg[0] ? e->msg : hrt_err_name(e->code));
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	return hrt_gen_read(cls, buf, max);
}

void hrt_http_reply_stream(struct hrt_http_req *r, const char *ctype,
			   struct hrt_gen *g)
{
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, g, NULL);
	if (!resp) {
		hrt_http_error(r, 503, "out of memory");
		return;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	add_headers(r, resp);
	if (!strncmp(ctype, "text/event-stream", 17))
		MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	r->status = 200;
	r->responded = true;
}

bool hrt_http_client_gone(struct hrt_http_req *r)
{
	if (!r || !r->conn)
		return false;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	struct pollfd p = { .fd = ci->connect_fd, .events = POLLRDHUP };
	if (poll(&p, 1, 0) <= 0)
		return false;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void hrt_http_drop(struct hrt_http_req *r)
{
	r->status = 499;
	r->responded = true;
	r->drop = true;
}

void hrt_http_long_running(struct hrt_http_req *r, bool on)
{
	if (!r || !r->conn)
		return;
	unsigned t = on ? 0 : r->srv->o.timeout_s;
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, t);
}

bool hrt_http_model_allowed(struct hrt_http_req *r, const char *model)
{
	snprintf(r->model, sizeof r->model, "%s", model);
	if (r->id.role == HRT_ROLE_ADMIN && !strcmp(r->id.models, "*"))
		return true;
	if (hrt_auth_model_ok(&r->id, model))
		return true;
	hrt_http_error(r, 403, "the key '%s' may not use the model '%s'", r->id.name, model);
	return false;
}

/* ---------------- the request path ---------------- */

static void refuse(struct hrt_http_req *r, const char *why, int status,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void refuse(struct hrt_http_req *r, const char *why, int status,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hrt_metrics_refused(r->srv->metrics, why);
	hrt_http_error(r, status, "%s", msg);
}

static void client_addr(struct hrt_http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	strcpy(r->remote, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  r->remote, sizeof r->remote);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  r->remote, sizeof r->remote);
}

/* checks on the headers; false when a reply was queued */
static bool admit(struct hrt_srv *s, struct hrt_http_req *r)
{
	if (!host_ok(s, header(r, "Host"))) {
		refuse(r, "host", 403,
		       "the Host header is not allowed here (DNS rebinding protection); start the server with --allow-host NAME to accept it");
		return false;
	}
	const char *origin = header(r, "Origin");
	if (origin) {
		r->cors_origin = origin_allowed(s, origin);
		if (!r->cors_origin) {
			refuse(r, "origin", 403,
			       "requests from the web origin '%.200s' are not allowed (start the server with --cors-origin to allow one)",
			       origin);
			return false;
		}
	}
	if (!strcmp(r->method, "OPTIONS")) {
		if (!origin) {
			hrt_http_error(r, 405, "OPTIONS is only for CORS preflight requests");
			return false;
		}
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, (void *)(uintptr_t)"", MHD_RESPMEM_PERSISTENT);
		if (resp) {
			add_headers(r, resp);
			MHD_add_response_header(resp, "Access-Control-Allow-Methods",
						"GET, POST, DELETE, HEAD, OPTIONS");
			MHD_add_response_header(resp, "Access-Control-Allow-Headers",
						"Authorization, Content-Type");
			MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
			MHD_queue_response(r->conn, 204, resp);
			MHD_destroy_response(resp);
		}
		r->status = 204;
		r->responded = true;
		return false;
	}
	bool known;
	r->route = route_find(r->method, r->url, &known);
	if (!r->route) {
		r->api = !strncmp(r->url, "/v1/", 4) ? HRT_API_OPENAI : HRT_API_OLLAMA;
		if (known)
			hrt_http_error(r, 405, "method %s is not allowed here", r->method);
		else
			hrt_http_error(r, 404, "no such endpoint: %s %.100s", r->method, r->url);
		return false;
	}
	r->api = r->route->api;
	r->route_name = r->route->path;
	/* who is asking */
	size_t n_keys = s->auth ? hrt_auth_count(s->auth) : 0;
	if (n_keys == 0 && !s->loopback && !s->o.insecure_no_auth &&
	    r->route->role != HRT_ROLE_NONE) {
		/* every key was removed while exposed: closed, not open */
		refuse(r, "no_keys", 401, "this server needs API keys and has none; add one with `hearth keys add NAME`");
		return false;
	}
	if (n_keys == 0) {
		strcpy(r->id.name, "-");
		strcpy(r->id.models, "*");
		r->id.role = HRT_ROLE_ADMIN;
	} else if (r->route->role != HRT_ROLE_NONE) {
		const char *a = header(r, "Authorization");
		if (!a || strncasecmp(a, "Bearer ", 7)) {
			refuse(r, "no_key", 401, "an API key is required: send 'Authorization: Bearer <key>'");
			return false;
		}
		a += 7;
		while (*a == ' ')
			a++;
		if (hrt_auth_check(s->auth, a, &r->id)) {
			refuse(r, "bad_key", 401, "the API key is not valid");
			return false;
		}
		if (r->id.role < r->route->role) {
			refuse(r, "role", 403, "the key '%s' (role %s) may not use %s %s; an admin key is needed",
			       r->id.name, hrt_auth_role_name(r->id.role), r->method, r->route->path);
			return false;
		}
		int rpm = r->id.rpm ? r->id.rpm : s->o.rate_rpm;
		int wait = hrt_auth_rate_take(s->auth, r->id.name, rpm, hrt_now_ns());
		if (wait) {
			hrt_metrics_refused(s->metrics, "rate");
			r->retry_after = wait;
			hrt_http_error(r, 429, "rate limit of %d requests per minute reached for key '%s'; retry in %d s",
				       rpm, r->id.name, wait);
			return false;
		}
	} else {
		strcpy(r->id.name, "-");
		r->id.role = HRT_ROLE_NONE;
	}
	if (r->route->upload && !hrt_api_blob_begin(r))
		return false; /* bad digest or no store: answered before any body */
	const char *cl = header(r, "Content-Length");
	if (cl && !r->route->upload) {
		char *end;
		unsigned long long v = strtoull(cl, &end, 10);
		if (*end || v > s->o.max_body) {
			refuse(r, "body", 413, "the request body is larger than %zu bytes", s->o.max_body);
			return false;
		}
	}
	return true;
}

static void dispatch(struct hrt_http_req *r)
{
	cJSON *body = NULL;
	if (r->route->json) {
		struct hrt_err e;
		hrt_err_clear(&e);
		if (hrt_http_json_parse(r->body, r->body_len, r->srv->o.max_depth, &body, &e)) {
			hrt_http_error(r, 400, "%s", e.msg);
			return;
		}
	}
	r->route->fn(r, body);
	cJSON_Delete(body);
	if (!r->responded)
		hrt_http_error(r, 500, "no reply was produced");
}

static struct hrt_conn_track *track_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* a request's headers are in (since = 0) or it is done (since = now) */
static void track_mark(struct hrt_srv *s, struct MHD_Connection *c, uint64_t since)
{
	struct hrt_conn_track *t = track_of(c);
	if (!t)
		return;
	pthread_mutex_lock(&s->conn_mu);
	t->since = since;
	pthread_mutex_unlock(&s->conn_mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **sock_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct hrt_srv *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct hrt_conn_track *t = calloc(1, sizeof(*t));
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!t || !ci) {
			free(t);
			return;
		}
		t->fd = ci->connect_fd;
		t->since = hrt_now_ns();
		pthread_mutex_lock(&s->conn_mu);
		t->next = s->conns;
		if (s->conns)
			s->conns->prev = t;
		s->conns = t;
		pthread_mutex_unlock(&s->conn_mu);
		*sock_ctx = t;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *sock_ctx) {
		/* called before the socket is closed: the fd is still ours */
		struct hrt_conn_track *t = *sock_ctx;
		pthread_mutex_lock(&s->conn_mu);
		if (t->prev)
			t->prev->next = t->next;
		else
			s->conns = t->next;
		if (t->next)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&s->conn_mu);
		free(t);
		*sock_ctx = NULL;
	}
}

/* Once a second: end connections whose request headers did not arrive
 * within the timeout, however steadily they trickle in. */
static void *watchdog_main(void *arg)
{
	struct hrt_srv *s = arg;
	uint64_t limit = (uint64_t)s->o.timeout_s * 1000000000ull;
	pthread_mutex_lock(&s->conn_mu);
	while (!s->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->conn_cv, &s->conn_mu, &ts);
		uint64_t now = hrt_now_ns();
		for (struct hrt_conn_track *t = s->conns; t; t = t->next) {
			if (t->since && now - t->since > limit) {
				shutdown(t->fd, SHUT_RDWR);
				t->since = 0;
				hrt_metrics_refused(s->metrics, "header_deadline");
			}
		}
	}
	pthread_mutex_unlock(&s->conn_mu);
	return NULL;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)version;
	struct hrt_srv *s = cls;
	struct hrt_http_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->srv = s;
		r->conn = c;
		r->t_start = hrt_now_ns();
		r->n_prompt = r->n_gen = -1;
		r->route_name = "other";
		snprintf(r->method, sizeof r->method, "%s", method);
		snprintf(r->url, sizeof r->url, "%s", url);
		client_addr(r);
		atomic_fetch_add(&s->n_req, 1);
		track_mark(s, c, 0);
		admit(s, r);
		return MHD_YES;
	}
	if (r->responded) {
		*upload_size = 0; /* a refused request: drop its body */
		return r->drop ? MHD_NO : MHD_YES;
	}
	if (*upload_size && r->route->upload) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->blob)
			hrt_api_blob_write(r, upload, n);
		return MHD_YES;
	}
	if (*upload_size && !r->route->upload &&
	    hrt_now_ns() - r->t_start > 4ull * s->o.timeout_s * 1000000000ull) {
		*upload_size = 0; /* a body trickling in for too long */
		hrt_metrics_refused(s->metrics, "body_deadline");
		return MHD_NO;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->too_big || n > s->o.max_body || r->body_len > s->o.max_body - n) {
			/* read and drop the rest, so the client gets its 413 rather
			 * than a reset; one that keeps sending is cut off */
			if (!r->too_big) {
				r->too_big = true;
				free(r->body);
				atomic_fetch_sub(&s->body_bytes, r->body_cap);
				r->body = NULL;
				r->body_cap = 0;
			}
			r->body_len = HRT_MIN(r->body_len + n, SIZE_MAX / 2);
			return r->body_len > 4 * s->o.max_body ? MHD_NO : MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			/* all bodies in memory together stay under a budget, so
			 * many connections with big bodies cannot exhaust it */
			size_t grow = cap - r->body_cap;
			size_t before = atomic_fetch_add(&s->body_bytes, grow);
			if (before + grow > s->body_budget) {
				atomic_fetch_sub(&s->body_bytes, grow);
				hrt_metrics_refused(s->metrics, "body_budget");
				hrt_http_error(r, 503, "the server is receiving too many large requests; try again shortly");
				return MHD_YES;
			}
			char *nb = realloc(r->body, cap);
			if (!nb) {
				atomic_fetch_sub(&s->body_bytes, grow);
				hrt_http_error(r, 503, "out of memory");
				return MHD_YES;
			}
			r->body = nb;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload, n);
		r->body_len += n;
		r->body[r->body_len] = 0;
		return MHD_YES;
	}
	if (r->too_big) {
		refuse(r, "body", 413, "the request body is larger than %zu bytes", s->o.max_body);
		return MHD_YES;
	}
	dispatch(r);
	return r->drop ? MHD_NO : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct hrt_srv *s = cls;
	struct hrt_http_req *r = *con_cls;
	track_mark(s, c, hrt_now_ns());
	if (!r)
		return;
	*con_cls = NULL;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status < 400)
		r->status = 499; /* the client went away before the end */
	if (r->gen)
		hrt_gen_end(r->gen);
	r->gen = NULL;
	if (r->store_job)
		hrt_store_api_end(r->store_job);
	r->store_job = NULL;
	hrt_api_blob_abort(r);
	uint64_t dur = hrt_now_ns() - r->t_start;
	if (!r->status)
		r->status = 499;
	if (s->audit && strcmp(r->route_name, "/") && strcmp(r->route_name, "/health")) {
		struct hrt_audit_rec a = {
			.key = r->id.name[0] ? r->id.name : "-",
			.method = r->method,
			.route = r->route_name,
			.model = r->model[0] ? r->model : NULL,
			.digest = r->digest[0] ? r->digest : NULL,
			.prompt_tokens = r->n_prompt,
			.gen_tokens = r->n_gen,
			.status = r->status,
			.duration_ns = dur,
			.remote = r->remote,
			.prompt = r->audit_prompt,
		};
		struct hrt_err e;
		if (hrt_audit_write(s->audit, &a, &e))
			fprintf(stderr, "hearth: audit: %s\n", e.msg);
	}
	hrt_metrics_request(s->metrics, r->route ? r->route->path : "other", r->status, dur,
			    r->digest[0] ? r->model : NULL, r->n_prompt, r->n_gen, r->ttft_ns);
	if (!s->o.quiet)
		fprintf(stderr, "hearth: %s %s %.100s %d %.1fms key=%s\n", r->remote, r->method,
			r->url, r->status, (double)dur / 1e6, r->id.name[0] ? r->id.name : "-");
	free(r->body);
	atomic_fetch_sub(&s->body_bytes, r->body_cap);
	free(r->audit_prompt);
	free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct hrt_srv *s = cls;
	if (s->o.quiet || !strncmp(fmt, "Application reported internal error", 35))
		return; /* that is us closing on a client that went away */
	fputs("hearth: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* ---------------- start / stop ---------------- */

static int read_pem(const char *path, char **out, struct hrt_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
	char *b = malloc(PEM_MAX + 1);
	size_t n = b ? fread(b, 1, PEM_MAX + 1, f) : 0;
	fclose(f);
	if (!b)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (n == 0 || n > PEM_MAX) {
		free(b);
		return HRT_ERR(err, HRT_EFORMAT, "%s: empty or larger than %zu bytes", path, PEM_MAX);
	}
	b[n] = 0;
	*out = b;
	return HRT_OK;
}

static int listen_on(struct hrt_srv *s, struct hrt_err *err)
{
	char port[16];
	snprintf(port, sizeof port, "%d", s->o.port);
	struct addrinfo hints = { 0 }, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int g = getaddrinfo(s->host, port, &hints, &res);
	if (g)
		return HRT_ERR(err, HRT_EIO, "cannot resolve %s: %s", s->host, gai_strerror(g));
	int fd = -1, last = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "cannot listen on %s:%d: %s", s->host, s->o.port,
			       strerror(last));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	s->port = s->o.port;
	if (!getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		if (ss.ss_family == AF_INET)
			s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	s->listen_fd = fd;
	return HRT_OK;
}

static char **dup_list(const char *const *v, size_t n, bool *oom)
{
	if (!n)
		return NULL;
	char **d = calloc(n, sizeof(*d));
	if (!d) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(d[i] = hrt_strdup(v[i])))
			*oom = true;
	return d;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int hrt_srv_start(struct hrt_srv **out, const struct hrt_srv_opts *o,
		  struct hrt_models *models, struct hrt_auth *auth,
		  struct hrt_audit *audit, struct hrt_metrics *metrics,
		  struct hrt_store *store, struct hrt_err *err)
{
	*out = NULL;
	struct hrt_srv *s = calloc(1, sizeof(*s));
	if (!s)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	s->o = *o;
	s->listen_fd = -1;
	pthread_mutex_init(&s->conn_mu, NULL);
	pthread_cond_init(&s->conn_cv, NULL);
	s->models = models;
	s->auth = auth;
	s->audit = audit;
	s->metrics = metrics;
	s->store = store;
	if (store)
		hrt_models_set_resolver(models, hrt_store_api_resolve, store);
	if (!s->o.max_body)
		s->o.max_body = DEFAULT_MAX_BODY;
	s->body_budget = HRT_MAX(8 * s->o.max_body, (size_t)64 << 20);
	if (s->o.max_depth <= 0)
		s->o.max_depth = HRT_HTTP_JSON_DEPTH;
	if (!s->o.max_ctx)
		s->o.max_ctx = 1u << 20;
	if (!s->o.timeout_s)
		s->o.timeout_s = 30;
	if (!s->o.max_conns)
		s->o.max_conns = 256;
	bool oom = false;
	s->host = hrt_strdup(o->host ? o->host : "127.0.0.1");
	s->cors = dup_list(o->cors, o->n_cors, &oom);
	s->allow_hosts = dup_list(o->allow_hosts, o->n_allow_hosts, &oom);
	int rc;
	if (!s->host || oom) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	s->loopback = hrt_srv_is_loopback(s->host);
	s->wildcard = is_wildcard(s->host);
	size_t n_keys = auth ? hrt_auth_count(auth) : 0;
	if (!s->loopback && n_keys == 0 && !o->insecure_no_auth) {
		rc = HRT_ERR(err, HRT_EINVAL,
			     "refusing to listen on %s without API keys: anyone who can reach it could use it. "
			     "Create a key with `hearth keys add NAME` (then send 'Authorization: Bearer <key>'), "
			     "or bind to 127.0.0.1, or pass --insecure-no-auth if you really mean it",
			     s->host);
		goto out_free;
	}
	if (!!o->tls_cert != !!o->tls_key) {
		rc = HRT_ERR(err, HRT_EINVAL, "TLS needs both --tls-cert and --tls-key");
		goto out_free;
	}
	if (o->tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			rc = HRT_ERR(err, HRT_ENOTSUP, "this libmicrohttpd was built without TLS");
			goto out_free;
		}
		if ((rc = read_pem(o->tls_cert, &s->tls_cert_pem, err)) ||
		    (rc = read_pem(o->tls_key, &s->tls_key_pem, err)))
			goto out_free;
	}
	if ((rc = listen_on(s, err)))
		goto out_free;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (o->tls_cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_OptionItem no_opts[] = { { MHD_OPTION_END, 0, NULL } };
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->o.timeout_s,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->o.max_conns,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)s->o.max_conns_per_ip,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1 << 20),
				MHD_OPTION_ARRAY, o->tls_cert ? tls_opts : no_opts,
				MHD_OPTION_END);
	if (!s->d) {
		rc = HRT_ERR(err, HRT_EIO, "the HTTP server did not start (bad TLS certificate or key?)");
		goto out_free;
	}
	s->listen_fd = -1; /* the daemon owns and closes it */
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s)) {
		rc = HRT_ERR(err, HRT_ENOMEM, "cannot start a thread");
		goto out_free;
	}
	s->watchdog_on = true;
	*out = s;
	return HRT_OK;
out_free:
	hrt_srv_stop(s);
	return rc;
}

int hrt_srv_port(const struct hrt_srv *s)
{
	return s->port;
}

void hrt_srv_stop(struct hrt_srv *s)
{
	if (!s)
		return;
	if (s->watchdog_on) {
		pthread_mutex_lock(&s->conn_mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->conn_cv);
		pthread_mutex_unlock(&s->conn_mu);
		pthread_join(s->watchdog, NULL);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free_list(s->cors, s->o.n_cors);
	free_list(s->allow_hosts, s->o.n_allow_hosts);
	free(s->host);
	if (s->tls_key_pem)
		memset(s->tls_key_pem, 0, strlen(s->tls_key_pem));
	free(s->tls_cert_pem);
	free(s->tls_key_pem);
	pthread_cond_destroy(&s->conn_cv);
	pthread_mutex_destroy(&s->conn_mu);
	free(s);
}
