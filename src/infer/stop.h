/*
 * infer/stop — stop strings over streamed text. Output is held back while
 * it could still be the start of a stop string; once a stop string appears,
 * the text before it is released and the rest is dropped. Used by every
 * generation loop (infer/session, sched/).
 */
#ifndef HRT_INFER_STOP_H
#define HRT_INFER_STOP_H

#include <stdbool.h>
#include <stddef.h>

struct hrt_stopbuf {
	char *b;                 /* pending text */
	size_t len, cap;
	const char *const *stop; /* not owned */
	size_t n_stop;
};

void hrt_stopbuf_init(struct hrt_stopbuf *sb, const char *const *stop,
		      size_t n_stop);
void hrt_stopbuf_free(struct hrt_stopbuf *sb);
/* add text; HRT_ENOMEM on failure */
int hrt_stopbuf_add(struct hrt_stopbuf *sb, const char *t, size_t n);
/* Bytes at the front that are safe to release now. *hit: a stop string
 * starts right after them (release them, then stop). */
size_t hrt_stopbuf_safe(const struct hrt_stopbuf *sb, bool *hit);
/* drop the first n bytes (after the caller has used them) */
void hrt_stopbuf_consume(struct hrt_stopbuf *sb, size_t n);

#endif
