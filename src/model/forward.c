/*
 * model/forward — the batched forward pass of a llama-family decoder and
 * the per-sequence KV cache.
 *
 * A batch may mix tokens of several sequences (continuous batching): every
 * matrix product runs once over all rows, attention runs per token against
 * that token's own cache. Activations live in one arena sized at
 * hrt_compute_new for n_batch tokens; nothing is allocated per token.
 * Attention keeps one score row of n_ctx floats per thread, never an
 * n x n matrix.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "core/util.h"
#include "model/model_int.h"

/* ---------------- KV cache ---------------- */

/*
 * Keys by KV head, so the keys one head's attention reads lie one after
 * another (a stream the prefetchers follow) rather than a slice of every
 * position's row.
 * F16 (default): k (n_layer, n_head_kv, n_blk, head_dim, HRT_KV_BLK) f16,
 * n_blk blocks of HRT_KV_BLK positions (n_ctx rounded up), a block holding
 * element d of its positions side by side (the layout of att_scores in
 * kern.h: a vector of positions per element, no sums across lanes); v
 * (n_layer, kvd, n_ctx) f16, transposed: a row per channel, so the
 * probability-weighted sum over positions is one dot product per channel.
 * Q8_0 (half the memory): k and v (n_layer, n_head_kv, n_ctx, head_dim),
 * each position's head_dim values in Q8_0 blocks (a head is a whole number
 * of blocks); scores are Q8_0 dot products, values are summed position by
 * position.
 * Decode at depth 4096 (1B Q4_0 bench model, 2 threads; the cache is 128
 * MiB of the 702 each token reads), keys in rows of all heads per position
 * -> by head, 3 alternating runs: 26.6-26.9 -> 30.0-30.7 tok/s.
 */
/*
 * The cache's pages: 4 KiB pages can cost decode a page walk (their entries
 * long evicted by the weights streaming past) for each 4 KiB of keys and
 * values attention reads; on 2 MiB pages, 1B Q4_0 bench model, 2 threads,
 * alternating rounds of tg64 x 2: the median token 52.1 -> 52.6 tok/s (6
 * rounds; attention's share of a token 1.9 -> 1.8 %), and at depth 1024
 * tg32 46.8 -> 47.2 (4 rounds): small, but every token pays it. The cost:
 * memory is taken 2 MiB at a time as positions are first written, so a
 * short conversation in a long context holds more of its cache than with
 * 4 KiB pages (where THP is "always", as here, a large malloc got 2 MiB
 * pages before too; where it is "madvise", now it does). Below one 2 MiB
 * page (tiny models, short contexts) the rounding up would cost more
 * memory than it saves.
 */
#define KV_HUGE_MIN ((size_t)2 << 20)

struct hrt_kv {
	uint32_t n_ctx, n_layer, kvd, hd, nh;
	uint32_t n_blk;  /* F16: blocks of HRT_KV_BLK positions per head */
	uint32_t type;   /* HRT_F16 or HRT_Q8_0 */
	size_t row;      /* bytes of one position's kvd values (k, and v in Q8_0) */
	size_t head;     /* bytes of one head's share of them */
	uint8_t *k, *v;
};

/* positions the keys take room for: F16 blocks are whole */
static uint64_t kv_key_positions(const struct hrt_kv *kv)
{
	return kv->type == HRT_F16 ? (uint64_t)kv->n_blk * HRT_KV_BLK : kv->n_ctx;
}

int hrt_kv_new_typed(struct hrt_kv **out, const struct hrt_model *m,
		     uint32_t n_ctx, uint32_t type, struct hrt_err *err)
{
	*out = NULL;
	const struct hrt_hparams *hp = &m->hp;
	if (n_ctx == 0)
		return HRT_ERR(err, HRT_EINVAL, "context size must be positive");
	if (type != HRT_F16 && type != HRT_Q8_0)
		return HRT_ERR(err, HRT_EINVAL, "KV cache type %s is not supported (f16, q8_0)",
			       hrt_type_name(type) ? hrt_type_name(type) : "?");
	if (type == HRT_Q8_0 && hp->head_dim % HRT_QK)
		return HRT_ERR(err, HRT_EINVAL,
			       "a Q8_0 KV cache needs a head size that is a multiple of 32 (this model: %u)",
			       hp->head_dim);
	struct hrt_kv *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	kv->n_ctx = n_ctx;
	kv->n_layer = hp->n_layer;
	kv->kvd = hp->n_head_kv * hp->head_dim;
	kv->hd = hp->head_dim;
	kv->nh = hp->n_head_kv;
	kv->type = type;
	kv->n_blk = (uint32_t)(((uint64_t)n_ctx + HRT_KV_BLK - 1) / HRT_KV_BLK);
	uint64_t row, n, nk;
	hrt_type_row_bytes(type, kv->kvd, &row);
	kv->row = (size_t)row;
	kv->head = kv->row / hp->n_head_kv;
	if (hrt_mul_ovf((uint64_t)kv->n_layer * row, n_ctx, &n) ||
	    hrt_mul_ovf((uint64_t)kv->n_layer * row, kv_key_positions(kv), &nk) ||
	    nk > SIZE_MAX / 4) {
		free(kv);
		return HRT_ERR(err, HRT_ENOMEM, "KV cache for %u positions is too large", n_ctx);
	}
	/* keys and values in one allocation, on 2 MiB pages once it fills
	 * one (KV_HUGE_MIN) */
	size_t koff = ((size_t)nk + 63) & ~(size_t)63, tot = koff + (size_t)n;
	kv->k = tot >= KV_HUGE_MIN ? hrt_malloc_huge(tot) : hrt_malloc_aligned(tot);
	kv->v = kv->k ? kv->k + koff : NULL;
	if (!kv->k) {
		free(kv);
		return HRT_ERR(err, HRT_ENOMEM,
			       "no memory for a KV cache of %u positions (%.1f MiB)",
			       n_ctx, (double)(n + nk) / 1048576.0);
	}
	*out = kv;
	return HRT_OK;
}

int hrt_kv_new(struct hrt_kv **out, const struct hrt_model *m, uint32_t n_ctx,
	       struct hrt_err *err)
{
	return hrt_kv_new_typed(out, m, n_ctx, HRT_F16, err);
}

void hrt_kv_free(struct hrt_kv *kv)
{
	if (!kv)
		return;
	hrt_free_aligned(kv->k); /* and the values after them */
	free(kv);
}

uint32_t hrt_kv_n_ctx(const struct hrt_kv *kv)
{
	return kv->n_ctx;
}

uint64_t hrt_kv_bytes(const struct hrt_kv *kv)
{
	return (uint64_t)kv->n_layer * kv->row * (kv->n_ctx + kv_key_positions(kv));
}

uint64_t hrt_kv_pos_bytes(const struct hrt_kv *kv)
{
	return (uint64_t)kv->n_layer * kv->row * 2;
}

uint32_t hrt_kv_type(const struct hrt_kv *kv)
{
	return kv->type;
}

/* F16: the key blocks of KV head h in layer l */
static inline uint16_t *kv_kb(const struct hrt_kv *kv, uint32_t l, uint32_t h)
{
	return (uint16_t *)kv->k + ((size_t)l * kv->nh + h) * kv->n_blk * HRT_KV_BLK * kv->hd;
}

/* Q8_0: position p's key of KV head h in layer l */
static inline uint8_t *kv_k(const struct hrt_kv *kv, uint32_t l, uint32_t h, int32_t p)
{
	return kv->k + (((size_t)l * kv->nh + h) * kv->n_ctx + (size_t)p) * kv->head;
}

/* F16: channel i's row (all positions) of layer l */
static inline uint16_t *kv_vt(const struct hrt_kv *kv, uint32_t l, size_t i)
{
	return (uint16_t *)kv->v + ((size_t)l * kv->kvd + i) * kv->n_ctx;
}

/* Q8_0: position p's value of KV head h in layer l */
static inline uint8_t *kv_vrow(const struct hrt_kv *kv, uint32_t l, uint32_t h, int32_t p)
{
	return kv->v + (((size_t)l * kv->nh + h) * kv->n_ctx + (size_t)p) * kv->head;
}

/* ---------------- compute arena ---------------- */

struct hrt_compute {
	const struct hrt_model *m;
	struct hrt_pool *pool;
	int n_batch;
	uint32_t n_ctx;
	int nth;
	void *arena;
	float *x;      /* (n_batch, n_embd) residual stream */
	float *xb;     /* (n_batch, n_embd) normalised input of a block */
	float *q;      /* (n_batch, q_dim) */
	float *k, *v;  /* (n_batch, kv_dim) */
	float *att;    /* (n_batch, q_dim) attention output */
	float *out;    /* (n_batch, n_embd) block output */
	float *hb;     /* (n_batch, n_ff) gate */
	float *hb2;    /* (n_batch, n_ff) up */
	float *scores; /* (nth, heads per KV head, n_ctx) */
	float *qf;     /* (nth, heads per KV head, head_dim) queries rounded
			* to f16 (F16 cache), or in Q8_0 (fewer bytes) */
	float *rope;   /* (n_batch, n_rot) cos/sin pairs */
	void *act;     /* converted activations, largest need */
	void *act2;    /* a second layout of them, up to GROUP_MAX_N tokens */
};

/* products sharing an input run in one pool job up to this many tokens
 * even when they need two activation layouts (mm3) */
#define GROUP_MAX_N 16

static size_t act_need(const struct hrt_model *m, int n)
{
	size_t need = 0;
	const struct hrt_hparams *hp = &m->hp;
	for (uint32_t l = 0; l < hp->n_layer; l++) {
		const struct hrt_layer *L = &m->layers[l];
		const struct hrt_wt *ws[] = { &L->wq, &L->wk, &L->wv, &L->wo,
					      &L->w_gate, &L->w_up, &L->w_down };
		for (size_t i = 0; i < HRT_ARRAY_LEN(ws); i++)
			need = HRT_MAX(need, hrt_matmul_scratch(ws[i]->type, ws[i]->ncols, n));
	}
	need = HRT_MAX(need, hrt_matmul_scratch(m->output.type, m->output.ncols, n));
	return need;
}

int hrt_compute_new(struct hrt_compute **out, const struct hrt_model *m,
		    int n_batch, uint32_t n_ctx, struct hrt_pool *pool,
		    struct hrt_err *err)
{
	*out = NULL;
	const struct hrt_hparams *hp = &m->hp;
	if (n_batch <= 0 || n_batch > 65536 || n_ctx == 0)
		return HRT_ERR(err, HRT_EINVAL, "bad batch size %d or context %u", n_batch, n_ctx);
	struct hrt_compute *c = calloc(1, sizeof(*c));
	if (!c)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	c->m = m;
	c->pool = pool;
	c->n_batch = n_batch;
	c->n_ctx = n_ctx;
	c->nth = hrt_pool_size(pool);
	size_t nb = (size_t)n_batch;
	size_t qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim;
	size_t sizes[] = {
		nb * hp->n_embd, nb * hp->n_embd, nb * qd, nb * kvd, nb * kvd,
		nb * qd, nb * hp->n_embd, nb * hp->n_ff, nb * hp->n_ff,
		(size_t)c->nth * n_ctx * (hp->n_head / hp->n_head_kv),
		(size_t)c->nth * qd / hp->n_head_kv, nb * hp->n_rot,
	};
	float **ptrs[] = { &c->x, &c->xb, &c->q, &c->k, &c->v, &c->att,
			   &c->out, &c->hb, &c->hb2, &c->scores, &c->qf, &c->rope };
	size_t total = 0, off[HRT_ARRAY_LEN(sizes)];
	for (size_t i = 0; i < HRT_ARRAY_LEN(sizes); i++) {
		off[i] = total;
		total += (sizes[i] * sizeof(float) + 63) & ~(size_t)63;
	}
	size_t act_off = total;
	total += act_need(m, n_batch);
	size_t act2_off = total;
	total += act_need(m, HRT_MIN(n_batch, GROUP_MAX_N));
	c->arena = hrt_malloc_aligned(total);
	if (!c->arena) {
		free(c);
		return HRT_ERR(err, HRT_ENOMEM, "no memory for a %.1f MiB activation arena",
			       (double)total / 1048576.0);
	}
	for (size_t i = 0; i < HRT_ARRAY_LEN(sizes); i++)
		*ptrs[i] = (float *)((char *)c->arena + off[i]);
	c->act = (char *)c->arena + act_off;
	c->act2 = (char *)c->arena + act2_off;
	*out = c;
	return HRT_OK;
}

void hrt_compute_free(struct hrt_compute *c)
{
	if (!c)
		return;
	hrt_free_aligned(c->arena);
	free(c);
}

int hrt_compute_n_batch(const struct hrt_compute *c)
{
	return c->n_batch;
}

/* ---------------- element-wise pieces ---------------- */

static void rmsnorm(float *y, const float *x, const float *w, int64_t n,
		    float eps)
{
	double ss = 0;
	for (int64_t i = 0; i < n; i++)
		ss += (double)(x[i] * x[i]);
	float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
	for (int64_t i = 0; i < n; i++)
		y[i] = x[i] * scale * w[i];
}

/* cos/sin table for one position: pairs (cos, sin) for each of n_rot/2
 * frequencies, theta_i = pos * scale * base^(-2i/n_rot) / freq_factor_i,
 * computed by repeated multiplication as the peer does */
static void rope_table(float *cs, const struct hrt_model *m, int32_t pos)
{
	const struct hrt_hparams *hp = &m->hp;
	float theta_scale = powf(hp->rope_base, -2.0f / (float)hp->n_rot);
	float theta = (float)pos;
	for (uint32_t i = 0; i < hp->n_rot / 2; i++) {
		float ff = m->rope_freqs.data ? m->rope_freqs.data[i] : 1.0f;
		float t = hp->rope_freq_scale * theta / ff;
		cs[2 * i] = cosf(t);
		cs[2 * i + 1] = sinf(t);
		theta *= theta_scale;
	}
}

static void rope_apply(float *x, const float *cs, uint32_t n_heads,
		       uint32_t head_dim, uint32_t n_rot, enum hrt_rope_type type)
{
	for (uint32_t h = 0; h < n_heads; h++) {
		float *v = x + (size_t)h * head_dim;
		for (uint32_t i = 0; i < n_rot / 2; i++) {
			float c = cs[2 * i], s = cs[2 * i + 1];
			uint32_t a = type == HRT_ROPE_NEOX ? i : 2 * i;
			uint32_t b = type == HRT_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
			float x0 = v[a], x1 = v[b];
			v[a] = x0 * c - x1 * s;
			v[b] = x0 * s + x1 * c;
		}
	}
}

/* ---------------- attention ---------------- */

/* write KV heads [h0, h1) of a token's K and V into its cache at its
 * position */
static void kv_store_heads(const struct hrt_kv *kv, uint32_t l, int32_t pos, const float *k,
			   const float *v, uint32_t h0, uint32_t h1)
{
	if (kv->type == HRT_F16) {
		size_t blk = (size_t)pos / HRT_KV_BLK * HRT_KV_BLK * kv->hd + (size_t)pos % HRT_KV_BLK;
		for (uint32_t h = h0; h < h1; h++) {
			uint16_t *kd = kv_kb(kv, l, h) + blk;
			for (uint32_t i = 0; i < kv->hd; i++)
				kd[(size_t)i * HRT_KV_BLK] = hrt_f32_to_fp16(k[(size_t)h * kv->hd + i]);
		}
		for (size_t i = (size_t)h0 * kv->hd; i < (size_t)h1 * kv->hd; i++)
			kv_vt(kv, l, i)[pos] = hrt_f32_to_fp16(v[i]);
		return;
	}
	const struct hrt_kern_isa *K = hrt_kern();
	for (uint32_t h = h0; h < h1; h++) {
		K->quantize[kv->type](k + (size_t)h * kv->hd, kv_k(kv, l, h, pos), kv->hd);
		K->quantize[kv->type](v + (size_t)h * kv->hd, kv_vrow(kv, l, h, pos), kv->hd);
	}
}

struct att_job {
	struct hrt_compute *c;
	const struct hrt_batch *b;
	uint32_t layer;
	float scale;
	bool rope_kv; /* one token: each task ropes and stores its own heads */
};

/* The query heads sharing a KV head run together against its keys and
 * values. F16 cache: the queries rounded to f16 (as the peer converts
 * them), then scaled (the peer scales the scores: the same where the scale
 * is a power of two, as for head size 64, within a rounding elsewhere; a
 * pass over the scores less, 4 % of pp4096), scores by att_scores; the
 * probabilities rounded to f16 as the peer does, values by qk_f16 up to 4
 * heads at a time. Q8_0 cache: the queries quantized once, att_scores_q8_0 and
 * att_values_q8_0. Tasks are (token, KV head) pairs dealt round-robin (a
 * token's cost grows with its position, so contiguous ranges gave the last
 * thread most of a causal prompt's work), all tokens of one KV head before
 * the next, so a thread's tasks in a row read the same keys and values
 * (pp4096 of the 1B Q4_0 bench model, 2 threads, 2 alternating runs:
 * 218.5-220.2 tok/s with the heads of a token first, 223.2-227.1 so). */
static void att_worker(void *ctx, int ith, int nth)
{
	struct att_job *j = ctx;
	struct hrt_compute *c = j->c;
	const struct hrt_hparams *hp = &c->m->hp;
	uint32_t hd = hp->head_dim, gq = hp->n_head / hp->n_head_kv;
	size_t qd = (size_t)hp->n_head * hd;
	const struct hrt_kern_isa *K = hrt_kern();
	float *sc = c->scores + (size_t)ith * gq * c->n_ctx;
	float *qf = c->qf + (size_t)ith * gq * hd;
	uint8_t *qc = (uint8_t *)qf;               /* Q8_0 queries */
	for (long w = ith; w < (long)j->b->n * hp->n_head_kv; w += nth) {
		int t = (int)(w % j->b->n);
		uint32_t kh = (uint32_t)(w / j->b->n);
		const struct hrt_kv *kv = j->b->kv[t];
		int32_t np = j->b->pos[t] + 1;
		/* the queries of the heads sharing KV head kh */
		float *qh = c->q + (size_t)t * qd + (size_t)kh * gq * hd;
		float *ot = c->att + (size_t)t * qd;
		if (j->rope_kv) {
			const float *cs = c->rope + (size_t)t * hp->n_rot;
			size_t kvd = (size_t)hp->n_head_kv * hd;
			float *kt = c->k + (size_t)t * kvd;
			rope_apply(qh, cs, gq, hd, hp->n_rot, hp->rope_type);
			rope_apply(kt + (size_t)kh * hd, cs, 1, hd, hp->n_rot, hp->rope_type);
			kv_store_heads(kv, j->layer, j->b->pos[t], kt, c->v + (size_t)t * kvd, kh, kh + 1);
		}
		if (kv->type == HRT_F16) {
			memcpy(qf, qh, (size_t)gq * hd * sizeof(float));
			K->round_f16(qf, (int64_t)gq * hd);
			for (size_t e = 0; e < (size_t)gq * hd; e++)
				qf[e] *= j->scale;
			K->att_scores(hd, np, kv_kb(kv, j->layer, kh), qf, (int)gq, hd, sc, c->n_ctx);
			for (uint32_t i = 0; i < gq; i++) {
				K->softmax(sc + (size_t)i * c->n_ctx, np);
				K->round_f16(sc + (size_t)i * c->n_ctx, np);
			}
			for (uint32_t i = 0; i < gq; i += 4)
				K->qk_f16(np, hd, kv_vt(kv, j->layer, (size_t)kh * hd), kv->n_ctx,
					  sc + (size_t)i * c->n_ctx, (int)HRT_MIN(4u, gq - i), c->n_ctx,
					  ot + (size_t)(kh * gq + i) * hd, hd);
			continue;
		}
		for (uint32_t i = 0; i < gq; i++)
			K->quantize[HRT_Q8_0](qh + (size_t)i * hd, qc + (size_t)i * kv->head, hd);
		K->att_scores_q8_0(hd, np, kv_k(kv, j->layer, kh, 0), kv->head, qc, (int)gq, kv->head,
				   j->scale, sc, c->n_ctx);
		for (uint32_t i = 0; i < gq; i++)
			K->softmax(sc + (size_t)i * c->n_ctx, np);
		K->att_values_q8_0(hd, np, kv_vrow(kv, j->layer, kh, 0), kv->head, sc, (int)gq,
				   c->n_ctx, ot + (size_t)kh * gq * hd, hd);
	}
}

/* ---------------- the pass ---------------- */

static int check_batch(const struct hrt_compute *c, const struct hrt_batch *b,
		       struct hrt_err *err)
{
	const struct hrt_hparams *hp = &c->m->hp;
	if (b->n <= 0 || b->n > c->n_batch)
		return HRT_ERR(err, HRT_EINVAL, "batch of %d tokens (limit %d)", b->n, c->n_batch);
	for (int i = 0; i < b->n; i++) {
		if (b->tok[i] < 0 || (uint32_t)b->tok[i] >= hp->n_vocab)
			return HRT_ERR(err, HRT_EINVAL, "token id %d is outside the vocabulary of %u",
				       b->tok[i], hp->n_vocab);
		uint32_t nc = HRT_MIN(b->kv[i]->n_ctx, c->n_ctx);
		if (b->pos[i] < 0 || (uint32_t)b->pos[i] >= nc)
			return HRT_ERR(err, HRT_ERANGE, "position %d is outside the context of %u",
				       b->pos[i], nc);
	}
	return HRT_OK;
}

/* Y = X·W^T for the n rows of X (several matrices can share one activation
 * conversion when their types agree) */
static void mm(struct hrt_compute *c, const struct hrt_wt *W, const float *X,
	       int n, float *Y)
{
	hrt_matmul(c->pool, W, X, n, Y, c->act);
}

/* the products of X with up to three matrices (NULL: none) in as few pool
 * jobs as their kinds allow (hrt_matmul_pre_n), X converted once per
 * activation layout: two layouts fit at once (c->act, c->act2) for up to
 * GROUP_MAX_N tokens. Decode then wakes the pool 5 times a layer, not 8
 * (q/k/v, gate/up as one job each): 2-thread decode of the 1B bench models
 * on a 2-core Xeon, medians of 7 alternating runs twice, tok/s separate ->
 * grouped: Q4_0 36.2 -> 37.2, 36.9 -> 36.8; Q4_K_M 34.8 -> 35.6, 32.7 ->
 * 33.7 (its Q6_K attn_v joins q and k in a second layout). */
static void mm3(struct hrt_compute *c, const struct hrt_wt *a,
		const struct hrt_wt *b2, const struct hrt_wt *b3, const float *X,
		int n, float *Ya, float *Yb, float *Yc)
{
	const struct hrt_wt *w[3] = { a, b2, b3 };
	float *y[3] = { Ya, Yb, Yc };
	void *buf[2] = { c->act, c->act2 };
	uint32_t key[2];
	size_t st[2];
	struct hrt_mm_part parts[3];
	int np = 0, nk = 0;
	for (int i = 0; i < 3; i++) {
		if (!w[i])
			continue;
		uint32_t kk = hrt_kern_act_key(w[i]->type, w[i]->ncols, n);
		int s = -1;
		for (int q = 0; q < nk; q++)
			if (key[q] == kk)
				s = q;
		if (s < 0) {
			if (nk == 2 || (nk == 1 && n > GROUP_MAX_N)) {
				hrt_matmul_pre_n(c->pool, parts, np, n);
				np = nk = 0;
			}
			s = nk++;
			key[s] = kk;
			st[s] = hrt_matmul_quantize(c->pool, w[i]->type, w[i]->ncols, X, n, buf[s]);
		}
		parts[np++] = (struct hrt_mm_part){ w[i], buf[s], st[s], y[i] };
	}
	hrt_matmul_pre_n(c->pool, parts, np, n);
}

static void add_bias(float *y, const struct hrt_vec *b, int n, size_t stride)
{
	if (!b->data)
		return;
	for (int t = 0; t < n; t++)
		for (int64_t i = 0; i < b->n; i++)
			y[(size_t)t * stride + (size_t)i] += b->data[i];
}

/* run all layers over c->x (n rows already embedded) */
/*
 * The per-token work between the matrix products (norms, rope, the KV
 * store, residuals, SwiGLU), split over the pool's threads by token when
 * the batch is large enough to pay for a pool job (decode runs it on the
 * caller: a job costs more than one token's norm). Each token's values are
 * computed exactly as on one thread.
 */
enum ew_stage { EW_ATTN_IN, EW_ROPE_KV, EW_ATTN_OUT, EW_FFN_ACT, EW_FFN_OUT };

struct ew_job {
	struct hrt_compute *c;
	const struct hrt_batch *b;
	const struct hrt_layer *L;
	uint32_t l;
	enum ew_stage st;
};

#define EW_MIN_TOKENS 8

static void ew_tokens(const struct ew_job *j, int t0, int t1)
{
	struct hrt_compute *c = j->c;
	const struct hrt_model *m = c->m;
	const struct hrt_hparams *hp = &m->hp;
	const struct hrt_layer *L = j->L;
	size_t E = hp->n_embd, qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim, F = hp->n_ff;
	for (int t = t0; t < t1; t++) {
		float *x = c->x + (size_t)t * E, *xb = c->xb + (size_t)t * E;
		const float *out = c->out + (size_t)t * E;
		switch (j->st) {
		case EW_ATTN_IN:
			rmsnorm(xb, x, L->attn_norm.data, (int64_t)E, hp->norm_eps);
			break;
		case EW_ROPE_KV: {
			const float *cs = c->rope + (size_t)t * hp->n_rot;
			rope_apply(c->q + t * qd, cs, hp->n_head, hp->head_dim, hp->n_rot,
				   hp->rope_type);
			rope_apply(c->k + t * kvd, cs, hp->n_head_kv, hp->head_dim, hp->n_rot,
				   hp->rope_type);
			kv_store_heads(j->b->kv[t], j->l, j->b->pos[t], c->k + t * kvd, c->v + t * kvd, 0,
				       j->b->kv[t]->nh);
			break;
		}
		case EW_ATTN_OUT:
			for (size_t i = 0; i < E; i++)
				x[i] += out[i] * hp->residual_scale;
			rmsnorm(xb, x, L->ffn_norm.data, (int64_t)E, hp->norm_eps);
			break;
		case EW_FFN_ACT: {
			hrt_kern()->swiglu(c->hb + (size_t)t * F, c->hb2 + (size_t)t * F, (int64_t)F);
			break;
		}
		case EW_FFN_OUT:
			for (size_t i = 0; i < E; i++)
				x[i] += out[i] * hp->residual_scale;
			break;
		}
	}
}

static void ew_worker(void *ctx, int ith, int nth)
{
	const struct ew_job *j = ctx;
	long t0, t1;
	hrt_split(j->b->n, ith, nth, &t0, &t1);
	ew_tokens(j, (int)t0, (int)t1);
}

static void ew_run(struct hrt_compute *c, const struct hrt_batch *b, const struct hrt_layer *L,
		   uint32_t l, enum ew_stage st)
{
	struct ew_job j = { c, b, L, l, st };
	if (b->n >= EW_MIN_TOKENS && c->nth > 1)
		hrt_pool_run(c->pool, ew_worker, &j);
	else
		ew_tokens(&j, 0, b->n);
}

/* the next product job's matrices (NULL: none), for the idle workers to
 * prefetch while the caller does the work before it (hrt_matmul_warm). In
 * 2-thread decode the worker waits about 5 % of each token for that work. */
static void warm(struct hrt_compute *c, int n, const struct hrt_wt *a, const struct hrt_wt *b2,
		 const struct hrt_wt *b3)
{
	const struct hrt_wt *w[3] = { a, b2, b3 };
	int k = b3 ? 3 : b2 ? 2 : 1;
	hrt_matmul_warm(c->pool, w, k, n);
}

/* the first product of layer l, or the output's after the last */
static void warm_layer(struct hrt_compute *c, int n, uint32_t l)
{
	const struct hrt_model *m = c->m;
	if (l < m->hp.n_layer)
		warm(c, n, &m->layers[l].wq, &m->layers[l].wk, &m->layers[l].wv);
	else
		warm(c, n, &m->output, NULL, NULL);
}

static void run_layers(struct hrt_compute *c, const struct hrt_batch *b)
{
	const struct hrt_model *m = c->m;
	const struct hrt_hparams *hp = &m->hp;
	int n = b->n;
	size_t qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim;
	float scale = hp->attn_scale > 0 ? hp->attn_scale
					 : 1.0f / sqrtf((float)hp->head_dim);

	for (int t = 0; t < n; t++)
		rope_table(c->rope + (size_t)t * hp->n_rot, m, b->pos[t]);

	for (uint32_t l = 0; l < hp->n_layer; l++) {
		const struct hrt_layer *L = &m->layers[l];
		ew_run(c, b, L, l, EW_ATTN_IN);
		mm3(c, &L->wq, &L->wk, &L->wv, c->xb, n, c->q, c->k, c->v);
		warm(c, n, &L->wo, NULL, NULL);
		add_bias(c->q, &L->bq, n, qd);
		add_bias(c->k, &L->bk, n, kvd);
		add_bias(c->v, &L->bv, n, kvd);
		/* one token: rope and the KV store in the attention job, each
		 * task its own heads (in a batch a token's attention reads the
		 * keys of the tokens before it, stored first) */
		struct att_job aj = { c, b, l, scale, n == 1 };
		if (!aj.rope_kv)
			ew_run(c, b, L, l, EW_ROPE_KV);
		hrt_pool_run(c->pool, att_worker, &aj);
		mm(c, &L->wo, c->att, n, c->out);
		warm(c, n, &L->w_gate, &L->w_up, NULL);
		ew_run(c, b, L, l, EW_ATTN_OUT);
		mm3(c, &L->w_gate, &L->w_up, NULL, c->xb, n, c->hb, c->hb2, NULL);
		warm(c, n, &L->w_down, NULL, NULL);
		ew_run(c, b, L, l, EW_FFN_ACT);
		mm(c, &L->w_down, c->hb, n, c->out);
		warm_layer(c, n, l + 1);
		ew_run(c, b, L, l, EW_FFN_OUT);
	}
}

static void embed_tokens(struct hrt_compute *c, const int32_t *tok, int n)
{
	const struct hrt_model *m = c->m;
	size_t E = m->hp.n_embd;
	for (int t = 0; t < n; t++) {
		hrt_wt_row(&m->tok_embd, tok[t], c->x + t * E);
		if (m->hp.embd_scale != 1.0f)
			for (size_t i = 0; i < E; i++)
				c->x[t * E + i] *= m->hp.embd_scale;
	}
}

int hrt_forward(struct hrt_compute *c, const struct hrt_batch *b,
		float *logits, struct hrt_err *err)
{
	int rc = check_batch(c, b, err);
	if (rc)
		return rc;
	const struct hrt_model *m = c->m;
	const struct hrt_hparams *hp = &m->hp;
	size_t E = hp->n_embd;
	warm_layer(c, b->n, 0);
	embed_tokens(c, b->tok, b->n);
	run_layers(c, b);
	/* gather the rows that want logits, normalise, project */
	int n_out = 0;
	for (int t = 0; t < b->n; t++) {
		bool want = b->logits ? b->logits[t] : t == b->n - 1;
		if (!want)
			continue;
		rmsnorm(c->xb + (size_t)n_out * E, c->x + (size_t)t * E,
			m->output_norm.data, (int64_t)E, hp->norm_eps);
		n_out++;
	}
	if (n_out == 0)
		return HRT_OK;
	mm(c, &m->output, c->xb, n_out, logits);
	/* the next step most likely decodes one token from layer 0 */
	warm_layer(c, 1, 0);
	if (hp->logit_scale != 1.0f) {
		float inv = 1.0f / hp->logit_scale;
		for (size_t i = 0; i < (size_t)n_out * hp->n_vocab; i++)
			logits[i] *= inv;
	}
	return HRT_OK;
}

int hrt_embed(struct hrt_compute *c, struct hrt_kv *kv, const int32_t *tok,
	      int n, float *out, struct hrt_err *err)
{
	const struct hrt_hparams *hp = &c->m->hp;
	size_t E = hp->n_embd;
	double *acc = calloc(E, sizeof(double));
	int32_t *pos = malloc(sizeof(int32_t) * (size_t)c->n_batch);
	struct hrt_kv **kvs = malloc(sizeof(*kvs) * (size_t)c->n_batch);
	int rc = HRT_OK;
	if (!acc || !pos || !kvs) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	if (n <= 0) {
		rc = HRT_ERR(err, HRT_EINVAL, "nothing to embed");
		goto out_free;
	}
	for (int done = 0; done < n; ) {
		int k = HRT_MIN(n - done, c->n_batch);
		for (int i = 0; i < k; i++) {
			pos[i] = done + i;
			kvs[i] = kv;
		}
		struct hrt_batch b = { k, tok + done, pos, kvs, NULL };
		if ((rc = check_batch(c, &b, err)))
			goto out_free;
		embed_tokens(c, b.tok, k);
		run_layers(c, &b);
		for (int t = 0; t < k; t++) {
			rmsnorm(c->xb, c->x + (size_t)t * E, c->m->output_norm.data,
				(int64_t)E, hp->norm_eps);
			for (size_t i = 0; i < E; i++)
				acc[i] += c->xb[i];
		}
		done += k;
	}
	double norm = 0;
	for (size_t i = 0; i < E; i++) {
		acc[i] /= n;
		norm += acc[i] * acc[i];
	}
	norm = norm > 0 ? 1.0 / sqrt(norm) : 0;
	for (size_t i = 0; i < E; i++)
		out[i] = (float)(acc[i] * norm);
out_free:
	free(acc);
	free(pos);
	free(kvs);
	return rc;
}
