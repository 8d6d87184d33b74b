/*
 * http/gen — one generation request between a route and a model's
 * scheduler: prompt tokens (chat template or plain text), the limits that
 * fit it into the context, submission, and the text queue the scheduler's
 * callbacks fill and the connection thread drains into NDJSON or SSE
 * chunks (or one reply), with tool calls held back and extracted at the
 * end. A client that goes away cancels its request.
 *
 * Lifetime: the request owns the hrt_gen (req->gen) from creation; once
 * submitted, the scheduler holds a second reference until on_done. The
 * model handle is released only by the request side, after on_done: the
 * scheduler thread never unloads its own model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "http/http_int.h"
#include "http/jsonc.h"

#define TEXT_MAX ((size_t)64 << 20)
#define WAIT_SLICE_MS 100

static void gen_free(struct hrt_gen *g)
{
	hrt_hbuf_free(&g->pending);
	hrt_hbuf_free(&g->all);
	hrt_hbuf_free(&g->out);
	hrt_tool_calls_free(g->calls, g->n_calls);
	hrt_gen_opts_free(&g->opts);
	hrt_jsonc_free(g->jc);
	free(g->prompt);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void unref(struct hrt_gen *g)
{
	if (atomic_fetch_sub(&g->refs, 1) == 1)
		gen_free(g);
}

int hrt_gen_new(struct hrt_http_req *r, enum hrt_gen_kind kind,
		const struct hrt_gen_fmt *fmt, struct hrt_gen **out)
{
	*out = NULL;
	struct hrt_gen *g = calloc(1, sizeof(*g));
	if (!g) {
		hrt_http_error(r, 503, "out of memory");
		return HRT_ENOMEM;
	}
	g->kind = kind;
	g->fmt = fmt;
	g->srv = r->srv;
	g->req = r;
	g->t_start = r->t_start;
	g->created_s = (int64_t)time(NULL);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	hrt_hbuf_init(&g->pending, TEXT_MAX);
	hrt_hbuf_init(&g->all, TEXT_MAX);
	hrt_hbuf_init(&g->out, TEXT_MAX);
	atomic_init(&g->refs, 1);
	atomic_init(&g->gone, false);
	hrt_gen_opts_init(&g->opts);
	unsigned char rnd[12];
	randombytes_buf(rnd, sizeof rnd);
	char hex[25];
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(g->id, sizeof g->id, "%s%s",
		 kind == HRT_GEN_OPENAI_COMPLETION ? "cmpl-" : "chatcmpl-", hex);
	r->gen = g;
	*out = g;
	return HRT_OK;
}

struct hrt_loaded *hrt_http_acquire(struct hrt_http_req *r, const char *model,
				    int64_t keep_alive_ns, uint64_t *load_ns)
{
	struct hrt_loaded *lm = NULL;
	struct hrt_err e;
	hrt_err_clear(&e);
	*load_ns = 0;
	char *refusal = NULL;
	int rc = hrt_models_acquire(r->srv->models, model, keep_alive_ns, &lm, load_ns, &refusal, &e);
	if (refusal) {
		/* the load-time policy said no: 403 and what it found */
		hrt_http_refused(r, e.msg, refusal);
		free(refusal);
		return NULL;
	}
	if (rc == HRT_ENOTFOUND) {
		hrt_http_error(r, 404, "model '%s' not found", model);
		return NULL;
	}
	if (rc == HRT_ERANGE) {
		hrt_http_error(r, 503, "%s", e.msg);
		return NULL;
	}
	if (rc) {
		hrt_http_error(r, 500, "cannot load model '%s': %s", model, e.msg);
		return NULL;
	}
	snprintf(r->digest, sizeof r->digest, "%s", hrt_loaded_digest(lm));
	return lm;
}

/* ---------------- prompts ---------------- */

/* Text far longer than the context can hold is refused before tokenizing
 * it (tokenizing takes tens of bytes of memory per input byte): no real
 * text averages 64 bytes a token. */
#define BYTES_PER_TOKEN_MAX 64

int hrt_gen_text_fits(const struct hrt_loaded *lm, size_t bytes, struct hrt_err *err)
{
	uint64_t ctx = hrt_sched_n_ctx(hrt_loaded_sched(lm));
	if (bytes > ctx * BYTES_PER_TOKEN_MAX)
		return HRT_ERR(err, HRT_EINVAL,
			       "the prompt is %zu bytes, far more than the context of %llu tokens holds; shorten it — it is never cut silently",
			       bytes, (unsigned long long)ctx);
	return HRT_OK;
}

static const char *tok_text(const struct hrt_vocab *v, int32_t id, char *buf, size_t cap)
{
	size_t n;
	const char *t = id >= 0 ? hrt_vocab_text(v, id, &n) : NULL;
	if (!t || n >= cap)
		return NULL;
	memcpy(buf, t, n);
	buf[n] = 0;
	return buf;
}

int hrt_gen_chat_prompt(struct hrt_gen *g, const struct hrt_req_msg *m, size_t n,
			struct hrt_err *err)
{
	const struct hrt_vocab *v = hrt_llm_vocab(hrt_loaded_llm(g->lm));
	struct hrt_chat_msg *cm = calloc(n ? n : 1, sizeof(*cm));
	if (!cm)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	for (size_t i = 0; i < n; i++) {
		cm[i].role = m[i].role;
		cm[i].content = m[i].content;
	}
	char bos[256], eos[256];
	struct hrt_chat_out o = { 0 };
	int rc = hrt_chat_render(g->fam, cm, n, true,
				 tok_text(v, hrt_vocab_bos(v), bos, sizeof bos),
				 tok_text(v, hrt_vocab_eos(v), eos, sizeof eos), &o, err);
	free(cm);
	if (rc)
		return rc;
	if ((rc = hrt_gen_text_fits(g->lm, o.len, err))) {
		hrt_chat_out_free(&o);
		return rc;
	}
	rc = hrt_tok_encode_spans(v, o.text, o.len, true, o.tmpl, o.n_tmpl, &g->prompt,
				  &g->n_prompt, err);
	hrt_chat_out_free(&o);
	if (rc)
		return rc;
	for (const char *const *s = hrt_chat_stops(g->fam); *s; s++)
		if ((rc = hrt_gen_opts_stop(&g->opts, *s, err)))
			return rc;
	return HRT_OK;
}

int hrt_gen_text_prompt(struct hrt_gen *g, const char *text, size_t len,
			bool parse_special, struct hrt_err *err)
{
	const struct hrt_vocab *v = hrt_llm_vocab(hrt_loaded_llm(g->lm));
	int rc = hrt_gen_text_fits(g->lm, len, err);
	if (rc)
		return rc;
	return hrt_tok_encode(v, text, len, true, parse_special, &g->prompt, &g->n_prompt, err);
}

int hrt_gen_fit(struct hrt_gen *g, struct hrt_err *err)
{
	uint32_t ctx = hrt_sched_n_ctx(hrt_loaded_sched(g->lm));
	const char *why = "the server's context per request (hearth serve --ctx)";
	if (g->opts.num_ctx > 0 && (uint64_t)g->opts.num_ctx < ctx) {
		ctx = (uint32_t)g->opts.num_ctx;
		why = "num_ctx";
	}
	if (g->n_prompt == 0)
		return HRT_ERR(err, HRT_EINVAL, "the prompt is empty");
	uint32_t max_prompt = g->srv->o.max_prompt;
	if (max_prompt && g->n_prompt > max_prompt)
		return HRT_ERR(err, HRT_EINVAL,
			       "the prompt is %zu tokens; this server accepts at most %u (it is never cut silently)",
			       g->n_prompt, max_prompt);
	if (g->n_prompt >= ctx)
		return HRT_ERR(err, HRT_EINVAL,
			       "the prompt is %zu tokens but the context holds %u (%s); shorten it — it is never cut silently",
			       g->n_prompt, ctx, why);
	int64_t room = (int64_t)ctx - (int64_t)g->n_prompt;
	if (g->opts.num_predict < 0 || g->opts.num_predict > room)
		g->opts.num_predict = room;
	return HRT_OK;
}

/* ---------------- the scheduler side ---------------- */

static int on_text(void *ctx, const char *text, size_t len)
{
	struct hrt_gen *g = ctx;
	pthread_mutex_lock(&g->mu);
	hrt_hbuf_put(&g->pending, text, len);
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return atomic_load(&g->gone) ? 1 : 0;
}

static void on_done(void *ctx, const struct hrt_req_result *res)
{
	struct hrt_gen *g = ctx;
	pthread_mutex_lock(&g->mu);
	g->res = *res;
	g->done = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	unref(g);
}

/* ---------------- the connection side ---------------- */

static void cancel(struct hrt_gen *g)
{
	atomic_store(&g->gone, true);
	if (g->submitted)
		hrt_sched_cancel(hrt_loaded_sched(g->lm), g->sched_id);
}

/* Wait until text is pending (or, with need_done, until the end).
 * false when the client went away (the request is then cancelled). */
static bool wait_progress(struct hrt_gen *g, bool need_done)
{
	uint64_t next_check = hrt_now_ns() + WAIT_SLICE_MS * 1000000ull;
	pthread_mutex_lock(&g->mu);
	while (!g->done && (need_done || g->pending.len == 0)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WAIT_SLICE_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		/* tokens may wake us many times a slice: look at the clock */
		if (hrt_now_ns() >= next_check) {
			pthread_mutex_unlock(&g->mu);
			if (atomic_load(&g->gone) || hrt_http_client_gone(g->req)) {
				cancel(g);
				return false;
			}
			next_check = hrt_now_ns() + WAIT_SLICE_MS * 1000000ull;
			pthread_mutex_lock(&g->mu);
		}
	}
	pthread_mutex_unlock(&g->mu);
	return true;
}

static void drain(struct hrt_gen *g)
{
	pthread_mutex_lock(&g->mu);
	if (g->pending.len) {
		hrt_hbuf_put(&g->all, g->pending.p, g->pending.len);
		hrt_hbuf_consume(&g->pending, g->pending.len);
	}
	pthread_mutex_unlock(&g->mu);
}

static void extract(struct hrt_gen *g)
{
	g->content_len = g->all.len;
	if (!g->tools || !g->all.len)
		return;
	struct hrt_err e;
	hrt_tools_extract(g->fam, g->all.p, g->all.len, &g->calls, &g->n_calls,
			  &g->content_len, &e);
	/* the held-back text before a call is content: trim the space before it */
	while (g->n_calls && g->content_len > g->streamed &&
	       (g->all.p[g->content_len - 1] == ' ' || g->all.p[g->content_len - 1] == '\n'))
		g->content_len--;
}

static void account(struct hrt_gen *g)
{
	struct hrt_http_req *r = g->req;
	if (!r || !g->done)
		return;
	r->n_prompt = (int64_t)g->res.n_prompt;
	r->n_gen = (int64_t)g->res.n_gen;
	r->ttft_ns = g->res.queue_ns + g->res.prompt_ns;
}

ssize_t hrt_gen_read(struct hrt_gen *g, char *buf, size_t max)
{
	for (;;) {
		if (g->out_off < g->out.len) {
			size_t n = HRT_MIN(max, g->out.len - g->out_off);
			memcpy(buf, g->out.p + g->out_off, n);
			g->out_off += n;
			if (g->out_off == g->out.len) {
				g->out.len = 0;
				g->out_off = 0;
			}
			return (ssize_t)n;
		}
		if (g->finished)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (g->out.oom)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (!wait_progress(g, false))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		drain(g);
		pthread_mutex_lock(&g->mu);
		bool done = g->done;
		pthread_mutex_unlock(&g->mu);
		if (done) {
			account(g);
			if (g->res.status != HRT_OK) {
				g->fmt->fail(g, g->res.errmsg[0] ? g->res.errmsg : "generation failed", &g->out);
			} else {
				extract(g);
				if (g->content_len > g->streamed)
					g->fmt->chunk(g, g->all.p + g->streamed, g->content_len - g->streamed, &g->out);
				g->streamed = HRT_MAX(g->streamed, g->content_len);
				g->fmt->finish(g, &g->out);
			}
			g->finished = true;
			hrt_http_long_running(g->req, false);
			continue;
		}
		size_t upto = g->tools ? hrt_tools_hold_from(g->fam, g->all.p, g->all.len) : g->all.len;
		if (upto > g->streamed) {
			g->fmt->chunk(g, g->all.p + g->streamed, upto - g->streamed, &g->out);
			g->streamed = upto;
		}
	}
}

void hrt_gen_run(struct hrt_http_req *r, struct hrt_gen *g)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	struct hrt_req_params p = { 0 };
	p.prompt = g->prompt;
	p.n_prompt = g->n_prompt;
	p.gen.sample = g->opts.sample;
	p.gen.max_tokens = (int32_t)HRT_MIN(g->opts.num_predict, (int64_t)INT32_MAX);
	p.gen.stop = (const char *const *)g->opts.stops;
	p.gen.n_stop = g->opts.n_stops;
	p.gen.special = g->tools; /* tool-call markers are control tokens */
	p.on_text = on_text;
	p.on_done = on_done;
	p.ctx = g;
	if (g->opts.json && hrt_jsonc_attach(g, &p, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	atomic_store(&g->refs, 2);
	int rc = hrt_sched_submit(hrt_loaded_sched(g->lm), &p, &g->sched_id, &e);
	if (rc) {
		atomic_store(&g->refs, 1);
		if (rc == HRT_ERANGE)
			hrt_http_error(r, 503, "the server is busy (%s); try again shortly", e.msg);
		else
			hrt_http_error_err(r, &e);
		return;
	}
	g->submitted = true;
	hrt_http_long_running(r, true);
	if (g->stream) {
		hrt_http_reply_stream(r, g->kind == HRT_GEN_OLLAMA_GENERATE || g->kind == HRT_GEN_OLLAMA_CHAT
					      ? "application/x-ndjson"
					      : "text/event-stream; charset=utf-8",
				      g);
		return;
	}
	if (!wait_progress(g, true)) {
		hrt_http_drop(r); /* nobody to answer */
		return;
	}
	drain(g);
	account(g);
	hrt_http_long_running(r, false);
	if (g->res.status != HRT_OK) {
		hrt_http_error(r, 500, "%s", g->res.errmsg[0] ? g->res.errmsg : "generation failed");
		return;
	}
	extract(g);
	struct hrt_hbuf b;
	hrt_hbuf_init(&b, TEXT_MAX * 2);
	g->fmt->whole(g, &b);
	if (b.oom)
		hrt_http_error(r, 500, "the reply is too large");
	else
		hrt_http_reply(r, 200, "application/json; charset=utf-8", b.p, b.len);
	hrt_hbuf_free(&b);
}

void hrt_gen_end(struct hrt_gen *g)
{
	if (g->submitted) {
		pthread_mutex_lock(&g->mu);
		bool done = g->done;
		pthread_mutex_unlock(&g->mu);
		if (!done)
			cancel(g);
		pthread_mutex_lock(&g->mu);
		while (!g->done)
			pthread_cond_wait(&g->cv, &g->mu);
		pthread_mutex_unlock(&g->mu);
		account(g);
	}
	if (g->lm)
		hrt_models_release(g->srv->models, g->lm);
	g->lm = NULL;
	g->req = NULL;
	unref(g);
}

const char *hrt_gen_content(const struct hrt_gen *g, size_t *len)
{
	*len = g->content_len;
	return g->all.p ? g->all.p : "";
}

const char *hrt_gen_reason(const struct hrt_gen *g)
{
	if (g->n_calls)
		return "tool_calls";
	switch (g->res.reason) {
	case HRT_STOP_LENGTH:
	case HRT_STOP_CONTEXT:
		return "length";
	default:
		return "stop";
	}
}

/* ---------------- embeddings ---------------- */

int hrt_http_embed_text(struct hrt_http_req *r, struct hrt_loaded *lm,
			const char *text, bool truncate, float **vec,
			size_t *n_embd, size_t *n_tok, struct hrt_err *err)
{
	(void)r;
	*vec = NULL;
	struct hrt_llm *l = hrt_loaded_llm(lm);
	const struct hrt_vocab *v = hrt_llm_vocab(l);
	int32_t *ids = NULL;
	size_t n = 0, len = strlen(text);
	uint64_t cap = (uint64_t)hrt_sched_n_ctx(hrt_loaded_sched(lm)) * BYTES_PER_TOKEN_MAX;
	if (len > cap) {
		if (!truncate)
			return hrt_gen_text_fits(lm, len, err);
		len = (size_t)cap; /* the tokens are cut to the context below anyway */
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
	}
	int rc = hrt_tok_encode(v, text, len, true, false, &ids, &n, err);
	if (rc)
		return rc;
	uint32_t ctx = hrt_sched_n_ctx(hrt_loaded_sched(lm));
	if (n == 0) {
		free(ids);
		return HRT_ERR(err, HRT_EINVAL, "the input is empty");
	}
	if (n > ctx) {
		if (!truncate) {
			free(ids);
			return HRT_ERR(err, HRT_EINVAL,
				       "the input is %zu tokens but the context holds %u; shorten it or send \"truncate\": true",
				       n, ctx);
		}
		n = ctx;
	}
	size_t d = hrt_model_hparams(hrt_llm_model(l))->n_embd;
	float *out = malloc(d * sizeof(float));
	if (!out) {
		free(ids);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	rc = hrt_sched_embed(hrt_loaded_sched(lm), ids, n, out, err);
	free(ids);
	if (rc) {
		free(out);
		return rc;
	}
	*vec = out;
	*n_embd = d;
	*n_tok = n;
	return HRT_OK;
}
