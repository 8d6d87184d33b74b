/*
 * http/metrics — counters and latency histograms for GET /metrics, in the
 * Prometheus text exposition format (version 0.0.4):
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 *
 * Label values are route patterns from the server's own route table and
 * names of configured models — never text from a request — so the number
 * of series stays bounded. Live gauges (queue depth, active slots, loaded
 * models) are read from the models registry when the page is rendered.
 */
#ifndef HRT_HTTP_METRICS_H
#define HRT_HTTP_METRICS_H

#include <stdint.h>

#include "core/err.h"
#include "http/json.h"

struct hrt_metrics;
struct hrt_models;

int hrt_metrics_new(struct hrt_metrics **out, struct hrt_err *err);
void hrt_metrics_free(struct hrt_metrics *m);

/* One finished request. route: a static route name; model: a configured
 * model name or NULL; token counts < 0 are not counted; ttft_ns 0: none. */
void hrt_metrics_request(struct hrt_metrics *m, const char *route, int status,
			 uint64_t duration_ns, const char *model,
			 int64_t prompt_tokens, int64_t gen_tokens,
			 uint64_t ttft_ns);
/* a request refused before routing (Host, auth, limits) */
void hrt_metrics_refused(struct hrt_metrics *m, const char *why);

/* Append the exposition text to b. models may be NULL. */
void hrt_metrics_render(struct hrt_metrics *m, struct hrt_models *models,
			struct hrt_hbuf *b);

#endif
