/*
 * tok/chat — chat formats: detection from Jinja template text, rendering
 * with template-owned byte ranges. See chat.h for the contract.
 *
 * Formats follow llama.cpp's src/llama-chat.cpp (its family list, its
 * detection substrings and their order, its per-family output), checked
 * against the expected strings in its tests/test-chat-template.cpp. Places
 * where we deliberately differ are marked "differs:".
 *
 * Most families are a table row: text before and after each role's content,
 * which roles are trimmed, which are followed by EOS text. The few with
 * state between turns (llama2, mistral v1/v3, gemma, orion, monarch) and the
 * raw fallback have a function each.
 *
 * The template source is searched for substrings only (has()); nothing in
 * it is evaluated.
 */
#include "tok/chat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- families ---------------------------------------------------------- */

enum { R_SYS, R_USER, R_ASST, R_TOOL, R_N };
#define RB(r) (1u << (r))
#define R_ALL (RB(R_SYS) | RB(R_USER) | RB(R_ASST) | RB(R_TOOL))

static const char *const role_names[R_N] = {
	[R_SYS] = "system", [R_USER] = "user", [R_ASST] = "assistant",
	[R_TOOL] = "tool",
};

enum style {
	S_TABLE = 0, /* pre + content [+ EOS] + post per message, gen at end */
	S_RAW,
	S_LLAMA2,
	S_MISTRAL,   /* mistral v1, v3, v3-tekken */
	S_GEMMA,
	S_ORION,
	S_MONARCH,
};

/* flags for S_LLAMA2 and S_MISTRAL */
#define F_SYS_TAGS 1u   /* llama2: system goes in <<SYS>> ... <</SYS>> */
#define F_BOS_HIST 2u   /* llama2: BOS text before every [INST] but the 1st */
#define F_LEAD_SP 4u    /* mistral: " [INST]" and " [/INST]" (v1) */
#define F_TRAIL_SP 8u   /* mistral: "[INST] " and " answer" (not tekken) */

struct turn {
	const char *pre;  /* NULL: messages with this role are left out */
	const char *post;
};

struct family {
	const char *name;
	enum style style;
	unsigned flags;
	const char *begin;       /* written first, even for no messages */
	struct turn t[R_N];
	const char *gen;         /* generation prompt; NULL: the family has none */
	unsigned trim;           /* RB(role): strip ASCII space around content */
	unsigned eos;            /* RB(role): EOS text right after content */
	const char *def_bos;     /* used when the caller passes bos == NULL */
	const char *def_eos;     /* likewise for eos */
	const char *const *stops;
};

/* the same wrapping for every role, the role's name in the middle */
#define ROLES(pre, mid, post) { \
		[R_SYS] = { pre "system" mid, post }, \
		[R_USER] = { pre "user" mid, post }, \
		[R_ASST] = { pre "assistant" mid, post }, \
		[R_TOOL] = { pre "tool" mid, post } }

#define STOPS(...) ((const char *const[]){ __VA_ARGS__, NULL })
static const char *const no_stops[] = { NULL };

static const struct family families[HRT_CHAT_FAMILY_COUNT] = {
	[HRT_CHAT_RAW] = { .name = "raw", .style = S_RAW, .stops = no_stops },
	[HRT_CHAT_GRANITE] = {
		.name = "granite",
		.t = ROLES("<|start_of_role|>", "<|end_of_role|>",
			"<|end_of_text|>\n"),
		.gen = "<|start_of_role|>assistant<|end_of_role|>",
		.stops = STOPS("<|end_of_text|>", "<|start_of_role|>"),
	},
	[HRT_CHAT_LLAMA3] = {
		.name = "llama3",
		.t = ROLES("<|start_header_id|>", "<|end_header_id|>\n\n",
			"<|eot_id|>"),
		.gen = "<|start_header_id|>assistant<|end_header_id|>\n\n",
		.trim = R_ALL,
		.stops = STOPS("<|eot_id|>", "<|start_header_id|>",
			"<|end_header_id|>"),
	},
	[HRT_CHAT_LLAMA2] = {
		.name = "llama2", .style = S_LLAMA2,
		.def_eos = "</s>", .stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_LLAMA2_SYS] = {
		.name = "llama2-sys", .style = S_LLAMA2, .flags = F_SYS_TAGS,
		.def_eos = "</s>", .stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_LLAMA2_SYS_BOS] = {
		.name = "llama2-sys-bos", .style = S_LLAMA2,
		.flags = F_SYS_TAGS | F_BOS_HIST,
		.def_bos = "<s>", .def_eos = "</s>",
		.stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_LLAMA2_SYS_STRIP] = {
		.name = "llama2-sys-strip", .style = S_LLAMA2,
		.flags = F_SYS_TAGS, .trim = R_ALL,
		.def_eos = "</s>", .stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_CHATML] = {
		.name = "chatml",
		.t = ROLES("<|im_start|>", "\n", "<|im_end|>\n"),
		.gen = "<|im_start|>assistant\n",
		.stops = STOPS("<|im_end|>", "<|im_start|>"),
	},
	[HRT_CHAT_MISTRAL_V1] = {
		.name = "mistral-v1", .style = S_MISTRAL,
		.flags = F_LEAD_SP | F_TRAIL_SP,
		.def_eos = "</s>", .stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_MISTRAL_V3] = {
		.name = "mistral-v3", .style = S_MISTRAL, .flags = F_TRAIL_SP,
		.trim = RB(R_ASST) | RB(R_TOOL),
		.def_eos = "</s>", .stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_MISTRAL_V3_TEKKEN] = {
		.name = "mistral-v3-tekken", .style = S_MISTRAL,
		.def_eos = "</s>", .stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_MISTRAL_V7] = {
		.name = "mistral-v7",
		.t = {
			[R_SYS] = { "[SYSTEM_PROMPT] ", "[/SYSTEM_PROMPT]" },
			[R_USER] = { "[INST] ", "[/INST]" },
			[R_ASST] = { " ", "" },
			[R_TOOL] = { " ", "" },
		},
		.eos = RB(R_ASST) | RB(R_TOOL), .def_eos = "</s>",
		.stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_MISTRAL_V7_TEKKEN] = {
		.name = "mistral-v7-tekken",
		.t = {
			[R_SYS] = { "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]" },
			[R_USER] = { "[INST]", "[/INST]" },
			[R_ASST] = { "", "" },
			[R_TOOL] = { "", "" },
		},
		.eos = RB(R_ASST) | RB(R_TOOL), .def_eos = "</s>",
		.stops = STOPS("</s>", "[INST]"),
	},
	[HRT_CHAT_PHI3] = {
		.name = "phi3",
		.t = ROLES("<|", "|>\n", "<|end|>\n"),
		.gen = "<|assistant|>\n",
		.stops = STOPS("<|end|>", "<|user|>", "<|assistant|>"),
	},
	[HRT_CHAT_PHI4] = {
		.name = "phi4",
		.t = ROLES("<|im_start|>", "<|im_sep|>", "<|im_end|>"),
		.gen = "<|im_start|>assistant<|im_sep|>",
		.stops = STOPS("<|im_end|>", "<|im_start|>"),
	},
	[HRT_CHAT_GEMMA] = {
		.name = "gemma", .style = S_GEMMA, .trim = R_ALL,
		.stops = STOPS("<end_of_turn>", "<start_of_turn>"),
	},
	[HRT_CHAT_ZEPHYR] = {
		.name = "zephyr",
		.t = ROLES("<|", "|>\n", "\n"),
		.eos = R_ALL, .def_eos = "<|endoftext|>",
		.gen = "<|assistant|>\n",
		.stops = STOPS("</s>", "<|endoftext|>", "<|user|>"),
	},
	[HRT_CHAT_FALCON3] = {
		.name = "falcon3",
		.t = ROLES("<|", "|>\n", "\n"),
		.gen = "<|assistant|>\n",
		.stops = STOPS("<|endoftext|>", "<|user|>"),
	},
	[HRT_CHAT_MONARCH] = {
		.name = "monarch", .style = S_MONARCH,
		.def_bos = "<s>", .def_eos = "</s>",
		.stops = STOPS("</s>"),
	},
	[HRT_CHAT_ORION] = {
		.name = "orion", .style = S_ORION, .def_eos = "</s>",
		.stops = STOPS("</s>", "Human: "),
	},
	[HRT_CHAT_OPENCHAT] = {
		.name = "openchat",
		.t = {
			[R_SYS] = { "", "<|end_of_turn|>" },
			[R_USER] = { "GPT4 Correct User: ", "<|end_of_turn|>" },
			[R_ASST] = { "GPT4 Correct Assistant: ",
				"<|end_of_turn|>" },
			[R_TOOL] = { "GPT4 Correct Tool: ", "<|end_of_turn|>" },
		},
		.gen = "GPT4 Correct Assistant:",
		.stops = STOPS("<|end_of_turn|>"),
	},
	[HRT_CHAT_VICUNA] = {
		.name = "vicuna",
		.t = {
			[R_SYS] = { "", "\n\n" },
			[R_USER] = { "USER: ", "\n" },
			[R_ASST] = { "ASSISTANT: ", "</s>\n" },
		},
		.gen = "ASSISTANT:",
		.stops = STOPS("</s>", "USER:"),
	},
	[HRT_CHAT_VICUNA_ORCA] = {
		.name = "vicuna-orca",
		.t = {
			[R_SYS] = { "SYSTEM: ", "\n" },
			[R_USER] = { "USER: ", "\n" },
			[R_ASST] = { "ASSISTANT: ", "</s>\n" },
		},
		.gen = "ASSISTANT:",
		.stops = STOPS("</s>", "USER:"),
	},
	[HRT_CHAT_DEEPSEEK] = {
		.name = "deepseek",
		.t = {
			[R_SYS] = { "", "" },
			[R_USER] = { "### Instruction:\n", "\n" },
			[R_ASST] = { "### Response:\n", "\n<|EOT|>\n" },
		},
		.gen = "### Response:\n",
		.stops = STOPS("<|EOT|>", "### Instruction:"),
	},
	[HRT_CHAT_DEEPSEEK2] = {
		.name = "deepseek2",
		.t = {
			[R_SYS] = { "", "\n\n" },
			[R_USER] = { "User: ", "\n\n" },
			[R_ASST] = { "Assistant: ", "" },
		},
		.eos = RB(R_ASST),
		.def_eos = "<｜end▁of▁sentence｜>",
		.gen = "Assistant:",
		.stops = STOPS("<｜end▁of▁sentence｜>", "User:"),
	},
	[HRT_CHAT_DEEPSEEK3] = {
		.name = "deepseek3",
		.t = {
			[R_SYS] = { "", "\n\n" },
			[R_USER] = { "<｜User｜>", "" },
			[R_ASST] = { "<｜Assistant｜>", "<｜end▁of▁sentence｜>" },
		},
		.gen = "<｜Assistant｜>",
		.stops = STOPS("<｜end▁of▁sentence｜>", "<｜User｜>"),
	},
	[HRT_CHAT_COMMAND_R] = {
		.name = "command-r",
		.t = {
			[R_SYS] = { "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>",
				"<|END_OF_TURN_TOKEN|>" },
			[R_USER] = { "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>",
				"<|END_OF_TURN_TOKEN|>" },
			[R_ASST] = { "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
				"<|END_OF_TURN_TOKEN|>" },
		},
		.gen = "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
		.trim = R_ALL,
		.stops = STOPS("<|END_OF_TURN_TOKEN|>"),
	},
	[HRT_CHAT_CHATGLM3] = {
		.name = "chatglm3", .begin = "[gMASK]sop",
		.t = ROLES("<|", "|>\n ", ""),
		.gen = "<|assistant|>",
		.stops = STOPS("<|user|>", "<|observation|>"),
	},
	[HRT_CHAT_CHATGLM4] = {
		.name = "chatglm4", .begin = "[gMASK]<sop>",
		.t = ROLES("<|", "|>\n", ""),
		.gen = "<|assistant|>\n",
		.stops = STOPS("<|user|>", "<|observation|>"),
	},
	[HRT_CHAT_GLMEDGE] = {
		.name = "glmedge",
		.t = ROLES("<|", "|>\n", ""),
		.gen = "<|assistant|>",
		.stops = STOPS("<|user|>", "<|observation|>"),
	},
	[HRT_CHAT_MINICPM] = {
		.name = "minicpm",
		.t = {
			[R_SYS] = { "", "" },
			[R_USER] = { "<用户>", "<AI>" },
			[R_ASST] = { "", "" },
			[R_TOOL] = { "", "" },
		},
		.trim = R_ALL,
		.stops = STOPS("<用户>"),
	},
	[HRT_CHAT_EXAONE3] = {
		.name = "exaone3",
		.t = {
			[R_SYS] = { "[|system|]", "[|endofturn|]\n" },
			[R_USER] = { "[|user|]", "\n" },
			[R_ASST] = { "[|assistant|]", "[|endofturn|]\n" },
		},
		.gen = "[|assistant|]", .trim = R_ALL,
		.stops = STOPS("[|endofturn|]"),
	},
	[HRT_CHAT_EXAONE4] = {
		.name = "exaone4",
		.t = {
			[R_SYS] = { "[|system|]", "[|endofturn|]\n" },
			[R_USER] = { "[|user|]", "\n" },
			[R_ASST] = { "[|assistant|]", "[|endofturn|]\n" },
			[R_TOOL] = { "[|tool|]", "[|endofturn|]\n" },
		},
		.gen = "[|assistant|]", .trim = R_ALL,
		.stops = STOPS("[|endofturn|]"),
	},
	[HRT_CHAT_LLAMA4] = {
		.name = "llama4",
		.t = ROLES("<|header_start|>", "<|header_end|>\n\n", "<|eot|>"),
		.gen = "<|header_start|>assistant<|header_end|>\n\n",
		.trim = R_ALL,
		.stops = STOPS("<|eot|>", "<|header_start|>"),
	},
	[HRT_CHAT_MEGREZ] = {
		.name = "megrez",
		.t = ROLES("<|role_start|>", "<|role_end|>", "<|turn_end|>"),
		.gen = "<|role_start|>assistant<|role_end|>",
		.stops = STOPS("<|turn_end|>"),
	},
	[HRT_CHAT_KIMI_K2] = {
		.name = "kimi-k2",
		.t = {
			[R_SYS] = { "<|im_system|>system<|im_middle|>",
				"<|im_end|>" },
			[R_USER] = { "<|im_user|>user<|im_middle|>", "<|im_end|>" },
			[R_ASST] = { "<|im_assistant|>assistant<|im_middle|>",
				"<|im_end|>" },
			[R_TOOL] = { "<|im_system|>tool<|im_middle|>",
				"<|im_end|>" },
		},
		.gen = "<|im_assistant|>assistant<|im_middle|>",
		.stops = STOPS("<|im_end|>"),
	},
	[HRT_CHAT_SEED_OSS] = {
		.name = "seed_oss",
		.t = ROLES("<seed:bos>", "\n", "<seed:eos>"),
		.gen = "<seed:bos>assistant\n", .trim = RB(R_ASST),
		.stops = STOPS("<seed:eos>"),
	},
	[HRT_CHAT_SMOLVLM] = {
		.name = "smolvlm", .begin = "<|im_start|>",
		.t = {
			[R_SYS] = { "", "\n\n" },
			[R_USER] = { "User: ", "<end_of_utterance>\n" },
			[R_ASST] = { "Assistant: ", "<end_of_utterance>\n" },
			[R_TOOL] = { "Assistant: ", "<end_of_utterance>\n" },
		},
		.gen = "Assistant:",
		.stops = STOPS("<end_of_utterance>"),
	},
	[HRT_CHAT_GPT_OSS] = {
		.name = "gpt-oss",
		.t = {
			[R_SYS] = { "<|start|>system<|message|>", "<|end|>" },
			[R_USER] = { "<|start|>user<|message|>", "<|end|>" },
			[R_ASST] = { "<|start|>assistant<|message|>",
				"<|return|>" },
			[R_TOOL] = { "<|start|>tool<|message|>", "<|end|>" },
		},
		.gen = "<|start|>assistant",
		.stops = STOPS("<|return|>", "<|call|>"),
	},
};

static const struct family *family_get(enum hrt_chat_family f)
{
	if ((unsigned)f >= HRT_CHAT_FAMILY_COUNT)
		return NULL;
	return &families[f];
}

const char *hrt_chat_family_name(enum hrt_chat_family f)
{
	const struct family *fam = family_get(f);
	return fam ? fam->name : "unknown";
}

const char *const *hrt_chat_stops(enum hrt_chat_family f)
{
	const struct family *fam = family_get(f);
	return fam ? fam->stops : no_stops;
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int hrt_chat_family_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int f = 0; f < HRT_CHAT_FAMILY_COUNT; f++) {
		const char *a = families[f].name, *b = name;
		while (*a && ascii_lower((unsigned char)*b) == *a) {
			a++;
			b++;
		}
		if (!*a && !*b)
			return f;
	}
	return -1;
}

/* ---- detection --------------------------------------------------------- */

/* true when needle occurs in t[0..n); NULs in t are ordinary bytes */
static bool has(const char *t, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	if (m > n)
		return false;
	const char *p = t, *last = t + (n - m);
	while (p <= last) {
		p = memchr(p, needle[0], (size_t)(last - p) + 1);
		if (!p)
			return false;
		if (memcmp(p, needle, m) == 0)
			return true;
		p++;
	}
	return false;
}

enum hrt_chat_family hrt_chat_detect(const char *tmpl, size_t len)
{
	if (!tmpl || len == 0)
		return HRT_CHAT_RAW;

	/* a bare family name, as llama.cpp also accepts */
	for (int f = 0; f < HRT_CHAT_FAMILY_COUNT; f++) {
		size_t m = strlen(families[f].name);
		if (m == len && memcmp(tmpl, families[f].name, m) == 0)
			return (enum hrt_chat_family)f;
	}

#define HAS(s) has(tmpl, len, (s))
	/* The order matters: several families share markers. It is the
	 * peer's order, with the additions noted. */
	if (HAS("<|im_start|>")) {
		if (HAS("<|im_sep|>"))
			return HRT_CHAT_PHI4;
		if (HAS("<end_of_utterance>"))
			return HRT_CHAT_SMOLVLM; /* <|im_start|> as BOS only */
		return HRT_CHAT_CHATML;
	}
	if ((len >= 7 && memcmp(tmpl, "mistral", 7) == 0) || HAS("[INST]")) {
		if (HAS("[SYSTEM_PROMPT]")) {
			/* differs: the peer answers v7 for both; the tekken
			 * templates (Mistral Small 3.x) put no space after
			 * either tag */
			if (HAS("[INST] ") || HAS("[SYSTEM_PROMPT] "))
				return HRT_CHAT_MISTRAL_V7;
			return HRT_CHAT_MISTRAL_V7_TEKKEN;
		}
		/* Mistral's own v1 template, or v3 / v3-tekken (tool-aware) */
		if (HAS("' [INST] ' + system_message") ||
				HAS("[AVAILABLE_TOOLS]")) {
			if (HAS(" [INST]"))
				return HRT_CHAT_MISTRAL_V1;
			if (HAS("\"[INST]\""))
				return HRT_CHAT_MISTRAL_V3_TEKKEN;
			return HRT_CHAT_MISTRAL_V3;
		}
		/* Llama 2 and the many templates copied from it */
		if (HAS("content.strip()"))
			return HRT_CHAT_LLAMA2_SYS_STRIP;
		if (HAS("bos_token + '[INST]"))
			return HRT_CHAT_LLAMA2_SYS_BOS;
		if (HAS("<<SYS>>"))
			return HRT_CHAT_LLAMA2_SYS;
		return HRT_CHAT_LLAMA2;
	}
	if (HAS("<|assistant|>") && HAS("<|end|>"))
		return HRT_CHAT_PHI3;
	if (HAS("[gMASK]<sop>"))
		return HRT_CHAT_CHATGLM4;
	if (HAS("<|assistant|>") && HAS("<|user|>")) {
		/* differs: HuggingFaceH4/zephyr-7b-beta writes "<|user|>\n" +
		 * content + eos_token and has no tool support; the peer
		 * sends it to glmedge, which drops the EOS between turns. */
		if (!HAS("</s>") && (HAS("<|endoftext|>") ||
				(HAS("eos_token") && !HAS("tool"))))
			return HRT_CHAT_ZEPHYR;
		return HAS("</s>") ? HRT_CHAT_FALCON3 : HRT_CHAT_GLMEDGE;
	}
	if (HAS("<|{{ item['role'] }}|>") && HAS("<|begin_of_image|>"))
		return HRT_CHAT_GLMEDGE;
	if (HAS("<|user|>") && HAS("<|endoftext|>"))
		return HRT_CHAT_ZEPHYR;
	if (HAS("bos_token + message['role']"))
		return HRT_CHAT_MONARCH;
	if (HAS("<start_of_turn>"))
		return HRT_CHAT_GEMMA;
	if (HAS("'\\n\\nAssistant: ' + eos_token"))
		return HRT_CHAT_ORION;
	if (HAS("GPT4 Correct "))
		return HRT_CHAT_OPENCHAT;
	if (HAS("USER: ") && HAS("ASSISTANT: "))
		return HAS("SYSTEM: ") ? HRT_CHAT_VICUNA_ORCA : HRT_CHAT_VICUNA;
	if (HAS("### Instruction:") && HAS("<|EOT|>"))
		return HRT_CHAT_DEEPSEEK;
	if (HAS("<|START_OF_TURN_TOKEN|>") && HAS("<|USER_TOKEN|>"))
		return HRT_CHAT_COMMAND_R;
	if (HAS("<|start_header_id|>") && HAS("<|end_header_id|>"))
		return HRT_CHAT_LLAMA3;
	if (HAS("[gMASK]sop"))
		return HRT_CHAT_CHATGLM3;
	if (HAS("<用户>"))
		return HRT_CHAT_MINICPM;
	if (HAS("'Assistant: ' + message['content'] + eos_token"))
		return HRT_CHAT_DEEPSEEK2;
	if (HAS("<｜Assistant｜>") && HAS("<｜User｜>") &&
			HAS("<｜end▁of▁sentence｜>"))
		return HRT_CHAT_DEEPSEEK3;
	if (HAS("[|system|]") && HAS("[|assistant|]") && HAS("[|endofturn|]"))
		return HAS("[|tool|]") ? HRT_CHAT_EXAONE4 : HRT_CHAT_EXAONE3;
	if (HAS("<|start_of_role|>"))
		return HRT_CHAT_GRANITE;
	if (HAS("<|role_start|>"))
		return HRT_CHAT_MEGREZ;
	if (HAS("<|header_start|>") && HAS("<|header_end|>"))
		return HRT_CHAT_LLAMA4;
	if (HAS("<|start|>") && HAS("<|channel|>"))
		return HRT_CHAT_GPT_OSS;
	if (HAS("<|im_assistant|>assistant<|im_middle|>"))
		return HRT_CHAT_KIMI_K2;
	if (HAS("<seed:bos>"))
		return HRT_CHAT_SEED_OSS;
#undef HAS
	return HRT_CHAT_RAW;
}

/* ---- output buffer ----------------------------------------------------- */

/* Growing text plus the template-owned ranges. Errors are sticky: after the
 * first failure every put is a no-op and rc says why. */
struct buf {
	char *p;
	size_t len, cap;
	struct hrt_span *sp;
	size_t nsp, capsp;
	int rc;
};

static bool buf_reserve(struct buf *b, size_t need)
{
	if (need <= b->cap)
		return true;
	size_t c = b->cap ? b->cap : 256;
	while (c < need)
		c = c > HRT_CHAT_MAX_OUT / 2 ? HRT_CHAT_MAX_OUT + 1 : c * 2;
	char *np = realloc(b->p, c);
	if (!np) {
		b->rc = HRT_ENOMEM;
		return false;
	}
	b->p = np;
	b->cap = c;
	return true;
}

/* append n bytes; owned: the format wrote them (goes into a span) */
static void put(struct buf *b, const char *s, size_t n, bool owned)
{
	if (b->rc || n == 0)
		return;
	if (n > HRT_CHAT_MAX_OUT - b->len) {
		b->rc = HRT_ERANGE;
		return;
	}
	if (!buf_reserve(b, b->len + n + 1))
		return;
	if (owned) {
		struct hrt_span *last = b->nsp ? &b->sp[b->nsp - 1] : NULL;
		if (last && last->off + last->len == b->len) {
			last->len += n;
		} else {
			if (b->nsp == b->capsp) {
				size_t c = b->capsp ? b->capsp * 2 : 32;
				struct hrt_span *ns =
					realloc(b->sp, c * sizeof *ns);
				if (!ns) {
					b->rc = HRT_ENOMEM;
					return;
				}
				b->sp = ns;
				b->capsp = c;
			}
			b->sp[b->nsp++] = (struct hrt_span){ b->len, n };
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* template text (NULL writes nothing) */
static void put_t(struct buf *b, const char *s)
{
	if (s)
		put(b, s, strlen(s), true);
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
		c == '\r';
}

/* a message's content, or "" for NULL, optionally trimmed */
static void content_of(const struct hrt_chat_msg *m, bool trim,
		const char **s, size_t *n)
{
	const char *p = m->content ? m->content : "";
	size_t len = strlen(p);
	if (trim) {
		while (len && is_space((unsigned char)p[0])) {
			p++;
			len--;
		}
		while (len && is_space((unsigned char)p[len - 1]))
			len--;
	}
	*s = p;
	*n = len;
}

/* message content: never template-owned */
static void put_c(struct buf *b, const struct hrt_chat_msg *m, bool trim)
{
	const char *s;
	size_t n;
	content_of(m, trim, &s, &n);
	put(b, s, n, false);
}

/* ---- rendering --------------------------------------------------------- */

/* one rendering: the family, the messages, and the BOS/EOS text to write
 * (the caller's vocabulary's, else the family's default) */
struct ctx {
	const struct family *fam;
	const struct hrt_chat_msg *msgs;
	size_t n;
	bool gen;
	const char *bos, *eos;
};

static int role_index(const char *role)
{
	for (int r = 0; r < R_N; r++)
		if (strcmp(role, role_names[r]) == 0)
			return r;
	return -1;
}

/* role of a message already checked by hrt_chat_render */
static int role_at(const struct ctx *c, size_t i)
{
	return role_index(c->msgs[i].role);
}

static bool trims(const struct ctx *c, int r)
{
	return (c->fam->trim & RB(r)) != 0;
}

static void render_table(const struct ctx *c, struct buf *b)
{
	const struct family *f = c->fam;
	put_t(b, f->begin);
	for (size_t i = 0; i < c->n; i++) {
		int r = role_at(c, i);
		if (!f->t[r].pre)
			continue; /* the family has no place for this role */
		put_t(b, f->t[r].pre);
		put_c(b, &c->msgs[i], trims(c, r));
		if (f->eos & RB(r))
			put_t(b, c->eos);
		put_t(b, f->t[r].post);
	}
	if (c->gen)
		put_t(b, f->gen);
}

/* Contents in order, a "\n" between two messages, nothing else: no roles,
 * no generation prompt. */
static void render_raw(const struct ctx *c, struct buf *b)
{
	for (size_t i = 0; i < c->n; i++) {
		if (i)
			put_t(b, "\n");
		put_c(b, &c->msgs[i], false);
	}
}

/* "[INST] " opens the prompt (the BOS before it is the tokenizer's); a user
 * turn ends " [/INST]", an answer ends with EOS and the next message opens
 * a new "[INST] ". System text goes in <<SYS>> tags, or for plain llama2
 * just ahead of the user text. No generation prompt: "[/INST]" is one. */
static void render_llama2(const struct ctx *c, struct buf *b)
{
	unsigned fl = c->fam->flags;
	bool inside = true;
	put_t(b, "[INST] ");
	for (size_t i = 0; i < c->n; i++) {
		int r = role_at(c, i);
		if (!inside) {
			inside = true;
			if (fl & F_BOS_HIST)
				put_t(b, c->bos);
			put_t(b, "[INST] ");
		}
		if (r == R_SYS && (fl & F_SYS_TAGS)) {
			put_t(b, "<<SYS>>\n");
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, "\n<</SYS>>\n\n");
		} else if (r == R_SYS) {
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, "\n");
		} else if (r == R_USER) {
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, " [/INST]");
		} else {
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, c->eos);
			inside = false;
		}
	}
}

/* Mistral v1/v3/v3-tekken: "[INST]" opens a turn holding any system text
 * (followed by a blank line) and the user text; "[/INST]" closes it; the
 * answer follows and ends with EOS. v1 puts a space before both tags,
 * non-tekken a space after "[INST]" and before the answer. */
static void render_mistral(const struct ctx *c, struct buf *b)
{
	unsigned fl = c->fam->flags;
	const char *lead = (fl & F_LEAD_SP) ? " " : "";
	const char *trail = (fl & F_TRAIL_SP) ? " " : "";
	bool inside = false;
	for (size_t i = 0; i < c->n; i++) {
		int r = role_at(c, i);
		if (!inside) {
			put_t(b, lead);
			put_t(b, "[INST]");
			put_t(b, trail);
			inside = true;
		}
		if (r == R_SYS) {
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, "\n\n");
		} else if (r == R_USER) {
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, lead);
			put_t(b, "[/INST]");
		} else {
			put_t(b, trail);
			put_c(b, &c->msgs[i], trims(c, r));
			put_t(b, c->eos);
			inside = false;
		}
	}
}

/* Gemma has no system role: system texts (trimmed, run together) are held
 * and written at the top of the next non-"model" turn, then a blank line.
 * A system text never followed by such a turn is left out, as the peer
 * does. "assistant" is called "model". */
static void render_gemma(const struct ctx *c, struct buf *b)
{
	size_t held = SIZE_MAX;    /* first held system message */
	bool held_text = false;    /* any of them non-empty once trimmed */
	for (size_t i = 0; i < c->n; i++) {
		int r = role_at(c, i);
		const char *s;
		size_t n;
		if (r == R_SYS) {
			content_of(&c->msgs[i], true, &s, &n);
			if (held == SIZE_MAX)
				held = i;
			held_text = held_text || n > 0;
			continue;
		}
		put_t(b, "<start_of_turn>");
		put_t(b, r == R_ASST ? "model" : role_names[r]);
		put_t(b, "\n");
		if (r != R_ASST && held != SIZE_MAX) {
			if (held_text) {
				for (size_t j = held; j < i; j++)
					if (role_at(c, j) == R_SYS)
						put_c(b, &c->msgs[j], true);
				put_t(b, "\n\n");
			}
			held = SIZE_MAX;
			held_text = false;
		}
		put_c(b, &c->msgs[i], true);
		put_t(b, "<end_of_turn>\n");
	}
	if (c->gen)
		put_t(b, "<start_of_turn>model\n");
}

/* Orion: "Human: " [system text "\n\n"] user "\n\nAssistant: " EOS, then
 * the answer and EOS. System texts are held for the next user turn as in
 * gemma (untrimmed). No generation prompt: the user turn ends with one. */
static void render_orion(const struct ctx *c, struct buf *b)
{
	size_t held = SIZE_MAX;
	bool held_text = false;
	for (size_t i = 0; i < c->n; i++) {
		int r = role_at(c, i);
		if (r == R_SYS) {
			const char *s;
			size_t n;
			content_of(&c->msgs[i], false, &s, &n);
			if (held == SIZE_MAX)
				held = i;
			held_text = held_text || n > 0;
		} else if (r == R_USER) {
			put_t(b, "Human: ");
			if (held != SIZE_MAX && held_text) {
				for (size_t j = held; j < i; j++)
					if (role_at(c, j) == R_SYS)
						put_c(b, &c->msgs[j], false);
				put_t(b, "\n\n");
			}
			held = SIZE_MAX;
			held_text = false;
			put_c(b, &c->msgs[i], false);
			put_t(b, "\n\nAssistant: ");
			put_t(b, c->eos);
		} else {
			put_c(b, &c->msgs[i], false);
			put_t(b, c->eos);
		}
	}
}

/* AlphaMonarch: role "\n" content EOS "\n", BOS text before every message
 * but the first (that one is the tokenizer's). */
static void render_monarch(const struct ctx *c, struct buf *b)
{
	for (size_t i = 0; i < c->n; i++) {
		int r = role_at(c, i);
		if (i)
			put_t(b, c->bos);
		put_t(b, role_names[r]);
		put_t(b, "\n");
		put_c(b, &c->msgs[i], false);
		put_t(b, c->eos);
		put_t(b, "\n");
	}
	if (c->gen) {
		put_t(b, c->bos);
		put_t(b, "assistant\n");
	}
}

/* printable copy of an outside string for an error message */
static void printable(char *dst, size_t cap, const char *s)
{
	size_t k = 0;
	for (; s[k] && k + 4 < cap && k < 32; k++) {
		unsigned char ch = (unsigned char)s[k];
		dst[k] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
	}
	if (s[k]) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = 0;
}

void hrt_chat_out_free(struct hrt_chat_out *o)
{
	if (!o)
		return;
	free(o->text);
	free(o->tmpl);
	memset(o, 0, sizeof *o);
}

int hrt_chat_render(enum hrt_chat_family f, const struct hrt_chat_msg *msgs,
		size_t n, bool add_generation_prompt, const char *bos,
		const char *eos, struct hrt_chat_out *out, struct hrt_err *err)
{
	if (!out)
		return HRT_ERR(err, HRT_EINVAL, "chat: no output record");
	memset(out, 0, sizeof *out);
	const struct family *fam = family_get(f);
	if (!fam)
		return HRT_ERR(err, HRT_EINVAL, "chat: unknown family %d",
			(int)f);
	if (n && !msgs)
		return HRT_ERR(err, HRT_EINVAL, "chat: %zu messages, no array",
			n);

	/* refuse bad roles and hopeless sizes before writing anything */
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].role)
			return HRT_ERR(err, HRT_EINVAL,
				"chat: message %zu has no role", i);
		if (role_index(msgs[i].role) < 0) {
			char shown[48];
			printable(shown, sizeof shown, msgs[i].role);
			return HRT_ERR(err, HRT_EINVAL,
				"chat: message %zu: unknown role \"%s\" "
				"(system, user, assistant or tool)", i, shown);
		}
		size_t cl = msgs[i].content ? strlen(msgs[i].content) : 0;
		if (cl > HRT_CHAT_MAX_OUT - total)
			return HRT_ERR(err, HRT_ERANGE,
				"chat: message contents exceed %zu bytes "
				"(at message %zu)", HRT_CHAT_MAX_OUT, i);
		total += cl;
	}

	struct ctx c = {
		.fam = fam, .msgs = msgs, .n = n, .gen = add_generation_prompt,
		.bos = bos ? bos : fam->def_bos,
		.eos = eos ? eos : fam->def_eos,
	};
	struct buf b = { 0 };
	switch (fam->style) {
	case S_TABLE: render_table(&c, &b); break;
	case S_RAW: render_raw(&c, &b); break;
	case S_LLAMA2: render_llama2(&c, &b); break;
	case S_MISTRAL: render_mistral(&c, &b); break;
	case S_GEMMA: render_gemma(&c, &b); break;
	case S_ORION: render_orion(&c, &b); break;
	case S_MONARCH: render_monarch(&c, &b); break;
	}
	if (!b.rc)
		buf_reserve(&b, b.len + 1); /* text even when empty */
	if (b.rc) {
		free(b.p);
		free(b.sp);
		if (b.rc == HRT_ERANGE)
			return HRT_ERR(err, HRT_ERANGE,
				"chat: %s prompt exceeds %zu bytes", fam->name,
				HRT_CHAT_MAX_OUT);
		return HRT_ERR(err, b.rc, "chat: out of memory rendering %s",
			fam->name);
	}
	b.p[b.len] = 0;
	out->text = b.p;
	out->len = b.len;
	out->tmpl = b.sp;
	out->n_tmpl = b.nsp;
	return HRT_OK;
}
