/*
 * tests/fuzz/fuzz_prov_envelope — the provenance record parsers on hostile
 * bytes: DSSE envelopes (and the hearth statement inside), OpenSSF Model
 * Signing bundles, key files, and record verification over a set built
 * from the input. Nothing may crash, leak or read out of bounds.
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
	struct hrt_dsse env;
	if (hrt_dsse_parse((const char *)data, size, &env, &err) == HRT_OK) {
		struct hrt_prov_claim *c = malloc(sizeof *c);
		if (c) {
			hrt_prov_statement_parse(env.payload, env.payload_len, c, &err);
			free(c);
		}
		struct hrt_prov_key k;
		memset(&k, 0, sizeof k);
		hrt_dsse_verify(&env, &k);
		hrt_dsse_free(&env);
	}
	/* the payload itself as a statement */
	struct hrt_prov_claim *c = malloc(sizeof *c);
	if (c) {
		hrt_prov_statement_parse(data, size, c, &err);
		free(c);
	}
	struct hrt_oms_manifest *m = malloc(sizeof *m);
	if (m) {
		if (hrt_oms_parse((const char *)data, size, &env, m, &err) == HRT_OK)
			hrt_dsse_free(&env);
		free(m);
	}
	struct hrt_prov_key k;
	hrt_prov_key_parse((const char *)data, size, &k, &err);
	hrt_prov_key_wipe(&k);
	return 0;
}
