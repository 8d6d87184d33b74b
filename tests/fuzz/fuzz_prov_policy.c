/*
 * tests/fuzz/fuzz_prov_policy — policy files and SPDX license expressions
 * on hostile bytes: parse, evaluate against a fixed allow-list, print and
 * re-parse. Nothing may crash, leak, recurse without bound or accept an
 * expression it cannot print back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prov/prov.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hrt_err err;
	struct hrt_policy *p = NULL;
	if (hrt_policy_parse((const char *)data, size, "/nonexistent", &p, &err) == HRT_OK)
		hrt_policy_free(p);
	if (size > 2048)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	struct hrt_spdx *e = NULL;
	if (hrt_spdx_parse(s, &e, &err) == HRT_OK) {
		static const char *const allowed[] = { "MIT", "Apache-2.0",
						       "GPL-2.0-only WITH Classpath-exception-2.0",
						       "GPL-2.0+" };
		hrt_spdx_allowed(e, allowed, 4);
		char *t = hrt_spdx_text(e);
		struct hrt_spdx *e2 = NULL;
		if (t && strlen(t) <= 1024 && hrt_spdx_parse(t, &e2, &err) != HRT_OK)
			__builtin_trap(); /* printed text must parse again */
		hrt_spdx_free(e2);
		free(t);
		hrt_spdx_free(e);
	}
	int64_t tt;
	hrt_prov_parse_time(s, &tt);
	free(s);
	return 0;
}
