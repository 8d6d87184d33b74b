/* kern/types — the per-type table. See types.h. */
#include "kern/types.h"

#include <ctype.h>
#include <string.h>

#include "core/util.h"
#include "kern/quant_ref.h"

#define T(id, nm, b, sz, q) [id] = { .name = nm, .blck = b, .size = sz, .quantized = q

static const struct hrt_type_traits traits[HRT_TYPE_COUNT] = {
	T(HRT_F32, "F32", 1, 4, false),
		.to_float = hrt_ref_f32_to_float, .from_float = hrt_ref_f32_from_float,
		.dot_type = HRT_F32, .vec_dot = hrt_ref_vec_dot_f32 },
	T(HRT_F16, "F16", 1, 2, false),
		.to_float = hrt_ref_f16_to_float, .from_float = hrt_ref_f16_from_float,
		.dot_type = HRT_F16, .vec_dot = hrt_ref_vec_dot_f16 },
	T(HRT_BF16, "BF16", 1, 2, false),
		.to_float = hrt_ref_bf16_to_float, .from_float = hrt_ref_bf16_from_float,
		.dot_type = HRT_BF16, .vec_dot = hrt_ref_vec_dot_bf16 },
	T(HRT_Q4_0, "Q4_0", 32, 18, true),
		.to_float = hrt_ref_q4_0_to_float, .from_float = hrt_ref_q4_0_from_float,
		.dot_type = HRT_Q8_0, .vec_dot = hrt_ref_vec_dot_q4_0_q8_0 },
	T(HRT_Q4_1, "Q4_1", 32, 20, true),
		.to_float = hrt_ref_q4_1_to_float, .from_float = hrt_ref_q4_1_from_float,
		.dot_type = HRT_Q8_1, .vec_dot = hrt_ref_vec_dot_q4_1_q8_1 },
	T(HRT_Q5_0, "Q5_0", 32, 22, true),
		.to_float = hrt_ref_q5_0_to_float, .from_float = hrt_ref_q5_0_from_float,
		.dot_type = HRT_Q8_0, .vec_dot = hrt_ref_vec_dot_q5_0_q8_0 },
	T(HRT_Q5_1, "Q5_1", 32, 24, true),
		.to_float = hrt_ref_q5_1_to_float, .from_float = hrt_ref_q5_1_from_float,
		.dot_type = HRT_Q8_1, .vec_dot = hrt_ref_vec_dot_q5_1_q8_1 },
	T(HRT_Q8_0, "Q8_0", 32, 34, true),
		.to_float = hrt_ref_q8_0_to_float, .from_float = hrt_ref_q8_0_from_float,
		.dot_type = HRT_Q8_0, .vec_dot = hrt_ref_vec_dot_q8_0_q8_0 },
	T(HRT_Q8_1, "Q8_1", 32, 36, true),
		.to_float = hrt_ref_q8_1_to_float, .from_float = hrt_ref_q8_1_from_float,
		.dot_type = HRT_Q8_1 },
	T(HRT_Q2_K, "Q2_K", 256, 84, true),
		.to_float = hrt_ref_q2_k_to_float, .from_float = hrt_ref_q2_k_from_float,
		.dot_type = HRT_Q8_K, .vec_dot = hrt_ref_vec_dot_q2_k_q8_k },
	T(HRT_Q3_K, "Q3_K", 256, 110, true),
		.to_float = hrt_ref_q3_k_to_float, .from_float = hrt_ref_q3_k_from_float,
		.dot_type = HRT_Q8_K, .vec_dot = hrt_ref_vec_dot_q3_k_q8_k },
	T(HRT_Q4_K, "Q4_K", 256, 144, true),
		.to_float = hrt_ref_q4_k_to_float, .from_float = hrt_ref_q4_k_from_float,
		.dot_type = HRT_Q8_K, .vec_dot = hrt_ref_vec_dot_q4_k_q8_k },
	T(HRT_Q5_K, "Q5_K", 256, 176, true),
		.to_float = hrt_ref_q5_k_to_float, .from_float = hrt_ref_q5_k_from_float,
		.dot_type = HRT_Q8_K, .vec_dot = hrt_ref_vec_dot_q5_k_q8_k },
	T(HRT_Q6_K, "Q6_K", 256, 210, true),
		.to_float = hrt_ref_q6_k_to_float, .from_float = hrt_ref_q6_k_from_float,
		.dot_type = HRT_Q8_K, .vec_dot = hrt_ref_vec_dot_q6_k_q8_k },
	T(HRT_Q8_K, "Q8_K", 256, 292, true),
		.to_float = hrt_ref_q8_k_to_float, .from_float = hrt_ref_q8_k_from_float,
		.dot_type = HRT_Q8_K },
	/* known layouts hearth reads past but does not compute with (yet) */
	T(HRT_IQ2_XXS, "IQ2_XXS", 256, 66, true) },
	T(HRT_IQ2_XS, "IQ2_XS", 256, 74, true) },
	T(HRT_IQ3_XXS, "IQ3_XXS", 256, 98, true) },
	T(HRT_IQ1_S, "IQ1_S", 256, 50, true) },
	T(HRT_IQ4_NL, "IQ4_NL", 32, 18, true) },
	T(HRT_IQ3_S, "IQ3_S", 256, 110, true) },
	T(HRT_IQ2_S, "IQ2_S", 256, 82, true) },
	T(HRT_IQ4_XS, "IQ4_XS", 256, 136, true) },
	T(HRT_I8, "I8", 1, 1, false) },
	T(HRT_I16, "I16", 1, 2, false) },
	T(HRT_I32, "I32", 1, 4, false) },
	T(HRT_I64, "I64", 1, 8, false) },
	T(HRT_F64, "F64", 1, 8, false) },
	T(HRT_IQ1_M, "IQ1_M", 256, 56, true) },
	T(HRT_TQ1_0, "TQ1_0", 256, 54, true) },
	T(HRT_TQ2_0, "TQ2_0", 256, 66, true) },
	T(HRT_MXFP4, "MXFP4", 32, 17, true) },
};

#undef T

const struct hrt_type_traits *hrt_type_get(uint32_t type)
{
	if (type >= HRT_TYPE_COUNT || !traits[type].name)
		return 0;
	return &traits[type];
}

const char *hrt_type_name(uint32_t type)
{
	const struct hrt_type_traits *t = hrt_type_get(type);
	return t ? t->name : 0;
}

int hrt_type_from_name(const char *name)
{
	for (int i = 0; i < HRT_TYPE_COUNT; i++) {
		const char *n = traits[i].name;
		if (!n)
			continue;
		size_t k = 0;
		while (n[k] && name[k] &&
		       toupper((unsigned char)name[k]) == (unsigned char)n[k])
			k++;
		if (!n[k] && !name[k])
			return i;
	}
	return -1;
}

bool hrt_type_row_bytes(uint32_t type, uint64_t n, uint64_t *bytes)
{
	const struct hrt_type_traits *t = hrt_type_get(type);
	if (!t || n % t->blck)
		return false;
	return !hrt_mul_ovf(n / t->blck, t->size, bytes);
}

bool hrt_type_computable(uint32_t type)
{
	const struct hrt_type_traits *t = hrt_type_get(type);
	return t && t->to_float && t->vec_dot;
}
