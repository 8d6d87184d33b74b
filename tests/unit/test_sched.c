/*
 * The continuous-batching scheduler on the real stories260K model: batched
 * requests give exactly what one session alone gives (each row of a batch
 * is computed independently), prefix reuse, cancellation, the bounded
 * queue, context limits, stop strings, embeddings, shutdown.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sched/sched.h"
#include "t.h"

static struct hrt_llm *L;

struct out {
	pthread_mutex_t mu;
	char text[8192];
	size_t len;
	struct hrt_req_result res;
	bool done;
	int cancel_after; /* on_text calls before asking to stop; 0 = never */
	int calls;
};

static int on_text(void *ctx, const char *t, size_t n)
{
	struct out *o = ctx;
	pthread_mutex_lock(&o->mu);
	if (o->len + n < sizeof o->text) {
		memcpy(o->text + o->len, t, n);
		o->len += n;
		o->text[o->len] = 0;
	}
	int stop = o->cancel_after && ++o->calls >= o->cancel_after;
	pthread_mutex_unlock(&o->mu);
	return stop;
}

static void on_done(void *ctx, const struct hrt_req_result *r)
{
	struct out *o = ctx;
	pthread_mutex_lock(&o->mu);
	o->res = *r;
	o->done = true;
	pthread_mutex_unlock(&o->mu);
}

static void wait_done(struct out *o)
{
	for (int i = 0; i < 60000; i++) {
		pthread_mutex_lock(&o->mu);
		bool d = o->done;
		pthread_mutex_unlock(&o->mu);
		if (d)
			return;
		usleep(1000);
	}
}

static void out_init(struct out *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->mu, NULL);
}

static int32_t *tokens(const char *text, size_t *n)
{
	int32_t *ids = NULL;
	struct hrt_err err;
	if (hrt_tok_encode(hrt_llm_vocab(L), text, strlen(text), true, false, &ids, n, &err))
		return NULL;
	return ids;
}

static struct hrt_req_params params(const int32_t *p, size_t n, int max, struct out *o)
{
	struct hrt_req_params rp = { 0 };
	rp.prompt = p;
	rp.n_prompt = n;
	hrt_sample_defaults(&rp.gen.sample);
	rp.gen.sample.temperature = 0;
	rp.gen.sample.repeat_penalty = 1.0f;
	rp.gen.max_tokens = max;
	rp.on_text = on_text;
	rp.on_done = on_done;
	rp.ctx = o;
	return rp;
}

/* what one session alone writes */
static void solo(const int32_t *p, size_t n, int max, char *buf, size_t cap)
{
	struct hrt_session *s;
	struct hrt_err err;
	struct hrt_gen_params gp = { 0 };
	hrt_sample_defaults(&gp.sample);
	gp.sample.temperature = 0;
	gp.sample.repeat_penalty = 1.0f;
	gp.max_tokens = max;
	struct hrt_gen_result res;
	buf[0] = 0;
	if (hrt_session_new(&s, L, 512, &err))
		return;
	if (!hrt_session_generate(s, p, n, &gp, NULL, NULL, &res, &err)) {
		/* rebuild the text from the tokens */
		struct hrt_detok dt;
		hrt_detok_init(&dt, false);
		size_t len = 0;
		for (size_t i = 0; i < res.n_gen; i++)
			len += hrt_detok_push(&dt, hrt_llm_vocab(L), res.tokens[i], buf + len, cap - len);
		len += hrt_detok_flush(&dt, buf + len, cap - len);
		buf[len] = 0;
		free(res.tokens);
	}
	hrt_session_free(s);
}

static const char *prompts[] = {
	"Once upon a time", "Lily and Ben went to the park.", "The dog was happy",
	"One day, a little bird", "Tom had a red ball", "The sun was shining",
	"Sara liked to draw", "There was a big tree",
};

static void test_batched_equals_solo(void)
{
	struct hrt_sched *s;
	struct hrt_err err = { 0 };
	struct hrt_sched_opts o = { .n_slots = 4, .n_ctx = 512 };
	CHECKF(hrt_sched_new(&s, L, &o, &err) == HRT_OK, "%s", err.msg);
	if (t_cur_failed)
		return;
	struct out outs[8];
	int32_t *ids[8];
	size_t n[8];
	for (int i = 0; i < 8; i++) {
		out_init(&outs[i]);
		ids[i] = tokens(prompts[i], &n[i]);
		struct hrt_req_params rp = params(ids[i], n[i], 40, &outs[i]);
		uint64_t id;
		CHECKF(hrt_sched_submit(s, &rp, &id, &err) == HRT_OK, "%s", err.msg);
	}
	for (int i = 0; i < 8; i++)
		wait_done(&outs[i]);
	for (int i = 0; i < 8; i++) {
		char want[8192];
		solo(ids[i], n[i], 40, want, sizeof want);
		CHECKF(outs[i].done && outs[i].res.status == HRT_OK, "request %d not done", i);
		CHECKF(!strcmp(outs[i].text, want), "request %d: '%s' vs solo '%s'", i,
		       outs[i].text, want);
		CHECK(outs[i].res.n_prompt == n[i]);
		free(ids[i]);
	}
	struct hrt_sched_stats st;
	hrt_sched_get_stats(s, &st);
	CHECK(st.requests == 8 && st.active == 0 && st.queued == 0);
	/* fewer batches than tokens: decode steps were shared */
	CHECKF(st.steps < st.gen_tokens, "steps %llu gen %llu", (unsigned long long)st.steps,
	       (unsigned long long)st.gen_tokens);
	hrt_sched_free(s);
}

static void test_prefix_reuse(void)
{
	struct hrt_sched *s;
	struct hrt_err err = { 0 };
	struct hrt_sched_opts o = { .n_slots = 2, .n_ctx = 256 };
	if (hrt_sched_new(&s, L, &o, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	size_t n1, n2;
	int32_t *a = tokens("Lily and Ben went to the park. They saw a big dog.", &n1);
	int32_t *b = tokens("Lily and Ben went to the park. They saw a big cat and", &n2);
	struct out o1, o2;
	out_init(&o1);
	out_init(&o2);
	struct hrt_req_params rp = params(a, n1, 5, &o1);
	uint64_t id;
	hrt_sched_submit(s, &rp, &id, &err);
	wait_done(&o1);
	rp = params(b, n2, 5, &o2);
	hrt_sched_submit(s, &rp, &id, &err);
	wait_done(&o2);
	size_t common = 0;
	while (common < n1 && common < n2 && a[common] == b[common])
		common++;
	CHECKF(o2.res.n_cached == common, "cached %zu, common prefix %zu", o2.res.n_cached, common);
	CHECK(common > 5);
	/* and the output is what a fresh evaluation gives */
	char want[8192];
	solo(b, n2, 5, want, sizeof want);
	CHECKF(!strcmp(o2.text, want), "'%s' vs '%s'", o2.text, want);
	free(a);
	free(b);
	hrt_sched_free(s);
}

static void test_cancel_queue_limits(void)
{
	struct hrt_sched *s;
	struct hrt_err err = { 0 };
	struct hrt_sched_opts o = { .n_slots = 1, .n_ctx = 128, .queue_max = 1 };
	if (hrt_sched_new(&s, L, &o, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	size_t n;
	int32_t *p = tokens("Once upon a time", &n);
	struct out o1, o2, o3;
	out_init(&o1);
	out_init(&o2);
	out_init(&o3);
	o1.cancel_after = 3; /* the callback asks to stop */
	struct hrt_req_params rp = params(p, n, -1, &o1);
	rp.gen.ignore_eog = true;
	uint64_t id1, id2, id3;
	CHECK(hrt_sched_submit(s, &rp, &id1, &err) == HRT_OK);
	rp = params(p, n, -1, &o2);
	rp.gen.ignore_eog = true;
	CHECK(hrt_sched_submit(s, &rp, &id2, &err) == HRT_OK);
	rp = params(p, n, 5, &o3);
	int rc = hrt_sched_submit(s, &rp, &id3, &err);
	/* the second never ends by itself (no EOG, no limit) until the
	 * context is full: cancel it before anything waits on it, running or
	 * still queued (waiting for the third first let it fill the context
	 * whenever the third was accepted) */
	hrt_sched_cancel(s, id2);
	hrt_sched_cancel(s, 987654321); /* unknown: harmless */
	/* one runs or is about to, one waits: the third may not fit */
	if (rc == HRT_OK)
		wait_done(&o3);
	else
		CHECK(rc == HRT_ERANGE);
	wait_done(&o1);
	wait_done(&o2);
	CHECKF(o1.res.reason == HRT_STOP_CANCEL, "reason %d", o1.res.reason);
	CHECKF(o2.res.reason == HRT_STOP_CANCEL, "reason %d", o2.res.reason);
	/* a prompt longer than the context */
	int32_t big[200];
	for (int i = 0; i < 200; i++)
		big[i] = p[1];
	rp = params(big, 200, 5, &o3);
	CHECK(hrt_sched_submit(s, &rp, &id3, &err) == HRT_ERANGE);
	int32_t bad[2] = { 1, 100000 };
	rp = params(bad, 2, 5, &o3);
	CHECK(hrt_sched_submit(s, &rp, &id3, &err) == HRT_EINVAL);
	/* generation runs into the end of the context */
	struct out o4;
	out_init(&o4);
	rp = params(p, n, -1, &o4);
	rp.gen.ignore_eog = true;
	CHECK(hrt_sched_submit(s, &rp, &id3, &err) == HRT_OK);
	wait_done(&o4);
	CHECKF(o4.res.reason == HRT_STOP_CONTEXT && o4.res.n_gen + n <= 129,
	       "reason %d n_gen %zu", o4.res.reason, o4.res.n_gen);
	free(p);
	hrt_sched_free(s);
}

static void test_stop_strings(void)
{
	struct hrt_sched *s;
	struct hrt_err err = { 0 };
	if (hrt_sched_new(&s, L, NULL, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	size_t n;
	int32_t *p = tokens("Once upon a time", &n);
	char full[8192];
	solo(p, n, 40, full, sizeof full);
	/* stop at the second word of the greedy continuation */
	const char *sp = strchr(full + 1, ' ');
	CHECK(sp != NULL);
	if (!sp) {
		free(p);
		hrt_sched_free(s);
		return;
	}
	char stop[16];
	snprintf(stop, sizeof stop, "%.4s", sp);
	const char *stops[1] = { stop };
	struct out o;
	out_init(&o);
	struct hrt_req_params rp = params(p, n, 40, &o);
	rp.gen.stop = stops;
	rp.gen.n_stop = 1;
	uint64_t id;
	hrt_sched_submit(s, &rp, &id, &err);
	wait_done(&o);
	CHECKF(o.res.reason == HRT_STOP_STRING, "reason %d", o.res.reason);
	CHECKF(!strstr(o.text, stop) && !strncmp(o.text, full, (size_t)(sp - full)),
	       "'%s' (stop '%s', full '%s')", o.text, stop, full);
	free(p);
	hrt_sched_free(s);
}

static void test_embed_and_shutdown(void)
{
	struct hrt_sched *s;
	struct hrt_err err = { 0 };
	if (hrt_sched_new(&s, L, NULL, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	size_t n;
	int32_t *p = tokens("Once upon a time", &n);
	float e1[64], e2[64];
	CHECK(hrt_sched_embed(s, p, n, e1, &err) == HRT_OK);
	CHECK(hrt_sched_embed(s, p, n, e2, &err) == HRT_OK);
	double norm = 0;
	for (int i = 0; i < 64; i++)
		norm += (double)e1[i] * e1[i];
	CHECKF(norm > 0.99 && norm < 1.01 && !memcmp(e1, e2, sizeof e1), "norm %f", norm);
	/* freeing with requests in flight cancels them, each reported once */
	struct out o[3];
	uint64_t id;
	for (int i = 0; i < 3; i++) {
		out_init(&o[i]);
		struct hrt_req_params rp = params(p, n, -1, &o[i]);
		rp.gen.ignore_eog = true;
		hrt_sched_submit(s, &rp, &id, &err);
	}
	usleep(20000);
	hrt_sched_free(s);
	for (int i = 0; i < 3; i++)
		CHECKF(o[i].done, "request %d never reported", i);
	free(p);
}

int main(void)
{
	const char *sh = t_shared();
	char path[4096];
	struct hrt_err err = { 0 };
	if (sh) {
		snprintf(path, sizeof path, "%s/models/stories260K.gguf", sh);
		struct hrt_llm_opts o = { .n_threads = 2, .n_ctx = 512 };
		if (hrt_llm_open(&L, path, &o, &err))
			printf("  cannot open %s: %s\n", path, err.msg);
	}
	if (!L) {
		printf("SKIP sched: ../shared/models/stories260K.gguf is absent\n");
		return 0;
	}
	RUN(test_batched_equals_solo);
	RUN(test_prefix_reuse);
	RUN(test_cancel_queue_limits);
	RUN(test_stop_strings);
	RUN(test_embed_and_shutdown);
	hrt_llm_close(L);
	return t_done();
}
