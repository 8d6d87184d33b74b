/*
 * libFuzzer target: the GGUF parser, then everything that reads a parsed
 * file — metadata accessors, tensor views, the model binder and the
 * vocabulary loader. Any crash, sanitizer report, leak or huge allocation
 * is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "model/model.h"
#include "tok/tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hrt_gguf *g = NULL;
	struct hrt_err err;
	if (hrt_gguf_open_mem(&g, data, size, &err) != HRT_OK)
		return 0;
	volatile uint64_t sink = 0;
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++) {
		struct hrt_str k = hrt_gguf_kv_key(g, i);
		sink += k.len ? (uint8_t)k.ptr[k.len - 1] : 0;
		struct hrt_gguf_arr a;
		if (hrt_gguf_kv_arr(g, i, &a) == HRT_OK && a.n) {
			if (a.type == HRT_GGUF_STRING)
				sink += hrt_gguf_arr_str(&a, a.n - 1).len;
			else
				sink += (uint64_t)hrt_gguf_arr_i64(&a, a.n - 1);
		}
	}
	for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		sink += ((const uint8_t *)t->data)[t->nbytes - 1];
	}
	struct hrt_vocab *v = NULL;
	if (hrt_vocab_load(&v, g, &err) == HRT_OK) {
		int32_t *ids = NULL;
		size_t n = 0;
		if (hrt_tok_encode(v, "Hello world <|endoftext|>", 25, true, true, &ids, &n, &err) == HRT_OK)
			free(ids);
		hrt_vocab_free(v);
	}
	/* the model takes ownership of g */
	struct hrt_model *m = NULL;
	if (hrt_model_open_gguf(&m, g, &err) == HRT_OK)
		hrt_model_close(m);
	(void)sink;
	return 0;
}
