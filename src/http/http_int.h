/*
 * http/http_int — what the server's own files share: the server and
 * request records, the reply helpers (server.c), request-option parsing
 * (req.c) and the generation machinery that streams a scheduler request
 * into a response (gen.c). Not a public interface.
 */
#ifndef HRT_HTTP_INT_H
#define HRT_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "http/auth.h"
#include "http/json.h"
#include "http/models.h"
#include "http/server.h"
#include "http/tools.h"
#include "infer/session.h"

enum hrt_api { HRT_API_OLLAMA = 0, HRT_API_OPENAI };

struct hrt_srv {
	struct hrt_srv_opts o;     /* strings below are owned copies */
	char *host;
	char **cors;
	char **allow_hosts;
	struct MHD_Daemon *d;
	int listen_fd;
	int port;
	bool loopback;
	bool wildcard;             /* bound to 0.0.0.0 / :: */
	char *tls_cert_pem, *tls_key_pem;
	struct hrt_models *models;
	struct hrt_auth *auth;
	struct hrt_audit *audit;
	struct hrt_metrics *metrics;
	struct hrt_store *store;   /* may be NULL */
	atomic_uint_fast64_t n_req;
	atomic_size_t body_bytes;  /* request bodies held in memory now */
	size_t body_budget;        /* ... and their cap */
	/* the header deadline watchdog (server.c) */
	pthread_mutex_t conn_mu;
	pthread_cond_t conn_cv;
	struct hrt_conn_track *conns;
	pthread_t watchdog;
	bool watchdog_on, stopping;
};

struct hrt_gen;
struct hrt_http_req;
struct hrt_store;
struct hrt_blob_writer;
struct hrt_conn_track;
typedef void (*hrt_route_fn)(struct hrt_http_req *r, cJSON *body);

struct hrt_route {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* exact path, or a prefix when it ends in '/' */
	enum hrt_role role;        /* needed when keys exist; NONE: public */
	enum hrt_api api;
	hrt_route_fn fn;
	bool json;                 /* the body is a JSON object */
	bool upload;               /* the body streams into a blob (no size cap) */
};

struct hrt_http_req {
	struct hrt_srv *srv;
	struct MHD_Connection *conn;
	const struct hrt_route *route;
	const char *route_name;    /* static: for metrics */
	char method[16];
	char url[256];
	enum hrt_api api;
	char *body;
	size_t body_len, body_cap;
	bool too_big;
	bool responded;
	bool drop;                 /* the client is gone: close, answer nothing */
	uint64_t t_start;
	struct hrt_auth_ident id;
	const char *cors_origin;   /* allowed Origin to echo, or NULL */
	int retry_after;           /* seconds, for a 429 */
	char remote[64];
	/* filled by the handlers, read by the audit and metrics */
	int status;
	char model[HRT_MODEL_NAME_MAX + 1];
	char digest[80];
	int64_t n_prompt, n_gen;
	uint64_t ttft_ns;
	char *audit_prompt;        /* malloc'd, only when prompts are audited */
	struct hrt_gen *gen;       /* a generation in flight */
	void *store_job;           /* a pull/push/create in flight (store_api.c) */
	struct hrt_blob_writer *blob; /* an upload in progress */
};

/* ---- replies (server.c) ---- */
/* body is copied */
void hrt_http_reply(struct hrt_http_req *r, int status, const char *ctype,
		    const char *body, size_t len);
void hrt_http_reply_json(struct hrt_http_req *r, int status, const cJSON *j);
/* {"error": "..."} (Ollama) or {"error": {"message": ...}} (OpenAI) */
void hrt_http_error(struct hrt_http_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 403 for a model the load-time policy refused: the error as above plus
 * "report", the policy's report (report_json: its JSON text) */
void hrt_http_refused(struct hrt_http_req *r, const char *msg, const char *report_json);
/* status from the error code: EINVAL/EFORMAT/ERANGE 400, ENOTFOUND 404,
 * ENOTSUP 501, ENOMEM 503, else 500 */
void hrt_http_error_err(struct hrt_http_req *r, const struct hrt_err *e);
/* a chunked streaming reply driven by g (gen.c) */
void hrt_http_reply_stream(struct hrt_http_req *r, const char *ctype,
			   struct hrt_gen *g);
/* the client has closed its end */
bool hrt_http_client_gone(struct hrt_http_req *r);
/* give up on a request whose client is gone: no reply, close (status 499) */
void hrt_http_drop(struct hrt_http_req *r);
/* no idle timeout while generating (on) / the normal one again (off) */
void hrt_http_long_running(struct hrt_http_req *r, bool on);
/* 403 unless the key may use the model; true when allowed */
bool hrt_http_model_allowed(struct hrt_http_req *r, const char *model);
/* RFC 3339 UTC with nanoseconds for "created_at" */
void hrt_http_time_rfc3339(char *buf, size_t cap, int64_t unix_ns);
int64_t hrt_http_unix_ns(void);

/* ---- request options (req.c) ---- */
#define HRT_REQ_MAX_STOPS 16
#define HRT_REQ_STOP_MAX_LEN 512
#define HRT_REQ_NAME_MAX HRT_MODEL_NAME_MAX

struct hrt_gen_opts {
	struct hrt_sample_params sample;
	int64_t num_predict;       /* -1: until the context ends */
	int64_t num_ctx;           /* 0: the slot's */
	char *stops[HRT_REQ_MAX_STOPS + 8];
	size_t n_stops;
	bool json;                 /* format: "json" / response_format json */
};

void hrt_gen_opts_init(struct hrt_gen_opts *o);
void hrt_gen_opts_free(struct hrt_gen_opts *o);
/* add a stop string (copied); duplicates and empty strings are skipped */
int hrt_gen_opts_stop(struct hrt_gen_opts *o, const char *s, struct hrt_err *err);
/* Ollama "options" object (and the model's default params, same shape) */
int hrt_req_ollama_options(const cJSON *opts, const struct hrt_srv_opts *lim,
			   struct hrt_gen_opts *o, struct hrt_err *err);
/* OpenAI top-level sampling fields of a completions/chat request */
int hrt_req_openai_options(const cJSON *body, const struct hrt_srv_opts *lim,
			   struct hrt_gen_opts *o, struct hrt_err *err);
/* "stop": a string or an array of strings */
int hrt_req_stops(const cJSON *stop, struct hrt_gen_opts *o, struct hrt_err *err);
/* keep_alive: seconds (number) or a duration string ("5m", "1h30m",
 * "300ms", "-1"); into ns (< 0 forever) */
int hrt_req_keep_alive(const cJSON *v, int64_t *ns, struct hrt_err *err);
/* "model": required, a sane name */
int hrt_req_model(const cJSON *body, const char **model, struct hrt_err *err);

/* One chat message after validation; strings point into the request. */
struct hrt_req_msg {
	const char *role;
	char *content;             /* malloc'd (parts joined, tool calls rendered) */
};
/* Validate "messages" (OpenAI or Ollama shape) and build the chat messages
 * for family f, a system message with the tool text first when tools is
 * not NULL, or with the model's system prompt when none is given. */
int hrt_req_messages(const cJSON *msgs, enum hrt_chat_family f,
		     const cJSON *tools, const char *default_system,
		     struct hrt_req_msg **out, size_t *n, struct hrt_err *err);
void hrt_req_messages_free(struct hrt_req_msg *m, size_t n);

/* ---- generation (gen.c) ---- */
enum hrt_gen_kind {
	HRT_GEN_OLLAMA_GENERATE,
	HRT_GEN_OLLAMA_CHAT,
	HRT_GEN_OPENAI_CHAT,
	HRT_GEN_OPENAI_COMPLETION,
};

struct hrt_gen_fmt {
	/* append the stream chunk(s) for a piece of content */
	void (*chunk)(struct hrt_gen *g, const char *text, size_t len, struct hrt_hbuf *out);
	/* append the end of the stream: tool calls, stats, [DONE] */
	void (*finish)(struct hrt_gen *g, struct hrt_hbuf *out);
	/* the whole body of a non-streamed reply */
	void (*whole)(struct hrt_gen *g, struct hrt_hbuf *out);
	/* a stream that failed after it began */
	void (*fail)(struct hrt_gen *g, const char *msg, struct hrt_hbuf *out);
};

struct hrt_gen {
	/* set up by the route */
	enum hrt_gen_kind kind;
	const struct hrt_gen_fmt *fmt;
	bool stream, include_usage, tools;
	enum hrt_chat_family fam;
	char model[HRT_MODEL_NAME_MAX + 1];  /* as the client named it */
	char id[48];
	int64_t created_s;
	struct hrt_loaded *lm;
	struct hrt_srv *srv;
	struct hrt_http_req *req;
	uint64_t load_ns, t_start;
	int32_t *prompt;
	size_t n_prompt;
	struct hrt_gen_opts opts;

	/* shared with the scheduler thread (mu) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hrt_hbuf pending;
	bool done;
	struct hrt_req_result res;
	atomic_int refs;
	atomic_bool gone;
	bool submitted;
	uint64_t sched_id;
	struct hrt_jsonc_state *jc;

	/* the connection side */
	struct hrt_hbuf all;       /* every byte of text generated */
	size_t streamed;           /* bytes of all sent as content */
	struct hrt_hbuf out;       /* formatted bytes waiting to be sent */
	size_t out_off;
	bool finished, began;
	uint64_t t_first;
	struct hrt_tool_call *calls;
	size_t n_calls;
	size_t content_len;
};

/* A new generation for r; *out owned by the request until it finishes. */
int hrt_gen_new(struct hrt_http_req *r, enum hrt_gen_kind kind,
		const struct hrt_gen_fmt *fmt, struct hrt_gen **out);
/* Submit g (prompt and opts set, model held) and answer: a stream, or
 * wait and send the whole reply. Errors are replied here. */
void hrt_gen_run(struct hrt_http_req *r, struct hrt_gen *g);
/* prompt tokens from chat messages rendered in g->fam (adds the
 * family's stop strings), or from plain text */
int hrt_gen_chat_prompt(struct hrt_gen *g, const struct hrt_req_msg *m, size_t n,
			struct hrt_err *err);
int hrt_gen_text_prompt(struct hrt_gen *g, const char *text, size_t len,
			bool parse_special, struct hrt_err *err);
/* HRT_EINVAL when bytes of text cannot possibly fit lm's context */
int hrt_gen_text_fits(const struct hrt_loaded *lm, size_t bytes, struct hrt_err *err);
/* the streaming reader (libmicrohttpd content reader callback) */
ssize_t hrt_gen_read(struct hrt_gen *g, char *buf, size_t max);
/* end of the request: cancel if running, wait, release, free */
void hrt_gen_end(struct hrt_gen *g);
/* content text after tool-call extraction */
const char *hrt_gen_content(const struct hrt_gen *g, size_t *len);
/* finish_reason / done_reason */
const char *hrt_gen_reason(const struct hrt_gen *g);
/* the end of the effective context for this request, checked against the
 * prompt; sets max tokens. HRT_EINVAL (400) when the prompt is too long. */
int hrt_gen_fit(struct hrt_gen *g, struct hrt_err *err);

/* the chat reply formats (exposed for the unit tests) */
extern const struct hrt_gen_fmt hrt_ollama_chat_fmt;
extern const struct hrt_gen_fmt hrt_openai_chat_fmt;

/* ---- routes ---- */
void hrt_ollama_generate(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_chat(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_tags(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_show(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_ps(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_embed(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_embeddings(struct hrt_http_req *r, cJSON *body);
void hrt_ollama_version(struct hrt_http_req *r, cJSON *body);
void hrt_openai_chat(struct hrt_http_req *r, cJSON *body);
void hrt_openai_completions(struct hrt_http_req *r, cJSON *body);
void hrt_openai_models(struct hrt_http_req *r, cJSON *body);
void hrt_openai_model(struct hrt_http_req *r, cJSON *body);
void hrt_openai_embeddings(struct hrt_http_req *r, cJSON *body);

void hrt_api_pull(struct hrt_http_req *r, cJSON *body);
void hrt_api_push(struct hrt_http_req *r, cJSON *body);
void hrt_api_create(struct hrt_http_req *r, cJSON *body);
void hrt_api_copy(struct hrt_http_req *r, cJSON *body);
void hrt_api_delete(struct hrt_http_req *r, cJSON *body);
void hrt_api_blob_head(struct hrt_http_req *r, cJSON *body);
void hrt_api_blob_post(struct hrt_http_req *r, cJSON *body);
/* upload plumbing for POST /api/blobs/:digest (false: a reply was sent) */
bool hrt_api_blob_begin(struct hrt_http_req *r);
bool hrt_api_blob_write(struct hrt_http_req *r, const char *data, size_t n);
void hrt_api_blob_abort(struct hrt_http_req *r);
/* end of a request with a store job: cancel, wait, free */
void hrt_store_api_end(void *job);
/* the registry's resolver over the store (ctx: struct hrt_store *) */
int hrt_store_api_resolve(void *ctx, const char *name, struct hrt_models_resolved *out,
			  struct hrt_err *err);
/* append the store's models to a /api/tags array */
void hrt_store_api_list(struct hrt_http_req *r, cJSON *arr,
			cJSON *(*details)(const char *arch, const char *psize, const char *quant));
/* the /api/tags entries this request may see (-m files, then the store) */
cJSON *hrt_ollama_list(struct hrt_http_req *r);
/* a "details" object from its parts */
cJSON *hrt_ollama_details(const char *arch, const char *psize, const char *quant);

/* shared by the embedding routes: one input text → a vector (n_embd floats
 * into *vec, malloc'd); *n_tok gets the token count */
int hrt_http_embed_text(struct hrt_http_req *r, struct hrt_loaded *lm,
			const char *text, bool truncate, float **vec,
			size_t *n_embd, size_t *n_tok, struct hrt_err *err);
/* acquire a model for a route: 404/403/503 replied on failure (NULL) */
struct hrt_loaded *hrt_http_acquire(struct hrt_http_req *r, const char *model,
				    int64_t keep_alive_ns, uint64_t *load_ns);

#endif
