/*
 * core/alignw — sequential writes to a file in whole 2 MiB pieces, so that
 * the page cache builds huge folios for it.
 *
 * Linux (6.x, ext4, xfs…) sizes the page-cache folios of a buffered write
 * by the write's length and file offset. A model written tensor by tensor,
 * or as a download arrives in 16 KiB pieces, is cached in small folios;
 * mapped, it then takes 4 KiB pages, and decode reads its weights about
 * 13 % slower than with 2 MiB pages (1B Q4_0, tg32, the same cached pages
 * mapped both ways, 4 alternating rounds: 47.2-48.3 tok/s against
 * 40.7-42.7; bench/README, 17:52Z). This
 * writer buffers what it is given and writes only from one 2 MiB boundary
 * of the file to the next (and the remainder at flush), without copying
 * runs that already start on a boundary. Elsewhere it is a plain writer.
 *
 * Not a general buffered stream: one sequential writer per file, at
 * explicit offsets (pwrite), no reads through it.
 */
#ifndef HRT_CORE_ALIGNW_H
#define HRT_CORE_ALIGNW_H

#include <stddef.h>
#include <stdint.h>

#define HRT_ALIGNW_CHUNK ((size_t)2 << 20)

struct hrt_alignw {
	int fd;
	uint64_t pos;  /* file offset of buf[0] */
	size_t len;    /* bytes held in buf */
	uint8_t *buf;  /* HRT_ALIGNW_CHUNK bytes, allocated on first need */
};

/* start writing fd at offset pos (any offset); owns nothing yet */
void hrt_alignw_init(struct hrt_alignw *w, int fd, uint64_t pos);
/* append n bytes; 0, or -1 with errno set (ENOMEM, or the write's) — the
 * bytes written before the error are in the file, the rest are not */
int hrt_alignw_put(struct hrt_alignw *w, const void *p, size_t n);
/* write out what is held; 0 or -1 with errno */
int hrt_alignw_flush(struct hrt_alignw *w);
/* drop what is held, unwritten, and restart at pos */
void hrt_alignw_reset(struct hrt_alignw *w, uint64_t pos);
/* the file offset the next byte goes to */
uint64_t hrt_alignw_end(const struct hrt_alignw *w);
/* free the buffer (what is held and unflushed is lost); w may be zeroed */
void hrt_alignw_free(struct hrt_alignw *w);

#endif
