/*
 * http/fim — fill-in-the-middle prompt assembly; see fim.h.
 */
#include "http/fim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

bool hrt_fim_supported(const struct hrt_vocab *v)
{
	return v && hrt_vocab_fim(v, HRT_FIM_PRE) >= 0 &&
	       hrt_vocab_fim(v, HRT_FIM_SUF) >= 0 && hrt_vocab_fim(v, HRT_FIM_MID) >= 0;
}

int hrt_fim_tokens(const struct hrt_vocab *v, const char *prefix, size_t pn,
		   const char *suffix, size_t sn, int32_t **ids, size_t *n,
		   struct hrt_err *err)
{
	*ids = NULL;
	*n = 0;
	if (!hrt_fim_supported(v))
		return HRT_ERR(err, HRT_ENOTSUP,
			       "this model cannot fill in the middle: its vocabulary has no FIM tokens");
	int32_t *p = NULL, *s = NULL;
	size_t np = 0, ns = 0;
	int rc = hrt_tok_encode(v, prefix, pn, false, false, &p, &np, err);
	if (!rc)
		rc = hrt_tok_encode(v, suffix, sn, false, false, &s, &ns, err);
	if (rc)
		goto out_free;
	size_t total = np + ns + 4;
	int32_t *o = malloc(total * sizeof(int32_t));
	if (!o) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	size_t k = 0;
	int32_t bos = hrt_vocab_bos(v);
	if (hrt_vocab_add_bos(v) && bos >= 0)
		o[k++] = bos;
	o[k++] = hrt_vocab_fim(v, HRT_FIM_PRE);
	if (np)
		memcpy(o + k, p, np * sizeof(int32_t));
	k += np;
	o[k++] = hrt_vocab_fim(v, HRT_FIM_SUF);
	if (ns)
		memcpy(o + k, s, ns * sizeof(int32_t));
	k += ns;
	o[k++] = hrt_vocab_fim(v, HRT_FIM_MID);
	*ids = o;
	*n = k;
out_free:
	free(p);
	free(s);
	return rc;
}

static const char *text_of(const struct hrt_vocab *v, int which, char *buf, size_t cap)
{
	size_t n = 0;
	const char *t = hrt_vocab_text(v, hrt_vocab_fim(v, which), &n);
	if (!t)
		t = "", n = 0;
	/* SentencePiece writes the word-start space as U+2581 */
	const char *lead = "";
	if (n >= 3 && !memcmp(t, "\xe2\x96\x81", 3)) {
		lead = " ";
		t += 3;
		n -= 3;
	}
	snprintf(buf, cap, "%s%.*s", lead, (int)HRT_MIN(n, cap), t);
	return buf;
}

void hrt_fim_template(const struct hrt_vocab *v, char *buf, size_t cap)
{
	if (!hrt_fim_supported(v)) {
		snprintf(buf, cap, "{{ .Prompt }}");
		return;
	}
	char pre[128], suf[128], mid[128];
	snprintf(buf, cap,
		 "{{- if .Suffix }}%s{{ .Prompt }}%s{{ .Suffix }}%s{{- else }}{{ .Prompt }}{{- end }}",
		 text_of(v, HRT_FIM_PRE, pre, sizeof pre), text_of(v, HRT_FIM_SUF, suf, sizeof suf),
		 text_of(v, HRT_FIM_MID, mid, sizeof mid));
}
