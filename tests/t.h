/*
 * tests/t.h — the smallest unit-test harness that does the job.
 * Each test binary prints one line per test: "PASS name", "FAIL name: why"
 * or "SKIP name: why"; tests/run adds them up. Exit status 1 if any failed.
 */
#ifndef HRT_TESTS_T_H
#define HRT_TESTS_T_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_npass, t_nfail, t_nskip;
static int t_cur_failed, t_cur_skipped;
static char t_cur_msg[1024];

static inline void t_failf(const char *file, int line, const char *fmt, ...)
{
	if (t_cur_failed++)
		return; /* keep the first reason */
	int k = snprintf(t_cur_msg, sizeof t_cur_msg, "%s:%d: ", file, line);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t_cur_msg + k, sizeof t_cur_msg - (size_t)k, fmt, ap);
	va_end(ap);
}

static inline void t_skip(const char *fmt, ...)
{
	t_cur_skipped = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t_cur_msg, sizeof t_cur_msg, fmt, ap);
	va_end(ap);
}

static inline void t_run(const char *name, void (*fn)(void))
{
	t_cur_failed = t_cur_skipped = 0;
	t_cur_msg[0] = 0;
	fn();
	if (t_cur_failed) {
		t_nfail++;
		printf("FAIL %s: %s\n", name, t_cur_msg);
	} else if (t_cur_skipped) {
		t_nskip++;
		printf("SKIP %s: %s\n", name, t_cur_msg);
	} else {
		t_npass++;
		printf("PASS %s\n", name);
	}
	fflush(stdout);
}

/* Deterministic test data: splitmix64, uniforms in [0, 1) with 24 bits,
 * and gaussian-like values as the sum of 12 uniforms minus 6 (unit
 * variance, tails to +-6). Pure integer and float arithmetic, so the data
 * (and any digest of it a test pins) are the same on every IEEE platform. */
static inline uint64_t rng_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline float rng_unif(uint64_t *s)
{
	return (float)(rng_u64(s) >> 40) * 0x1p-24f;
}

static inline float rng_gauss(uint64_t *s)
{
	float sum = 0;
	for (int i = 0; i < 12; i++)
		sum += rng_unif(s);
	return sum - 6.0f;
}

static inline int t_done(void)
{
	return t_nfail ? 1 : 0;
}

#define RUN(fn) t_run(#fn, fn)
#define CHECK(c) \
	do { \
		if (!(c)) \
			t_failf(__FILE__, __LINE__, "%s", #c); \
	} while (0)
#define CHECKF(c, ...) \
	do { \
		if (!(c)) \
			t_failf(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* the shared fixtures folder ($HEARTH_SHARED or ../shared), or NULL when it
 * is absent (tests then skip with a message) */
static inline const char *t_shared(void)
{
	const char *e = getenv("HEARTH_SHARED");
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s/README.md", e && *e ? e : "../shared");
	FILE *f = fopen(buf, "r");
	if (!f)
		return NULL;
	fclose(f);
	snprintf(buf, sizeof buf, "%s", e && *e ? e : "../shared");
	return buf;
}

/* read a whole file into a malloc'd, NUL-terminated buffer */
static inline char *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b) {
		b[n] = 0;
		if (len)
			*len = (size_t)n;
	}
	return b;
}

#endif
