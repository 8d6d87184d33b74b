/*
 * http/metrics — see metrics.h. Everything sits behind one mutex: a
 * request touches it once, when it finishes.
 */
#include "http/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "http/models.h"
#include "http/server.h"
#include "sched/sched.h"

/* seconds; request latencies of a CPU runtime span ms (tags) to minutes */
static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				  2.5, 5, 10, 30, 60, 120, 300 };
#define NB (sizeof buckets / sizeof buckets[0])
#define MAX_SERIES 256

struct hist {
	uint64_t n[NB + 1]; /* last: +Inf */
	uint64_t count;
	double sum;
};

struct route_code {
	const char *route; /* static */
	int code;
	uint64_t n;
};

struct route_stat {
	const char *route; /* static */
	struct hist lat;
};

struct model_stat {
	char name[128];
	uint64_t requests, prompt_tokens, gen_tokens;
	struct hist ttft;
	struct hist lat;
};

struct refusal {
	const char *why; /* static */
	uint64_t n;
};

struct hrt_metrics {
	pthread_mutex_t mu;
	struct route_code rc[MAX_SERIES];
	size_t n_rc;
	struct route_stat rs[MAX_SERIES];
	size_t n_rs;
	struct model_stat *ms;
	size_t n_ms;
	struct refusal rf[32];
	size_t n_rf;
	uint64_t t_start_ns;
};

int hrt_metrics_new(struct hrt_metrics **out, struct hrt_err *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	(*out)->ms = calloc(MAX_SERIES, sizeof(struct model_stat));
	if (!(*out)->ms) {
		free(*out);
		*out = NULL;
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	pthread_mutex_init(&(*out)->mu, NULL);
	return HRT_OK;
}

void hrt_metrics_free(struct hrt_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m->ms);
	free(m);
}

static void observe(struct hist *h, double v)
{
	size_t i = 0;
	while (i < NB && v > buckets[i])
		i++;
	h->n[i]++;
	h->count++;
	h->sum += v;
}

void hrt_metrics_request(struct hrt_metrics *m, const char *route, int status,
			 uint64_t duration_ns, const char *model,
			 int64_t prompt_tokens, int64_t gen_tokens,
			 uint64_t ttft_ns)
{
	if (!m)
		return;
	if (!route)
		route = "other";
	pthread_mutex_lock(&m->mu);
	size_t i;
	for (i = 0; i < m->n_rc; i++)
		if (m->rc[i].route == route && m->rc[i].code == status)
			break;
	if (i == m->n_rc && i < MAX_SERIES)
		m->rc[m->n_rc++] = (struct route_code){ route, status, 0 };
	if (i < MAX_SERIES)
		m->rc[i].n++;
	for (i = 0; i < m->n_rs; i++)
		if (m->rs[i].route == route)
			break;
	if (i == m->n_rs && i < MAX_SERIES) {
		memset(&m->rs[i], 0, sizeof m->rs[i]);
		m->rs[m->n_rs++].route = route;
	}
	if (i < MAX_SERIES)
		observe(&m->rs[i].lat, (double)duration_ns * 1e-9);
	if (model && *model) {
		for (i = 0; i < m->n_ms; i++)
			if (!strcmp(m->ms[i].name, model))
				break;
		if (i == m->n_ms && i < MAX_SERIES && strlen(model) < sizeof m->ms[i].name) {
			memset(&m->ms[i], 0, sizeof m->ms[i]);
			strcpy(m->ms[m->n_ms++].name, model);
		}
		if (i < m->n_ms) {
			struct model_stat *s = &m->ms[i];
			s->requests++;
			if (prompt_tokens > 0)
				s->prompt_tokens += (uint64_t)prompt_tokens;
			if (gen_tokens > 0)
				s->gen_tokens += (uint64_t)gen_tokens;
			if (ttft_ns)
				observe(&s->ttft, (double)ttft_ns * 1e-9);
			observe(&s->lat, (double)duration_ns * 1e-9);
		}
	}
	pthread_mutex_unlock(&m->mu);
}

void hrt_metrics_refused(struct hrt_metrics *m, const char *why)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	size_t i;
	for (i = 0; i < m->n_rf; i++)
		if (m->rf[i].why == why)
			break;
	if (i == m->n_rf && i < HRT_ARRAY_LEN(m->rf))
		m->rf[m->n_rf++] = (struct refusal){ why, 0 };
	if (i < m->n_rf)
		m->rf[i].n++;
	pthread_mutex_unlock(&m->mu);
}

static void put_hist(struct hrt_hbuf *b, const char *name, const char *lk,
		     const char *lv, const struct hist *h)
{
	uint64_t cum = 0;
	for (size_t i = 0; i <= NB; i++) {
		cum += h->n[i];
		if (i < NB)
			hrt_hbuf_printf(b, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, lk, lv,
					buckets[i], (unsigned long long)cum);
		else
			hrt_hbuf_printf(b, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, lk,
					lv, (unsigned long long)cum);
	}
	hrt_hbuf_printf(b, "%s_sum{%s=\"%s\"} %.6f\n", name, lk, lv, h->sum);
	hrt_hbuf_printf(b, "%s_count{%s=\"%s\"} %llu\n", name, lk, lv,
			(unsigned long long)h->count);
}

struct live_ctx {
	struct hrt_hbuf *b;
	int pass;
};

static void live_model(void *ctx, const struct hrt_model_info *mi)
{
	struct live_ctx *c = ctx;
	if (!mi->loaded)
		return;
	const struct hrt_sched_stats *s = &mi->stats;
	switch (c->pass) {
	case 0: hrt_hbuf_printf(c->b, "hearth_queue_depth{model=\"%s\"} %d\n", mi->name, s->queued); break;
	case 1: hrt_hbuf_printf(c->b, "hearth_active_requests{model=\"%s\"} %d\n", mi->name, s->active); break;
	case 2: hrt_hbuf_printf(c->b, "hearth_slots{model=\"%s\"} %d\n", mi->name, s->n_slots); break;
	case 3: hrt_hbuf_printf(c->b, "hearth_cached_prompt_tokens_total{model=\"%s\"} %llu\n", mi->name,
				(unsigned long long)s->cached_tokens); break;
	case 4: hrt_hbuf_printf(c->b, "hearth_batch_steps_total{model=\"%s\"} %llu\n", mi->name,
				(unsigned long long)s->steps); break;
	case 5: hrt_hbuf_printf(c->b, "hearth_busy_seconds_total{model=\"%s\"} %.6f\n", mi->name,
				(double)s->busy_ns * 1e-9); break;
	default: break;
	}
}

void hrt_metrics_render(struct hrt_metrics *m, struct hrt_models *models,
			struct hrt_hbuf *b)
{
	pthread_mutex_lock(&m->mu);
	hrt_hbuf_puts(b, "# HELP hearth_requests_total HTTP requests by route and status.\n"
			 "# TYPE hearth_requests_total counter\n");
	for (size_t i = 0; i < m->n_rc; i++)
		hrt_hbuf_printf(b, "hearth_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
				m->rc[i].route, m->rc[i].code, (unsigned long long)m->rc[i].n);
	hrt_hbuf_puts(b, "# HELP hearth_refused_total Requests refused before routing.\n"
			 "# TYPE hearth_refused_total counter\n");
	for (size_t i = 0; i < m->n_rf; i++)
		hrt_hbuf_printf(b, "hearth_refused_total{reason=\"%s\"} %llu\n", m->rf[i].why,
				(unsigned long long)m->rf[i].n);
	hrt_hbuf_puts(b, "# HELP hearth_request_duration_seconds Time from request to last byte.\n"
			 "# TYPE hearth_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->n_rs; i++)
		put_hist(b, "hearth_request_duration_seconds", "route", m->rs[i].route, &m->rs[i].lat);
	hrt_hbuf_puts(b, "# HELP hearth_model_requests_total Generation and embedding requests per model.\n"
			 "# TYPE hearth_model_requests_total counter\n");
	for (size_t i = 0; i < m->n_ms; i++)
		hrt_hbuf_printf(b, "hearth_model_requests_total{model=\"%s\"} %llu\n", m->ms[i].name,
				(unsigned long long)m->ms[i].requests);
	hrt_hbuf_puts(b, "# HELP hearth_prompt_tokens_total Prompt tokens per model.\n"
			 "# TYPE hearth_prompt_tokens_total counter\n");
	for (size_t i = 0; i < m->n_ms; i++)
		hrt_hbuf_printf(b, "hearth_prompt_tokens_total{model=\"%s\"} %llu\n", m->ms[i].name,
				(unsigned long long)m->ms[i].prompt_tokens);
	hrt_hbuf_puts(b, "# HELP hearth_generated_tokens_total Generated tokens per model.\n"
			 "# TYPE hearth_generated_tokens_total counter\n");
	for (size_t i = 0; i < m->n_ms; i++)
		hrt_hbuf_printf(b, "hearth_generated_tokens_total{model=\"%s\"} %llu\n", m->ms[i].name,
				(unsigned long long)m->ms[i].gen_tokens);
	hrt_hbuf_puts(b, "# HELP hearth_model_request_duration_seconds Request latency per model.\n"
			 "# TYPE hearth_model_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->n_ms; i++)
		put_hist(b, "hearth_model_request_duration_seconds", "model", m->ms[i].name, &m->ms[i].lat);
	hrt_hbuf_puts(b, "# HELP hearth_time_to_first_token_seconds Queue plus prompt time per model.\n"
			 "# TYPE hearth_time_to_first_token_seconds histogram\n");
	for (size_t i = 0; i < m->n_ms; i++)
		if (m->ms[i].ttft.count)
			put_hist(b, "hearth_time_to_first_token_seconds", "model", m->ms[i].name,
				 &m->ms[i].ttft);
	pthread_mutex_unlock(&m->mu);
	if (!models)
		return;
	static const char *const live[][2] = {
		{ "hearth_queue_depth", "gauge\n# HELP hearth_queue_depth Requests waiting for a slot." },
		{ "hearth_active_requests", "gauge\n# HELP hearth_active_requests Slots running a request." },
		{ "hearth_slots", "gauge\n# HELP hearth_slots Parallel sequences of a loaded model." },
		{ "hearth_cached_prompt_tokens_total", "counter\n# HELP hearth_cached_prompt_tokens_total Prompt tokens reused from a slot's cache." },
		{ "hearth_batch_steps_total", "counter\n# HELP hearth_batch_steps_total Batches run through the weights." },
		{ "hearth_busy_seconds_total", "counter\n# HELP hearth_busy_seconds_total Time spent running batches." },
	};
	hrt_hbuf_printf(b, "# HELP hearth_models_loaded Models in memory.\n# TYPE hearth_models_loaded gauge\n"
			   "hearth_models_loaded %zu\n", hrt_models_n_loaded(models));
	for (int p = 0; p < (int)(sizeof live / sizeof live[0]); p++) {
		hrt_hbuf_printf(b, "# TYPE %s %s\n", live[p][0], live[p][1]);
		struct live_ctx c = { b, p };
		hrt_models_each(models, live_model, &c);
	}
	hrt_hbuf_printf(b, "# HELP hearth_build_info Version.\n# TYPE hearth_build_info gauge\n"
			   "hearth_build_info{version=\"%s\"} 1\n", HRT_HTTP_VERSION);
}
