/*
 * tok/span — a byte range inside a text buffer.
 *
 * Shared by the tokenizer (tok.h) and the chat renderer (chat.h): the
 * renderer reports which bytes of a prompt the chat format wrote itself, and
 * the tokenizer parses special-token text only inside those ranges. Nothing
 * else lives here.
 */
#ifndef HRT_TOK_SPAN_H
#define HRT_TOK_SPAN_H

#include <stddef.h>

struct hrt_span {
	size_t off; /* first byte */
	size_t len; /* number of bytes */
};

#endif
