/*
 * http/server — `hearth serve`: an HTTP server (libmicrohttpd) speaking the
 * Ollama API (/api/...) and the OpenAI API (/v1/...) over the models of an
 * hrt_models registry, with API keys, an audit log and Prometheus metrics.
 *
 * Threading: libmicrohttpd's thread-per-connection mode. A generation
 * request blocks its own connection thread while the scheduler works (the
 * streaming reader waits on the request's text queue), which keeps the
 * code straight-line; connections are capped (max_conns, per-IP cap) and
 * idle ones time out, so threads are bounded. Inference itself runs on
 * each model's scheduler thread and its thread pool, not here.
 *
 * Safe defaults: loopback bind; a non-loopback bind without any API key is
 * refused unless insecure_no_auth; Host header checked against DNS
 * rebinding; no CORS origin allowed unless listed; body, JSON depth,
 * context, prediction and prompt limits. No outbound connections.
 */
#ifndef HRT_HTTP_SERVER_H
#define HRT_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define HRT_HTTP_VERSION "0.1.0"
#define HRT_HTTP_DEFAULT_PORT 11434

struct hrt_models;
struct hrt_auth;
struct hrt_audit;
struct hrt_metrics;
struct hrt_store;

struct hrt_srv_opts {
	const char *host;          /* address to bind; NULL: 127.0.0.1 */
	int port;                  /* 0: any free port (see hrt_srv_port) */
	const char *tls_cert;      /* PEM files; both or neither */
	const char *tls_key;
	const char *const *cors;   /* allowed Origins (exact), n_cors of them */
	size_t n_cors;
	const char *const *allow_hosts; /* extra Host names accepted */
	size_t n_allow_hosts;
	size_t max_body;           /* bytes; 0: 16 MiB */
	int max_depth;             /* JSON nesting; 0: 64 */
	uint32_t max_ctx;          /* largest num_ctx accepted; 0: 1 << 20 */
	int32_t max_predict;       /* largest num_predict; 0: no cap beyond context */
	uint32_t max_prompt;       /* largest prompt in tokens; 0: the context */
	unsigned timeout_s;        /* idle connection timeout; 0: 30 */
	unsigned max_conns;        /* 0: 256 */
	unsigned max_conns_per_ip; /* 0: no per-address cap */
	int rate_rpm;              /* requests per minute per key without its own; 0: off */
	bool insecure_no_auth;     /* allow a non-loopback bind without keys */
	bool audit_prompts;        /* put prompt text into the audit log */
	bool quiet;                /* no request log on stderr */
};

struct hrt_srv;

/* Bind and start serving (returns at once; the server runs on its own
 * threads). models must outlive the server; auth, audit, metrics and store
 * may be NULL (without a store, the store routes answer 501 and only -m
 * files are served). Errors: HRT_EINVAL (refused configuration, e.g. exposed without
 * keys: the message says what to do), HRT_EIO (bind failed), HRT_ENOMEM. */
int hrt_srv_start(struct hrt_srv **out, const struct hrt_srv_opts *o,
		  struct hrt_models *models, struct hrt_auth *auth,
		  struct hrt_audit *audit, struct hrt_metrics *metrics,
		  struct hrt_store *store, struct hrt_err *err);
/* the port actually bound */
int hrt_srv_port(const struct hrt_srv *s);
/* stop accepting, end connections, free; NULL is a no-op */
void hrt_srv_stop(struct hrt_srv *s);

/* "127.0.0.1", "::1", "localhost", "127.x.y.z" */
bool hrt_srv_is_loopback(const char *host);
/* Parse "host", "host:port", ":port", "[v6]:port", "http://host:port"
 * (HEARTH_HOST / OLLAMA_HOST style) into host (cap bytes) and *port (left
 * unchanged when absent). HRT_EINVAL for garbage. */
int hrt_srv_parse_hostport(const char *s, char *host, size_t cap, int *port,
			   struct hrt_err *err);

#endif
