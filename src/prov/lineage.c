/*
 * prov/lineage — does model B derive from model A, using only weights?
 *
 * 1. Pairing. Every tensor of B gets a partner in A of the same shape:
 *    first the one with the same name, kept if their sampled values
 *    correlate (z >= 8 with 32 rows x up to 2048 columns); then, for the
 *    rest, the best-correlated unused tensor of that shape (renamed or
 *    reordered copies); then alignment (align.c) against the same-named
 *    or other candidates, rows then columns (permuted hidden units). Each
 *    hypothesis tried counts in the tensor's p-value (Bonferroni).
 * 2. Per tensor: correlation and its z under "independent weights", the
 *    relative delta, and the delta's energy against what re-quantizing A
 *    into B's type (and B into A's) would add — "noise ratio" ~1 for an
 *    honest quantization. A real change gets its effective rank (90% of
 *    the energy above the noise floor, on up to 256 rows x 512 columns,
 *    changed rows first).
 * 3. Per pair: p = min(1, 2 x median of the matrices' p-values) — a valid
 *    combination under any dependence (Vovk & Wang 2020), so unrelated
 *    models land near p = 1 and related ones at 10^-(hundreds); the
 *    relation follows from how many matrices changed and how (rules in
 *    classify()); a change of rank <= 2 confined to a few matrices while
 *    the rest is unchanged is flagged suspicious (the poisoning pattern).
 *
 * Not here: family trees (family.c), sampling/alignment (align.c).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/pool.h"
#include "kern/types.h"
#include "model/tools.h"
#include "prov/prov_int.h"

#define Z_ACCEPT 8.0
#define Z_NAME 4.0
#define Z_ALIGN 6.0
#define QNOISE_MAX 3.0
#define IDENT_COLS 2048
#define RANK_ROWS 256
#define RANK_COLS 512
#define NOISE_ROWS 8
#define MAX_ALIGN_FAIL 8   /* alignment attempts without success before giving up */
#define MAX_ALIGN_CANDS 3
#define MAX_ALIGN_CANDS_RENAMED 12
#define SUSPICIOUS_RANK 2

struct pairing {
	int ia;                /* partner in A, -1 if none */
	int n_tests;           /* hypotheses tried (Bonferroni factor) */
	bool informative;      /* the pairing rests on a finite correlation */
	struct prov_match mt;  /* the accepted sample */
	/* analysis results */
	double delta_corr_a;   /* corr(B - A, A) */
};

struct ctx {
	const struct prov_model *ma, *mb;
	struct pairing *pr;
	struct hrt_lineage_tensor *out;
	int m;
	atomic_int next;
	atomic_int failed;     /* ENOMEM in a worker */
};

/* page-aligned madvise over a mapping (a hint: errors are ignored) */
static void advise(const void *p, uint64_t len, int advice)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t b = (uintptr_t)p & ~(pg - 1);
	if (len)
		madvise((void *)b, (size_t)(len + ((uintptr_t)p - b)), advice);
}

static bool same_shape(const struct prov_tensor *a, const struct prov_tensor *b)
{
	if (a->n_dims != b->n_dims)
		return false;
	for (int d = 0; d < 4; d++)
		if (a->ne[d] != b->ne[d])
			return false;
	return true;
}

static bool accept(const struct prov_match *mt, double zmin)
{
	return isfinite(mt->z) && mt->z >= zmin;
}

/* an uninformative pair (a constant vector on either side) that is equal */
static bool equal_sample(const struct prov_match *mt)
{
	size_t n = (size_t)mt->m * mt->w;
	return n && !memcmp(mt->x, mt->y, n * sizeof(float));
}

/* ---------------------------------------------------- step 1 (parallel) */

static int find_name(const struct prov_model *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->t[i].name, name))
			return (int)i;
	return -1;
}

static void step1_task(void *vc, int ith, int nth)
{
	struct ctx *c = vc;
	(void)ith;
	(void)nth;
	for (;;) {
		int ib = atomic_fetch_add(&c->next, 1);
		if (ib >= (int)c->mb->n)
			return;
		const struct prov_tensor *tb = &c->mb->t[ib];
		struct pairing *p = &c->pr[ib];
		p->ia = -1;
		if (!tb->readable)
			continue;
		int ia = find_name(c->ma, tb->name);
		if (ia < 0 || !c->ma->t[ia].readable || !same_shape(&c->ma->t[ia], tb))
			continue;
		struct prov_match mt;
		if (prov_sample_identity(&c->ma->t[ia], tb, c->m, IDENT_COLS, &mt)) {
			atomic_store(&c->failed, 1);
			continue;
		}
		p->n_tests = 1;
		/* one hypothesis (same name, same shape): a lower bar than
		 * the searches, so that small related vectors pair up */
		if ((isfinite(mt.z) && mt.z >= Z_NAME) || isnan(mt.corr) ||
		    equal_sample(&mt)) {
			p->ia = ia;
			p->informative = !isnan(mt.corr);
			p->mt = mt;
		} else {
			prov_match_free(&mt);
		}
	}
}

/* ------------------------------------------------------------ noise */

/* relative energy that converting t's values into type `to` adds */
static double requant_rel2(const struct prov_tensor *t, uint32_t to)
{
	const struct hrt_type_traits *tt = hrt_type_get(to);
	if (!tt)
		return 0;
	if (to == HRT_F32)
		return 0;
	uint64_t c = HRT_MIN(t->cols, (uint64_t)IDENT_COLS);
	c = c / tt->blck * tt->blck;
	if (!tt->from_float || !tt->to_float || c == 0) {
		/* a uniform quantizer of the type's bits over +-2.5 sigma */
		double bpw = 8.0 * tt->size / tt->blck;
		return 25.0 / (12.0 * pow(4.0, bpw));
	}
	int m = (int)HRT_MIN(t->rows, (uint64_t)NOISE_ROWS);
	uint64_t rows[32];
	/* the first run of the (default) identity sample: pages already read */
	prov_blocks(t->rows, (int)HRT_MIN(t->rows, 32u),
		    prov_mix64(t->cols * 0x9e3779b97f4a7c15ull + t->rows), rows);
	float *x = malloc(c * sizeof *x), *y = malloc(c * sizeof *y);
	float *scratch = malloc((t->cols + 1024) * sizeof *scratch);
	uint8_t *q = malloc(c / tt->blck * tt->size + 64);
	double se = 0, ss = 0;
	if (x && y && scratch && q) {
		for (int k = 0; k < m; k++) {
			prov_row_get(t, rows[k], 0, c, x, scratch);
			tt->from_float(x, q, (int64_t)c);
			tt->to_float(q, y, (int64_t)c);
			for (uint64_t i = 0; i < c; i++) {
				double d = (double)y[i] - x[i];
				se += d * d;
				ss += (double)x[i] * x[i];
			}
		}
	}
	free(x);
	free(y);
	free(scratch);
	free(q);
	return ss > 0 ? se / ss : 0;
}

/* ---------------------------------------------------------- analysis */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* effective rank of B - A, reading up to RANK_ROWS rows (changed rows
 * first when the types agree) and RANK_COLS columns */
static int rank_of_delta(const struct prov_tensor *a, const struct prov_tensor *b,
			 const struct prov_match *mt, double noise_var, double *top2)
{
	if (mt->axis != HRT_ALIGN_NONE) {
		const float *X = mt->ax ? mt->ax : mt->x, *Y = mt->ax ? mt->ay : mt->y;
		int am = mt->ax ? mt->am : mt->m, aw = mt->ax ? mt->aw : mt->w;
		size_t n = (size_t)am * aw;
		float *d = malloc(n * sizeof *d);
		if (!d)
			return 0;
		for (size_t i = 0; i < n; i++)
			d[i] = Y[i] - X[i];
		int r = prov_eff_rank(d, am, aw, noise_var, top2);
		free(d);
		return r;
	}
	uint64_t cols = HRT_MIN(b->cols, (uint64_t)RANK_COLS);
	int m = (int)HRT_MIN(b->rows, (uint64_t)RANK_ROWS);
	uint64_t *rows = malloc((size_t)(m > 0 ? m : 1) * sizeof *rows);
	if (!rows)
		return 0;
	int got = 0;
	if (a->type == b->type && a->row_bytes == b->row_bytes) {
		/* count changed rows, then take them spread out */
		uint64_t nch = 0;
		for (uint64_t r = 0; r < b->rows; r++)
			if (memcmp(a->data + r * a->row_bytes, b->data + r * b->row_bytes,
				   b->row_bytes))
				nch++;
		if (nch > 0) {
			uint64_t step = nch > (uint64_t)m ? nch / (uint64_t)m : 1, k = 0;
			for (uint64_t r = 0; r < b->rows && got < m; r++)
				if (memcmp(a->data + r * a->row_bytes,
					   b->data + r * b->row_bytes, b->row_bytes)) {
					if (k % step == 0)
						rows[got++] = r;
					k++;
				}
		}
	}
	if (got == 0) {
		prov_spread(b->rows, m, 0x4a11, rows);
		got = m;
	}
	qsort(rows, (size_t)got, sizeof *rows, cmp_u64);
	float *x = malloc((size_t)got * cols * sizeof *x);
	float *y = malloc((size_t)got * cols * sizeof *y);
	float *scratch = malloc((b->cols + 1024) * sizeof *scratch);
	int r = 0;
	if (x && y && scratch) {
		for (int k = 0; k < got; k++) {
			prov_row_get(a, rows[k], 0, cols, x + (size_t)k * cols, scratch);
			prov_row_get(b, rows[k], 0, cols, y + (size_t)k * cols, scratch);
		}
		for (size_t i = 0; i < (size_t)got * cols; i++)
			y[i] -= x[i];
		r = prov_eff_rank(y, got, (int)cols, noise_var, top2);
	}
	free(rows);
	free(x);
	free(y);
	free(scratch);
	return r;
}

static void analyze(const struct prov_tensor *a, const struct prov_tensor *b,
		    struct pairing *p, struct hrt_lineage_tensor *o)
{
	const struct prov_match *mt = &p->mt;
	const float *X = mt->ax ? mt->ax : mt->x, *Y = mt->ax ? mt->ay : mt->y;
	size_t n = mt->ax ? (size_t)mt->am * mt->aw : (size_t)mt->m * mt->w;
	double exa = 0, eyb = 0, ed = 0, dxa = 0;
	double mx = 0, md = 0;
	for (size_t i = 0; i < n; i++) {
		mx += X[i];
		md += (double)Y[i] - X[i];
	}
	mx /= n ? (double)n : 1;
	md /= n ? (double)n : 1;
	double sdd = 0, sxx = 0;
	for (size_t i = 0; i < n; i++) {
		double x = X[i], y = Y[i], d = y - x;
		exa += x * x;
		eyb += y * y;
		ed += d * d;
		dxa += (d - md) * (x - mx);
		sdd += (d - md) * (d - md);
		sxx += (x - mx) * (x - mx);
	}
	p->delta_corr_a = sdd > 0 && sxx > 0 ? dxa / sqrt(sdd * sxx) : 0;
	o->corr = isnan(mt->corr) ? (ed == 0 ? 1.0 : 0.0) : mt->corr;
	o->z = mt->z;
	o->align = mt->axis;
	o->rel_delta = exa > 0 ? sqrt(ed / exa) : (ed > 0 ? 1.0 : 0.0);
	o->energy_dir = ed > 0 ? (eyb - exa) / ed : 0;
	bool same = false;
	if (mt->axis == HRT_ALIGN_NONE && a->type == b->type && a->nbytes == b->nbytes &&
	    ed == 0) {
		/* every byte, read in large sequential pieces */
		advise(a->data, a->nbytes, MADV_SEQUENTIAL);
		advise(b->data, b->nbytes, MADV_SEQUENTIAL);
		same = !memcmp(a->data, b->data, b->nbytes);
		advise(a->data, a->nbytes, MADV_RANDOM);
		advise(b->data, b->nbytes, MADV_RANDOM);
	}
	else if (ed == 0 && a->type == b->type)
		same = true; /* aligned: equal on the sample */
	double rho_a = requant_rel2(a, b->type), rho_b = requant_rel2(b, a->type);
	double expect = rho_a * exa + rho_b * eyb;
	o->noise_ratio = expect > 0 ? ed / expect : (ed > 0 ? INFINITY : 0);
	if (same) {
		o->cmp = HRT_TC_SAME;
		o->rel_delta = 0;
		o->noise_ratio = 0;
	} else if (o->noise_ratio <= QNOISE_MAX) {
		o->cmp = HRT_TC_QNOISE;
	} else {
		o->cmp = HRT_TC_CHANGED;
		double nv = n ? expect / (double)n : 0;
		o->eff_rank = rank_of_delta(a, b, mt, nv, &o->top2_share);
	}
}

static void analyze_task(void *vc, int ith, int nth)
{
	struct ctx *c = vc;
	(void)ith;
	(void)nth;
	for (;;) {
		int ib = atomic_fetch_add(&c->next, 1);
		if (ib >= (int)c->mb->n)
			return;
		struct pairing *p = &c->pr[ib];
		if (p->ia < 0)
			continue;
		analyze(&c->ma->t[p->ia], &c->mb->t[ib], p, &c->out[ib]);
	}
}

/* ------------------------------------------------- steps 2 and 3 */

struct cand {
	int ib, ia;
	double z;
};

static int cmp_cand(const void *x, const void *y)
{
	double a = ((const struct cand *)x)->z, b = ((const struct cand *)y)->z;
	return a < b ? 1 : a > b ? -1 : 0;
}

/* step 2: renamed/reordered tensors, by correlation among same shapes.
 * Samples are loaded once per tensor; a plain Pearson r screens each pair
 * and only promising ones get the null-calibrated z. When nothing has
 * matched after a few tensors, the models are not related: stop. */
#define STEP2_DRY 8

static float *cached(float **slot, const struct prov_tensor *t, int m, int *mo, int *wo)
{
	if (!*slot)
		*slot = prov_identity_sample(t, m, IDENT_COLS, mo, wo);
	else {
		*mo = (int)HRT_MIN((uint64_t)m, t->rows);
		*wo = (int)HRT_MIN((uint64_t)IDENT_COLS, t->cols);
	}
	return *slot;
}

static int step2(struct ctx *c, bool *used_a)
{
	const struct prov_model *ma = c->ma, *mb = c->mb;
	size_t cap = 64, n = 0;
	int rc = HRT_OK, dry = 0;
	bool any = false;
	for (size_t ib = 0; ib < mb->n; ib++)
		if (c->pr[ib].ia >= 0 && c->pr[ib].informative)
			any = true;
	struct cand *cs = malloc(cap * sizeof *cs);
	float **sa = calloc(ma->n, sizeof *sa), **sb = calloc(mb->n, sizeof *sb);
	if (!cs || !sa || !sb) {
		rc = HRT_ENOMEM;
		goto out_free;
	}
	for (size_t ib = 0; ib < mb->n; ib++) {
		const struct prov_tensor *tb = &mb->t[ib];
		if (c->pr[ib].ia >= 0 || !tb->readable)
			continue;
		if (!any && dry >= STEP2_DRY)
			break;
		bool tried = false, found = false;
		for (size_t ia = 0; ia < ma->n; ia++) {
			const struct prov_tensor *ta = &ma->t[ia];
			if (used_a[ia] || !ta->readable || !same_shape(ta, tb))
				continue;
			int m, w, m2, w2;
			float *x = cached(&sa[ia], ta, c->m, &m, &w);
			float *y = cached(&sb[ib], tb, c->m, &m2, &w2);
			if (!x || !y) {
				rc = HRT_ENOMEM;
				goto out_free;
			}
			tried = true;
			c->pr[ib].n_tests++;
			size_t ne = (size_t)m * w;
			/* exact equality of non-constant values ranks first */
			bool eq = !memcmp(x, y, ne * sizeof *x);
			double r = prov_pearson(x, y, ne), z;
			if (eq && r > 0.999)
				z = 1e9;
			else if (!(r * sqrt((double)ne) >= Z_ACCEPT))
				continue;
			else
				prov_corr_z(x, y, m, w, &r, &z);
			if (!(isfinite(z) && z >= Z_ACCEPT))
				continue;
			found = true;
			if (n == cap) {
				struct cand *nc = realloc(cs, cap * 2 * sizeof *cs);
				if (!nc) {
					rc = HRT_ENOMEM;
					goto out_free;
				}
				cs = nc;
				cap *= 2;
			}
			cs[n++] = (struct cand){ (int)ib, (int)ia, z };
		}
		if (found)
			any = true;
		else if (tried)
			dry++;
	}
	qsort(cs, n, sizeof *cs, cmp_cand);
	for (size_t k = 0; k < n; k++) {
		struct pairing *p = &c->pr[cs[k].ib];
		if (p->ia >= 0 || used_a[cs[k].ia])
			continue;
		struct prov_match mt;
		if (prov_sample_identity(&ma->t[cs[k].ia], &mb->t[cs[k].ib], c->m, IDENT_COLS,
					 &mt)) {
			rc = HRT_ENOMEM;
			goto out_free;
		}
		p->ia = cs[k].ia;
		p->informative = true;
		p->mt = mt;
		used_a[cs[k].ia] = true;
	}
out_free:
	for (size_t i = 0; sa && i < ma->n; i++)
		free(sa[i]);
	for (size_t i = 0; sb && i < mb->n; i++)
		free(sb[i]);
	free(sa);
	free(sb);
	free(cs);
	return rc;
}

/* step 2b: a pairing accepted as it stands but weakly correlated may be
 * a partly permuted one (some heads moved, others not): keep an
 * alignment if it explains the pair much better */
static int step2b(struct ctx *c)
{
	for (size_t ib = 0; ib < c->mb->n; ib++) {
		struct pairing *p = &c->pr[ib];
		const struct prov_tensor *tb = &c->mb->t[ib];
		if (p->ia < 0 || !p->informative || p->mt.axis != HRT_ALIGN_NONE ||
		    !(p->mt.corr < 0.95) || tb->rows < 4 || tb->cols < 4)
			continue;
		for (int ax = HRT_ALIGN_ROWS; ax <= HRT_ALIGN_COLS; ax++) {
			struct prov_match mt;
			int rc = prov_align(&c->ma->t[p->ia], tb, (enum hrt_align)ax,
					    HRT_MAX(c->m, 64), &mt);
			if (rc == HRT_ENOMEM)
				return rc;
			if (rc)
				continue;
			p->n_tests++;
			if (accept(&mt, Z_ALIGN) && mt.acorr > p->mt.acorr + 0.05) {
				prov_match_free(&p->mt);
				p->mt = mt;
			} else {
				prov_match_free(&mt);
			}
		}
	}
	return HRT_OK;
}

/* step 3: alignment of rows or columns */
static int step3(struct ctx *c, bool *used_a)
{
	const struct prov_model *ma = c->ma, *mb = c->mb;
	int fails = 0, wins = 0;
	bool any_step12 = false;
	for (size_t ib = 0; ib < mb->n; ib++)
		if (c->pr[ib].ia >= 0 && c->pr[ib].informative)
			any_step12 = true;
	for (size_t ib = 0; ib < mb->n; ib++) {
		const struct prov_tensor *tb = &mb->t[ib];
		struct pairing *p = &c->pr[ib];
		if (p->ia >= 0 || !tb->readable || tb->rows < 4 || tb->cols < 4)
			continue;
		if (fails >= MAX_ALIGN_FAIL && wins == 0 && !any_step12)
			break; /* nothing aligns: these models are not related */
		int cands[MAX_ALIGN_CANDS_RENAMED], nc = 0;
		int same = find_name(ma, tb->name);
		if (same >= 0 && !used_a[same] && ma->t[same].readable &&
		    same_shape(&ma->t[same], tb))
			cands[nc++] = same;
		/* without a same-named partner (renamed and permuted), look wider */
		int lim = nc ? MAX_ALIGN_CANDS : MAX_ALIGN_CANDS_RENAMED;
		for (size_t ia = 0; ia < ma->n && nc < lim; ia++)
			if ((int)ia != same && !used_a[ia] && ma->t[ia].readable &&
			    same_shape(&ma->t[ia], tb))
				cands[nc++] = (int)ia;
		bool ok = false;
		for (int k = 0; k < nc && !ok; k++) {
			for (int ax = HRT_ALIGN_ROWS; ax <= HRT_ALIGN_COLS && !ok; ax++) {
				struct prov_match mt;
				int rc = prov_align(&ma->t[cands[k]], tb, (enum hrt_align)ax,
						    HRT_MAX(c->m, 64), &mt);
				if (rc == HRT_ENOMEM)
					return rc;
				if (rc)
					continue;
				p->n_tests++;
				if (accept(&mt, Z_ALIGN)) {
					p->ia = cands[k];
					p->informative = true;
					p->mt = mt;
					used_a[cands[k]] = true;
					ok = true;
				} else {
					prov_match_free(&mt);
					fails++;
				}
			}
		}
		if (ok)
			wins++;
	}
	return HRT_OK;
}

/* ---------------------------------------------------------- classify */

static int cmp_dbl(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static uint32_t main_type(const struct prov_model *m)
{
	uint64_t count[HRT_TYPE_COUNT] = { 0 };
	for (size_t i = 0; i < m->n; i++)
		if (m->t[i].rows >= 2 && m->t[i].type < HRT_TYPE_COUNT)
			count[m->t[i].type]++;
	uint32_t best = 0;
	for (uint32_t t = 1; t < HRT_TYPE_COUNT; t++)
		if (count[t] > count[best])
			best = t;
	return best;
}

/* storage bits per weight over the matrices */
static double model_bpw(const struct prov_model *m)
{
	double bits = 0, n = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->t[i].rows >= 2) {
			bits += 8.0 * (double)m->t[i].nbytes;
			n += (double)m->t[i].rows * (double)m->t[i].cols;
		}
	return n > 0 ? bits / n : 0;
}

/* general.file_type's name, else the most common matrix type */
static void file_type(const struct hrt_gguf *g, const struct prov_model *m, char *out,
		      size_t cap)
{
	uint32_t ft;
	const char *n = NULL;
	if (!hrt_gguf_get_u32(g, "general.file_type", &ft, NULL))
		n = hrt_ftype_name(ft);
	if (!n)
		n = hrt_type_name(main_type(m));
	snprintf(out, cap, "%s", n ? n : "?");
}

static void classify(struct hrt_lineage *L, const struct prov_model *ma,
		     const struct prov_model *mb, const struct pairing *pr,
		     double alpha)
{
	size_t nb = mb->n;
	double *lp = malloc((nb ? nb : 1) * sizeof *lp);
	double *cr = malloc((nb ? nb : 1) * sizeof *cr);
	double *dist = malloc((nb ? nb : 1) * sizeof *dist);
	double *dcorr = malloc((nb ? nb : 1) * sizeof *dcorr);
	double *edir = malloc((nb ? nb : 1) * sizeof *edir);
	size_t nlp = 0, ncr = 0, nd = 0, ndc = 0, ned = 0;
	size_t n_mats = 0, n_same = 0, n_q = 0, n_ch = 0, n_unrel = 0, n_low2 = 0;
	size_t n_lowrank = 0, n_accepted = 0;
	bool all_same_exact = true;
	int max_rank_low = 0;
	L->main_type_a = main_type(ma);
	L->main_type_b = main_type(mb);
	L->bpw_a = model_bpw(ma);
	L->bpw_b = model_bpw(mb);
	if (!lp || !cr || !dist || !dcorr || !edir) {
		L->log10_p = 0;
		goto out_free;
	}
	for (size_t ib = 0; ib < nb; ib++) {
		struct hrt_lineage_tensor *t = &L->t[ib];
		const struct pairing *p = &pr[ib];
		bool mat = mb->t[ib].rows >= 2;
		if (p->ia < 0) {
			all_same_exact = false;
			if (t->cmp == HRT_TC_SKIPPED)
				continue;
			t->cmp = HRT_TC_UNRELATED;
			t->log10_p = 0;
			if (mat) {
				n_mats++;
				n_unrel++;
				lp[nlp++] = 0;
				cr[ncr++] = 0;
			}
			continue;
		}
		n_accepted++;
		if (t->cmp != HRT_TC_SAME || t->align != HRT_ALIGN_NONE)
			all_same_exact = false;
		if (strcmp(ma->t[p->ia].name, mb->t[ib].name))
			L->renamed = true;
		if (t->align != HRT_ALIGN_NONE)
			L->permuted = true;
		double l = prov_log10_normal_tail(t->z) + log10((double)(p->n_tests > 0 ? p->n_tests : 1));
		t->log10_p = p->informative ? (l < 0 ? l : 0) : 0;
		if (!mat)
			continue;
		if (!p->informative) {
			/* constant on both sides: counts for identity only */
			if (t->cmp == HRT_TC_CHANGED)
				n_ch++;
			continue;
		}
		n_mats++;
		lp[nlp++] = t->log10_p;
		cr[ncr++] = t->corr > 0 ? t->corr : 0;
		/* what the relation leaves unexplained: a change counts fully,
		 * quantization noise a thousandth (family trees prefer a parent
		 * that explains a child by quantization alone) */
		dist[nd++] = t->rel_delta * t->rel_delta * (t->cmp == HRT_TC_CHANGED ? 1.0 : 1e-3);
		if (t->cmp == HRT_TC_SAME)
			n_same++;
		else if (t->cmp == HRT_TC_QNOISE)
			n_q++;
		else if (t->cmp == HRT_TC_CHANGED) {
			n_ch++;
			dcorr[ndc++] = p->delta_corr_a;
			edir[ned++] = t->energy_dir;
			int full = (int)HRT_MIN(HRT_MIN(mb->t[ib].rows, (uint64_t)RANK_ROWS),
						HRT_MIN(mb->t[ib].cols, (uint64_t)RANK_COLS));
			if (t->align != HRT_ALIGN_NONE)
				full = p->mt.ax ? HRT_MIN(p->mt.am, p->mt.aw)
						: HRT_MIN(p->mt.m, p->mt.w);
			if (t->eff_rank > 0 && t->eff_rank <= SUSPICIOUS_RANK)
				n_low2++;
			if (t->eff_rank > 0 && t->eff_rank * 4 <= full) {
				n_lowrank++;
				if (t->eff_rank > max_rank_low)
					max_rank_low = t->eff_rank;
			}
		}
	}
	/* p = min(1, 2 * median p) over the matrices (upper median) */
	if (nlp) {
		qsort(lp, nlp, sizeof *lp, cmp_dbl);
		double med = lp[nlp / 2];
		double l = log10(2.0) + med;
		L->log10_p = l < 0 ? l : 0;
	} else {
		L->log10_p = 0;
	}
	L->p_value = pow(10.0, L->log10_p);
	if (ncr) {
		qsort(cr, ncr, sizeof *cr, cmp_dbl);
		L->score = cr[ncr / 2];
	}
	if (nd) {
		double sum = 0;
		for (size_t i = 0; i < nd; i++)
			sum += dist[i];
		L->distance = (sum + (double)n_unrel) / (double)(nd + n_unrel);
	} else {
		L->distance = INFINITY;
	}
	L->same_id = all_same_exact && n_accepted == nb && ma->n == mb->n;
	L->related = L->same_id || L->log10_p < log10(alpha);
	L->n_changed = n_ch;
	const char *ta = L->type_a, *tb = L->type_b;
	if (!L->related) {
		L->relation = HRT_REL_UNRELATED;
		snprintf(L->summary, sizeof L->summary,
			 "no relation found: %zu of %zu matrices have no related partner",
			 n_unrel + (n_mats - n_unrel - n_same - n_q - n_ch), n_mats);
		goto out_free;
	}
	if (L->same_id) {
		L->relation = HRT_REL_IDENTICAL;
		snprintf(L->summary, sizeof L->summary, "identical weights (same model ID)%s",
			 L->renamed ? ", tensors renamed or reordered" : "");
		goto out_free;
	}
	/* suspicious: few matrices with a delta of rank <= 2 */
	size_t lim = n_mats * 15 / 100;
	if (lim < 3)
		lim = 3;
	bool localized = n_low2 > 0 && n_low2 <= lim;
	if (localized) {
		for (size_t ib = 0; ib < nb; ib++) {
			struct hrt_lineage_tensor *t = &L->t[ib];
			if (t->cmp == HRT_TC_CHANGED && pr[ib].informative &&
			    mb->t[ib].rows >= 2 && t->eff_rank > 0 &&
			    t->eff_rank <= SUSPICIOUS_RANK) {
				t->suspicious = true;
				L->n_suspicious++;
			}
		}
	}
	if (n_ch == 0) {
		if (n_q == 0) {
			L->relation = HRT_REL_IDENTICAL;
			snprintf(L->summary, sizeof L->summary,
				 "identical weights%s%s (model IDs differ)",
				 L->permuted ? " up to a permutation of hidden units" : "",
				 L->renamed ? ", tensors renamed or reordered" : "");
		} else {
			L->relation = HRT_REL_QUANTIZED;
			double ba = L->bpw_a, bb = L->bpw_b;
			L->direction = bb < ba * 0.98 ? 1 : bb > ba * 1.02 ? -1 : 0;
			if (L->direction > 0)
				snprintf(L->summary, sizeof L->summary,
					 "B is a quantization of A (%s -> %s): every difference is re-quantization noise",
					 ta, tb);
			else if (L->direction < 0)
				snprintf(L->summary, sizeof L->summary,
					 "A is a quantization of B (%s -> %s): every difference is re-quantization noise",
					 tb, ta);
			else
				snprintf(L->summary, sizeof L->summary,
					 "quantizations of the same weights (%s, %s)", ta, tb);
		}
		goto out_free;
	}
	double med_dc = 0, med_ed = 0;
	if (ndc) {
		qsort(dcorr, ndc, sizeof *dcorr, cmp_dbl);
		med_dc = dcorr[ndc / 2];
	}
	if (ned) {
		qsort(edir, ned, sizeof *edir, cmp_dbl);
		med_ed = edir[ned / 2];
	}
	if (localized && n_low2 == n_ch) {
		L->relation = HRT_REL_FINETUNE;
		L->direction = med_ed > 0.5 ? 1 : med_ed < -0.5 ? -1 : 0;
		snprintf(L->summary, sizeof L->summary,
			 "%s: %zu matrix%s edited with a rank <= %d delta, everything else %s — SUSPICIOUS (poisoning pattern)",
			 L->direction < 0 ? "A is B with a localized edit" : "B is A with a localized edit",
			 n_ch, n_ch == 1 ? "" : "es", SUSPICIOUS_RANK,
			 n_q ? "unchanged up to quantization" : "unchanged");
	} else if (n_lowrank == n_ch) {
		L->relation = HRT_REL_ADAPTER;
		L->direction = med_ed > 0.5 ? 1 : med_ed < -0.5 ? -1 : 0;
		snprintf(L->summary, sizeof L->summary,
			 "low-rank deltas (rank <= %d) on %zu of %zu matrices: an adapter merged into the %s",
			 max_rank_low, n_ch, n_mats, L->direction < 0 ? "other (B)" : "base (A)");
	} else if (med_dc < -0.3 && L->score < 0.95) {
		L->relation = HRT_REL_MERGE;
		L->direction = 1;
		snprintf(L->summary, sizeof L->summary,
			 "B looks like a merge of A with other weights (%zu of %zu matrices pulled away from A, score %.2f)",
			 n_ch, n_mats, L->score);
	} else {
		L->relation = HRT_REL_FINETUNE;
		L->direction = med_ed > 0.5 ? 1 : med_ed < -0.5 ? -1 : 0;
		snprintf(L->summary, sizeof L->summary,
			 "dense changes on %zu of %zu matrices (mean squared relative delta %.3g): a fine-tune%s",
			 n_ch, n_mats, L->distance,
			 L->direction > 0 ? " of A" : L->direction < 0 ? " (A derives from B)" : "");
	}
out_free:
	free(lp);
	free(cr);
	free(dist);
	free(dcorr);
	free(edir);
}

/* ------------------------------------------------------------ entry */


int hrt_lineage_compare(const struct hrt_gguf *a, const struct hrt_gguf *b,
			const struct hrt_lineage_opts *o, struct hrt_lineage *out,
			struct hrt_err *err)
{
	struct hrt_lineage_opts def = { 0 };
	if (!o)
		o = &def;
	memset(out, 0, sizeof *out);
	struct prov_model ma = { 0 }, mb = { 0 };
	struct pairing *pr = NULL;
	bool *used_a = NULL;
	struct hrt_pool *pool = NULL;
	int rc = prov_model_from_gguf(a, &ma, err);
	if (rc)
		return rc;
	if ((rc = prov_model_from_gguf(b, &mb, err)))
		goto out_free;
	pr = hrt_calloc(mb.n, sizeof *pr);
	used_a = hrt_calloc(ma.n, sizeof *used_a);
	out->t = hrt_calloc(mb.n, sizeof *out->t);
	if (!pr || !used_a || !out->t) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	out->n_tensors = mb.n;
	for (size_t ib = 0; ib < mb.n; ib++) {
		struct hrt_lineage_tensor *t = &out->t[ib];
		snprintf(t->name_b, sizeof t->name_b, "%s", mb.t[ib].name);
		t->type_b = mb.t[ib].type;
		t->rows = mb.t[ib].rows;
		t->cols = mb.t[ib].cols;
		t->cmp = mb.t[ib].readable ? HRT_TC_UNRELATED : HRT_TC_SKIPPED;
		pr[ib].ia = -1;
	}
	int nt = o->n_threads > 0 ? o->n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nt < 1)
		nt = 1;
	if (nt > 64)
		nt = 64;
	pool = nt > 1 ? hrt_pool_new(nt) : NULL;
	/* lineage reads sampled rows: without this every fault on a cold
	 * file would pull in a readahead window, i.e. most of the file */
	advise(hrt_gguf_base(a), hrt_gguf_file_size(a), MADV_RANDOM);
	advise(hrt_gguf_base(b), hrt_gguf_file_size(b), MADV_RANDOM);
	/* ... and ask for the sampled rows up front, all at once */
	int m_rows = o->sample_rows > 0 ? o->sample_rows : 32;
	for (size_t i = 0; i < ma.n; i++)
		prov_prefetch_rows(&ma.t[i], m_rows, 0, IDENT_COLS);
	for (size_t i = 0; i < mb.n; i++)
		prov_prefetch_rows(&mb.t[i], m_rows, 0, IDENT_COLS);
	struct ctx c = { .ma = &ma, .mb = &mb, .pr = pr, .out = out->t, .m = m_rows };
	atomic_init(&c.next, 0);
	atomic_init(&c.failed, 0);
	hrt_pool_run_n(pool, step1_task, &c, nt);
	if (atomic_load(&c.failed)) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory while sampling tensors");
		goto out_free;
	}
	/* two tensors of B with one name: keep the first pairing */
	for (size_t ib = 0; ib < mb.n; ib++) {
		if (pr[ib].ia < 0)
			continue;
		if (used_a[pr[ib].ia]) {
			prov_match_free(&pr[ib].mt);
			pr[ib].ia = -1;
			continue;
		}
		used_a[pr[ib].ia] = true;
	}
	if ((rc = step2(&c, used_a)) || (rc = step2b(&c)) || (rc = step3(&c, used_a))) {
		rc = HRT_ERR(err, rc, "out of memory while aligning tensors");
		goto out_free;
	}
	atomic_store(&c.next, 0);
	hrt_pool_run_n(pool, analyze_task, &c, nt);
	for (size_t ib = 0; ib < mb.n; ib++)
		if (pr[ib].ia >= 0) {
			snprintf(out->t[ib].name_a, sizeof out->t[ib].name_a, "%s",
				 ma.t[pr[ib].ia].name);
			out->t[ib].type_a = ma.t[pr[ib].ia].type;
		}
	file_type(a, &ma, out->type_a, sizeof out->type_a);
	file_type(b, &mb, out->type_b, sizeof out->type_b);
	classify(out, &ma, &mb, pr, o->alpha > 0 ? o->alpha : 1e-6);
out_free:
	advise(hrt_gguf_base(a), hrt_gguf_file_size(a), MADV_NORMAL);
	advise(hrt_gguf_base(b), hrt_gguf_file_size(b), MADV_NORMAL);
	hrt_pool_free(pool);
	for (size_t ib = 0; pr && ib < mb.n; ib++)
		prov_match_free(&pr[ib].mt);
	free(pr);
	free(used_a);
	prov_model_free(&ma);
	prov_model_free(&mb);
	if (rc)
		hrt_lineage_free(out);
	return rc;
}

int hrt_lineage_files(const char *path_a, const char *path_b,
		      const struct hrt_lineage_opts *o, struct hrt_lineage *out,
		      struct hrt_err *err)
{
	struct hrt_gguf *a = NULL, *b = NULL;
	memset(out, 0, sizeof *out);
	int rc = hrt_gguf_open(&a, path_a, err);
	if (rc)
		return rc;
	if ((rc = hrt_gguf_open(&b, path_b, err))) {
		hrt_gguf_close(a);
		return rc;
	}
	rc = hrt_lineage_compare(a, b, o, out, err);
	hrt_gguf_close(a);
	hrt_gguf_close(b);
	return rc;
}

void hrt_lineage_free(struct hrt_lineage *l)
{
	if (!l)
		return;
	free(l->t);
	l->t = NULL;
	l->n_tensors = 0;
}

/* ----------------------------------------------------------- output */

static double finite_or(double v, double alt)
{
	return isfinite(v) ? v : alt;
}

char *hrt_lineage_json(const struct hrt_lineage *l, const char *name_a,
		       const char *name_b)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	if (name_a)
		cJSON_AddStringToObject(j, "a", name_a);
	if (name_b)
		cJSON_AddStringToObject(j, "b", name_b);
	cJSON_AddBoolToObject(j, "related", l->related);
	cJSON_AddNumberToObject(j, "score", finite_or(l->score, 0));
	cJSON_AddNumberToObject(j, "p_value", finite_or(l->p_value, 0));
	cJSON_AddNumberToObject(j, "log10_p_value", finite_or(l->log10_p, -1e308));
	cJSON_AddStringToObject(j, "relation", hrt_relation_name(l->relation));
	cJSON_AddStringToObject(j, "direction",
				l->direction > 0 ? "b_from_a" : l->direction < 0 ? "a_from_b" : "unknown");
	cJSON_AddBoolToObject(j, "same_id", l->same_id);
	cJSON_AddBoolToObject(j, "permuted", l->permuted);
	cJSON_AddBoolToObject(j, "renamed", l->renamed);
	cJSON *ty = cJSON_AddObjectToObject(j, "types");
	if (ty) {
		cJSON_AddStringToObject(ty, "a", l->type_a);
		cJSON_AddStringToObject(ty, "b", l->type_b);
	}
	cJSON_AddStringToObject(j, "summary", l->summary);
	size_t counts[5] = { 0 };
	for (size_t i = 0; i < l->n_tensors; i++)
		counts[l->t[i].cmp]++;
	cJSON *tc = cJSON_AddObjectToObject(j, "tensors");
	if (tc) {
		cJSON_AddNumberToObject(tc, "total", (double)l->n_tensors);
		cJSON_AddNumberToObject(tc, "same", (double)counts[HRT_TC_SAME]);
		cJSON_AddNumberToObject(tc, "quantization_noise", (double)counts[HRT_TC_QNOISE]);
		cJSON_AddNumberToObject(tc, "changed", (double)counts[HRT_TC_CHANGED]);
		cJSON_AddNumberToObject(tc, "unrelated", (double)counts[HRT_TC_UNRELATED]);
		cJSON_AddNumberToObject(tc, "skipped", (double)counts[HRT_TC_SKIPPED]);
	}
	cJSON *ch = cJSON_AddArrayToObject(j, "changed_tensors");
	cJSON *su = cJSON_AddArrayToObject(j, "suspicious");
	for (size_t i = 0; i < l->n_tensors; i++) {
		const struct hrt_lineage_tensor *t = &l->t[i];
		if (t->cmp != HRT_TC_CHANGED)
			continue;
		cJSON *e = cJSON_CreateObject();
		if (!e)
			continue;
		cJSON_AddStringToObject(e, "name", t->name_b);
		if (strcmp(t->name_a, t->name_b))
			cJSON_AddStringToObject(e, "partner", t->name_a);
		cJSON_AddNumberToObject(e, "rel_delta", finite_or(t->rel_delta, 1e308));
		cJSON_AddNumberToObject(e, "effective_rank", t->eff_rank);
		cJSON_AddNumberToObject(e, "noise_ratio", finite_or(t->noise_ratio, 1e308));
		cJSON_AddItemToArray(ch, e);
		if (t->suspicious) {
			cJSON *s = cJSON_CreateObject();
			if (!s)
				continue;
			cJSON_AddStringToObject(s, "name", t->name_b);
			cJSON_AddNumberToObject(s, "effective_rank", t->eff_rank);
			cJSON_AddNumberToObject(s, "rel_delta", finite_or(t->rel_delta, 1e308));
			cJSON_AddNumberToObject(s, "top2_energy_share", t->top2_share);
			cJSON_AddStringToObject(s, "reason",
						"localized low-rank edit; the rest of the model is unchanged");
			cJSON_AddItemToArray(su, s);
		}
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

void hrt_lineage_print(FILE *f, const struct hrt_lineage *l, const char *name_a,
		       const char *name_b, bool verbose)
{
	size_t counts[5] = { 0 };
	for (size_t i = 0; i < l->n_tensors; i++)
		counts[l->t[i].cmp]++;
	fprintf(f, "A          %s\nB          %s\n", name_a ? name_a : "A", name_b ? name_b : "B");
	if (l->log10_p > -300)
		fprintf(f, "related    %s (p = %.3g, score %.3f)\n", l->related ? "yes" : "no",
			l->p_value, l->score);
	else
		fprintf(f, "related    %s (p = 10^%.0f, score %.3f)\n", l->related ? "yes" : "no",
			l->log10_p, l->score);
	fprintf(f, "relation   %s: %s\n", hrt_relation_name(l->relation), l->summary);
	fprintf(f, "tensors    %zu: %zu same, %zu quantization noise, %zu changed, %zu unrelated, %zu skipped\n",
		l->n_tensors, counts[HRT_TC_SAME], counts[HRT_TC_QNOISE],
		counts[HRT_TC_CHANGED], counts[HRT_TC_UNRELATED], counts[HRT_TC_SKIPPED]);
	static const char *const cmpn[] = { "same", "qnoise", "changed", "unrelated", "skipped" };
	static const char *const aln[] = { "", "rows", "cols" };
	if (verbose) {
		for (size_t i = 0; i < l->n_tensors; i++) {
			const struct hrt_lineage_tensor *t = &l->t[i];
			fprintf(f, "  %-28s %-9s corr %.4f z %7.1f log10p %8.1f delta %.3g noise %.3g rank %d %s%s%s\n",
				t->name_b, cmpn[t->cmp], t->corr, t->z, t->log10_p, t->rel_delta,
				t->noise_ratio, t->eff_rank, aln[t->align],
				strcmp(t->name_a, t->name_b) ? " <- " : "",
				strcmp(t->name_a, t->name_b) ? t->name_a : "");
		}
	}
	size_t shown = 0;
	for (size_t i = 0; i < l->n_tensors; i++) {
		const struct hrt_lineage_tensor *t = &l->t[i];
		if (t->cmp != HRT_TC_CHANGED)
			continue;
		if (shown++ == 12 && !t->suspicious) {
			fprintf(f, "           ... (--json lists all)\n");
			continue;
		}
		if (shown > 13 && !t->suspicious)
			continue;
		fprintf(f, "changed    %-32s rel.delta %.3g  rank %d%s\n", t->name_b, t->rel_delta,
			t->eff_rank, t->suspicious ? "  SUSPICIOUS" : "");
	}
}
