/*
 * prov/family — the inferred family tree of a set of model files.
 *
 * Every pair is compared (lineage.c). Related pairs are edges weighted by
 * their distance (median relative delta^2) and, where the weights tell,
 * directed: a quantization points from more to fewer bits per weight, an
 * additive change (fine-tune, adapter, edit) from the smaller to the larger
 * weight energy (|B|^2 = |A|^2 + |delta|^2 when the delta is independent of
 * A). The root of each group is a model no edge points into (ties: more
 * bits per weight, then closest to the others, then the first given); the
 * tree grows from it by the shortest edge that does not point backwards
 * (Prim) and never under a model with fewer bits per weight (unless
 * nothing else fits), so a quantized fine-tune hangs under the fine-tune,
 * not under the base. Not here: the pairwise comparison itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "prov/prov_int.h"

#define FAMILY_MAX 64

void hrt_family_free(struct hrt_family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (f->paths)
			free(f->paths[i]);
		if (f->note)
			free(f->note[i]);
		if (f->id)
			free(f->id[i]);
	}
	free(f->paths);
	free(f->note);
	free(f->id);
	free(f->parent);
	free(f->relation);
	free(f->log10_p);
	free(f->suspicious);
	memset(f, 0, sizeof *f);
}

static char *edge_note(const struct hrt_lineage *l, const char *child_type)
{
	char buf[512];
	size_t k = 0;
	buf[0] = 0;
	if (l->relation == HRT_REL_QUANTIZED) {
		k += (size_t)snprintf(buf, sizeof buf, "%s", child_type);
	} else if (l->relation == HRT_REL_IDENTICAL) {
		k += (size_t)snprintf(buf, sizeof buf, "%s",
				      l->same_id ? "same model ID"
						 : l->permuted ? "permuted hidden units"
							       : "same weights");
	} else {
		k += (size_t)snprintf(buf, sizeof buf, "%zu matri%s changed", l->n_changed,
				      l->n_changed == 1 ? "x" : "ces");
	}
	if (l->n_suspicious) {
		k += (size_t)snprintf(buf + k, k < sizeof buf ? sizeof buf - k : 0,
				      "; SUSPICIOUS:");
		for (size_t i = 0; i < l->n_tensors && k < sizeof buf; i++)
			if (l->t[i].suspicious)
				k += (size_t)snprintf(buf + k, sizeof buf - k, " %s (rank %d)",
						      l->t[i].name_b, l->t[i].eff_rank);
	}
	return hrt_strdup(buf);
}

int hrt_family_build(const char *const *paths, size_t n,
		     const struct hrt_lineage_opts *o, struct hrt_family *out,
		     struct hrt_err *err)
{
	memset(out, 0, sizeof *out);
	if (n == 0 || n > FAMILY_MAX)
		return HRT_ERR(err, HRT_EINVAL, "family: give 1 to %d models", FAMILY_MAX);
	int rc = HRT_OK;
	struct hrt_gguf **g = hrt_calloc(n, sizeof *g);
	struct hrt_lineage *L = hrt_calloc(n * n, sizeof *L);
	bool *attached = hrt_calloc(n, sizeof *attached);
	int *comp = hrt_calloc(n, sizeof *comp);
	double *prec = hrt_calloc(n, sizeof *prec);
	char (*mtype)[16] = hrt_calloc(n, sizeof *mtype);
	out->n = n;
	out->paths = hrt_calloc(n, sizeof *out->paths);
	out->note = hrt_calloc(n, sizeof *out->note);
	out->id = hrt_calloc(n, sizeof *out->id);
	out->parent = hrt_calloc(n, sizeof *out->parent);
	out->relation = hrt_calloc(n, sizeof *out->relation);
	out->log10_p = hrt_calloc(n, sizeof *out->log10_p);
	out->suspicious = hrt_calloc(n, sizeof *out->suspicious);
	if (!g || !L || !attached || !comp || !prec || !mtype || !out->paths || !out->note ||
	    !out->id || !out->parent || !out->relation || !out->log10_p || !out->suspicious) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		out->parent[i] = -1;
		out->paths[i] = hrt_strdup(paths[i]);
		if (!out->paths[i]) {
			rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
			goto out_free;
		}
		if ((rc = hrt_gguf_open(&g[i], paths[i], err)))
			goto out_free;
		struct hrt_prov_id id;
		struct hrt_prov_id_opts io = { .n_threads = o ? o->n_threads : 0 };
		if ((rc = hrt_prov_id_gguf(g[i], &io, &id, err)))
			goto out_free;
		out->id[i] = hrt_strdup(id.id);
		hrt_prov_id_free(&id);
	}
	/* all pairs: L[i*n+j] compares A = i, B = j (i < j) */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if ((rc = hrt_lineage_compare(g[i], g[j], o, &L[i * n + j], err)))
				goto out_free;
	for (size_t i = 0; i < n; i++) {
		/* the main type of i, from any comparison it appears in */
		if (n == 1)
			break;
		const struct hrt_lineage *l = i + 1 < n ? &L[i * n + i + 1] : &L[0 * n + i];
		snprintf(mtype[i], sizeof mtype[i], "%s", i + 1 < n ? l->type_a : l->type_b);
		prec[i] = i + 1 < n ? l->bpw_a : l->bpw_b;
	}
	/* components over related edges */
	for (size_t i = 0; i < n; i++)
		comp[i] = (int)i;
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (L[i * n + j].related && comp[i] != comp[j]) {
					int lo = HRT_MIN(comp[i], comp[j]);
					comp[i] = comp[j] = lo;
					changed = true;
				}
	}
	for (size_t c = 0; c < n; c++) {
		/* root of component c */
		int root = -1;
		double best_sum = INFINITY;
		for (size_t v = 0; v < n; v++) {
			if ((size_t)comp[v] != c)
				continue;
			bool is_child = false;
			double sum = 0;
			for (size_t u = 0; u < n; u++) {
				if (u == v || (size_t)comp[u] != c)
					continue;
				const struct hrt_lineage *l = u < v ? &L[u * n + v] : &L[v * n + u];
				if (!l->related)
					continue;
				sum += l->distance;
				/* direction +1 means B derives from A */
				if ((u < v && l->direction > 0) || (u > v && l->direction < 0))
					is_child = true;
			}
			if (is_child)
				continue;
			if (root < 0 || prec[v] > prec[root] * 1.02 ||
			    (prec[v] >= prec[root] * 0.98 && sum < best_sum - 1e-12)) {
				root = (int)v;
				best_sum = sum;
			}
		}
		if (root < 0) {
			for (size_t v = 0; v < n; v++)
				if ((size_t)comp[v] == c) {
					root = (int)v;
					break;
				}
		}
		if (root < 0)
			continue;
		attached[root] = true;
		for (;;) {
			int bu = -1, bv = -1;
			double bd = INFINITY;
			/* attach the most precise models first: a quantized
			 * child then finds its full-precision parent in place */
			double lvl = -1;
			for (size_t v = 0; v < n; v++)
				if (!attached[v] && (size_t)comp[v] == c && prec[v] > lvl)
					lvl = prec[v];
			for (int pass = 0; pass < 2 && bv < 0; pass++)
				for (size_t u = 0; u < n; u++) {
					if (!attached[u] || (size_t)comp[u] != c)
						continue;
					for (size_t v = 0; v < n; v++) {
						if (attached[v] || (size_t)comp[v] != c ||
						    prec[v] < lvl * 0.98)
							continue;
						const struct hrt_lineage *l = u < v ? &L[u * n + v]
										    : &L[v * n + u];
						if (!l->related)
							continue;
						/* pass 0: skip edges saying u derives from v,
						 * and parents with fewer bits per weight than
						 * the child (quantizing does not add precision) */
						bool back = (u < v && l->direction < 0) ||
							    (u > v && l->direction > 0) ||
							    prec[u] < prec[v] * 0.98;
						if (pass == 0 && back)
							continue;
						if (l->distance < bd) {
							bd = l->distance;
							bu = (int)u;
							bv = (int)v;
						}
					}
				}
			if (bv < 0)
				break;
			const struct hrt_lineage *l = bu < bv ? &L[bu * n + bv] : &L[bv * n + bu];
			attached[bv] = true;
			out->parent[bv] = bu;
			out->relation[bv] = l->relation;
			out->log10_p[bv] = l->log10_p;
			out->suspicious[bv] = l->n_suspicious > 0;
			out->note[bv] = edge_note(l, mtype[bv]);
		}
	}
out_free:
	for (size_t i = 0; g && i < n; i++)
		hrt_gguf_close(g[i]);
	for (size_t i = 0; L && i < n * n; i++)
		hrt_lineage_free(&L[i]);
	free(g);
	free(L);
	free(attached);
	free(comp);
	free(prec);
	free(mtype);
	if (rc)
		hrt_family_free(out);
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void print_node(FILE *f, const struct hrt_family *fam, size_t v, char *prefix,
		       size_t plen, int depth)
{
	if (depth > FAMILY_MAX)
		return;
	size_t kids = 0, seen = 0;
	for (size_t c = 0; c < fam->n; c++)
		if (fam->parent[c] == (int)v)
			kids++;
	for (size_t c = 0; c < fam->n; c++) {
		if (fam->parent[c] != (int)v)
			continue;
		bool last = ++seen == kids;
		char p10[32];
		if (fam->log10_p[c] > -300)
			snprintf(p10, sizeof p10, "p=%.2g", pow(10.0, fam->log10_p[c]));
		else
			snprintf(p10, sizeof p10, "p=10^%.0f", fam->log10_p[c]);
		fprintf(f, "%s%s %s  %s (%s)  %s\n", prefix, last ? "└─" : "├─",
			base_name(fam->paths[c]), hrt_relation_name(fam->relation[c]),
			fam->note[c] ? fam->note[c] : "", p10);
		if (plen + 8 < 1024) {
			size_t k = plen;
			const char *ext = last ? "   " : "│  ";
			memcpy(prefix + k, ext, strlen(ext) + 1);
			print_node(f, fam, c, prefix, k + strlen(ext), depth + 1);
			prefix[plen] = 0;
		}
	}
}

void hrt_family_print(FILE *f, const struct hrt_family *fam)
{
	char prefix[1024];
	for (size_t v = 0; v < fam->n; v++) {
		if (fam->parent[v] >= 0)
			continue;
		bool alone = true;
		for (size_t c = 0; c < fam->n; c++)
			if (fam->parent[c] == (int)v)
				alone = false;
		fprintf(f, "%s  %s%s\n", base_name(fam->paths[v]), fam->id[v] ? fam->id[v] : "",
			alone && fam->n > 1 ? "  (no relation to the others)" : "");
		prefix[0] = 0;
		print_node(f, fam, v, prefix, 0, 0);
	}
}

char *hrt_family_json(const struct hrt_family *fam)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *a = j ? cJSON_AddArrayToObject(j, "models") : NULL;
	if (!a) {
		cJSON_Delete(j);
		return NULL;
	}
	for (size_t v = 0; v < fam->n; v++) {
		cJSON *e = cJSON_CreateObject();
		if (!e)
			continue;
		cJSON_AddStringToObject(e, "path", fam->paths[v]);
		cJSON_AddStringToObject(e, "id", fam->id[v] ? fam->id[v] : "");
		if (fam->parent[v] >= 0) {
			cJSON_AddStringToObject(e, "parent", fam->paths[fam->parent[v]]);
			cJSON_AddStringToObject(e, "relation", hrt_relation_name(fam->relation[v]));
			cJSON_AddNumberToObject(e, "log10_p_value", fam->log10_p[v]);
			cJSON_AddBoolToObject(e, "suspicious", fam->suspicious[v]);
			cJSON_AddStringToObject(e, "note", fam->note[v] ? fam->note[v] : "");
		} else {
			cJSON_AddNullToObject(e, "parent");
		}
		cJSON_AddItemToArray(a, e);
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}
