/*
 * model/load — opening a model: architecture registry, hyperparameter and
 * tensor binding helpers shared by the arch_*.c files, and accessors.
 * Every shape is checked against the hyperparameters before the forward
 * pass may touch the data, so a lying file gets an error, not a wild read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/model_int.h"

static const struct hrt_arch *const archs[] = {
	&hrt_arch_llama,
	&hrt_arch_granite,
};

const char *const *hrt_model_archs(void)
{
	static const char *names[HRT_ARRAY_LEN(archs) + 1];
	for (size_t i = 0; i < HRT_ARRAY_LEN(archs); i++)
		names[i] = archs[i]->name;
	return names;
}

static void key_of(const struct hrt_model *m, const char *suffix, char *key,
		   size_t cap)
{
	snprintf(key, cap, "%s.%s", m->hp.arch, suffix);
}

int hrt_hp_u32(struct hrt_model *m, const char *suffix, uint32_t *out,
	       bool required, struct hrt_err *err)
{
	char key[128];
	key_of(m, suffix, key, sizeof key);
	int rc = hrt_gguf_get_u32(m->g, key, out, err);
	if (rc == HRT_ENOTFOUND && !required)
		return HRT_OK;
	if (rc == HRT_ENOTFOUND)
		return HRT_ERR(err, HRT_EFORMAT, "required metadata key '%s' is missing", key);
	return rc;
}

int hrt_hp_f32(struct hrt_model *m, const char *suffix, float *out,
	       bool required, struct hrt_err *err)
{
	char key[128];
	key_of(m, suffix, key, sizeof key);
	int rc = hrt_gguf_get_f32(m->g, key, out, err);
	if (rc == HRT_ENOTFOUND && !required)
		return HRT_OK;
	if (rc == HRT_ENOTFOUND)
		return HRT_ERR(err, HRT_EFORMAT, "required metadata key '%s' is missing", key);
	if (!rc && (*out != *out || *out > 3.0e38f || *out < -3.0e38f))
		return HRT_ERR(err, HRT_EFORMAT, "metadata key '%s' is not a finite number", key);
	return rc;
}

static const struct hrt_gguf_tensor *find_tensor(struct hrt_model *m,
						 char *name, size_t cap,
						 const char *fmt, va_list ap)
{
	vsnprintf(name, cap, fmt, ap);
	return hrt_gguf_find_tensor(m->g, name);
}

int hrt_bind_wt(struct hrt_model *m, struct hrt_wt *w, int64_t cols,
		int64_t rows, bool required, struct hrt_err *err,
		const char *fmt, ...)
{
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	const struct hrt_gguf_tensor *t = find_tensor(m, name, sizeof name, fmt, ap);
	va_end(ap);
	memset(w, 0, sizeof(*w));
	if (!t) {
		if (!required)
			return HRT_OK;
		return HRT_ERR(err, HRT_EFORMAT, "tensor '%s' is missing", name);
	}
	if (t->n_dims > 2 || (int64_t)t->ne[0] != cols || (int64_t)t->ne[1] != rows)
		return HRT_ERR(err, HRT_EFORMAT,
			       "tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%lld, %lld]",
			       name, (unsigned long long)t->ne[0],
			       (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
			       (unsigned long long)t->ne[3], (long long)cols, (long long)rows);
	if (!hrt_type_computable(t->type))
		return HRT_ERR(err, HRT_ENOTSUP,
			       "tensor '%s' has type %s, which hearth cannot compute with yet",
			       name, hrt_type_name(t->type));
	uint64_t rb;
	hrt_type_row_bytes(t->type, t->ne[0], &rb);
	w->type = t->type;
	w->ncols = cols;
	w->nrows = rows;
	w->row_bytes = (size_t)rb;
	w->data = t->data;
	m->n_params += (uint64_t)cols * (uint64_t)rows;
	m->weight_bytes += t->nbytes;
	return HRT_OK;
}

static int own(struct hrt_model *m, void *p)
{
	void **n = realloc(m->owned, (m->n_owned + 1) * sizeof(void *));
	if (!n)
		return HRT_ENOMEM;
	m->owned = n;
	m->owned[m->n_owned++] = p;
	return HRT_OK;
}

int hrt_bind_vec(struct hrt_model *m, struct hrt_vec *v, int64_t n,
		 bool required, struct hrt_err *err, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	const struct hrt_gguf_tensor *t = find_tensor(m, name, sizeof name, fmt, ap);
	va_end(ap);
	v->data = NULL;
	v->n = 0;
	if (!t) {
		if (!required)
			return HRT_OK;
		return HRT_ERR(err, HRT_EFORMAT, "tensor '%s' is missing", name);
	}
	if (t->n_dims != 1 || (int64_t)t->ne[0] != n)
		return HRT_ERR(err, HRT_EFORMAT,
			       "tensor '%s' has %u dims [%llu, ...], expected a vector of %lld",
			       name, t->n_dims, (unsigned long long)t->ne[0], (long long)n);
	const struct hrt_type_traits *tt = hrt_type_get(t->type);
	if (!tt->to_float)
		return HRT_ERR(err, HRT_ENOTSUP, "tensor '%s' has type %s, not supported",
			       name, tt->name);
	m->n_params += (uint64_t)n;
	m->weight_bytes += t->nbytes;
	v->n = n;
	if (t->type == HRT_F32) {
		v->data = t->data;
		return HRT_OK;
	}
	float *f = malloc((size_t)n * sizeof(float));
	if (!f || own(m, f)) {
		free(f);
		return HRT_ERR(err, HRT_ENOMEM, "no memory for tensor '%s'", name);
	}
	tt->to_float(t->data, f, n);
	v->data = f;
	return HRT_OK;
}

void hrt_model_close(struct hrt_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_owned; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m->layers);
	hrt_gguf_close(m->g);
	free(m);
}

int hrt_model_open_gguf(struct hrt_model **out, struct hrt_gguf *g,
			struct hrt_err *err)
{
	*out = NULL;
	struct hrt_model *m = calloc(1, sizeof(*m));
	if (!m) {
		hrt_gguf_close(g);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	m->g = g;
	struct hrt_str a;
	int rc = hrt_gguf_get_str(g, "general.architecture", &a, err);
	if (rc == HRT_ENOTFOUND)
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "metadata key 'general.architecture' is missing");
	if (rc)
		goto out_close;
	if (a.len == 0 || a.len >= sizeof m->hp.arch || memchr(a.ptr, 0, a.len)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "general.architecture is not a valid name");
		goto out_close;
	}
	memcpy(m->hp.arch, a.ptr, a.len);
	m->hp.arch[a.len] = 0;
	for (size_t i = 0; i < HRT_ARRAY_LEN(archs); i++)
		if (!strcmp(archs[i]->name, m->hp.arch))
			m->arch = archs[i];
	if (!m->arch) {
		rc = HRT_ERR(err, HRT_ENOTSUP,
			     "architecture '%s' is not supported (supported: llama, granite)",
			     m->hp.arch);
		goto out_close;
	}
	if (hrt_gguf_n_tensors(g) == 0) {
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "the file has no tensors (a tokenizer-only file cannot be run)");
		goto out_close;
	}
	if ((rc = m->arch->load(m, err)))
		goto out_close;
	*out = m;
	return HRT_OK;
out_close:
	hrt_model_close(m);
	return rc;
}

int hrt_model_open(struct hrt_model **out, const char *path,
		   struct hrt_err *err)
{
	struct hrt_gguf *g;
	*out = NULL;
	int rc = hrt_gguf_open(&g, path, err);
	if (rc)
		return rc;
	return hrt_model_open_gguf(out, g, err);
}

const struct hrt_hparams *hrt_model_hparams(const struct hrt_model *m)
{
	return &m->hp;
}

const struct hrt_gguf *hrt_model_gguf(const struct hrt_model *m)
{
	return m->g;
}

uint64_t hrt_model_n_params(const struct hrt_model *m)
{
	return m->n_params;
}

uint64_t hrt_model_weight_bytes(const struct hrt_model *m)
{
	return m->weight_bytes;
}
