/*
 * prov/stats — the small numerical kernels lineage needs: normal tail
 * probabilities in log space (p-values far below DBL_MIN stay exact),
 * symmetric eigenvalues (cyclic Jacobi), the top of a Gram spectrum by
 * subspace iteration, and the effective rank of a weight delta.
 * Not here: anything about models or files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prov/prov_int.h"

double prov_log10_normal_tail(double z)
{
	if (!isfinite(z))
		return z > 0 ? -INFINITY : 0.0;
	if (z < 5.0) {
		double p = 0.5 * erfc(z / sqrt(2.0));
		return log10(p);
	}
	/* Mills ratio series: Q(z) = phi(z)/z * (1 - 1/z^2 + 3/z^4 - 15/z^6) */
	double z2 = z * z;
	double s = 1.0 - 1.0 / z2 + 3.0 / (z2 * z2) - 15.0 / (z2 * z2 * z2);
	double ln = -0.5 * z2 - log(z) - 0.5 * log(2.0 * M_PI) + log(s);
	return ln / log(10.0);
}

void prov_sym_eig(double *a, int k, double *ev)
{
	/* cyclic Jacobi rotations until the off-diagonal mass is negligible */
	for (int sweep = 0; sweep < 60; sweep++) {
		double off = 0, diag = 0;
		for (int i = 0; i < k; i++) {
			diag += a[i * k + i] * a[i * k + i];
			for (int j = i + 1; j < k; j++)
				off += a[i * k + j] * a[i * k + j];
		}
		if (off <= 1e-22 * (diag > 0 ? diag : 1))
			break;
		for (int p = 0; p < k; p++) {
			for (int q = p + 1; q < k; q++) {
				double apq = a[p * k + q];
				if (fabs(apq) < 1e-300)
					continue;
				double app = a[p * k + p], aqq = a[q * k + q];
				double theta = (aqq - app) / (2 * apq);
				double t = (theta >= 0 ? 1 : -1) /
					   (fabs(theta) + sqrt(theta * theta + 1));
				double c = 1 / sqrt(t * t + 1), s = t * c;
				for (int r = 0; r < k; r++) {
					double arp = a[r * k + p], arq = a[r * k + q];
					a[r * k + p] = c * arp - s * arq;
					a[r * k + q] = s * arp + c * arq;
				}
				for (int r = 0; r < k; r++) {
					double apr = a[p * k + r], aqr = a[q * k + r];
					a[p * k + r] = c * apr - s * aqr;
					a[q * k + r] = s * apr + c * aqr;
				}
			}
		}
	}
	for (int i = 0; i < k; i++)
		ev[i] = a[i * k + i];
	/* descending */
	for (int i = 1; i < k; i++) {
		double v = ev[i];
		int j = i;
		while (j > 0 && ev[j - 1] < v) {
			ev[j] = ev[j - 1];
			j--;
		}
		ev[j] = v;
	}
}

/* Gram-Schmidt on the p columns of q (m x p, row-major); a column that
 * turns out dependent is refilled with pseudo-random values (3 tries),
 * then left zero */
static void orthonormalize(double *q, int m, int p)
{
	for (int j = 0; j < p; j++) {
		for (int attempt = 0; attempt < 4; attempt++) {
			for (int pass = 0; pass < 2; pass++)
				for (int i = 0; i < j; i++) {
					double d = 0;
					for (int r = 0; r < m; r++)
						d += q[r * p + i] * q[r * p + j];
					for (int r = 0; r < m; r++)
						q[r * p + j] -= d * q[r * p + i];
				}
			double nn = 0;
			for (int r = 0; r < m; r++)
				nn += q[r * p + j] * q[r * p + j];
			nn = sqrt(nn);
			if (nn > 1e-150) {
				for (int r = 0; r < m; r++)
					q[r * p + j] /= nn;
				break;
			}
			for (int r = 0; r < m; r++) {
				uint64_t h = prov_mix64(((uint64_t)j << 32) ^ (uint64_t)r ^
							((uint64_t)attempt << 56));
				q[r * p + j] = attempt == 3 ? 0.0
							    : (double)(h >> 11) / 9007199254740992.0 - 0.5;
			}
		}
	}
}

void prov_gram_top(const double *g, int m, int k, double *ev)
{
	if (k > m)
		k = m;
	if (m <= 96) {
		double *a = malloc((size_t)m * m * sizeof *a);
		double *all = malloc((size_t)m * sizeof *all);
		if (!a || !all) {
			free(a);
			free(all);
			memset(ev, 0, (size_t)k * sizeof *ev);
			return;
		}
		memcpy(a, g, (size_t)m * m * sizeof *a);
		prov_sym_eig(a, m, all);
		memcpy(ev, all, (size_t)k * sizeof *ev);
		free(a);
		free(all);
		return;
	}
	int p = k + 8 < m ? k + 8 : m;
	double *q = malloc((size_t)m * p * sizeof *q);
	double *y = malloc((size_t)m * p * sizeof *y);
	double *t = malloc((size_t)p * p * sizeof *t);
	double *tv = malloc((size_t)p * sizeof *tv);
	if (!q || !y || !t || !tv) {
		memset(ev, 0, (size_t)k * sizeof *ev);
		goto out_free;
	}
	for (int r = 0; r < m; r++)
		for (int j = 0; j < p; j++) {
			uint64_t h = prov_mix64((uint64_t)r * 1315423911u + (uint64_t)j);
			q[r * p + j] = ((double)(h >> 11) / 9007199254740992.0) - 0.5;
		}
	orthonormalize(q, m, p);
	for (int it = 0; it < 8; it++) {
		for (int r = 0; r < m; r++)
			for (int j = 0; j < p; j++) {
				double s = 0;
				for (int c = 0; c < m; c++)
					s += g[r * m + c] * q[c * p + j];
				y[r * p + j] = s;
			}
		memcpy(q, y, (size_t)m * p * sizeof *q);
		orthonormalize(q, m, p);
	}
	/* t = q^T g q */
	for (int r = 0; r < m; r++)
		for (int j = 0; j < p; j++) {
			double s = 0;
			for (int c = 0; c < m; c++)
				s += g[r * m + c] * q[c * p + j];
			y[r * p + j] = s;
		}
	for (int i = 0; i < p; i++)
		for (int j = 0; j < p; j++) {
			double s = 0;
			for (int r = 0; r < m; r++)
				s += q[r * p + i] * y[r * p + j];
			t[i * p + j] = s;
		}
	prov_sym_eig(t, p, tv);
	memcpy(ev, tv, (size_t)k * sizeof *ev);
out_free:
	free(q);
	free(y);
	free(t);
	free(tv);
}

#define RANK_K 48

int prov_eff_rank(const float *d, int m, int c, double noise_var, double *top2)
{
	*top2 = 0;
	int n = m < c ? m : c;
	if (n <= 0)
		return 0;
	/* Gram over the smaller side */
	int g_n = n;
	double *g = calloc((size_t)g_n * g_n, sizeof *g);
	if (!g)
		return n;
	if (m <= c) {
		for (int i = 0; i < m; i++)
			for (int j = i; j < m; j++) {
				double s = 0;
				const float *x = d + (size_t)i * c, *y = d + (size_t)j * c;
				for (int q = 0; q < c; q++)
					s += (double)x[q] * y[q];
				g[i * g_n + j] = g[j * g_n + i] = s;
			}
	} else {
		for (int r = 0; r < m; r++) {
			const float *x = d + (size_t)r * c;
			for (int i = 0; i < c; i++)
				for (int j = i; j < c; j++)
					g[i * g_n + j] += (double)x[i] * x[j];
		}
		for (int i = 0; i < c; i++)
			for (int j = 0; j < i; j++)
				g[i * g_n + j] = g[j * g_n + i];
	}
	double total = 0;
	for (int i = 0; i < g_n; i++)
		total += g[i * g_n + i];
	int k = RANK_K < g_n ? RANK_K : g_n;
	double ev[RANK_K];
	prov_gram_top(g, g_n, k, ev);
	free(g);
	if (!(total > 0))
		return 0;
	/* expected noise energy, spread evenly over the n directions */
	double noise = noise_var * (double)m * (double)c;
	double per = noise / n;
	double signal = total - noise;
	if (signal <= 0.05 * total) {
		*top2 = 0;
		return n; /* indistinguishable from noise: full rank */
	}
	double acc = 0;
	int r = n;
	for (int i = 0; i < k && i < 2; i++)
		acc += ev[i] - per > 0 ? ev[i] - per : 0;
	*top2 = acc / signal > 1 ? 1 : acc / signal;
	acc = 0;
	for (int i = 0; i < k; i++) {
		double v = ev[i] - per;
		if (v < 0)
			v = 0;
		acc += v;
		if (acc >= 0.9 * signal) {
			r = i + 1;
			break;
		}
	}
	return r;
}
