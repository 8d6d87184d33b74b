/*
 * tok/unicode — the Unicode facts the tokenizers need: strict UTF-8
 * decoding, the major general category and White_Space property of a code
 * point (tables generated into unicode_data.c by tools/gen_unicode.py), and
 * the GPT-2 byte <-> code point mapping used by byte-level BPE.
 *
 * Not a general Unicode library: no normalization, no case mapping beyond
 * ASCII, no grapheme clusters.
 */
#ifndef HRT_TOK_UNICODE_H
#define HRT_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* category flags: one bit per major general category (the bit layout of
 * llama.cpp's unicode_cpt_flags, so the two are easy to compare) */
#define HRT_UCD_UNDEF   0x01 /* Cn, and anything above U+10FFFF */
#define HRT_UCD_NUMBER  0x02 /* N* */
#define HRT_UCD_LETTER  0x04 /* L* */
#define HRT_UCD_SEP     0x08 /* Z* */
#define HRT_UCD_MARK    0x10 /* M* */
#define HRT_UCD_PUNCT   0x20 /* P* */
#define HRT_UCD_SYMBOL  0x40 /* S* */
#define HRT_UCD_CONTROL 0x80 /* Cc Cf Co Cs */
#define HRT_UCD_SPACE   0x100 /* White_Space (PropList.txt) */

/* the replacement character; invalid UTF-8 bytes are classified as it */
#define HRT_UCD_REPLACEMENT 0xFFFDu

/* generated tables (unicode_data.c) */
extern const unsigned hrt_ucd_n_ranges;
extern const uint32_t hrt_ucd_start[];
extern const uint8_t hrt_ucd_cat[];
extern const uint8_t hrt_ucd_ascii[128];
extern const unsigned hrt_ucd_n_space;
extern const uint32_t hrt_ucd_space[];

/* HRT_UCD_* flags of cp (category bits | HRT_UCD_SPACE); never 0 */
uint16_t hrt_ucd_flags(uint32_t cp);

/* Decode the character at s[0..n), n >= 1. Returns its length (1..4) and
 * sets *cp. A byte that does not start a well-formed sequence (stray
 * continuation, overlong form, surrogate, > U+10FFFF, truncated, 0xF8..0xFF)
 * is one character of length 1 with *cp = HRT_UTF8_BAD. */
#define HRT_UTF8_BAD 0xFFFFFFFFu
size_t hrt_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* UTF-8 encoding of cp (<= 0x10FFFF) into out[0..4); returns the length */
size_t hrt_utf8_put(uint32_t cp, char *out);

/* GPT-2 byte-level mapping: every byte value has a printable code point
 * (U+0021..U+007E, U+00A1..U+00AC, U+00AE..U+00FF map to themselves; the
 * rest to U+0100..U+0143 in byte order). */
uint32_t hrt_bytemap_cp(uint8_t b);
/* inverse; -1 when cp is not one of the 256 mapped code points */
int hrt_bytemap_byte(uint32_t cp);

#endif
