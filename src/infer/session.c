/* infer/session — see session.h. */
#include "infer/session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/hugemap.h"
#include "core/util.h"
#include "kern/types.h"
#include "infer/stop.h"

struct hrt_llm {
	struct hrt_model *model;
	struct hrt_vocab *vocab;
	enum hrt_chat_family chat;
	struct hrt_pool *pool;
	struct hrt_compute *comp;
	pthread_mutex_t comp_mu; /* sessions take turns on comp */
	uint32_t n_ctx;
	int n_batch;
	uint32_t kv_type;
	struct hrt_hugemap_report hm; /* how the weights came in */
};

struct hrt_session {
	struct hrt_llm *l;
	struct hrt_kv *kv;
	uint32_t n_ctx;
	int32_t *toks;    /* (n_ctx) tokens in the cache */
	size_t n_past;
	float *logits;    /* (n_vocab) after the last token */
	bool have_logits;
	int32_t *pos;     /* (n_batch) scratch */
	struct hrt_kv **kvs; /* (n_batch) scratch */
};

int hrt_llm_open(struct hrt_llm **out, const char *path,
		 const struct hrt_llm_opts *opts, struct hrt_err *err)
{
	*out = NULL;
	struct hrt_llm_opts o = { 0 };
	if (opts)
		o = *opts;
	struct hrt_llm *l = calloc(1, sizeof(*l));
	if (!l)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	pthread_mutex_init(&l->comp_mu, NULL);
	int rc = hrt_model_open(&l->model, path, err);
	if (rc)
		goto out_free;
	/* every weight is read per token: bring them in now, on 2 MiB pages
	 * (core/hugemap); HEARTH_RECACHE=0 keeps a cache of small folios
	 * as it is rather than read the file again, a share sets how much
	 * of it on 2 MiB pages is enough */
	const struct hrt_gguf *g = hrt_model_gguf(l->model);
	hrt_hugemap_settle(hrt_gguf_fd(g), hrt_gguf_base(g), (size_t)hrt_gguf_file_size(g),
			   hrt_hugemap_recache_share(), &l->hm);
	const struct hrt_hparams *hp = hrt_model_hparams(l->model);
	if ((rc = hrt_vocab_load(&l->vocab, hrt_model_gguf(l->model), err)))
		goto out_free;
	if ((uint32_t)hrt_vocab_n(l->vocab) > hp->n_vocab) {
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "the vocabulary has %d tokens but the embedding only %u rows",
			     hrt_vocab_n(l->vocab), hp->n_vocab);
		goto out_free;
	}
	struct hrt_str tmpl = { 0 };
	hrt_gguf_get_str(hrt_model_gguf(l->model), "tokenizer.chat_template", &tmpl, NULL);
	l->chat = hrt_chat_detect(tmpl.ptr, (size_t)tmpl.len);
	l->n_ctx = o.n_ctx ? o.n_ctx : HRT_MIN(hp->n_ctx_train ? hp->n_ctx_train : 4096, 4096u);
	l->n_batch = o.n_batch > 0 ? o.n_batch : 512;
	l->kv_type = o.kv_type;
	if (!l->kv_type) {
		const char *e = getenv("HEARTH_KV_TYPE");
		int t = e && *e ? hrt_type_from_name(e) : HRT_F16;
		if (t != HRT_F16 && t != HRT_Q8_0) {
			rc = HRT_ERR(err, HRT_EINVAL, "HEARTH_KV_TYPE=%s: the KV cache can be f16 or q8_0", e);
			goto out_free;
		}
		l->kv_type = (uint32_t)t;
	}
	if (l->kv_type != HRT_F16 && l->kv_type != HRT_Q8_0) {
		rc = HRT_ERR(err, HRT_EINVAL, "the KV cache can be f16 or q8_0");
		goto out_free;
	}
	if (l->kv_type == HRT_Q8_0 && hp->head_dim % 32) {
		rc = HRT_ERR(err, HRT_EINVAL,
			     "a q8_0 KV cache needs a head size that is a multiple of 32 (this model: %u)",
			     hp->head_dim);
		goto out_free;
	}
	if (!(l->pool = hrt_pool_new(o.n_threads))) {
		rc = HRT_ERR(err, HRT_ENOMEM, "cannot start the thread pool");
		goto out_free;
	}
	if ((rc = hrt_compute_new(&l->comp, l->model, l->n_batch, l->n_ctx, l->pool, err)))
		goto out_free;
	*out = l;
	return HRT_OK;
out_free:
	hrt_llm_close(l);
	return rc;
}

void hrt_llm_close(struct hrt_llm *l)
{
	if (!l)
		return;
	hrt_compute_free(l->comp);
	hrt_pool_free(l->pool);
	hrt_vocab_free(l->vocab);
	hrt_model_close(l->model);
	pthread_mutex_destroy(&l->comp_mu);
	free(l);
}

const struct hrt_model *hrt_llm_model(const struct hrt_llm *l) { return l->model; }
const struct hrt_vocab *hrt_llm_vocab(const struct hrt_llm *l) { return l->vocab; }
enum hrt_chat_family hrt_llm_chat(const struct hrt_llm *l) { return l->chat; }
void hrt_llm_set_chat(struct hrt_llm *l, enum hrt_chat_family f) { l->chat = f; }
uint32_t hrt_llm_n_ctx(const struct hrt_llm *l) { return l->n_ctx; }
int hrt_llm_n_threads(const struct hrt_llm *l) { return hrt_pool_size(l->pool); }
int hrt_llm_n_batch(const struct hrt_llm *l) { return l->n_batch; }
const struct hrt_hugemap_report *hrt_llm_hugemap(const struct hrt_llm *l) { return &l->hm; }
uint32_t hrt_llm_kv_type(const struct hrt_llm *l) { return l->kv_type; }
struct hrt_compute *hrt_llm_compute(struct hrt_llm *l) { return l->comp; }
struct hrt_pool *hrt_llm_pool(struct hrt_llm *l) { return l->pool; }
void hrt_llm_lock(struct hrt_llm *l) { pthread_mutex_lock(&l->comp_mu); }
void hrt_llm_unlock(struct hrt_llm *l) { pthread_mutex_unlock(&l->comp_mu); }

static const char *tok_text(const struct hrt_vocab *v, int32_t id, char *buf,
			    size_t cap)
{
	if (id < 0)
		return NULL;
	size_t n;
	const char *t = hrt_vocab_text(v, id, &n);
	if (!t || n >= cap)
		return NULL;
	memcpy(buf, t, n);
	buf[n] = 0;
	return buf;
}

int hrt_llm_chat_tokens(const struct hrt_llm *l, const struct hrt_chat_msg *msgs,
			size_t n, bool add_generation_prompt, int32_t **ids,
			size_t *n_ids, struct hrt_err *err)
{
	char bos[256], eos[256];
	struct hrt_chat_out o = { 0 };
	int rc = hrt_chat_render(l->chat, msgs, n, add_generation_prompt,
				 tok_text(l->vocab, hrt_vocab_bos(l->vocab), bos, sizeof bos),
				 tok_text(l->vocab, hrt_vocab_eos(l->vocab), eos, sizeof eos),
				 &o, err);
	if (rc)
		return rc;
	rc = hrt_tok_encode_spans(l->vocab, o.text, o.len, true, o.tmpl, o.n_tmpl,
				  ids, n_ids, err);
	hrt_chat_out_free(&o);
	return rc;
}

/* ---------------- sessions ---------------- */

int hrt_session_new(struct hrt_session **out, struct hrt_llm *l, uint32_t n_ctx,
		    struct hrt_err *err)
{
	*out = NULL;
	if (n_ctx == 0)
		n_ctx = l->n_ctx;
	if (n_ctx > l->n_ctx)
		return HRT_ERR(err, HRT_ERANGE,
			       "context of %u tokens requested; this model was opened for at most %u",
			       n_ctx, l->n_ctx);
	struct hrt_session *s = calloc(1, sizeof(*s));
	if (!s)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	s->l = l;
	s->n_ctx = n_ctx;
	int rc = hrt_kv_new_typed(&s->kv, l->model, n_ctx, l->kv_type, err);
	if (rc)
		goto out_free;
	s->toks = hrt_calloc(n_ctx, sizeof(int32_t));
	s->logits = hrt_calloc(hrt_model_hparams(l->model)->n_vocab, sizeof(float));
	s->pos = hrt_calloc((size_t)l->n_batch, sizeof(int32_t));
	s->kvs = hrt_calloc((size_t)l->n_batch, sizeof(*s->kvs));
	if (!s->toks || !s->logits || !s->pos || !s->kvs) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	*out = s;
	return HRT_OK;
out_free:
	hrt_session_free(s);
	return rc;
}

void hrt_session_free(struct hrt_session *s)
{
	if (!s)
		return;
	hrt_kv_free(s->kv);
	free(s->toks);
	free(s->logits);
	free(s->pos);
	free(s->kvs);
	free(s);
}

uint32_t hrt_session_n_ctx(const struct hrt_session *s) { return s->n_ctx; }
size_t hrt_session_n_past(const struct hrt_session *s) { return s->n_past; }
const int32_t *hrt_session_tokens(const struct hrt_session *s) { return s->toks; }

const float *hrt_session_logits(const struct hrt_session *s)
{
	return s->have_logits ? s->logits : NULL;
}

void hrt_session_truncate(struct hrt_session *s, size_t n)
{
	if (n < s->n_past) {
		s->n_past = n;
		s->have_logits = false;
	}
}

size_t hrt_session_common_prefix(const struct hrt_session *s,
				 const int32_t *toks, size_t n)
{
	size_t i = 0;
	while (i < n && i < s->n_past && s->toks[i] == toks[i])
		i++;
	return i;
}

int hrt_session_eval(struct hrt_session *s, const int32_t *toks, size_t n,
		     float *all_logits, struct hrt_err *err)
{
	struct hrt_llm *l = s->l;
	uint32_t V = hrt_model_hparams(l->model)->n_vocab;
	if (n == 0)
		return HRT_OK;
	if (n > s->n_ctx - s->n_past)
		return HRT_ERR(err, HRT_ERANGE,
			       "%zu tokens do not fit: the context holds %u and %zu are used",
			       n, s->n_ctx, s->n_past);
	for (size_t i = 0; i < n; i++)
		if (toks[i] < 0 || (uint32_t)toks[i] >= V)
			return HRT_ERR(err, HRT_EINVAL, "token id %d is outside the vocabulary", toks[i]);
	bool *want = NULL;
	if (all_logits) {
		want = malloc((size_t)l->n_batch * sizeof(bool));
		if (!want)
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		for (int i = 0; i < l->n_batch; i++)
			want[i] = true;
	}
	int rc = HRT_OK;
	pthread_mutex_lock(&l->comp_mu);
	for (size_t done = 0; done < n; ) {
		int k = (int)HRT_MIN(n - done, (size_t)l->n_batch);
		for (int i = 0; i < k; i++) {
			s->pos[i] = (int32_t)(s->n_past + (size_t)i);
			s->kvs[i] = s->kv;
		}
		struct hrt_batch b = { k, toks + done, s->pos, s->kvs, want };
		float *dst = all_logits ? all_logits + done * V : s->logits;
		if ((rc = hrt_forward(l->comp, &b, dst, err)))
			break;
		memcpy(s->toks + s->n_past, toks + done, (size_t)k * sizeof(int32_t));
		s->n_past += (size_t)k;
		done += (size_t)k;
		if (all_logits)
			memcpy(s->logits, dst + (size_t)(k - 1) * V, V * sizeof(float));
		s->have_logits = true;
	}
	pthread_mutex_unlock(&l->comp_mu);
	free(want);
	return rc;
}

const char *hrt_stop_reason_name(enum hrt_stop_reason r)
{
	switch (r) {
	case HRT_STOP_EOG: return "stop";
	case HRT_STOP_LENGTH: return "length";
	case HRT_STOP_STRING: return "stop";
	case HRT_STOP_CONTEXT: return "length";
	case HRT_STOP_CANCEL: return "cancel";
	default: return "none";
	}
}

/* ---------------- generation ---------------- */

static int emit(struct hrt_stopbuf *sb, size_t n, hrt_gen_cb cb, void *ctx,
		int32_t tok)
{
	if (!n)
		return 0;
	int stop = cb ? cb(ctx, sb->b, n, tok) : 0;
	hrt_stopbuf_consume(sb, n);
	return stop;
}

int hrt_session_generate(struct hrt_session *s, const int32_t *prompt,
			 size_t n_prompt, const struct hrt_gen_params *gp,
			 hrt_gen_cb cb, void *cb_ctx, struct hrt_gen_result *res,
			 struct hrt_err *err)
{
	struct hrt_llm *l = s->l;
	const struct hrt_vocab *v = l->vocab;
	int32_t V = (int32_t)hrt_model_hparams(l->model)->n_vocab;
	memset(res, 0, sizeof(*res));
	res->end_token = -1;
	struct hrt_sampler *smp = NULL;
	struct hrt_stopbuf sb;
	hrt_stopbuf_init(&sb, gp->stop, gp->n_stop);
	struct hrt_detok dt;
	hrt_detok_init(&dt, gp->special);
	size_t piece_cap = HRT_DETOK_CAP(v);
	char *piece = malloc(piece_cap);
	int rc;

	if (!piece)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (n_prompt > s->n_ctx - s->n_past) {
		free(piece);
		return HRT_ERR(err, HRT_ERANGE,
			       "the prompt is %zu tokens but only %zu of the context of %u are free",
			       n_prompt, (size_t)(s->n_ctx - s->n_past), s->n_ctx);
	}
	if ((rc = hrt_sampler_new(&smp, &gp->sample, V, err))) {
		free(piece);
		return rc;
	}
	size_t cap = gp->max_tokens >= 0 ? (size_t)gp->max_tokens : s->n_ctx;
	res->tokens = malloc((cap + 1) * sizeof(int32_t));
	if (!res->tokens) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	uint64_t t0 = hrt_now_ns();
	if ((rc = hrt_session_eval(s, prompt, n_prompt, NULL, err)))
		goto out_free;
	res->n_prompt = n_prompt;
	res->prompt_ns = hrt_now_ns() - t0;
	if (!s->have_logits) {
		rc = HRT_ERR(err, HRT_EINVAL, "nothing to continue from: the prompt is empty");
		goto out_free;
	}
	t0 = hrt_now_ns();
	float *lg = malloc((size_t)V * sizeof(float));
	if (!lg) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	for (;;) {
		if (gp->cancel && atomic_load(gp->cancel)) {
			res->reason = HRT_STOP_CANCEL;
			break;
		}
		if (gp->max_tokens >= 0 && res->n_gen >= (size_t)gp->max_tokens) {
			res->reason = HRT_STOP_LENGTH;
			break;
		}
		memcpy(lg, s->logits, (size_t)V * sizeof(float));
		int32_t t = hrt_sampler_pick(smp, lg, s->toks, s->n_past);
		if (!gp->ignore_eog && hrt_vocab_is_eog(v, t)) {
			res->reason = HRT_STOP_EOG;
			res->end_token = t;
			break;
		}
		res->tokens[res->n_gen++] = t;
		size_t pn = hrt_detok_push(&dt, v, t, piece, piece_cap);
		if ((rc = hrt_stopbuf_add(&sb, piece, pn)) != HRT_OK) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
			break;
		}
		bool hit;
		size_t safe = hrt_stopbuf_safe(&sb, &hit);
		if (emit(&sb, safe, cb, cb_ctx, t)) {
			res->reason = HRT_STOP_CANCEL;
			break;
		}
		if (hit) {
			res->reason = HRT_STOP_STRING;
			sb.len = 0; /* the stop string and what follows are dropped */
			break;
		}
		if (s->n_past >= s->n_ctx) {
			res->reason = HRT_STOP_CONTEXT;
			break;
		}
		if ((rc = hrt_session_eval(s, &t, 1, NULL, err)))
			break;
	}
	free(lg);
	res->gen_ns = hrt_now_ns() - t0;
	if (!rc && res->reason != HRT_STOP_STRING) {
		/* flush: held-back partial stop strings and incomplete UTF-8 */
		size_t pn = hrt_detok_flush(&dt, piece, piece_cap);
		if (!hrt_stopbuf_add(&sb, piece, pn) && sb.len && res->reason != HRT_STOP_CANCEL)
			emit(&sb, sb.len, cb, cb_ctx, -1);
	}
out_free:
	free(piece);
	hrt_stopbuf_free(&sb);
	hrt_sampler_free(smp);
	if (rc) {
		free(res->tokens);
		res->tokens = NULL;
	}
	return rc;
}
