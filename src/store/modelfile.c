/*
 * store/modelfile — the Modelfile format people already write for the
 * peer runtime: one directive per line (FROM, PARAMETER, TEMPLATE, SYSTEM,
 * LICENSE, ADAPTER; case-insensitive), '#' comments, values as the rest
 * of the line, a "quoted string" or a """multi-line block""".
 * This file only parses; create.c turns a parsed Modelfile into a model.
 * TEMPLATE text is stored, never executed (see tok/chat.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "store/store_int.h"

#define MODELFILE_MAX ((size_t)4 << 20)
#define MAX_LIST 16

struct cur {
	const char *p, *end;
	size_t line;
};

static bool at_eol(const struct cur *c)
{
	return c->p >= c->end || *c->p == '\n';
}

static void skip_blank(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static void skip_line(struct cur *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

/* after a quoted value only blanks may follow on the line */
static int end_of_value(struct cur *c, const char *what, struct hrt_err *err)
{
	skip_blank(c);
	if (!at_eol(c))
		return HRT_ERR(err, HRT_EFORMAT, "Modelfile line %zu: text after the closing quote of %s",
			       c->line, what);
	skip_line(c);
	return HRT_OK;
}

/* Read a value; *out malloc'd. */
static int read_value(struct cur *c, const char *what, char **out,
		      struct hrt_err *err)
{
	*out = NULL;
	size_t line0 = c->line;
	if (c->end - c->p >= 3 && !memcmp(c->p, "\"\"\"", 3)) {
		const char *s = c->p + 3, *e = s;
		size_t nl = 0;
		for (; e + 3 <= c->end; e++) {
			if (!memcmp(e, "\"\"\"", 3))
				break;
			if (*e == '\n')
				nl++;
		}
		if (e + 3 > c->end)
			return HRT_ERR(err, HRT_EFORMAT,
				       "Modelfile line %zu: the \"\"\" that opens %s is never closed", line0,
				       what);
		if (!(*out = hrt_strndup(s, (size_t)(e - s))))
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		c->p = e + 3;
		c->line += nl;
		int rc = end_of_value(c, what, err);
		if (rc) {
			free(*out);
			*out = NULL;
		}
		return rc;
	}
	if (c->p < c->end && *c->p == '"') {
		const char *s = ++c->p;
		char *b = malloc((size_t)(c->end - s) + 1);
		size_t n = 0;
		if (!b)
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		for (;;) {
			if (c->p >= c->end || *c->p == '\n') {
				free(b);
				return HRT_ERR(err, HRT_EFORMAT,
					       "Modelfile line %zu: the quote that opens %s is not closed on its line (use \"\"\" for several lines)",
					       line0, what);
			}
			char ch = *c->p++;
			if (ch == '"')
				break;
			if (ch == '\\' && c->p < c->end && (*c->p == '"' || *c->p == '\\'))
				ch = *c->p++;
			b[n++] = ch;
		}
		b[n] = 0;
		*out = b;
		int rc = end_of_value(c, what, err);
		if (rc) {
			free(*out);
			*out = NULL;
		}
		return rc;
	}
	const char *s = c->p;
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	const char *e = c->p;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (e == s)
		return HRT_ERR(err, HRT_EFORMAT, "Modelfile line %zu: %s needs a value", line0, what);
	if (!(*out = hrt_strndup(s, (size_t)(e - s))))
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	skip_line(c);
	return HRT_OK;
}

static int push(char ***list, size_t *n, char *v, const char *what, size_t line,
		struct hrt_err *err)
{
	if (*n >= MAX_LIST) {
		free(v);
		return HRT_ERR(err, HRT_ERANGE, "Modelfile line %zu: at most %d %s lines", line, MAX_LIST,
			       what);
	}
	char **nl = realloc(*list, (*n + 1) * sizeof *nl);
	if (!nl) {
		free(v);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	nl[(*n)++] = v;
	*list = nl;
	return HRT_OK;
}

void hrt_modelfile_free(struct hrt_modelfile *mf)
{
	if (!mf)
		return;
	free(mf->from);
	free(mf->template_text);
	free(mf->system);
	for (size_t i = 0; i < mf->n_licenses; i++)
		free(mf->licenses[i]);
	free(mf->licenses);
	for (size_t i = 0; i < mf->n_adapters; i++)
		free(mf->adapters[i]);
	free(mf->adapters);
	hrt_store_params_free(&mf->params);
	memset(mf, 0, sizeof *mf);
}

static int directive(struct cur *c, const char *word, size_t wl,
		     struct hrt_modelfile *mf, struct hrt_err *err)
{
	size_t line = c->line;
	char *v = NULL;
	int rc;
#define IS(w) (wl == sizeof(w) - 1 && !strncasecmp(word, w, wl))
	if (IS("FROM")) {
		if (mf->from)
			return HRT_ERR(err, HRT_EFORMAT, "Modelfile line %zu: a second FROM", line);
		return read_value(c, "FROM", &mf->from, err);
	}
	if (IS("TEMPLATE") || IS("SYSTEM")) {
		char **dst = IS("TEMPLATE") ? &mf->template_text : &mf->system;
		if ((rc = read_value(c, IS("TEMPLATE") ? "TEMPLATE" : "SYSTEM", &v, err)))
			return rc;
		free(*dst); /* the last one wins, as for the peer */
		*dst = v;
		return HRT_OK;
	}
	if (IS("LICENSE")) {
		if ((rc = read_value(c, "LICENSE", &v, err)))
			return rc;
		return push(&mf->licenses, &mf->n_licenses, v, "LICENSE", line, err);
	}
	if (IS("ADAPTER")) {
		if ((rc = read_value(c, "ADAPTER", &v, err)))
			return rc;
		return push(&mf->adapters, &mf->n_adapters, v, "ADAPTER", line, err);
	}
	if (IS("PARAMETER")) {
		const char *k = c->p;
		while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '\n' && *c->p != '\r')
			c->p++;
		size_t kl = (size_t)(c->p - k);
		if (kl == 0)
			return HRT_ERR(err, HRT_EFORMAT, "Modelfile line %zu: PARAMETER needs a name and a value",
				       line);
		char key[64];
		if (kl >= sizeof key) {
			char shown[40];
			st_printable(k, kl, shown, sizeof shown);
			return HRT_ERR(err, HRT_EINVAL, "Modelfile line %zu: unknown PARAMETER '%s'", line,
				       shown);
		}
		memcpy(key, k, kl);
		key[kl] = 0;
		for (size_t i = 0; i < kl; i++)
			if (key[i] >= 'A' && key[i] <= 'Z')
				key[i] = (char)(key[i] - 'A' + 'a');
		skip_blank(c);
		if ((rc = read_value(c, key, &v, err)))
			return rc;
		rc = hrt_store_param_set(&mf->params, key, v, err);
		free(v);
		if (rc)
			st_err_prefix(err, "Modelfile line %zu", line);
		return rc;
	}
	char shown[40];
	st_printable(word, wl, shown, sizeof shown);
	if (IS("MESSAGE") || IS("REQUIRES") || IS("DRAFT") || IS("RENDERER") || IS("PARSER"))
		return HRT_ERR(err, HRT_ENOTSUP, "Modelfile line %zu: %s is not supported by hearth yet",
			       line, shown);
	return HRT_ERR(err, HRT_EFORMAT,
		       "Modelfile line %zu: unknown instruction '%s' (FROM, PARAMETER, TEMPLATE, SYSTEM, LICENSE, ADAPTER)",
		       line, shown);
#undef IS
}

int hrt_modelfile_parse(const char *text, size_t len, struct hrt_modelfile *out,
			struct hrt_err *err)
{
	memset(out, 0, sizeof *out);
	if (len > MODELFILE_MAX)
		return HRT_ERR(err, HRT_ERANGE, "Modelfile is larger than %zu bytes", MODELFILE_MAX);
	const char *nul = memchr(text, 0, len);
	if (nul) {
		size_t line = 1;
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		return HRT_ERR(err, HRT_EFORMAT, "Modelfile line %zu: a NUL byte", line);
	}
	struct cur c = { text, text + len, 1 };
	int rc = HRT_OK;
	while (c.p < c.end) {
		skip_blank(&c);
		if (at_eol(&c) || *c.p == '#') {
			skip_line(&c);
			continue;
		}
		const char *w = c.p;
		while (c.p < c.end && ((*c.p >= 'A' && *c.p <= 'Z') || (*c.p >= 'a' && *c.p <= 'z')))
			c.p++;
		size_t wl = (size_t)(c.p - w);
		if (wl == 0 || (c.p < c.end && *c.p != ' ' && *c.p != '\t' && *c.p != '\n' &&
				*c.p != '\r')) {
			while (c.p < c.end && *c.p != ' ' && *c.p != '\t' && *c.p != '\n')
				c.p++;
			char shown[40];
			st_printable(w, (size_t)(c.p - w), shown, sizeof shown);
			rc = HRT_ERR(err, HRT_EFORMAT, "Modelfile line %zu: unknown instruction '%s'", c.line,
				     shown);
			break;
		}
		skip_blank(&c);
		if ((rc = directive(&c, w, wl, out, err)))
			break;
	}
	if (!rc && !out->from)
		rc = HRT_ERR(err, HRT_EFORMAT, "Modelfile has no FROM line (FROM model.gguf, or FROM a model name)");
	if (rc)
		hrt_modelfile_free(out);
	return rc;
}
