/* infer/sample — see sample.h. */
#include "infer/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

struct cand {
	int32_t id;
	float logit;
};

struct hrt_sampler {
	struct hrt_sample_params p;
	int32_t n_vocab;
	struct cand *c;     /* (n_vocab) candidates */
	uint32_t *count;    /* (n_vocab) occurrences in the penalty window */
	uint64_t rng[4];    /* xoshiro256** state */
};

void hrt_sample_defaults(struct hrt_sample_params *p)
{
	memset(p, 0, sizeof(*p));
	p->temperature = 0.8f;
	p->top_k = 40;
	p->top_p = 0.9f;
	p->min_p = 0.0f;
	p->repeat_penalty = 1.1f;
	p->repeat_last_n = 64;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	p->seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
}

int hrt_sample_validate(const struct hrt_sample_params *p, struct hrt_err *err)
{
	if (!isfinite(p->temperature) || p->temperature > 100)
		return HRT_ERR(err, HRT_EINVAL, "temperature %g is out of range", p->temperature);
	if (!isfinite(p->top_p) || p->top_p < 0)
		return HRT_ERR(err, HRT_EINVAL, "top_p %g is out of range (0..1)", p->top_p);
	if (!isfinite(p->min_p) || p->min_p > 1)
		return HRT_ERR(err, HRT_EINVAL, "min_p %g is out of range (0..1)", p->min_p);
	if (!isfinite(p->repeat_penalty) || p->repeat_penalty < 0 || p->repeat_penalty > 100)
		return HRT_ERR(err, HRT_EINVAL, "repeat_penalty %g is out of range", p->repeat_penalty);
	if (p->repeat_last_n < -1)
		return HRT_ERR(err, HRT_EINVAL, "repeat_last_n %d is out of range", p->repeat_last_n);
	if (!isfinite(p->presence_penalty) || fabsf(p->presence_penalty) > 100 ||
	    !isfinite(p->frequency_penalty) || fabsf(p->frequency_penalty) > 100)
		return HRT_ERR(err, HRT_EINVAL, "presence/frequency penalty out of range");
	return HRT_OK;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* uniform in [0, 1) */
static double next_unit(uint64_t *s)
{
	return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

int hrt_sampler_new(struct hrt_sampler **out, const struct hrt_sample_params *p,
		    int32_t n_vocab, struct hrt_err *err)
{
	*out = NULL;
	int rc = hrt_sample_validate(p, err);
	if (rc)
		return rc;
	struct hrt_sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	s->p = *p;
	s->n_vocab = n_vocab;
	s->c = hrt_calloc((size_t)n_vocab, sizeof(struct cand));
	s->count = hrt_calloc((size_t)n_vocab, sizeof(uint32_t));
	if (!s->c || !s->count) {
		hrt_sampler_free(s);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	uint64_t x = p->seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix(&x);
	*out = s;
	return HRT_OK;
}

void hrt_sampler_free(struct hrt_sampler *s)
{
	if (!s)
		return;
	free(s->c);
	free(s->count);
	free(s);
}

int32_t hrt_argmax(const float *x, int32_t n)
{
	int32_t best = 0;
	for (int32_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

static void penalties(struct hrt_sampler *s, float *logits, const int32_t *hist,
		      size_t n_hist)
{
	const struct hrt_sample_params *p = &s->p;
	if (p->repeat_penalty == 1.0f && p->presence_penalty == 0 &&
	    p->frequency_penalty == 0)
		return;
	size_t n = p->repeat_last_n < 0 ? n_hist
					 : HRT_MIN(n_hist, (size_t)p->repeat_last_n);
	const int32_t *h = hist + (n_hist - n);
	for (size_t i = 0; i < n; i++)
		if (h[i] >= 0 && h[i] < s->n_vocab)
			s->count[h[i]]++;
	for (size_t i = 0; i < n; i++) {
		int32_t t = h[i];
		if (t < 0 || t >= s->n_vocab || !s->count[t])
			continue;
		float l = logits[t];
		if (p->repeat_penalty != 1.0f && p->repeat_penalty > 0)
			l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
		l -= (float)s->count[t] * p->frequency_penalty + p->presence_penalty;
		logits[t] = l;
		s->count[t] = 0; /* apply once per distinct token */
	}
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->logit != y->logit)
		return x->logit > y->logit ? -1 : 1;
	return x->id - y->id;
}

/* move the k largest to the front (unordered), expected O(n) */
static void select_top(struct cand *c, int32_t n, int32_t k)
{
	int32_t lo = 0, hi = n - 1;
	uint64_t st = 0x1234567ull;
	while (lo < hi) {
		struct cand piv = c[lo + (int32_t)(splitmix(&st) % (uint64_t)(hi - lo + 1))];
		int32_t i = lo, j = hi;
		while (i <= j) {
			while (cmp_cand(&c[i], &piv) < 0)
				i++;
			while (cmp_cand(&c[j], &piv) > 0)
				j--;
			if (i <= j) {
				struct cand t = c[i];
				c[i] = c[j];
				c[j] = t;
				i++;
				j--;
			}
		}
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			return;
	}
}

int32_t hrt_sampler_pick(struct hrt_sampler *s, float *logits,
			 const int32_t *hist, size_t n_hist)
{
	const struct hrt_sample_params *p = &s->p;
	int32_t V = s->n_vocab;
	for (int32_t i = 0; i < V; i++)
		if (logits[i] != logits[i])
			logits[i] = -INFINITY; /* a nan never wins */
	penalties(s, logits, hist, n_hist);
	if (p->temperature <= 0)
		return hrt_argmax(logits, V);

	struct cand *c = s->c;
	for (int32_t i = 0; i < V; i++)
		c[i] = (struct cand){ i, logits[i] };
	int32_t n = V;
	if (p->top_k > 0 && p->top_k < n) {
		select_top(c, n, p->top_k);
		n = p->top_k;
	}
	qsort(c, (size_t)n, sizeof(*c), cmp_cand);
	/* probabilities at temperature 1 for the top-p / min-p filters */
	float mx = c[0].logit;
	double sum = 0;
	for (int32_t i = 0; i < n; i++)
		sum += exp((double)(c[i].logit - mx));
	if (p->top_p < 1.0f) {
		double acc = 0;
		int32_t keep = n;
		for (int32_t i = 0; i < n; i++) {
			acc += exp((double)(c[i].logit - mx)) / sum;
			if (acc >= p->top_p) {
				keep = i + 1;
				break;
			}
		}
		n = keep;
	}
	if (p->min_p > 0) {
		/* keep tokens whose probability is >= min_p * the top one's */
		float cut = mx + logf(p->min_p);
		int32_t keep = 1;
		while (keep < n && c[keep].logit >= cut)
			keep++;
		n = keep;
	}
	/* temperature, then draw */
	double tot = 0;
	for (int32_t i = 0; i < n; i++)
		tot += exp((double)(c[i].logit - mx) / p->temperature);
	double r = next_unit(s->rng) * tot, acc = 0;
	for (int32_t i = 0; i < n; i++) {
		acc += exp((double)(c[i].logit - mx) / p->temperature);
		if (r < acc)
			return c[i].id;
	}
	return c[n - 1].id;
}
