/*
 * tok/chat — chat prompt formats: recognise a model's chat format from its
 * Jinja `tokenizer.chat_template` text, and render a conversation in it.
 *
 * What it is: a fixed set of hand-written formats ("families": chatml,
 * llama3, granite, ...), each a few lines of C, chosen by looking for
 * tell-tale substrings in the template source. The families and the
 * substrings follow llama.cpp's src/llama-chat.cpp (llm_chat_detect_template
 * and llm_chat_apply_template) so a GGUF renders the same prompt here as
 * there; where we differ it is written next to the rule in chat.c.
 *
 * What it is not: a Jinja engine. The template text is only ever searched
 * for substrings; it is never parsed or executed, so a hostile template can
 * at worst pick the wrong family. Tool definitions, tool-call structures,
 * default system prompts and dates that some real templates insert are not
 * reproduced.
 *
 * The rendered prompt comes with the list of byte ranges the format wrote
 * itself (hrt_chat_out.tmpl). The caller tokenizes with special-token parsing
 * allowed only inside those ranges, so a user typing "<|im_start|>system"
 * gets plain text, never a control token.
 */
#ifndef HRT_TOK_CHAT_H
#define HRT_TOK_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "tok/span.h"

/* Largest rendered prompt, in bytes; a bigger one fails with HRT_ERANGE. */
#define HRT_CHAT_MAX_OUT ((size_t)64 << 20)

/* Chat formats. Values are stable within a build only; store names
 * (hrt_chat_family_name), not numbers. */
enum hrt_chat_family {
	HRT_CHAT_RAW = 0,          /* no format: contents joined by "\n" */
	HRT_CHAT_GRANITE,          /* IBM Granite 3.x / 4.x */
	HRT_CHAT_LLAMA3,           /* Llama 3.x */
	HRT_CHAT_LLAMA2,           /* Llama 2 / Mistral 7B v0.1, no <<SYS>> */
	HRT_CHAT_LLAMA2_SYS,       /* Llama 2 with <<SYS>> */
	HRT_CHAT_LLAMA2_SYS_BOS,   /* ... and BOS text before each later [INST] */
	HRT_CHAT_LLAMA2_SYS_STRIP, /* ... and contents stripped (Meta's own) */
	HRT_CHAT_CHATML,           /* <|im_start|> (Qwen, Hermes, Yi, ...) */
	HRT_CHAT_MISTRAL_V1,       /* " [INST] ... [/INST]" */
	HRT_CHAT_MISTRAL_V3,       /* "[INST] ...[/INST]", assistant trimmed */
	HRT_CHAT_MISTRAL_V3_TEKKEN,/* "[INST]...[/INST]" */
	HRT_CHAT_MISTRAL_V7,       /* [SYSTEM_PROMPT], "[INST] " */
	HRT_CHAT_MISTRAL_V7_TEKKEN,/* [SYSTEM_PROMPT], "[INST]" */
	HRT_CHAT_PHI3,             /* <|user|> ... <|end|> */
	HRT_CHAT_PHI4,             /* <|im_start|>role<|im_sep|> */
	HRT_CHAT_GEMMA,            /* <start_of_turn>, "model", system merged */
	HRT_CHAT_ZEPHYR,           /* <|user|>\n ... EOS\n */
	HRT_CHAT_FALCON3,
	HRT_CHAT_MONARCH,
	HRT_CHAT_ORION,
	HRT_CHAT_OPENCHAT,
	HRT_CHAT_VICUNA,
	HRT_CHAT_VICUNA_ORCA,
	HRT_CHAT_DEEPSEEK,         /* deepseek-coder */
	HRT_CHAT_DEEPSEEK2,
	HRT_CHAT_DEEPSEEK3,        /* also the R1 distills */
	HRT_CHAT_COMMAND_R,
	HRT_CHAT_CHATGLM3,
	HRT_CHAT_CHATGLM4,
	HRT_CHAT_GLMEDGE,
	HRT_CHAT_MINICPM,
	HRT_CHAT_EXAONE3,
	HRT_CHAT_EXAONE4,
	HRT_CHAT_LLAMA4,
	HRT_CHAT_MEGREZ,
	HRT_CHAT_KIMI_K2,
	HRT_CHAT_SEED_OSS,
	HRT_CHAT_SMOLVLM,
	HRT_CHAT_GPT_OSS,
	HRT_CHAT_FAMILY_COUNT      /* not a family */
};

/* Pick the family for a Jinja chat template (tmpl may be NULL; len bytes are
 * read, NULs included). A template that is exactly a family name picks that
 * family. Empty or unrecognised text gives HRT_CHAT_RAW. Never fails; reads
 * the text a few dozen times, never interprets it. */
enum hrt_chat_family hrt_chat_detect(const char *tmpl, size_t len);

/* Family for a name as written in a Modelfile or on the command line
 * ("chatml", "llama3", "mistral-v7", "raw", ...; ASCII case ignored).
 * Returns the enum value, or -1 if name is NULL or unknown. */
int hrt_chat_family_from_name(const char *name);

/* Name of a family ("chatml"); "unknown" for a value out of range. Static. */
const char *hrt_chat_family_name(enum hrt_chat_family f);

/* One message. role: "system", "user", "assistant" or "tool" (exact, lower
 * case); anything else is refused. content: NUL-terminated (text after an
 * embedded NUL is not seen); NULL is taken as "". Both are borrowed. */
struct hrt_chat_msg {
	const char *role;
	const char *content;
};

/* A rendered prompt. Owned by the caller; release with hrt_chat_out_free. */
struct hrt_chat_out {
	char *text;            /* len bytes + NUL, malloc'd */
	size_t len;
	struct hrt_span *tmpl; /* ranges the format wrote (may hold control-token
	                          text): sorted, non-empty, non-overlapping, never
	                          touching (adjacent ranges are merged); NULL when
	                          n_tmpl == 0. Every other byte came from a
	                          message content. */
	size_t n_tmpl;
};

/* Render msgs[0..n) in family f into *out (overwritten; on failure it is
 * left zeroed). add_generation_prompt appends the header that opens an
 * assistant turn, for families that have one.
 *
 * bos/eos: the vocabulary's BOS/EOS token text, used by the families whose
 * templates write them between turns (llama2 variants, mistral, zephyr,
 * monarch, orion, deepseek2). NULL picks the text llama.cpp hard-codes for
 * that family ("<s>", "</s>", "<|endoftext|>", ...). The leading BOS of a
 * prompt is never written: the tokenizer adds it as for any prompt.
 *
 * Roles a family has no place for are handled as llama.cpp does: dropped
 * (vicuna, deepseek, command-r, exaone3, deepseek2/3 drop "tool") or
 * rendered as an assistant turn (llama2, mistral, orion).
 *
 * Returns HRT_OK; HRT_EINVAL (bad argument, unknown role — the message
 * names the role and the message index); HRT_ERANGE (prompt over
 * HRT_CHAT_MAX_OUT); HRT_ENOMEM. */
int hrt_chat_render(enum hrt_chat_family f, const struct hrt_chat_msg *msgs,
		size_t n, bool add_generation_prompt, const char *bos,
		const char *eos, struct hrt_chat_out *out, struct hrt_err *err);

/* Free what hrt_chat_render allocated and zero *o. NULL is a no-op. */
void hrt_chat_out_free(struct hrt_chat_out *o);

/* Texts that end an assistant turn in family f ("<|im_end|>", ...), for use
 * as stop strings; a static NULL-terminated list, empty for RAW and for an
 * out-of-range f. The vocabulary's EOS token stops generation anyway. */
const char *const *hrt_chat_stops(enum hrt_chat_family f);

#endif
