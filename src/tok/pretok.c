/*
 * tok/pretok — the byte-level BPE pre-tokenizers: split text into the words
 * BPE merges within, exactly where llama.cpp splits them.
 *
 * llama.cpp gives each tokenizer.ggml.pre a list of regular expressions
 * (src/llama-vocab.cpp, llm_tokenizer_bpe) applied in sequence: each one
 * subdivides the pieces the previous one produced, and text between matches
 * stays a piece of its own. It evaluates them three ways, and which way a
 * pattern takes changes what its classes mean, so we mirror each:
 *
 *  - "custom": the GPT-2 and LLaMA-3 patterns have hand-written matchers
 *    (src/unicode.cpp) driven by per-code-point category flags; undefined
 *    code points count as "other", U+007E '~' is a symbol.
 *  - "collapsed": a pattern using \p{..} runs through std::regex over a copy
 *    of the text where every non-ASCII code point became one byte naming its
 *    category (White_Space -> \v). So \p{L} is [A-Za-z] plus non-ASCII
 *    letters, \p{P} is ASCII !"#%&'()*,-./:;?@[\]_{} plus non-ASCII
 *    punctuation, \p{S} is ASCII $+<=>^`| (no '~') plus non-ASCII symbols,
 *    and \s is the six ASCII spaces plus non-ASCII White_Space.
 *  - "wide": a pattern without \p{..} runs through std::wregex over code
 *    points, with non-ASCII White_Space replaced by \v first (so U+3000 is
 *    only \s, never a member of a range that spans it).
 *
 * Every pattern here is a hand-written matcher with ECMAScript semantics
 * (first alternative that matches wins, greedy quantifiers, backtracking
 * worked out by hand), each linear in the text it consumes. No regex
 * library. Invalid UTF-8 bytes are single characters classified as U+FFFD.
 */
#include <string.h>

#include "tok/tok_int.h"
#include "tok/unicode.h"

/* one decoded character */
struct ch {
	uint32_t cp;  /* U+FFFD for an invalid byte */
	uint16_t fl;  /* HRT_UCD_* */
	uint8_t n;    /* bytes */
};

static inline struct ch ch_at(const unsigned char *t, size_t p, size_t e)
{
	struct ch c;
	if (t[p] < 0x80) {
		c.cp = t[p];
		c.n = 1;
	} else {
		c.n = (uint8_t)hrt_utf8_next(t + p, e - p, &c.cp);
		if (c.cp == HRT_UTF8_BAD)
			c.cp = HRT_UCD_REPLACEMENT;
	}
	c.fl = hrt_ucd_flags(c.cp);
	return c;
}

static inline size_t ch_len(const unsigned char *t, size_t p, size_t e)
{
	uint32_t cp;
	return t[p] < 0x80 ? 1 : hrt_utf8_next(t + p, e - p, &cp);
}

/* ---- flag tests of the custom matchers ---- */

#define F_L(f) ((f) & HRT_UCD_LETTER)
#define F_N(f) ((f) & HRT_UCD_NUMBER)
#define F_S(f) ((f) & HRT_UCD_SPACE)

static inline uint16_t fl_at(const unsigned char *t, size_t p, size_t e)
{
	return p < e ? ch_at(t, p, e).fl : 0; /* 0: past the piece */
}

/* ---- collapsed classes ---- */

enum { CC_S = 1, CC_L = 2, CC_N = 4, CC_P = 8, CC_Y = 16, CC_M = 32 };

static const uint8_t cc_ascii[128] = {
	['\t'] = CC_S, ['\n'] = CC_S, ['\v'] = CC_S, ['\f'] = CC_S,
	['\r'] = CC_S, [' '] = CC_S,
	['!'] = CC_P, ['"'] = CC_P, ['#'] = CC_P, ['%'] = CC_P, ['&'] = CC_P,
	['\''] = CC_P, ['('] = CC_P, [')'] = CC_P, ['*'] = CC_P, [','] = CC_P,
	['-'] = CC_P, ['.'] = CC_P, ['/'] = CC_P, [':'] = CC_P, [';'] = CC_P,
	['?'] = CC_P, ['@'] = CC_P, ['['] = CC_P, ['\\'] = CC_P, [']'] = CC_P,
	['_'] = CC_P, ['{'] = CC_P, ['}'] = CC_P,
	['$'] = CC_Y, ['+'] = CC_Y, ['<'] = CC_Y, ['='] = CC_Y, ['>'] = CC_Y,
	['^'] = CC_Y, ['`'] = CC_Y, ['|'] = CC_Y,
	['0'] = CC_N, ['1'] = CC_N, ['2'] = CC_N, ['3'] = CC_N, ['4'] = CC_N,
	['5'] = CC_N, ['6'] = CC_N, ['7'] = CC_N, ['8'] = CC_N, ['9'] = CC_N,
	['A'] = CC_L, ['B'] = CC_L, ['C'] = CC_L, ['D'] = CC_L, ['E'] = CC_L,
	['F'] = CC_L, ['G'] = CC_L, ['H'] = CC_L, ['I'] = CC_L, ['J'] = CC_L,
	['K'] = CC_L, ['L'] = CC_L, ['M'] = CC_L, ['N'] = CC_L, ['O'] = CC_L,
	['P'] = CC_L, ['Q'] = CC_L, ['R'] = CC_L, ['S'] = CC_L, ['T'] = CC_L,
	['U'] = CC_L, ['V'] = CC_L, ['W'] = CC_L, ['X'] = CC_L, ['Y'] = CC_L,
	['Z'] = CC_L,
	['a'] = CC_L, ['b'] = CC_L, ['c'] = CC_L, ['d'] = CC_L, ['e'] = CC_L,
	['f'] = CC_L, ['g'] = CC_L, ['h'] = CC_L, ['i'] = CC_L, ['j'] = CC_L,
	['k'] = CC_L, ['l'] = CC_L, ['m'] = CC_L, ['n'] = CC_L, ['o'] = CC_L,
	['p'] = CC_L, ['q'] = CC_L, ['r'] = CC_L, ['s'] = CC_L, ['t'] = CC_L,
	['u'] = CC_L, ['v'] = CC_L, ['w'] = CC_L, ['x'] = CC_L, ['y'] = CC_L,
	['z'] = CC_L,
};

static inline unsigned cc_of(struct ch c)
{
	if (c.cp < 128)
		return cc_ascii[c.cp];
	if (c.fl & HRT_UCD_SPACE)
		return CC_S;
	switch (c.fl & 0xFF) {
	case HRT_UCD_LETTER: return CC_L;
	case HRT_UCD_NUMBER: return CC_N;
	case HRT_UCD_PUNCT:  return CC_P;
	case HRT_UCD_SYMBOL: return CC_Y;
	case HRT_UCD_MARK:   return CC_M;
	default:             return 0;
	}
}

static inline unsigned cc_at(const unsigned char *t, size_t p, size_t e)
{
	return p < e ? cc_of(ch_at(t, p, e)) : 0;
}

/* end of the run of characters whose collapsed class meets mask */
static size_t cc_run(const unsigned char *t, size_t p, size_t e, unsigned mask)
{
	while (p < e) {
		struct ch c = ch_at(t, p, e);
		if (!(cc_of(c) & mask))
			break;
		p += c.n;
	}
	return p;
}

/* ---- wide (code point) classes ---- */

/* the code point std::wregex sees: non-ASCII White_Space became \v */
static inline uint32_t wcp(struct ch c)
{
	return (c.cp > 0x7F && (c.fl & HRT_UCD_SPACE)) ? 0x0B : c.cp;
}

static inline bool w_space(uint32_t w)
{
	return w == ' ' || (w >= 9 && w <= 13);
}

struct range {
	uint32_t lo, hi;
};

static bool in_ranges(uint32_t c, const struct range *r, size_t n)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r[mid].hi < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].lo <= c;
}

/* deepseek-llm's letter class, transcribed from llama.cpp (ascending) */
static const struct range dsl_letters[] = {
	{ 0x41, 0x5A }, { 0x61, 0x7A }, { 0xB5, 0xB5 }, { 0xC0, 0xD6 },
	{ 0xD8, 0xF6 }, { 0xF8, 0x1BA }, { 0x1BC, 0x1BF }, { 0x1C4, 0x293 },
	{ 0x295, 0x2AF }, { 0x370, 0x373 }, { 0x376, 0x377 }, { 0x37B, 0x37D },
	{ 0x37F, 0x37F }, { 0x386, 0x386 }, { 0x388, 0x38A }, { 0x38C, 0x38C },
	{ 0x38E, 0x3A1 }, { 0x3A3, 0x3F5 }, { 0x3F7, 0x481 }, { 0x48A, 0x52F },
	{ 0x531, 0x556 }, { 0x10A0, 0x10C5 }, { 0x13A0, 0x13F5 },
	{ 0x13F8, 0x13FD }, { 0x1C90, 0x1CBA }, { 0x1CBD, 0x1CBF },
	{ 0x1D00, 0x1D2B }, { 0x1D6B, 0x1D77 }, { 0x1D79, 0x1D9A },
	{ 0x1E00, 0x1F15 }, { 0x1F18, 0x1F1D }, { 0x1F20, 0x1F45 },
	{ 0x1F48, 0x1F4D }, { 0x1F50, 0x1F57 }, { 0x1F59, 0x1F59 },
	{ 0x1F5B, 0x1F5B }, { 0x1F5D, 0x1F5D }, { 0x1F5F, 0x1F7D },
	{ 0x1F80, 0x1FB4 }, { 0x1FB6, 0x1FBC }, { 0x1FBE, 0x1FBE },
	{ 0x1FC2, 0x1FC4 }, { 0x1FC6, 0x1FCC }, { 0x1FD0, 0x1FD3 },
	{ 0x1FD6, 0x1FDB }, { 0x1FE0, 0x1FEC }, { 0x1FF2, 0x1FF4 },
	{ 0x1FF6, 0x1FFC }, { 0x2102, 0x2102 }, { 0x2107, 0x2107 },
	{ 0x210A, 0x2113 }, { 0x2115, 0x2115 }, { 0x2119, 0x211D },
	{ 0x2124, 0x2124 }, { 0x2126, 0x2126 }, { 0x2128, 0x2128 },
	{ 0x212A, 0x212D }, { 0x212F, 0x2134 }, { 0x2139, 0x2139 },
	{ 0x213C, 0x213F }, { 0x2145, 0x2149 }, { 0x214E, 0x214E },
	{ 0x2183, 0x2184 }, { 0x2C00, 0x2C7B }, { 0x2C7E, 0x2CE4 },
	{ 0x2CEB, 0x2CEE }, { 0x2CF2, 0x2CF3 }, { 0xA640, 0xA66D },
	{ 0xA680, 0xA69B }, { 0xA722, 0xA76F }, { 0xA771, 0xA787 },
	{ 0xA78B, 0xA78E }, { 0xAB70, 0xABBF }, { 0xFB00, 0xFB06 },
	{ 0xFB13, 0xFB17 }, { 0xFF21, 0xFF3A }, { 0xFF41, 0xFF5A },
	{ 0x10400, 0x1044F }, { 0x104B0, 0x104D3 }, { 0x104D8, 0x104FB },
	{ 0x10C80, 0x10CB2 }, { 0x10CC0, 0x10CF2 }, { 0x118A0, 0x118DF },
	{ 0x1E900, 0x1E943 },
};

/* deepseek-llm's punctuation class [!-/:-~！-／：-～‘-‟　-。] */
static const struct range dsl_punct[] = {
	{ 0x21, 0x2F }, { 0x3A, 0x7E }, { 0x2018, 0x201F },
	{ 0x3000, 0x3002 }, { 0xFF01, 0xFF0F }, { 0xFF1A, 0xFF5E },
};

/* the CJK class [一-龥ࠀ-一가-퟿] of deepseek-llm and deepseek-coder */
static const struct range cjk[] = {
	{ 0x0800, 0x9FA5 }, { 0xAC00, 0xD7FF },
};

#define NR(a) (sizeof(a) / sizeof((a)[0]))

static bool w_dsl_letter(uint32_t w) { return in_ranges(w, dsl_letters, NR(dsl_letters)); }
static bool w_dsl_punct(uint32_t w) { return in_ranges(w, dsl_punct, NR(dsl_punct)); }
static bool w_cjk(uint32_t w) { return in_ranges(w, cjk, NR(cjk)); }

/* bloom's [^(\s|.,!?…。，、।۔،)] */
static bool w_bloom(uint32_t w)
{
	if (w_space(w))
		return false;
	switch (w) {
	case '(': case '|': case '.': case ',': case '!': case '?': case ')':
	case 0x2026: case 0x3002: case 0xFF0C: case 0x3001: case 0x0964:
	case 0x06D4: case 0x060C:
		return false;
	default:
		return true;
	}
}

static size_t w_run(const unsigned char *t, size_t p, size_t e,
		    bool (*in)(uint32_t))
{
	while (p < e) {
		struct ch c = ch_at(t, p, e);
		if (!in(wcp(c)))
			break;
		p += c.n;
	}
	return p;
}

/* \s?X+ (wide) */
static size_t w_opt_space_run(const unsigned char *t, size_t p, size_t e,
			      bool (*in)(uint32_t))
{
	struct ch c0 = ch_at(t, p, e);
	uint32_t w0 = wcp(c0);
	if (w_space(w0) && p + c0.n < e && in(wcp(ch_at(t, p + c0.n, e))))
		return w_run(t, p + c0.n, e, in) - p;
	if (in(w0))
		return w_run(t, p, e, in) - p;
	return 0;
}

/* ---- the matchers: bytes matched at p (0: no match), never past e ---- */

/* llama.cpp's custom GPT-2 matcher:
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t m_gpt2(const unsigned char *t, size_t p, size_t e)
{
	struct ch c0 = ch_at(t, p, e);
	if (c0.cp == '\'' && p + 1 < e) {
		unsigned c1 = t[p + 1];
		if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
			return 2;
		if (p + 2 < e) {
			unsigned c2 = t[p + 2];
			if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
			    (c1 == 'l' && c2 == 'l'))
				return 3;
		}
	}
	bool sp = c0.cp == ' ';
	uint16_t f2 = sp ? fl_at(t, p + 1, e) : c0.fl;
	size_t q = p + (sp ? 1 : 0);
	if (F_L(f2)) {
		while (q < e) {
			struct ch c = ch_at(t, q, e);
			if (!F_L(c.fl))
				break;
			q += c.n;
		}
		return q - p;
	}
	if (F_N(f2)) {
		while (q < e) {
			struct ch c = ch_at(t, q, e);
			if (!F_N(c.fl))
				break;
			q += c.n;
		}
		return q - p;
	}
	if (f2 && !(f2 & (HRT_UCD_SPACE | HRT_UCD_LETTER | HRT_UCD_NUMBER))) {
		while (q < e) {
			struct ch c = ch_at(t, q, e);
			if (c.fl & (HRT_UCD_SPACE | HRT_UCD_LETTER | HRT_UCD_NUMBER))
				break;
			q += c.n;
		}
		return q - p;
	}
	/* whitespace run */
	size_t nws = 0, last = 0;
	q = p;
	while (q < e) {
		struct ch c = ch_at(t, q, e);
		if (!F_S(c.fl))
			break;
		nws++;
		last = c.n;
		q += c.n;
	}
	if (nws > 1 && q < e)
		return q - last - p; /* \s+(?!\S): leave the last one */
	if (nws > 0)
		return q - p;
	return c0.n;
}

static inline unsigned ascii_lower(unsigned c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* llama.cpp's custom LLaMA-3 matcher:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (tools/gen_unicode.py checks that only ASCII lowercases to s,t,r,e,...) */
static size_t m_llama3(const unsigned char *t, size_t p, size_t e)
{
	struct ch c0 = ch_at(t, p, e);
	if (c0.cp == '\'' && p + 1 < e) {
		unsigned c1 = ascii_lower(t[p + 1]);
		if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
			return 2;
		if (p + 2 < e && t[p + 1] < 0x80) {
			unsigned c2 = ascii_lower(t[p + 2]);
			if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
			    (c1 == 'l' && c2 == 'l'))
				return 3;
		}
	}
	if (!(c0.cp == '\r' || c0.cp == '\n' || F_N(c0.fl))) {
		if (F_L(c0.fl) || F_L(fl_at(t, p + c0.n, e))) {
			size_t q = p + c0.n;
			while (q < e) {
				struct ch c = ch_at(t, q, e);
				if (!F_L(c.fl))
					break;
				q += c.n;
			}
			return q - p;
		}
	}
	if (F_N(c0.fl)) {
		size_t q = p;
		for (int k = 0; k < 3 && q < e; k++) {
			struct ch c = ch_at(t, q, e);
			if (!F_N(c.fl))
				break;
			q += c.n;
		}
		return q - p;
	}
	bool sp = c0.cp == ' ';
	uint16_t f2 = sp ? fl_at(t, p + 1, e) : c0.fl;
	if (!(f2 & (HRT_UCD_SPACE | HRT_UCD_LETTER | HRT_UCD_NUMBER))) {
		/* the peer tests c0's flags here, so a lone trailing ' ' also
		 * lands in this branch; the result is the same one-space word */
		size_t q = p + (sp ? 1 : 0);
		while (q < e) {
			struct ch c = ch_at(t, q, e);
			if (c.fl & (HRT_UCD_SPACE | HRT_UCD_LETTER | HRT_UCD_NUMBER))
				break;
			q += c.n;
		}
		while (q < e && (t[q] == '\r' || t[q] == '\n'))
			q++;
		return q - p;
	}
	size_t nws = 0, last = 0, rn_end = 0, q = p;
	while (q < e) {
		struct ch c = ch_at(t, q, e);
		if (!F_S(c.fl))
			break;
		nws++;
		last = c.n;
		q += c.n;
		if (c.cp == '\r' || c.cp == '\n')
			rn_end = q;
	}
	if (rn_end)
		return rn_end - p; /* \s*[\r\n]+ */
	if (nws > 1 && q < e)
		return q - last - p;
	if (nws > 0)
		return q - p;
	return c0.n;
}

/* The Qwen2 family, through std::regex on collapsed text:
 * (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|
 * [^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|
 * \s+(?!\S)|\s+ — and the variants named in qcfg. */
struct qcfg {
	bool contractions; /* the leading (?:'[sS]|...) alternative */
	bool marks;        /* letters are [\p{L}\p{M}], punctuation excludes M */
	int nmax;          /* \p{N} repeat limit: 1, 3, or 0 for + */
	bool crlf_tail;    /* punctuation run takes a trailing [\r\n]* */
};

static size_t m_qwen(const unsigned char *t, size_t p, size_t e,
		     const struct qcfg *q)
{
	struct ch c0 = ch_at(t, p, e);
	unsigned k0 = cc_of(c0);
	if (q->contractions && c0.cp == '\'' && p + 1 < e) {
		unsigned c1 = ascii_lower(t[p + 1]);
		if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
			return 2;
		if (p + 2 < e) {
			unsigned c2 = ascii_lower(t[p + 2]);
			if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
			    (c1 == 'l' && c2 == 'l'))
				return 3;
		}
	}
	unsigned body = q->marks ? (CC_L | CC_M) : CC_L;
	bool crlf0 = c0.cp == '\r' || c0.cp == '\n';
	/* [^\r\n\p{L}\p{N}]?BODY+ */
	if (k0 & body)
		return cc_run(t, p, e, body) - p;
	if (!crlf0 && !(k0 & (CC_L | CC_N)) && (cc_at(t, p + c0.n, e) & body))
		return cc_run(t, p + c0.n, e, body) - p;
	/* \p{N} */
	if (k0 & CC_N) {
		size_t x = p;
		for (int k = 0; x < e && (q->nmax == 0 || k < q->nmax); k++) {
			struct ch c = ch_at(t, x, e);
			if (!(cc_of(c) & CC_N))
				break;
			x += c.n;
		}
		return x - p;
	}
	/*  ?[^\s\p{L}\p{N}]+[\r\n]* */
	unsigned notp = CC_S | CC_L | CC_N | (q->marks ? CC_M : 0);
	size_t x = p;
	bool punct = false;
	if (c0.cp == ' ' && p + 1 < e && !(cc_at(t, p + 1, e) & notp))
		x = p + 1, punct = true;
	else if (!(k0 & notp))
		punct = true;
	if (punct) {
		while (x < e) {
			struct ch c = ch_at(t, x, e);
			if (cc_of(c) & notp)
				break;
			x += c.n;
		}
		if (q->crlf_tail)
			while (x < e && (t[x] == '\r' || t[x] == '\n'))
				x++;
		return x - p;
	}
	if (!(k0 & CC_S))
		return 0;
	/* \s*[\r\n]+ | \s+(?!\S) | \s+ */
	size_t nws = 0, last = 0, rn_end = 0;
	x = p;
	while (x < e) {
		struct ch c = ch_at(t, x, e);
		if (!(cc_of(c) & CC_S))
			break;
		nws++;
		last = c.n;
		x += c.n;
		if (c.cp == '\r' || c.cp == '\n')
			rn_end = x;
	}
	if (rn_end)
		return rn_end - p;
	if (x < e && nws > 1)
		return x - last - p;
	return x - p;
}

static const struct qcfg q_qwen2 = { true, false, 1, true };
static const struct qcfg q_qwen35 = { true, true, 1, true };
static const struct qcfg q_seed = { true, false, 1, false };
static const struct qcfg q_ufak = { false, false, 1, true };
static const struct qcfg q_minicpm = { true, false, 0, true };

static size_t m_qwen2(const unsigned char *t, size_t p, size_t e) { return m_qwen(t, p, e, &q_qwen2); }
static size_t m_qwen35(const unsigned char *t, size_t p, size_t e) { return m_qwen(t, p, e, &q_qwen35); }
static size_t m_seed(const unsigned char *t, size_t p, size_t e) { return m_qwen(t, p, e, &q_seed); }
static size_t m_ufak(const unsigned char *t, size_t p, size_t e) { return m_qwen(t, p, e, &q_ufak); }
static size_t m_minicpm(const unsigned char *t, size_t p, size_t e) { return m_qwen(t, p, e, &q_minicpm); }

/* \p{N} (collapsed) */
static size_t m_num1(const unsigned char *t, size_t p, size_t e)
{
	struct ch c = ch_at(t, p, e);
	return (cc_of(c) & CC_N) ? c.n : 0;
}

/* \p{N}+ (collapsed) */
static size_t m_nums(const unsigned char *t, size_t p, size_t e)
{
	return cc_run(t, p, e, CC_N) - p;
}

/* \p{N}{1,3} (collapsed) */
static size_t m_num3(const unsigned char *t, size_t p, size_t e)
{
	size_t x = p;
	for (int k = 0; k < 3 && x < e; k++) {
		struct ch c = ch_at(t, x, e);
		if (!(cc_of(c) & CC_N))
			break;
		x += c.n;
	}
	return x - p;
}

/* [0-9][0-9][0-9] (wide) */
static size_t m_3digits(const unsigned char *t, size_t p, size_t e)
{
	if (e - p < 3)
		return 0;
	for (int k = 0; k < 3; k++)
		if (t[p + k] < '0' || t[p + k] > '9')
			return 0;
	return 3;
}

/* [\p{P}\$\+<=>\^~\|]+ (default) and [\p{P}\$\+<=>\^~\|`]+ (falcon):
 * collapsed \p{P} plus those ASCII symbols */
static size_t punct_run(const unsigned char *t, size_t p, size_t e,
			const char *extra)
{
	size_t x = p;
	while (x < e) {
		struct ch c = ch_at(t, x, e);
		if (!(cc_of(c) & CC_P) && !(c.cp < 128 && c.cp && strchr(extra, (int)c.cp)))
			break;
		x += c.n;
	}
	return x - p;
}

static size_t m_punct_default(const unsigned char *t, size_t p, size_t e)
{
	return punct_run(t, p, e, "$+<=>^~|");
}

static size_t m_punct_falcon(const unsigned char *t, size_t p, size_t e)
{
	return punct_run(t, p, e, "$+<=>^~|`");
}

/* [\r\n] */
static size_t m_crlf(const unsigned char *t, size_t p, size_t e)
{
	(void)e;
	return (t[p] == '\r' || t[p] == '\n') ? 1 : 0;
}

/* \s?\p{L}+ and \s?\p{P}+ (collapsed) */
static size_t cc_opt_space_run(const unsigned char *t, size_t p, size_t e,
			       unsigned mask)
{
	struct ch c0 = ch_at(t, p, e);
	unsigned k0 = cc_of(c0);
	if ((k0 & CC_S) && (cc_at(t, p + c0.n, e) & mask))
		return cc_run(t, p + c0.n, e, mask) - p;
	if (k0 & mask)
		return cc_run(t, p, e, mask) - p;
	return 0;
}

static size_t m_dsc_letters(const unsigned char *t, size_t p, size_t e)
{
	return cc_opt_space_run(t, p, e, CC_L);
}

static size_t m_dsc_punct(const unsigned char *t, size_t p, size_t e)
{
	return cc_opt_space_run(t, p, e, CC_P);
}

static size_t m_cjk(const unsigned char *t, size_t p, size_t e)
{
	return w_run(t, p, e, w_cjk) - p;
}

static size_t m_dsl_letters(const unsigned char *t, size_t p, size_t e)
{
	return w_opt_space_run(t, p, e, w_dsl_letter);
}

static size_t m_dsl_punct(const unsigned char *t, size_t p, size_t e)
{
	return w_opt_space_run(t, p, e, w_dsl_punct);
}

/*  ?[^(\s|.,!?…。，、।۔،)]+ (wide) */
static size_t m_bloom(const unsigned char *t, size_t p, size_t e)
{
	if (t[p] == ' ' && p + 1 < e && w_bloom(wcp(ch_at(t, p + 1, e))))
		return w_run(t, p + 1, e, w_bloom) - p;
	return w_run(t, p, e, w_bloom) - p;
}

/* ---- stage lists ---- */

typedef size_t (*match_fn)(const unsigned char *t, size_t p, size_t e);

/* NULL stands for \s+$ (wide), which is a property of the whole piece */
#define TRAILING_WS ((match_fn)0)
#define MAX_STAGES 6

struct stages {
	int n;
	match_fn f[MAX_STAGES];
};

static const struct stages stage_table[HRT_PRE_COUNT] = {
	[HRT_PRE_DEFAULT] = { 4, { m_punct_default, m_gpt2, m_nums, m_3digits } },
	[HRT_PRE_GPT2] = { 1, { m_gpt2 } },
	[HRT_PRE_LLAMA3] = { 1, { m_llama3 } },
	[HRT_PRE_STARCODER] = { 2, { m_num1, m_gpt2 } },
	[HRT_PRE_FALCON] = { 3, { m_punct_falcon, m_gpt2, m_3digits } },
	[HRT_PRE_DEEPSEEK_LLM] = { 6, { m_crlf, m_dsl_letters, m_dsl_punct,
					TRAILING_WS, m_cjk, m_nums } },
	[HRT_PRE_DEEPSEEK_CODER] = { 5, { m_crlf, m_dsc_letters, m_dsc_punct,
					  m_cjk, m_num1 } },
	[HRT_PRE_QWEN2] = { 1, { m_qwen2 } },
	[HRT_PRE_QWEN35] = { 1, { m_qwen35 } },
	[HRT_PRE_SEED_CODER] = { 1, { m_seed } },
	[HRT_PRE_UFAKZEKA] = { 1, { m_ufak } },
	[HRT_PRE_MINICPM5] = { 2, { m_num3, m_minicpm } },
	[HRT_PRE_BLOOM] = { 1, { m_bloom } },
	[HRT_PRE_VIKING] = { 2, { m_bloom, m_num1 } },
};

struct run_ctx {
	const struct stages *st;
	const unsigned char *t;
	hrt_pretok_emit emit;
	void *ctx;
};

static int stage(const struct run_ctx *r, int k, size_t a, size_t b)
{
	if (a == b)
		return 0;
	if (k == r->st->n)
		return r->emit(r->ctx, a, b - a);
	const unsigned char *t = r->t;
	match_fn f = r->st->f[k];
	int rc;
	if (f == TRAILING_WS) {
		/* the match is the maximal whitespace run ending the piece */
		size_t p = a, run = b;
		while (p < b) {
			struct ch c = ch_at(t, p, b);
			if (w_space(wcp(c))) {
				if (run == b)
					run = p;
			} else {
				run = b;
			}
			p += c.n;
		}
		if (run < b && run > a && (rc = stage(r, k + 1, a, run)))
			return rc;
		return stage(r, k + 1, run < b ? run : a, b);
	}
	size_t gap = a, p = a;
	while (p < b) {
		size_t m = f(t, p, b);
		if (m) {
			if (gap < p && (rc = stage(r, k + 1, gap, p)))
				return rc;
			if ((rc = stage(r, k + 1, p, p + m)))
				return rc;
			p += m;
			gap = p;
		} else {
			p += ch_len(t, p, b);
		}
	}
	return stage(r, k + 1, gap, b);
}

int hrt_pretok_run(enum hrt_pre pre, const unsigned char *t, size_t n,
		   hrt_pretok_emit emit, void *ctx)
{
	if (pre <= HRT_PRE_NONE || pre >= HRT_PRE_COUNT || stage_table[pre].n == 0)
		return n ? emit(ctx, 0, n) : 0;
	struct run_ctx r = { &stage_table[pre], t, emit, ctx };
	return stage(&r, 0, 0, n);
}

/* ---- names ---- */

struct pre_name {
	const char *name;
	enum hrt_pre pre;
	unsigned flags;
};

#define PN_IGNORE_MERGES 1u
#define PN_ADD_BOS 2u
#define PN_NO_BOS 4u  /* the default BOS id is dropped (chatglm) */

/* tokenizer.ggml.pre values llama.cpp knows, for the families we implement
 * (llama.cpp: llama_vocab::impl::load) */
static const struct pre_name pre_names[] = {
	{ "default", HRT_PRE_DEFAULT, 0 },
	{ "llama3", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "llama-v3", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "llama-bpe", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "falcon3", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "falcon-h1", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "pixtral", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "midm-2.0", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "lfm2", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "jina-v5-nano", HRT_PRE_LLAMA3, PN_IGNORE_MERGES | PN_ADD_BOS },
	{ "dbrx", HRT_PRE_LLAMA3, 0 },
	{ "smaug-bpe", HRT_PRE_LLAMA3, 0 },
	{ "chatglm-bpe", HRT_PRE_LLAMA3, PN_NO_BOS },
	{ "glm4", HRT_PRE_LLAMA3, PN_NO_BOS },
	{ "deepseek-llm", HRT_PRE_DEEPSEEK_LLM, 0 },
	{ "deepseek-coder", HRT_PRE_DEEPSEEK_CODER, 0 },
	{ "falcon", HRT_PRE_FALCON, 0 },
	{ "mpt", HRT_PRE_GPT2, 0 },
	{ "starcoder", HRT_PRE_STARCODER, 0 },
	{ "gpt-2", HRT_PRE_GPT2, 0 },
	{ "phi-2", HRT_PRE_GPT2, 0 },
	{ "jina-es", HRT_PRE_GPT2, 0 },
	{ "jina-de", HRT_PRE_GPT2, 0 },
	{ "gigachat", HRT_PRE_GPT2, 0 },
	{ "jina-v2-es", HRT_PRE_GPT2, 0 },
	{ "jina-v2-de", HRT_PRE_GPT2, 0 },
	{ "a.x-4.0", HRT_PRE_GPT2, 0 },
	{ "mellum", HRT_PRE_GPT2, 0 },
	{ "modern-bert", HRT_PRE_GPT2, 0 },
	{ "jina-v1-en", HRT_PRE_GPT2, 0 },
	{ "jina-v2-code", HRT_PRE_GPT2, 0 },
	{ "roberta-bpe", HRT_PRE_GPT2, 0 },
	{ "exaone4", HRT_PRE_GPT2, 0 },
	{ "olmo", HRT_PRE_GPT2, 0 },
	{ "jais", HRT_PRE_GPT2, 0 },
	{ "trillion", HRT_PRE_GPT2, 0 },
	{ "granite-docling", HRT_PRE_GPT2, 0 },
	{ "refact", HRT_PRE_STARCODER, 0 },
	{ "command-r", HRT_PRE_STARCODER, 0 },
	{ "smollm", HRT_PRE_STARCODER, 0 },
	{ "codeshell", HRT_PRE_STARCODER, 0 },
	{ "exaone", HRT_PRE_STARCODER, 0 },
	{ "minerva-7b", HRT_PRE_STARCODER, 0 },
	{ "mellum2", HRT_PRE_STARCODER, 0 },
	{ "qwen2", HRT_PRE_QWEN2, 0 },
	{ "deepseek-r1-qwen", HRT_PRE_QWEN2, 0 },
	{ "kormo", HRT_PRE_QWEN2, 0 },
	{ "f2llmv2", HRT_PRE_QWEN2, 0 },
	{ "megrez", HRT_PRE_QWEN2, 0 },
	{ "stablelm2", HRT_PRE_QWEN2, 0 },
	{ "hunyuan", HRT_PRE_QWEN2, 0 },
	{ "solar-open", HRT_PRE_QWEN2, 0 },
	{ "grok-2", HRT_PRE_QWEN2, 0 },
	/* \s*[\r\n] instead of \s*[\r\n]+ matches the same text */
	{ "bailingmoe", HRT_PRE_QWEN2, 0 },
	{ "bailingmoe2", HRT_PRE_QWEN2, 0 },
	{ "llada-moe", HRT_PRE_QWEN2, 0 },
	{ "qwen35", HRT_PRE_QWEN35, 0 },
	{ "seed-coder", HRT_PRE_SEED_CODER, 0 },
	{ "ufakzeka", HRT_PRE_UFAKZEKA, 0 },
	{ "minicpm5", HRT_PRE_MINICPM5, PN_IGNORE_MERGES },
	{ "poro-chat", HRT_PRE_BLOOM, 0 },
	{ "bloom", HRT_PRE_BLOOM, 0 },
	{ "gpt3-finnish", HRT_PRE_BLOOM, 0 },
	{ "viking", HRT_PRE_VIKING, 0 },
};

enum hrt_pre hrt_pretok_lookup(const char *name, bool *ignore_merges,
			       bool *add_bos, bool *no_bos)
{
	*ignore_merges = *add_bos = *no_bos = false;
	if (!name || !*name)
		return HRT_PRE_DEFAULT;
	for (size_t i = 0; i < NR(pre_names); i++) {
		if (strcmp(pre_names[i].name, name) == 0) {
			unsigned f = pre_names[i].flags;
			*ignore_merges = (f & PN_IGNORE_MERGES) != 0;
			*add_bos = (f & PN_ADD_BOS) != 0;
			*no_bos = (f & PN_NO_BOS) != 0;
			return pre_names[i].pre;
		}
	}
	return HRT_PRE_COUNT;
}
