/* core/alignw — see alignw.h. */
#include "core/alignw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hrt_alignw_init(struct hrt_alignw *w, int fd, uint64_t pos)
{
	w->fd = fd;
	w->pos = pos;
	w->len = 0;
	w->buf = NULL;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t k = pwrite(fd, p, n > (1u << 30) ? (1u << 30) : n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

int hrt_alignw_flush(struct hrt_alignw *w)
{
	if (!w->len)
		return 0;
	if (pwrite_all(w->fd, w->buf, w->len, w->pos))
		return -1;
	w->pos += w->len;
	w->len = 0;
	return 0;
}

int hrt_alignw_put(struct hrt_alignw *w, const void *p, size_t n)
{
	const uint8_t *c = p;
	const uint64_t ch = HRT_ALIGNW_CHUNK;
	while (n) {
		if (!w->len && w->pos % ch == 0 && n >= ch) {
			/* on a boundary with whole chunks in hand: no copy */
			size_t k = n - n % ch;
			if (pwrite_all(w->fd, c, k, w->pos))
				return -1;
			w->pos += k;
			c += k;
			n -= k;
			continue;
		}
		if (!w->buf && !(w->buf = malloc(HRT_ALIGNW_CHUNK))) {
			errno = ENOMEM;
			return -1;
		}
		/* fill up to the next boundary of the file */
		size_t room = (size_t)(ch - (w->pos + w->len) % ch);
		size_t k = n < room ? n : room;
		memcpy(w->buf + w->len, c, k);
		w->len += k;
		c += k;
		n -= k;
		if (k == room && hrt_alignw_flush(w))
			return -1;
	}
	return 0;
}

void hrt_alignw_reset(struct hrt_alignw *w, uint64_t pos)
{
	w->pos = pos;
	w->len = 0;
}

uint64_t hrt_alignw_end(const struct hrt_alignw *w)
{
	return w->pos + w->len;
}

void hrt_alignw_free(struct hrt_alignw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = 0;
}
