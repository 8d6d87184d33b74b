/*
 * tests/fuzz/fuzz_http_tools — libFuzzer target for the parsers the server
 * runs over model output and client text: tool-call extraction for every
 * chat family, the streaming hold-back point, the JSON-constraint
 * recogniser, and Host:port parsing.
 *
 * Input: byte 0 picks a family; the rest is model output text.
 * Checks: extraction never reports content past the text or calls without
 * a name or arguments; the hold-back point is within the text; whatever the
 * JSON constraint calls a complete object, cJSON parses as an object (the
 * constraint is never looser than JSON).
 *
 * Build: tests/fuzz/run.sh (all of src/ except src/cli).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/jsonc.h"
#include "http/server.h"
#include "http/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum hrt_chat_family f = (enum hrt_chat_family)(data[0] % HRT_CHAT_FAMILY_COUNT);
	const char *t = (const char *)data + 1;
	size_t n = size - 1;
	struct hrt_tool_call *c = NULL;
	size_t nc = 0, content = 0;
	struct hrt_err e;
	if (hrt_tools_extract(f, t, n, &c, &nc, &content, &e) == HRT_OK) {
		if (content > n)
			abort();
		for (size_t i = 0; i < nc; i++)
			if (!c[i].name || !c[i].arguments)
				abort();
		hrt_tool_calls_free(c, nc);
	}
	for (size_t k = 0; k <= n; k += 1 + k / 4)
		if (hrt_tools_hold_from(f, t, k) > k)
			abort();
	/* what the constraint calls a complete JSON object, cJSON parses */
	struct hrt_jsonc a;
	hrt_jsonc_init(&a);
	if (hrt_jsonc_feed(&a, t, n) && hrt_jsonc_complete(&a)) {
		cJSON *j = cJSON_ParseWithLengthOpts(t, n, NULL, false);
		if (!j || !cJSON_IsObject(j))
			abort();
		cJSON_Delete(j);
	}
	char host[300];
	int port = 0;
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, t, n);
		s[n] = 0;
		if (hrt_srv_parse_hostport(s, host, sizeof host, &port, &e) == HRT_OK &&
		    (port < 0 || port > 65535 || strlen(host) >= sizeof host))
			abort();
		free(s);
	}
	return 0;
}

#ifdef HRT_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (!fp)
			continue;
		static uint8_t buf[1 << 20];
		size_t n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
