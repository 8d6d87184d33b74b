/*
 * tok/unicode — UTF-8 decoding, category lookup and the GPT-2 byte mapping.
 * See unicode.h. The category tables are generated (unicode_data.c).
 */
#include "tok/unicode.h"

static int is_space(uint32_t cp)
{
	unsigned lo = 0, hi = hrt_ucd_n_space;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (hrt_ucd_space[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < hrt_ucd_n_space && hrt_ucd_space[lo] == cp;
}

uint16_t hrt_ucd_flags(uint32_t cp)
{
	if (cp < 128) {
		uint16_t f = hrt_ucd_ascii[cp];
		if (cp == ' ' || (cp >= 9 && cp <= 13))
			f |= HRT_UCD_SPACE;
		return f;
	}
	if (cp > 0x10FFFF)
		return HRT_UCD_UNDEF;
	/* last range whose start is <= cp */
	unsigned lo = 0, hi = hrt_ucd_n_ranges;
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;
		if (hrt_ucd_start[mid] <= cp)
			lo = mid;
		else
			hi = mid;
	}
	uint16_t f = hrt_ucd_cat[lo];
	if ((cp <= 0x3000) && is_space(cp))
		f |= HRT_UCD_SPACE;
	return f;
}

size_t hrt_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = HRT_UTF8_BAD; /* continuation, C0/C1, F5..FF */
		return 1;
	}
	if (n < len) {
		*cp = HRT_UTF8_BAD;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = HRT_UTF8_BAD;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = HRT_UTF8_BAD;
		return 1;
	}
	*cp = v;
	return len;
}

size_t hrt_utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* bytes that map to themselves: '!'..'~', 0xA1..0xAC, 0xAE..0xFF. The other
 * 68 (0x00..0x20, 0x7F..0xA0, 0xAD) take U+0100.. in byte order. */
static int self_mapped(unsigned b)
{
	return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
	       (b >= 0xAE);
}

uint32_t hrt_bytemap_cp(uint8_t b)
{
	if (self_mapped(b))
		return b;
	if (b <= 0x20)
		return 0x100u + b;          /* 0x100..0x120 */
	if (b <= 0xA0)
		return 0x121u + (b - 0x7F); /* 0x121..0x142 */
	return 0x143;                       /* 0xAD */
}

int hrt_bytemap_byte(uint32_t cp)
{
	if (cp < 0x100)
		return self_mapped(cp) ? (int)cp : -1;
	if (cp <= 0x120)
		return (int)(cp - 0x100);
	if (cp <= 0x142)
		return (int)(cp - 0x121 + 0x7F);
	if (cp == 0x143)
		return 0xAD;
	return -1;
}
