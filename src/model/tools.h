/*
 * model/tools — producing model files: the quantizer (`hearth quantize`)
 * and the synthetic-model generator (`hearth mkmodel`).
 *
 * Both go through one engine (model/quantize.c): a list of tensors whose
 * values come either from an input GGUF (any computable type) or from a
 * generator, a target "spec" (a type such as Q8_0 or a mix such as Q4_K_M),
 * and per-tensor type rules that follow the peer runtime's
 * (llama.cpp src/llama-quant.cpp, llama_tensor_get_type), so files we write
 * have the same tensor types, order and general.file_type as the peer's
 * llama-quantize would give. Output is streamed: one tensor is converted at
 * a time into a buffer the size of that tensor, and the file is written
 * crash-safely (OUT.tmp.<pid>, fsync, rename).
 *
 * Not here: importance matrices and the IQ* types (refused with a clear
 * error), reading models for inference (model/load.c).
 */
#ifndef HRT_MODEL_TOOLS_H
#define HRT_MODEL_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gguf/gguf.h"

/* The peer's llama_ftype values, written to general.file_type. */
enum hrt_ftype {
	HRT_FTYPE_ALL_F32 = 0,
	HRT_FTYPE_F16 = 1,
	HRT_FTYPE_Q4_0 = 2,
	HRT_FTYPE_Q4_1 = 3,
	HRT_FTYPE_Q8_0 = 7,
	HRT_FTYPE_Q5_0 = 8,
	HRT_FTYPE_Q5_1 = 9,
	HRT_FTYPE_Q2_K = 10,
	HRT_FTYPE_Q3_K_S = 11,
	HRT_FTYPE_Q3_K_M = 12,
	HRT_FTYPE_Q3_K_L = 13,
	HRT_FTYPE_Q4_K_S = 14,
	HRT_FTYPE_Q4_K_M = 15,
	HRT_FTYPE_Q5_K_S = 16,
	HRT_FTYPE_Q5_K_M = 17,
	HRT_FTYPE_Q6_K = 18,
	HRT_FTYPE_BF16 = 32,
};

/* A parsed target: "Q4_K_M" -> ftype 15, base type Q4_K. */
struct hrt_quant_spec {
	const char *name;   /* canonical name, "Q4_K_M" */
	enum hrt_ftype ftype;
	uint32_t base;      /* enum hrt_type most tensors get */
};

/* Look up a spec by name (case-insensitive; "Q4_K" means Q4_K_M as in the
 * peer's llama-quantize). HRT_EINVAL for unknown names, HRT_ENOTSUP for
 * known ones hearth cannot produce (IQ*, Q2_K_S), with the list of valid
 * names in err. */
int hrt_quant_spec_parse(const char *name, struct hrt_quant_spec *out,
			 struct hrt_err *err);
/* the accepted names, NULL-terminated */
const char *const *hrt_quant_spec_names(void);
/* name of a general.file_type value ("Q4_K_M"), or NULL if unknown */
const char *hrt_ftype_name(uint32_t ftype);

/* progress: called after each tensor with its name and chosen type */
typedef void (*hrt_quant_progress_fn)(void *ctx, size_t i, size_t n,
				      const char *name, uint32_t from_type,
				      uint32_t to_type, uint64_t bytes);

struct hrt_quant_opts {
	int n_threads;   /* <= 0: all online CPUs */
	bool pure;       /* every quantizable tensor gets the base type
			  * (no mix rules; shape fallbacks still apply) */
	hrt_quant_progress_fn progress; /* may be NULL */
	void *progress_ctx;
};

/* Quantize (or convert) in_path into out_path with spec (a name for
 * hrt_quant_spec_parse). Every metadata key is copied except split.*;
 * general.file_type and general.quantization_version (2) are set.
 * Memory: the input is mapped read-only and released tensor by tensor;
 * one output tensor and small per-thread buffers are allocated.
 * Errors: HRT_ENOTFOUND / HRT_EIO for files (out_path's folder must
 * exist), HRT_EFORMAT for a bad input, HRT_ENOTSUP for types we cannot
 * read, HRT_EINVAL for a bad spec or non-finite input values, HRT_EIO
 * naming "disk full" when the device fills up; out_path is then absent. */
int hrt_quantize_file(const char *in_path, const char *out_path,
		      const char *spec, const struct hrt_quant_opts *opts,
		      struct hrt_err *err);

/* --- synthetic models --- */

/* An architecture shape. Zero fields take the named shape's value. */
struct hrt_synth_shape {
	uint32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
	float rope_base, norm_eps;
	bool tied_output;
	/* granite scales (ignored for llama) */
	float embd_scale, residual_scale, attn_scale, logit_scale;
};

struct hrt_synth_opts {
	const char *arch;       /* "llama" or "granite" */
	const char *shape;      /* "llama-3.2-1b", "granite-3-2b", "tiny", ...;
				 * NULL: "tiny" */
	const struct hrt_synth_shape *override; /* non-zero fields win; may be NULL */
	const char *vocab_path; /* copy tokenizer.* from this GGUF; NULL: the
				 * built-in byte-level vocabulary */
	const char *type;       /* spec name; NULL: F16 */
	uint64_t seed;
	const char *out_path;
	struct hrt_quant_opts q;
};

/* Names of the built-in shapes, NULL-terminated. */
const char *const *hrt_synth_shapes(void);
/* Resolve a named shape (with overrides) into *out; HRT_EINVAL if unknown. */
int hrt_synth_shape_get(const char *name, const struct hrt_synth_shape *override,
			struct hrt_synth_shape *out, struct hrt_err *err);

/* Write a model of random weights (fixed seed, N(0, 0.02)-like, norms 1)
 * with a real architecture shape and vocabulary, quantized to o->type by
 * the quantize engine. The same options give the same bytes. */
int hrt_synth_model(const struct hrt_synth_opts *o, struct hrt_err *err);

/* --- the engine shared by quantize and synth (model/quantize.c) --- */

/* fills rows [row0, row0 + nrows) of the tensor, ne[0] floats each;
 * called from several threads at once with disjoint rows */
typedef void (*hrt_qgen_fn)(const void *ctx, uint64_t row0, uint64_t nrows,
			    float *dst);

/* the model facts the mix rules read (from <arch>.* metadata) */
struct hrt_quant_info {
	char arch[32];       /* general.architecture, "" if none */
	uint32_t n_layer;    /* <arch>.block_count, 0 if unknown */
	uint32_t n_head, n_head_kv;
	uint32_t n_expert;   /* <arch>.expert_count, 0 for dense models */
	uint32_t alignment;  /* data alignment of the output (power of two) */
};

struct hrt_qsrc {
	const char *name;
	uint32_t n_dims;
	uint64_t ne[HRT_GGUF_MAX_DIMS];
	uint32_t type;        /* type of data; F32 for generated tensors */
	const void *data;     /* bytes of the tensor (file), or NULL: gen */
	hrt_qgen_fn gen;
	const void *gen_ctx;
};

/* Write kv's metadata plus the n tensors of src, converted per spec, to
 * out_path, streaming: each tensor is converted just before the writer
 * writes it, so memory stays near one tensor. kv is modified (file_type,
 * quantization_version, the tensors; do not write it again). The
 * tensors are written in the peer's order (non-layer tensors by name,
 * then by layer number, then by name). If release is not NULL it is
 * called with each file-backed tensor once its data is no longer needed. */
int hrt_quant_write(struct hrt_gguf_writer *kv, const struct hrt_quant_info *info,
		    const struct hrt_qsrc *src,
		    size_t n, const struct hrt_quant_spec *spec,
		    const struct hrt_quant_opts *opts, const char *out_path,
		    void (*release)(void *ctx, const struct hrt_qsrc *t),
		    void *release_ctx, struct hrt_err *err);

#endif
