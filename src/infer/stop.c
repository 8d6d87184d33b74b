/* infer/stop — see stop.h. */
#include "infer/stop.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

void hrt_stopbuf_init(struct hrt_stopbuf *sb, const char *const *stop,
		      size_t n_stop)
{
	memset(sb, 0, sizeof(*sb));
	sb->stop = stop;
	sb->n_stop = n_stop;
}

void hrt_stopbuf_free(struct hrt_stopbuf *sb)
{
	free(sb->b);
	sb->b = NULL;
	sb->len = sb->cap = 0;
}

int hrt_stopbuf_add(struct hrt_stopbuf *sb, const char *t, size_t n)
{
	if (!n)
		return HRT_OK;
	if (sb->len + n + 1 > sb->cap) {
		size_t nc = HRT_MAX(sb->cap * 2, sb->len + n + 64);
		char *nb = realloc(sb->b, nc);
		if (!nb)
			return HRT_ENOMEM;
		sb->b = nb;
		sb->cap = nc;
	}
	memcpy(sb->b + sb->len, t, n);
	sb->len += n;
	return HRT_OK;
}

size_t hrt_stopbuf_safe(const struct hrt_stopbuf *sb, bool *hit)
{
	*hit = false;
	size_t safe = sb->len;
	for (size_t i = 0; i < sb->n_stop; i++) {
		const char *st = sb->stop[i];
		size_t sl = st ? strlen(st) : 0;
		if (!sl)
			continue;
		bool found = false;
		for (size_t p = 0; p + sl <= sb->len; p++)
			if (!memcmp(sb->b + p, st, sl)) {
				if (!*hit || p < safe)
					safe = p;
				*hit = found = true;
				break;
			}
		if (found)
			continue;
		/* a suffix of the text that is a prefix of the stop string */
		for (size_t k = HRT_MIN(sl - 1, sb->len); k > 0; k--)
			if (!memcmp(sb->b + sb->len - k, st, k)) {
				if (!*hit)
					safe = HRT_MIN(safe, sb->len - k);
				break;
			}
	}
	return safe;
}

void hrt_stopbuf_consume(struct hrt_stopbuf *sb, size_t n)
{
	if (n > sb->len)
		n = sb->len;
	if (n) /* an empty buffer may have no storage yet */
		memmove(sb->b, sb->b + n, sb->len - n);
	sb->len -= n;
}
