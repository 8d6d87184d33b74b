/*
 * tests/fuzz/fuzz_http_json — libFuzzer target for the server's request
 * bodies: the JSON depth pre-scan, parsing with caps, and every field
 * reader the routes use (model, Ollama options, OpenAI options, stop
 * strings, keep_alive, messages with tools for a family, tools).
 *
 * Input: byte 0 picks a chat family (mod the family count); the rest is a
 * request body. Checks: nothing crashes or leaks; a body the pre-scan
 * passes never nests deeper than the limit when cJSON accepts it (cJSON's
 * own nesting limit is higher, so the pre-scan is the one that counts);
 * messages come back with a known role and a NUL-terminated content.
 *
 * Build: tests/fuzz/run.sh (all of src/ except src/cli).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "http/json.h"
#include "http/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int depth_of(const cJSON *j)
{
	int d = 0;
	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		int k = depth_of(c);
		if (k > d)
			d = k;
	}
	return (j && (cJSON_IsArray(j) || cJSON_IsObject(j))) ? d + 1 : d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum hrt_chat_family f = (enum hrt_chat_family)(data[0] % HRT_CHAT_FAMILY_COUNT);
	const char *body = (const char *)data + 1;
	size_t n = size - 1;
	struct hrt_err e;
	cJSON *j = NULL;
	if (hrt_http_json_parse(body, n, 16, &j, &e) != HRT_OK)
		return 0;
	if (depth_of(j) > 16)
		abort();
	struct hrt_srv_opts lim = { 0 };
	lim.max_ctx = 1 << 20;
	lim.max_predict = 1000;
	const char *model;
	hrt_req_model(j, &model, &e);
	struct hrt_gen_opts o;
	hrt_gen_opts_init(&o);
	hrt_req_ollama_options(cJSON_GetObjectItemCaseSensitive(j, "options"), &lim, &o, &e);
	hrt_req_openai_options(j, &lim, &o, &e);
	if (o.num_predict > 1000 || o.n_stops > HRT_REQ_MAX_STOPS + 8)
		abort();
	hrt_gen_opts_free(&o);
	int64_t ns;
	hrt_req_keep_alive(cJSON_GetObjectItemCaseSensitive(j, "keep_alive"), &ns, &e);
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
	if (tools && hrt_tools_validate(tools, &e))
		tools = NULL;
	struct hrt_req_msg *m = NULL;
	size_t nm = 0;
	if (hrt_req_messages(cJSON_GetObjectItemCaseSensitive(j, "messages"), f, tools, "sys",
			     &m, &nm, &e) == HRT_OK) {
		for (size_t i = 0; i < nm; i++) {
			if (!m[i].role || !m[i].content)
				abort();
			if (strcmp(m[i].role, "system") && strcmp(m[i].role, "user") &&
			    strcmp(m[i].role, "assistant") && strcmp(m[i].role, "tool"))
				abort();
			(void)strlen(m[i].content);
		}
		hrt_req_messages_free(m, nm);
	}
	cJSON_Delete(j);
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
