/*
 * sched/sched — continuous batching; see sched.h.
 *
 * The worker loop: admit queued requests into idle slots (longest shared
 * prefix first), build one batch (a token per generating slot, then prompt
 * chunks), run it through the weights, sample a token for every slot that
 * got logits, stream its text, retire finished requests. All slot state is
 * touched only by the worker; the mutex guards the queue, the slot-to-
 * request links that cancel() reads, the embed jobs and the stats.
 */
#include "sched/sched.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "infer/stop.h"

/* prompt tokens a step may take while other slots are generating: keeps
 * their token latency bounded; alone, a prompt gets the whole batch */
#define PREFILL_SHARE 128

struct req {
	uint64_t id;
	int32_t *prompt;
	size_t n_prompt;
	struct hrt_gen_params gen;
	char **stops;              /* owned copies of gen.stop */
	int (*on_text)(void *ctx, const char *text, size_t len);
	void (*on_done)(void *ctx, const struct hrt_req_result *r);
	void (*constrain)(void *ctx, float *logits, int32_t n_vocab);
	void (*accept)(void *ctx, int32_t tok);
	void *ctx;
	atomic_bool cancel;
	uint64_t t_submit;
	struct req *next;
};

enum slot_state { SLOT_IDLE, SLOT_PREFILL, SLOT_GEN };

struct slot {
	enum slot_state st;
	struct hrt_kv *kv;
	int32_t *toks;             /* (n_ctx) tokens whose K/V are in kv */
	size_t n_past;
	uint64_t last_used;
	struct req *r;
	size_t n_fed;              /* prompt tokens in the cache for r */
	int32_t pending;           /* sampled, to be fed next step */
	struct hrt_sampler *smp;
	struct hrt_detok dt;
	struct hrt_stopbuf sb;
	struct hrt_req_result res;
	uint64_t t_admit, t_first;
	int row;                   /* logits row in this step, -1: none */
	int n_in_batch;            /* tokens this slot put in the batch */
};

struct embed_job {
	const int32_t *toks;
	size_t n;
	float *out;
	int rc;
	struct hrt_err err;
	bool done;
	struct embed_job *next;
};

struct hrt_sched {
	struct hrt_llm *l;
	const struct hrt_vocab *v;
	uint32_t n_vocab, n_ctx;
	int n_slots, queue_max, n_batch;
	struct slot *slots;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* work arrived (worker waits) */
	pthread_cond_t embed_cv;  /* an embed job finished */
	struct req *qhead, *qtail;
	int nq;
	struct embed_job *embeds;
	bool stop;
	uint64_t next_id, clock;
	struct hrt_sched_stats stats;
	struct hrt_kv *embed_kv;
	/* batch buffers (n_batch) and logits (n_slots rows) */
	int32_t *b_tok, *b_pos;
	struct hrt_kv **b_kv;
	bool *b_want;
	float *logits;
	char *piece;              /* (piece_cap) detokenizer output */
	size_t piece_cap;
	int rr;                   /* round-robin start for prompt chunks */
};

/* ---------------- requests ---------------- */

static void req_free(struct req *r)
{
	if (!r)
		return;
	if (r->stops)
		for (size_t i = 0; i < r->gen.n_stop; i++)
			free(r->stops[i]);
	free(r->stops);
	free(r->prompt);
	free(r);
}

static void finish_unstarted(struct req *r, enum hrt_stop_reason why,
			     int status, const char *msg)
{
	struct hrt_req_result res = { 0 };
	res.status = status;
	res.reason = why;
	res.n_prompt = r->n_prompt;
	res.queue_ns = hrt_now_ns() - r->t_submit;
	if (msg)
		snprintf(res.errmsg, sizeof res.errmsg, "%s", msg);
	if (r->on_done)
		r->on_done(r->ctx, &res);
	req_free(r);
}

int hrt_sched_submit(struct hrt_sched *s, const struct hrt_req_params *p,
		     uint64_t *id, struct hrt_err *err)
{
	if (p->n_prompt == 0)
		return HRT_ERR(err, HRT_EINVAL, "the prompt is empty");
	if (p->n_prompt > s->n_ctx)
		return HRT_ERR(err, HRT_ERANGE,
			       "the prompt is %zu tokens but the context holds %u",
			       p->n_prompt, s->n_ctx);
	for (size_t i = 0; i < p->n_prompt; i++)
		if (p->prompt[i] < 0 || (uint32_t)p->prompt[i] >= s->n_vocab)
			return HRT_ERR(err, HRT_EINVAL, "token id %d is outside the vocabulary",
				       p->prompt[i]);
	int rc = hrt_sample_validate(&p->gen.sample, err);
	if (rc)
		return rc;
	struct req *r = calloc(1, sizeof(*r));
	if (!r)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	r->prompt = malloc(p->n_prompt * sizeof(int32_t));
	r->stops = p->gen.n_stop ? calloc(p->gen.n_stop, sizeof(char *)) : NULL;
	if (!r->prompt || (p->gen.n_stop && !r->stops)) {
		req_free(r);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	memcpy(r->prompt, p->prompt, p->n_prompt * sizeof(int32_t));
	r->n_prompt = p->n_prompt;
	r->gen = p->gen;
	r->gen.cancel = NULL;
	for (size_t i = 0; i < p->gen.n_stop; i++)
		if (!(r->stops[i] = hrt_strdup(p->gen.stop[i] ? p->gen.stop[i] : ""))) {
			r->gen.n_stop = i;
			req_free(r);
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		}
	r->gen.stop = (const char *const *)r->stops;
	r->on_text = p->on_text;
	r->on_done = p->on_done;
	r->constrain = p->constrain;
	r->accept = p->accept;
	r->ctx = p->ctx;
	r->t_submit = hrt_now_ns();

	pthread_mutex_lock(&s->mu);
	int idle = 0;
	for (int i = 0; i < s->n_slots; i++)
		idle += s->slots[i].r == NULL;
	if (s->stop || s->nq - idle >= s->queue_max) {
		pthread_mutex_unlock(&s->mu);
		req_free(r);
		return HRT_ERR(err, HRT_ERANGE, "the server is busy: %d requests are waiting",
			       s->nq);
	}
	r->id = ++s->next_id;
	if (s->qtail)
		s->qtail->next = r;
	else
		s->qhead = r;
	s->qtail = r;
	s->nq++;
	*id = r->id;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return HRT_OK;
}

void hrt_sched_cancel(struct hrt_sched *s, uint64_t id)
{
	pthread_mutex_lock(&s->mu);
	for (struct req *r = s->qhead; r; r = r->next)
		if (r->id == id)
			atomic_store(&r->cancel, true);
	for (int i = 0; i < s->n_slots; i++)
		if (s->slots[i].r && s->slots[i].r->id == id)
			atomic_store(&s->slots[i].r->cancel, true);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---------------- slots ---------------- */

static size_t common_prefix(const struct slot *sl, const struct req *r)
{
	size_t i = 0;
	while (i < sl->n_past && i < r->n_prompt && sl->toks[i] == r->prompt[i])
		i++;
	return i;
}

/* pick the idle slot sharing the longest prefix (ties: least recently used) */
static struct slot *pick_slot(struct hrt_sched *s, const struct req *r,
			      size_t *keep)
{
	struct slot *best = NULL;
	size_t best_k = 0;
	for (int i = 0; i < s->n_slots; i++) {
		struct slot *sl = &s->slots[i];
		if (sl->r)
			continue;
		size_t k = common_prefix(sl, r);
		if (!best || k > best_k || (k == best_k && sl->last_used < best->last_used)) {
			best = sl;
			best_k = k;
		}
	}
	*keep = best_k;
	return best;
}

/* called with s->mu held; r is taken off the queue by the caller */
static int admit(struct hrt_sched *s, struct slot *sl, struct req *r,
		 size_t keep, struct hrt_err *err)
{
	/* at least the last prompt token is evaluated again: its logits pick
	 * the first generated token */
	if (keep >= r->n_prompt)
		keep = r->n_prompt - 1;
	int rc = hrt_sampler_new(&sl->smp, &r->gen.sample, (int32_t)s->n_vocab, err);
	if (rc)
		return rc;
	sl->r = r;
	sl->st = SLOT_PREFILL;
	sl->n_past = keep;
	sl->n_fed = keep;
	hrt_detok_init(&sl->dt, r->gen.special);
	hrt_stopbuf_init(&sl->sb, r->gen.stop, r->gen.n_stop);
	memset(&sl->res, 0, sizeof sl->res);
	sl->res.n_prompt = r->n_prompt;
	sl->res.n_cached = keep;
	sl->t_admit = hrt_now_ns();
	sl->res.queue_ns = sl->t_admit - r->t_submit;
	sl->t_first = 0;
	return HRT_OK;
}

/* release the slot, report, free the request; s->mu must NOT be held */
static void retire(struct hrt_sched *s, struct slot *sl, enum hrt_stop_reason why,
		   int status, const char *msg)
{
	struct req *r = sl->r;
	char piece[64];
	if (status == HRT_OK && why != HRT_STOP_STRING && why != HRT_STOP_CANCEL) {
		/* held-back text and an incomplete character at the very end */
		size_t pn = hrt_detok_flush(&sl->dt, piece, sizeof piece);
		if (!hrt_stopbuf_add(&sl->sb, piece, pn) && sl->sb.len && r->on_text)
			r->on_text(r->ctx, sl->sb.b, sl->sb.len);
	}
	uint64_t now = hrt_now_ns();
	sl->res.status = status;
	sl->res.reason = why;
	if (msg)
		snprintf(sl->res.errmsg, sizeof sl->res.errmsg, "%s", msg);
	if (sl->t_first) {
		sl->res.prompt_ns = sl->t_first - sl->t_admit;
		sl->res.gen_ns = now - sl->t_first;
	} else {
		sl->res.prompt_ns = now - sl->t_admit;
	}
	if (r->on_done)
		r->on_done(r->ctx, &sl->res);
	hrt_stopbuf_free(&sl->sb);
	hrt_sampler_free(sl->smp);
	sl->smp = NULL;
	pthread_mutex_lock(&s->mu);
	s->stats.requests++;
	s->stats.gen_tokens += sl->res.n_gen;
	s->stats.cached_tokens += sl->res.n_cached;
	sl->r = NULL;
	sl->st = SLOT_IDLE;
	sl->last_used = ++s->clock;
	pthread_mutex_unlock(&s->mu);
	req_free(r);
}

/* a token was sampled for sl: stream it and decide whether to go on */
static void take_token(struct hrt_sched *s, struct slot *sl, int32_t t)
{
	struct req *r = sl->r;
	if (!sl->t_first)
		sl->t_first = hrt_now_ns();
	if (!r->gen.ignore_eog && hrt_vocab_is_eog(s->v, t)) {
		retire(s, sl, HRT_STOP_EOG, HRT_OK, NULL);
		return;
	}
	sl->res.n_gen++;
	size_t pn = hrt_detok_push(&sl->dt, s->v, t, s->piece, s->piece_cap);
	if (hrt_stopbuf_add(&sl->sb, s->piece, pn)) {
		retire(s, sl, HRT_STOP_NONE, HRT_ENOMEM, "no memory");
		return;
	}
	bool hit;
	size_t safe = hrt_stopbuf_safe(&sl->sb, &hit);
	if (safe && r->on_text && r->on_text(r->ctx, sl->sb.b, safe))
		atomic_store(&r->cancel, true);
	hrt_stopbuf_consume(&sl->sb, safe);
	if (hit) {
		sl->sb.len = 0;
		retire(s, sl, HRT_STOP_STRING, HRT_OK, NULL);
	} else if (atomic_load(&r->cancel)) {
		retire(s, sl, HRT_STOP_CANCEL, HRT_OK, NULL);
	} else if (r->gen.max_tokens >= 0 && sl->res.n_gen >= (size_t)r->gen.max_tokens) {
		retire(s, sl, HRT_STOP_LENGTH, HRT_OK, NULL);
	} else if (sl->n_past >= s->n_ctx) {
		retire(s, sl, HRT_STOP_CONTEXT, HRT_OK, NULL);
	} else {
		sl->pending = t;
		sl->st = SLOT_GEN;
	}
}

/* ---------------- the worker ---------------- */

static void run_embeds(struct hrt_sched *s)
{
	pthread_mutex_lock(&s->mu);
	struct embed_job *j = s->embeds;
	s->embeds = NULL;
	pthread_mutex_unlock(&s->mu);
	while (j) {
		struct embed_job *next = j->next;
		if (!s->embed_kv)
			j->rc = hrt_kv_new_typed(&s->embed_kv, hrt_llm_model(s->l), s->n_ctx,
						 hrt_llm_kv_type(s->l), &j->err);
		if (!j->rc) {
			hrt_llm_lock(s->l);
			j->rc = hrt_embed(hrt_llm_compute(s->l), s->embed_kv, j->toks,
					  (int)j->n, j->out, &j->err);
			hrt_llm_unlock(s->l);
		}
		pthread_mutex_lock(&s->mu);
		j->done = true;
		pthread_cond_broadcast(&s->embed_cv);
		pthread_mutex_unlock(&s->mu);
		j = next;
	}
}

/* move queued requests into idle slots; drop canceled ones */
static void admit_queued(struct hrt_sched *s)
{
	for (;;) {
		pthread_mutex_lock(&s->mu);
		struct req *r = s->qhead;
		if (!r) {
			pthread_mutex_unlock(&s->mu);
			return;
		}
		size_t keep = 0;
		struct slot *sl = atomic_load(&r->cancel) ? NULL : pick_slot(s, r, &keep);
		if (!sl && !atomic_load(&r->cancel)) {
			pthread_mutex_unlock(&s->mu);
			return; /* all slots busy */
		}
		s->qhead = r->next;
		if (!s->qhead)
			s->qtail = NULL;
		s->nq--;
		r->next = NULL;
		struct hrt_err err = { 0 };
		int rc = sl ? admit(s, sl, r, keep, &err) : HRT_OK;
		pthread_mutex_unlock(&s->mu);
		if (!sl)
			finish_unstarted(r, HRT_STOP_CANCEL, HRT_OK, NULL);
		else if (rc)
			finish_unstarted(r, HRT_STOP_NONE, rc, err.msg);
	}
}

/* returns the number of tokens put in the batch */
static int build_batch(struct hrt_sched *s, int *n_rows)
{
	int n = 0, rows = 0, generating = 0;
	for (int i = 0; i < s->n_slots; i++) {
		struct slot *sl = &s->slots[i];
		sl->row = -1;
		sl->n_in_batch = 0;
		if (sl->st != SLOT_GEN)
			continue;
		if (atomic_load(&sl->r->cancel)) {
			retire(s, sl, HRT_STOP_CANCEL, HRT_OK, NULL);
			continue;
		}
		s->b_tok[n] = sl->pending;
		s->b_pos[n] = (int32_t)sl->n_past;
		s->b_kv[n] = sl->kv;
		s->b_want[n] = true;
		sl->row = rows++;
		sl->n_in_batch = 1;
		n++;
		generating++;
	}
	int budget = s->n_batch - n;
	if (generating && budget > PREFILL_SHARE)
		budget = PREFILL_SHARE;
	for (int k = 0; k < s->n_slots && budget > 0; k++) {
		struct slot *sl = &s->slots[(s->rr + k) % s->n_slots];
		if (sl->st != SLOT_PREFILL)
			continue;
		if (atomic_load(&sl->r->cancel)) {
			retire(s, sl, HRT_STOP_CANCEL, HRT_OK, NULL);
			continue;
		}
		size_t left = sl->r->n_prompt - sl->n_fed;
		int take = (int)HRT_MIN(left, (size_t)budget);
		for (int t = 0; t < take; t++) {
			s->b_tok[n] = sl->r->prompt[sl->n_fed + (size_t)t];
			s->b_pos[n] = (int32_t)(sl->n_fed + (size_t)t);
			s->b_kv[n] = sl->kv;
			s->b_want[n] = false;
			n++;
		}
		sl->n_in_batch = take;
		if ((size_t)take == left) {
			s->b_want[n - 1] = true;
			sl->row = rows++;
		}
		budget -= take;
	}
	s->rr = (s->rr + 1) % s->n_slots;
	*n_rows = rows;
	return n;
}

static void step(struct hrt_sched *s)
{
	int rows;
	int n = build_batch(s, &rows);
	if (n == 0)
		return;
	struct hrt_batch b = { n, s->b_tok, s->b_pos, s->b_kv, s->b_want };
	struct hrt_err err = { 0 };
	uint64_t t0 = hrt_now_ns();
	hrt_llm_lock(s->l);
	int rc = hrt_forward(hrt_llm_compute(s->l), &b, s->logits, &err);
	hrt_llm_unlock(s->l);
	uint64_t dt = hrt_now_ns() - t0;
	int n_prompt_tok = 0;
	for (int i = 0; i < s->n_slots; i++) {
		struct slot *sl = &s->slots[i];
		if (!sl->n_in_batch)
			continue;
		if (rc) {
			retire(s, sl, HRT_STOP_NONE, rc, err.msg);
			continue;
		}
		/* the fed tokens are in the cache now */
		if (sl->st == SLOT_GEN) {
			sl->toks[sl->n_past++] = sl->pending;
		} else {
			memcpy(sl->toks + sl->n_fed, sl->r->prompt + sl->n_fed,
			       (size_t)sl->n_in_batch * sizeof(int32_t));
			sl->n_fed += (size_t)sl->n_in_batch;
			sl->n_past = sl->n_fed;
			n_prompt_tok += sl->n_in_batch;
		}
		if (sl->row < 0)
			continue;
		float *lg = s->logits + (size_t)sl->row * s->n_vocab;
		struct req *r = sl->r;
		if (r->constrain)
			r->constrain(r->ctx, lg, (int32_t)s->n_vocab);
		int32_t t = hrt_sampler_pick(sl->smp, lg, sl->toks, sl->n_past);
		if (r->accept)
			r->accept(r->ctx, t);
		take_token(s, sl, t);
	}
	pthread_mutex_lock(&s->mu);
	s->stats.steps++;
	s->stats.busy_ns += dt;
	s->stats.prompt_tokens += (uint64_t)n_prompt_tok;
	pthread_mutex_unlock(&s->mu);
}

static bool has_work(struct hrt_sched *s)
{
	if (s->qhead || s->embeds)
		return true;
	for (int i = 0; i < s->n_slots; i++)
		if (s->slots[i].st != SLOT_IDLE)
			return true;
	return false;
}

static void *worker(void *arg)
{
	struct hrt_sched *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->stop && !has_work(s))
			pthread_cond_wait(&s->cv, &s->mu);
		bool stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		run_embeds(s);
		admit_queued(s);
		step(s);
	}
	/* shutting down: everything still running or waiting is canceled */
	for (int i = 0; i < s->n_slots; i++)
		if (s->slots[i].r)
			retire(s, &s->slots[i], HRT_STOP_CANCEL, HRT_OK, NULL);
	pthread_mutex_lock(&s->mu);
	struct req *q = s->qhead;
	s->qhead = s->qtail = NULL;
	s->nq = 0;
	struct embed_job *j = s->embeds;
	s->embeds = NULL;
	for (; j; j = j->next) {
		j->rc = HRT_ERR(&j->err, HRT_ECANCELED, "the model is being unloaded");
		j->done = true;
	}
	pthread_cond_broadcast(&s->embed_cv);
	pthread_mutex_unlock(&s->mu);
	while (q) {
		struct req *next = q->next;
		finish_unstarted(q, HRT_STOP_CANCEL, HRT_OK, NULL);
		q = next;
	}
	return NULL;
}

/* ---------------- life cycle ---------------- */

int hrt_sched_new(struct hrt_sched **out, struct hrt_llm *l,
		  const struct hrt_sched_opts *o, struct hrt_err *err)
{
	*out = NULL;
	struct hrt_sched_opts opt = { 0 };
	if (o)
		opt = *o;
	struct hrt_sched *s = calloc(1, sizeof(*s));
	if (!s)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	s->l = l;
	s->v = hrt_llm_vocab(l);
	s->n_vocab = hrt_model_hparams(hrt_llm_model(l))->n_vocab;
	s->n_ctx = opt.n_ctx ? opt.n_ctx : hrt_llm_n_ctx(l);
	s->n_slots = opt.n_slots > 0 ? opt.n_slots : 4;
	s->queue_max = opt.queue_max > 0 ? opt.queue_max : 64;
	s->n_batch = hrt_llm_n_batch(l);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->embed_cv, NULL);
	int rc = HRT_OK;
	if (s->n_ctx > hrt_llm_n_ctx(l) || s->n_slots > 1024 || s->n_slots > s->n_batch) {
		rc = HRT_ERR(err, HRT_EINVAL,
			     "scheduler: %d slots of %u tokens do not fit this model's arena (%d batch, %u context)",
			     s->n_slots, s->n_ctx, s->n_batch, hrt_llm_n_ctx(l));
		goto out_free;
	}
	s->slots = calloc((size_t)s->n_slots, sizeof(struct slot));
	s->b_tok = calloc((size_t)s->n_batch, sizeof(int32_t));
	s->b_pos = calloc((size_t)s->n_batch, sizeof(int32_t));
	s->b_kv = calloc((size_t)s->n_batch, sizeof(struct hrt_kv *));
	s->b_want = calloc((size_t)s->n_batch, sizeof(bool));
	s->logits = hrt_calloc((size_t)s->n_slots * s->n_vocab, sizeof(float));
	s->piece_cap = HRT_DETOK_CAP(s->v);
	s->piece = malloc(s->piece_cap);
	if (!s->slots || !s->b_tok || !s->b_pos || !s->b_kv || !s->b_want || !s->logits ||
	    !s->piece) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	for (int i = 0; i < s->n_slots; i++) {
		struct slot *sl = &s->slots[i];
		sl->toks = calloc(s->n_ctx, sizeof(int32_t));
		if (!sl->toks) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
			goto out_free;
		}
		if ((rc = hrt_kv_new_typed(&sl->kv, hrt_llm_model(l), s->n_ctx,
					   hrt_llm_kv_type(l), err)))
			goto out_free;
	}
	if (pthread_create(&s->th, NULL, worker, s)) {
		rc = HRT_ERR(err, HRT_ENOMEM, "cannot start the scheduler thread");
		goto out_free;
	}
	s->started = true;
	*out = s;
	return HRT_OK;
out_free:
	hrt_sched_free(s);
	return rc;
}

void hrt_sched_free(struct hrt_sched *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	if (s->slots)
		for (int i = 0; i < s->n_slots; i++) {
			hrt_kv_free(s->slots[i].kv);
			free(s->slots[i].toks);
		}
	hrt_kv_free(s->embed_kv);
	free(s->slots);
	free(s->b_tok);
	free(s->b_pos);
	free(s->b_kv);
	free(s->b_want);
	free(s->logits);
	free(s->piece);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->embed_cv);
	free(s);
}

int hrt_sched_embed(struct hrt_sched *s, const int32_t *toks, size_t n,
		    float *out, struct hrt_err *err)
{
	if (n == 0)
		return HRT_ERR(err, HRT_EINVAL, "nothing to embed");
	if (n > s->n_ctx)
		return HRT_ERR(err, HRT_ERANGE, "the input is %zu tokens but the context holds %u",
			       n, s->n_ctx);
	for (size_t i = 0; i < n; i++)
		if (toks[i] < 0 || (uint32_t)toks[i] >= s->n_vocab)
			return HRT_ERR(err, HRT_EINVAL, "token id %d is outside the vocabulary", toks[i]);
	struct embed_job j = { .toks = toks, .n = n, .out = out };
	pthread_mutex_lock(&s->mu);
	if (s->stop) {
		pthread_mutex_unlock(&s->mu);
		return HRT_ERR(err, HRT_ECANCELED, "the model is being unloaded");
	}
	j.next = s->embeds;
	s->embeds = &j;
	pthread_cond_signal(&s->cv);
	while (!j.done)
		pthread_cond_wait(&s->embed_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	if (j.rc && err)
		*err = j.err;
	return j.rc;
}

void hrt_sched_get_stats(struct hrt_sched *s, struct hrt_sched_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	out->n_slots = s->n_slots;
	out->queued = s->nq;
	out->active = 0;
	for (int i = 0; i < s->n_slots; i++)
		out->active += s->slots[i].r != NULL;
	pthread_mutex_unlock(&s->mu);
}

uint32_t hrt_sched_n_ctx(const struct hrt_sched *s)
{
	return s->n_ctx;
}

struct hrt_llm *hrt_sched_llm(const struct hrt_sched *s)
{
	return s->l;
}
