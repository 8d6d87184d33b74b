/*
 * prov/align — sampling and alignment of one tensor pair for lineage.
 *
 * A derived model may have its hidden units permuted (rows of ffn_gate /
 * ffn_up and columns of ffn_down reordered; attention heads reordered), or
 * their signs flipped, and still compute the same function. Alignment
 * matches sampled rows (or columns) of B to A's by their correlation on
 * one half of the other axis, using every row (column) of A as a
 * candidate, and then scores the matched pairs on the other half only:
 * under "independent weights" that score is an honest Pearson r of n
 * independent pairs (z ~ N(0, 1)), however hard the search tried.
 *
 * Cost: m sampled items x N candidates x 256 features, about 7e7
 * multiply-adds for an 8192 x 2048 matrix with m = 32.
 * Not here: deciding what the scores mean (lineage.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "prov/prov_int.h"

#define MATCH_FEATURES 256   /* features used for matching */
#define HOLD_FEATURES 1024   /* features used for the held-out score */
#define HOLD_ROWS 64         /* rows used for the held-out score (columns) */
#define ANALYSIS_FEATURES 2048 /* columns of the refined pairs (rows) */
#define MAX_ITEMS (1u << 18) /* candidates: larger axes are not aligned */

static double pearson(const float *a, const float *b, uint64_t n);

void prov_match_free(struct prov_match *mt)
{
	if (!mt)
		return;
	free(mt->x);
	free(mt->y);
	free(mt->ax);
	free(mt->ay);
	mt->x = mt->y = mt->ax = mt->ay = NULL;
}

void prov_spread(uint64_t n, int m, uint64_t salt, uint64_t *out)
{
	if (m <= 0)
		return;
	double frac = (double)(prov_mix64(salt) % 1000) / 1000.0;
	for (int k = 0; k < m; k++) {
		uint64_t v = (uint64_t)(((double)k + frac) * (double)n / (double)m);
		out[k] = v < n ? v : n - 1;
	}
}

void prov_blocks(uint64_t n, int m, uint64_t salt, uint64_t *out)
{
	if (m <= 0)
		return;
	if ((uint64_t)m >= n) {
		for (int k = 0; k < m; k++)
			out[k] = (uint64_t)k < n ? (uint64_t)k : n - 1;
		return;
	}
	int g = (m + PROV_BLOCK_ROWS - 1) / PROV_BLOCK_ROWS;
	uint64_t starts[64];
	if (g > 64)
		g = 64;
	/* g runs spread over [0, n - run) */
	uint64_t run = (uint64_t)(m + g - 1) / (uint64_t)g;
	prov_spread(n - run + 1, g, salt, starts);
	int k = 0;
	for (int i = 0; i < g && k < m; i++)
		for (uint64_t j = 0; j < run && k < m; j++) {
			uint64_t r = starts[i] + j;
			/* runs may touch when n is small: keep rows distinct */
			if (k && r <= out[k - 1])
				r = out[k - 1] + 1;
			out[k++] = r < n ? r : n - 1;
		}
}

static uint64_t shape_salt(const struct prov_tensor *t)
{
	return prov_mix64(t->cols * 0x9e3779b97f4a7c15ull + t->rows);
}

void prov_corr_z(const float *x, const float *y, int m, int w, double *r, double *z)
{
	*r = 0;
	*z = 0;
	size_t n = (size_t)m * (size_t)w;
	if (n < 8)
		return;
	double mx = 0, my = 0;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	double sxy = 0, sxx = 0, syy = 0;
	for (size_t i = 0; i < n; i++) {
		double a = x[i] - mx, b = y[i] - my;
		sxy += a * b;
		sxx += a * a;
		syy += b * b;
	}
	if (!(sxx > 0) || !(syy > 0) || !isfinite(sxy)) {
		*r = NAN;
		return;
	}
	double den = sqrt(sxx * syy);
	*r = sxy / den;
	/* null spread from mismatched pairs: item i of x with item i+s of y
	 * (or, for a single item, features shifted by a fraction of w) */
	/* far shifts: under independence any shift is a valid null, and far
	 * ones are least inflated by rows of one matrix resembling their
	 * neighbours (heads, rotary pairs) when the models are related */
	int shifts = m > 1 ? (m - 1 < 6 ? m - 1 : 6) : 6;
	double acc = 0;
	int used = 0;
	for (int s = 1; s <= shifts; s++) {
		double q = 0;
		if (m > 1) {
			int sh = m >= 8 ? m / 2 - 3 + s : s;
			for (int i = 0; i < m; i++) {
				const float *xi = x + (size_t)i * w;
				const float *yi = y + (size_t)((i + sh) % m) * w;
				for (int c = 0; c < w; c++)
					q += (xi[c] - mx) * (yi[c] - my);
			}
		} else {
			int off = (int)((long)w * s / (shifts + 1));
			if (off == 0)
				continue;
			for (int c = 0; c < w; c++)
				q += (x[c] - mx) * (y[(c + off) % w] - my);
		}
		double rs = q / den;
		acc += rs * rs;
		used++;
	}
	double sd = 1.0 / sqrt((double)n);
	if (used) {
		double emp = sqrt(acc / used);
		if (emp > sd)
			sd = emp;
	}
	*z = *r / sd;
}

void prov_prefetch_rows(const struct prov_tensor *t, int m, uint64_t salt_kind, uint64_t cols)
{
	if (!t->readable || m <= 0)
		return;
	if ((uint64_t)m > t->rows)
		m = (int)t->rows;
	uint64_t rows[256];
	if (m > 256)
		m = 256;
	prov_blocks(t->rows, m, salt_kind ? salt_kind : shape_salt(t), rows);
	uint64_t bytes = t->row_bytes;
	if (cols < t->cols) {
		uint64_t blk = prov_blck(t);
		uint64_t nb = (cols + blk - 1) / blk;
		bytes = nb * (t->row_bytes / (t->cols / blk));
	}
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	for (int k = 0; k < m;) {
		/* a run of consecutive rows is one request */
		int e = k + 1;
		while (e < m && rows[e] == rows[e - 1] + 1)
			e++;
		uintptr_t p = (uintptr_t)(t->data + rows[k] * t->row_bytes);
		uintptr_t b = p & ~(pg - 1);
		uint64_t len = (rows[e - 1] - rows[k]) * t->row_bytes + bytes;
		madvise((void *)b, (size_t)(len + (p - b)), MADV_WILLNEED);
		k = e;
	}
}

/*
 * n floats, their pages made present in one call where the kernel can
 * (MADV_POPULATE_WRITE, Linux 5.14): a lineage run keeps a sample of
 * every tensor pair (2 x 146 x 256 KiB for a 1B model), and taking those
 * pages one fault at a time was a fifth of `hearth lineage` warm on the
 * development VM (0.23-0.25 s against 0.18-0.21 s, alternating runs).
 * Elsewhere the pages fault in as usual.
 */
static float *alloc_present(size_t n)
{
	float *o = malloc(n * sizeof *o);
#ifdef MADV_POPULATE_WRITE
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (o && pg > 0 && n * sizeof *o >= 16 * pg) {
		uintptr_t a = ((uintptr_t)o + pg - 1) & ~(pg - 1);
		uintptr_t e = (uintptr_t)(o + n) & ~(pg - 1);
		if (e > a)
			(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
	}
#endif
	return o;
}

static float *load_rows(const struct prov_tensor *t, const uint64_t *rows, int m,
			uint64_t c0, uint64_t w, float *scratch)
{
	float *o = alloc_present((size_t)m * w);
	if (!o)
		return NULL;
	for (int k = 0; k < m; k++)
		prov_row_get(t, rows[k], c0, w, o + (size_t)k * w, scratch);
	return o;
}

float *prov_identity_sample(const struct prov_tensor *t, int m, int w, int *mo, int *wo)
{
	if ((uint64_t)m > t->rows)
		m = (int)t->rows;
	if ((uint64_t)w > t->cols)
		w = (int)t->cols;
	uint64_t *rows = malloc((size_t)m * sizeof *rows);
	float *scratch = malloc(((size_t)w + 1024) * sizeof *scratch);
	float *x = NULL;
	if (rows && scratch) {
		prov_blocks(t->rows, m, shape_salt(t), rows);
		x = load_rows(t, rows, m, 0, (uint64_t)w, scratch);
	}
	free(rows);
	free(scratch);
	*mo = m;
	*wo = w;
	return x;
}

double prov_pearson(const float *a, const float *b, uint64_t n)
{
	return pearson(a, b, n);
}

int prov_sample_identity(const struct prov_tensor *a, const struct prov_tensor *b,
			 int m, int w, struct prov_match *out)
{
	memset(out, 0, sizeof *out);
	if ((uint64_t)m > b->rows)
		m = (int)b->rows;
	if ((uint64_t)w > b->cols)
		w = (int)b->cols;
	uint64_t *rows = malloc((size_t)m * sizeof *rows);
	float *scratch = malloc(((size_t)w + 1024) * sizeof *scratch);
	if (!rows || !scratch) {
		free(rows);
		free(scratch);
		return HRT_ENOMEM;
	}
	prov_blocks(b->rows, m, shape_salt(b), rows);
	out->axis = HRT_ALIGN_NONE;
	out->m = m;
	out->w = w;
	out->x = load_rows(a, rows, m, 0, (uint64_t)w, scratch);
	out->y = load_rows(b, rows, m, 0, (uint64_t)w, scratch);
	free(rows);
	free(scratch);
	if (!out->x || !out->y) {
		prov_match_free(out);
		return HRT_ENOMEM;
	}
	prov_corr_z(out->x, out->y, m, w, &out->corr, &out->z);
	out->acorr = out->corr;
	return HRT_OK;
}

/* center and scale a vector to unit length (zero vector stays zero) */
static void unit(float *v, int n)
{
	double m = 0, s = 0;
	for (int i = 0; i < n; i++)
		m += v[i];
	m /= n;
	for (int i = 0; i < n; i++) {
		v[i] = (float)(v[i] - m);
		s += (double)v[i] * v[i];
	}
	float k = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
	for (int i = 0; i < n; i++)
		v[i] *= k;
}

static float dotf(const float *a, const float *b, int n)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

#define TOPK 8

/* for each of m probes (length f), the TOPK best of n candidates by |dot|
 * (top[k * TOPK + 0] is the best; UINT64_MAX pads when n < TOPK) */
static void best_match(const float *cand, uint64_t n, const float *probe, int m, int f,
		       uint64_t *top, int8_t *sign)
{
	for (int k = 0; k < m; k++) {
		const float *p = probe + (size_t)k * f;
		float tv[TOPK];
		uint64_t *ti = top + (size_t)k * TOPK;
		for (int q = 0; q < TOPK; q++) {
			tv[q] = -1;
			ti[q] = UINT64_MAX;
		}
		for (uint64_t i = 0; i < n; i++) {
			float d = dotf(cand + i * (uint64_t)f, p, f);
			float ad = d < 0 ? -d : d;
			if (ad <= tv[TOPK - 1])
				continue;
			int q = TOPK - 1;
			while (q > 0 && tv[q - 1] < ad) {
				tv[q] = tv[q - 1];
				ti[q] = ti[q - 1];
				q--;
			}
			tv[q] = ad;
			ti[q] = i;
			if (q == 0)
				sign[k] = d < 0 ? -1 : 1;
		}
	}
}

/* Pearson r of two vectors */
static double pearson(const float *a, const float *b, uint64_t n)
{
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
	for (uint64_t i = 0; i < n; i++) {
		ma += a[i];
		mb += b[i];
	}
	ma /= (double)n;
	mb /= (double)n;
	for (uint64_t i = 0; i < n; i++) {
		double x = a[i] - ma, y = b[i] - mb;
		sab += x * y;
		saa += x * x;
		sbb += y * y;
	}
	return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

static int align_rows(const struct prov_tensor *a, const struct prov_tensor *b, int m,
		      struct prov_match *out)
{
	uint64_t n = a->rows, d = a->cols;
	if (n < 4 || d < 8 || n > MAX_ITEMS)
		return HRT_ENOTSUP;
	uint64_t blk = HRT_MAX(prov_blck(a), prov_blck(b));
	uint64_t h1 = HRT_MIN(d / 2, MATCH_FEATURES);
	if (h1 >= blk)
		h1 = h1 / blk * blk;
	uint64_t w2 = HRT_MIN(d - h1, HOLD_FEATURES);
	uint64_t wa = HRT_MIN(d, (uint64_t)ANALYSIS_FEATURES);
	if ((uint64_t)m > n)
		m = (int)n;
	int rc = HRT_ENOMEM;
	float *scratch = malloc((d + 1024) * sizeof *scratch);
	float *sa = malloc(n * h1 * sizeof *sa);
	float *sb = malloc((size_t)m * h1 * sizeof *sb);
	uint64_t *rb = malloc((size_t)m * sizeof *rb);
	uint64_t *ra = malloc((size_t)m * sizeof *ra);
	uint64_t *top = malloc((size_t)m * TOPK * sizeof *top);
	int8_t *sg = malloc((size_t)m);
	float *cand = malloc(wa * sizeof *cand);
	if (!scratch || !sa || !sb || !rb || !ra || !top || !sg || !cand)
		goto out_free;
	for (uint64_t i = 0; i < n; i++) {
		prov_row_get(a, i, 0, h1, sa + i * h1, scratch);
		unit(sa + i * h1, (int)h1);
	}
	prov_spread(n, m, shape_salt(b) ^ 0x5151, rb);
	for (int k = 0; k < m; k++) {
		prov_row_get(b, rb[k], 0, h1, sb + (size_t)k * h1, scratch);
		unit(sb + (size_t)k * h1, (int)h1);
	}
	best_match(sa, n, sb, m, (int)h1, top, sg);
	for (int k = 0; k < m; k++)
		ra[k] = top[(size_t)k * TOPK];
	/* the honest score: the sketch's choice, on held-out columns */
	out->axis = HRT_ALIGN_ROWS;
	out->m = m;
	out->w = (int)w2;
	out->x = load_rows(a, ra, m, h1, w2, scratch);
	out->y = load_rows(b, rb, m, h1, w2, scratch);
	if (!out->x || !out->y)
		goto out_free;
	for (int k = 0; k < m; k++)
		if (sg[k] < 0)
			for (uint64_t c = 0; c < w2; c++)
				out->x[(size_t)k * w2 + c] = -out->x[(size_t)k * w2 + c];
	prov_corr_z(out->x, out->y, m, (int)w2, &out->corr, &out->z);
	/* the analysis: among the sketch's top candidates, the best on
	 * whole rows (up to ANALYSIS_FEATURES columns) */
	out->am = m;
	out->aw = (int)wa;
	out->ax = malloc((size_t)m * wa * sizeof *out->ax);
	out->ay = load_rows(b, rb, m, 0, wa, scratch);
	if (!out->ax || !out->ay)
		goto out_free;
	for (int k = 0; k < m; k++) {
		float *yk = out->ay + (size_t)k * wa, *xk = out->ax + (size_t)k * wa;
		double best = -1;
		for (int q = 0; q < TOPK; q++) {
			uint64_t i = top[(size_t)k * TOPK + q];
			if (i == UINT64_MAX)
				break;
			prov_row_get(a, i, 0, wa, cand, scratch);
			double r = pearson(cand, yk, wa);
			if (fabs(r) > best) {
				best = fabs(r);
				for (uint64_t c = 0; c < wa; c++)
					xk[c] = r < 0 ? -cand[c] : cand[c];
			}
		}
	}
	out->acorr = pearson(out->ax, out->ay, (uint64_t)m * wa);
	rc = HRT_OK;
out_free:
	free(scratch);
	free(sa);
	free(sb);
	free(rb);
	free(ra);
	free(top);
	free(sg);
	free(cand);
	return rc;
}

static int align_cols(const struct prov_tensor *a, const struct prov_tensor *b, int m,
		      struct prov_match *out)
{
	uint64_t n = a->rows, d = a->cols;
	if (d < 4 || n < 8 || d > MAX_ITEMS)
		return HRT_ENOTSUP;
	uint64_t h1 = HRT_MIN(n / 2, MATCH_FEATURES);
	uint64_t h2 = HRT_MIN(n - h1, HOLD_ROWS);
	if ((uint64_t)m > d)
		m = (int)d;
	int rc = HRT_ENOMEM;
	uint64_t nr = h1 + h2;
	uint64_t *rows = malloc(nr * sizeof *rows);
	float *scratch = malloc((d + 1024) * sizeof *scratch);
	float *ra_rows = NULL, *rb_rows = NULL;
	float *sa = malloc(d * h1 * sizeof *sa);
	float *sb = malloc((size_t)m * h1 * sizeof *sb);
	uint64_t *cb = malloc((size_t)m * sizeof *cb);
	uint64_t *top = malloc((size_t)m * TOPK * sizeof *top);
	int8_t *sg = malloc((size_t)m);
	float *ca = malloc(nr * sizeof *ca), *cbv = malloc(nr * sizeof *cbv);
	if (!rows || !scratch || !sa || !sb || !cb || !top || !sg || !ca || !cbv)
		goto out_free;
	prov_spread(n, (int)nr, shape_salt(b) ^ 0xc01, rows);
	/* R1 = rows[0..h1) for matching, R2 = rows[h1..nr) held out */
	ra_rows = load_rows(a, rows, (int)nr, 0, d, scratch);
	rb_rows = load_rows(b, rows, (int)nr, 0, d, scratch);
	if (!ra_rows || !rb_rows)
		goto out_free;
	for (uint64_t j = 0; j < d; j++) {
		for (uint64_t r = 0; r < h1; r++)
			sa[j * h1 + r] = ra_rows[r * d + j];
		unit(sa + j * h1, (int)h1);
	}
	prov_spread(d, m, shape_salt(b) ^ 0xc02, cb);
	for (int k = 0; k < m; k++) {
		for (uint64_t r = 0; r < h1; r++)
			sb[(size_t)k * h1 + r] = rb_rows[r * d + cb[k]];
		unit(sb + (size_t)k * h1, (int)h1);
	}
	best_match(sa, d, sb, m, (int)h1, top, sg);
	out->axis = HRT_ALIGN_COLS;
	out->m = m;
	out->w = (int)h2;
	out->x = malloc((size_t)m * h2 * sizeof *out->x);
	out->y = malloc((size_t)m * h2 * sizeof *out->y);
	out->am = m;
	out->aw = (int)nr;
	out->ax = malloc((size_t)m * nr * sizeof *out->ax);
	out->ay = malloc((size_t)m * nr * sizeof *out->ay);
	if (!out->x || !out->y || !out->ax || !out->ay)
		goto out_free;
	for (int k = 0; k < m; k++) {
		uint64_t j = top[(size_t)k * TOPK];
		for (uint64_t r = 0; r < h2; r++) {
			out->x[(size_t)k * h2 + r] = (float)sg[k] * ra_rows[(h1 + r) * d + j];
			out->y[(size_t)k * h2 + r] = rb_rows[(h1 + r) * d + cb[k]];
		}
		/* analysis: the best top candidate on every loaded row */
		for (uint64_t r = 0; r < nr; r++)
			cbv[r] = rb_rows[r * d + cb[k]];
		double best = -1;
		for (int q = 0; q < TOPK; q++) {
			uint64_t jj = top[(size_t)k * TOPK + q];
			if (jj == UINT64_MAX)
				break;
			for (uint64_t r = 0; r < nr; r++)
				ca[r] = ra_rows[r * d + jj];
			double rr = pearson(ca, cbv, nr);
			if (fabs(rr) > best) {
				best = fabs(rr);
				for (uint64_t r = 0; r < nr; r++)
					out->ax[(size_t)k * nr + r] = rr < 0 ? -ca[r] : ca[r];
			}
		}
		memcpy(out->ay + (size_t)k * nr, cbv, nr * sizeof *cbv);
	}
	prov_corr_z(out->x, out->y, m, (int)h2, &out->corr, &out->z);
	out->acorr = pearson(out->ax, out->ay, (uint64_t)m * nr);
	rc = HRT_OK;
out_free:
	free(rows);
	free(scratch);
	free(ra_rows);
	free(rb_rows);
	free(sa);
	free(sb);
	free(cb);
	free(top);
	free(sg);
	free(ca);
	free(cbv);
	return rc;
}

int prov_align(const struct prov_tensor *a, const struct prov_tensor *b,
	       enum hrt_align axis, int m, struct prov_match *out)
{
	memset(out, 0, sizeof *out);
	if (m < 2 || !a->readable || !b->readable || a->rows != b->rows ||
	    a->cols != b->cols)
		return HRT_ENOTSUP;
	int rc = axis == HRT_ALIGN_ROWS ? align_rows(a, b, m, out)
					: align_cols(a, b, m, out);
	if (rc)
		prov_match_free(out);
	return rc;
}
