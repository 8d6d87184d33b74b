/*
 * http/store_api — the Ollama store routes over store/ (admin keys only):
 * /api/pull, /api/push and /api/create (NDJSON progress, or one reply with
 * "stream": false), /api/copy, DELETE /api/delete, HEAD|POST
 * /api/blobs/:digest (the body goes straight into a blob writer, verified
 * before it gets its name), the store's half of /api/tags, and the
 * resolver that lets the model registry load store models by name.
 *
 * Over HTTP a Modelfile's FROM (and ADAPTER) must name a stored model or a
 * blob digest: a remote admin cannot make the server read its own files.
 *
 * With a load-time policy, /api/pull runs it on the pulled weights and the
 * records the manifest carries once every digest matched and before the
 * name is published; a refused pull publishes nothing and answers 403
 * with {"error": "refused by policy: ...", "report": {...}} (or ends its
 * stream with that line).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "http/http_int.h"
#include "prov/prov.h"
#include "store/store.h"

#define Q_MAX ((size_t)16 << 20)

/* ---------------- resolver and listing ---------------- */

int hrt_models_store_records(const struct hrt_store_doc *docs, size_t n,
			     struct hrt_prov_records *rs, struct hrt_err *err)
{
	memset(rs, 0, sizeof *rs);
	for (size_t i = 0; i < n; i++) {
		struct hrt_digest d;
		char origin[80];
		hrt_digest_of(docs[i].bytes, docs[i].len, &d);
		snprintf(origin, sizeof origin, "store:sha256:%s", d.hex);
		int rc = hrt_prov_records_add(rs, docs[i].bytes, docs[i].len,
					      !strcmp(docs[i].media_type, HRT_MT_SIGSTORE_BUNDLE),
					      origin, err);
		if (rc) {
			hrt_prov_records_free(rs);
			return rc;
		}
	}
	return HRT_OK;
}

static char *params_json(const struct hrt_store_params *p)
{
	if (!p->set)
		return NULL;
	cJSON *o = cJSON_CreateObject();
#define HAS(k) (p->set & (1u << (k)))
	if (HAS(HRT_P_TEMPERATURE)) cJSON_AddNumberToObject(o, "temperature", p->temperature);
	if (HAS(HRT_P_TOP_K)) cJSON_AddNumberToObject(o, "top_k", p->top_k);
	if (HAS(HRT_P_TOP_P)) cJSON_AddNumberToObject(o, "top_p", p->top_p);
	if (HAS(HRT_P_MIN_P)) cJSON_AddNumberToObject(o, "min_p", p->min_p);
	if (HAS(HRT_P_REPEAT_PENALTY)) cJSON_AddNumberToObject(o, "repeat_penalty", p->repeat_penalty);
	if (HAS(HRT_P_REPEAT_LAST_N)) cJSON_AddNumberToObject(o, "repeat_last_n", p->repeat_last_n);
	if (HAS(HRT_P_PRESENCE_PENALTY)) cJSON_AddNumberToObject(o, "presence_penalty", p->presence_penalty);
	if (HAS(HRT_P_FREQUENCY_PENALTY)) cJSON_AddNumberToObject(o, "frequency_penalty", p->frequency_penalty);
	if (HAS(HRT_P_SEED)) cJSON_AddNumberToObject(o, "seed", (double)p->seed);
	if (HAS(HRT_P_NUM_CTX)) cJSON_AddNumberToObject(o, "num_ctx", p->num_ctx);
	if (HAS(HRT_P_NUM_PREDICT)) cJSON_AddNumberToObject(o, "num_predict", p->num_predict);
	if (HAS(HRT_P_STOP) || p->n_stop) {
		cJSON *a = cJSON_AddArrayToObject(o, "stop");
		for (size_t i = 0; i < p->n_stop; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(p->stop[i]));
	}
#undef HAS
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char *c = s ? hrt_strdup(s) : NULL;
	cJSON_free(s);
	return c;
}

int hrt_store_api_resolve(void *ctx, const char *name, struct hrt_models_resolved *out,
			  struct hrt_err *err)
{
	struct hrt_store *st = ctx;
	struct hrt_store_model *sm = NULL;
	int rc = hrt_store_lookup(st, name, &sm, err);
	if (rc)
		return rc;
	bool oom = false;
	out->path = hrt_strdup(sm->weights_path);
	oom |= !out->path;
	if (sm->template_family[0] && hrt_chat_family_from_name(sm->template_family) >= 0)
		oom |= !(out->family = hrt_strdup(sm->template_family));
	if (sm->system && *sm->system)
		oom |= !(out->system = hrt_strdup(sm->system));
	out->params = params_json(&sm->params);
	hrt_digest_str(&sm->weights, out->digest, sizeof out->digest);
	hrt_name_str(&sm->name, out->name, sizeof out->name);
	if (hrt_store_model_has_adapters(sm))
		fprintf(stderr, "hearth: %s: %s\n", out->name, hrt_store_adapter_note());
	/* the records it carries, for the load-time policy */
	if (!oom && sm->n_docs) {
		struct hrt_store_docs docs;
		if (!(out->records = calloc(1, sizeof *out->records)))
			oom = true;
		else if ((rc = hrt_store_docs_read(st, name, &docs, NULL, err)) == HRT_OK) {
			rc = hrt_models_store_records(docs.v, docs.n, out->records, err);
			hrt_store_docs_free(&docs);
		}
	}
	hrt_store_model_free(sm);
	if (oom || rc) {
		free(out->path);
		free(out->family);
		free(out->system);
		free(out->params);
		hrt_prov_records_free(out->records);
		free(out->records);
		memset(out, 0, sizeof(*out));
		return rc ? rc : HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	return HRT_OK;
}

void hrt_store_api_list(struct hrt_http_req *r, cJSON *arr, cJSON *(*details)(const char *arch,
		       const char *psize, const char *quant))
{
	struct hrt_store *st = r->srv->store;
	if (!st)
		return;
	struct hrt_store_entry *v = NULL;
	size_t n = 0;
	struct hrt_err e;
	if (hrt_store_list(st, &v, &n, &e))
		return;
	for (size_t i = 0; i < n; i++) {
		char name[600];
		hrt_name_str(&v[i].name, name, sizeof name);
		if (hrt_models_exists_file(r->srv->models, name))
			continue; /* a -m file of that name wins */
		if (r->id.role != HRT_ROLE_ADMIN && !hrt_auth_model_ok(&r->id, name))
			continue;
		struct hrt_store_model *sm = NULL;
		if (hrt_store_lookup(st, name, &sm, &e))
			continue;
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "name", name);
		cJSON_AddStringToObject(m, "model", name);
		char t[64];
		hrt_http_time_rfc3339(t, sizeof t, (int64_t)v[i].modified * 1000000000);
		cJSON_AddStringToObject(m, "modified_at", t);
		cJSON_AddNumberToObject(m, "size", (double)v[i].size);
		cJSON_AddStringToObject(m, "digest", v[i].id.hex);
		cJSON_AddNumberToObject(m, "_created", (double)v[i].modified);
		cJSON_AddItemToObject(m, "details", details(sm->architecture, sm->param_size, sm->quantization));
		hrt_store_model_free(sm);
		cJSON_AddItemToArray(arr, m);
	}
	free(v);
}

/* ---------------- long operations: pull, push, create ---------------- */

enum op { OP_PULL, OP_PUSH, OP_CREATE };

struct job {
	enum op op;
	struct hrt_store *st;
	char *a, *b;            /* pull: src, name; push: name, dst; create: name, text */
	bool insecure;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hrt_hbuf q;      /* NDJSON lines not yet sent */
	bool done, success_sent;
	int rc;
	struct hrt_err err;
	bool unreachable;
	const struct hrt_policy *policy; /* pull: the server's load-time policy */
	char *refusal;          /* pull: the policy's report (JSON) when it refused */
	atomic_bool gone;
	char last_status[64];
	uint64_t last_ns;
	/* connection side */
	struct hrt_http_req *req;
	struct hrt_hbuf out;
	size_t out_off;
	bool finished;
};

static int progress(void *ctx, const struct hrt_store_progress *p)
{
	struct job *j = ctx;
	uint64_t now = hrt_now_ns();
	pthread_mutex_lock(&j->mu);
	/* the same status again within 100 ms is only a byte count: skip it */
	bool same = !strncmp(j->last_status, p->status, sizeof j->last_status - 1);
	bool skip = same && p->completed < p->total && now - j->last_ns < 100000000ull;
	if (!skip) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "status", p->status);
		if (p->digest)
			cJSON_AddStringToObject(o, "digest", p->digest);
		if (p->total)
			cJSON_AddNumberToObject(o, "total", (double)p->total);
		if (p->total || p->completed)
			cJSON_AddNumberToObject(o, "completed", (double)p->completed);
		hrt_hbuf_json(&j->q, o);
		hrt_hbuf_puts(&j->q, "\n");
		cJSON_Delete(o);
		snprintf(j->last_status, sizeof j->last_status, "%s", p->status);
		j->last_ns = now;
		if (!strcmp(p->status, "success"))
			j->success_sent = true;
		pthread_cond_broadcast(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return atomic_load(&j->gone) ? 1 : 0;
}

/* the store's admission hook for /api/pull: the server's policy over the
 * verified weights and the records the manifest brought */
static int admit(void *ctx, const struct hrt_name *name, const char *weights_path,
		 const struct hrt_digest *weights, const struct hrt_store_doc *docs, size_t n_docs,
		 struct hrt_err *err)
{
	(void)name;
	struct job *j = ctx;
	struct hrt_prov_records rs;
	uint8_t sha[32];
	size_t n = 0;
	int rc = hrt_models_store_records(docs, n_docs, &rs, err);
	if (rc)
		return rc;
	if (sodium_hex2bin(sha, sizeof sha, weights->hex, 64, NULL, &n, NULL) || n != 32) {
		hrt_prov_records_free(&rs);
		return HRT_ERR(err, HRT_EINVAL, "bad weights digest");
	}
	struct hrt_policy_ctx pc = { .records = &rs, .known_sha256 = sha };
	struct hrt_prov_report rep;
	rc = hrt_policy_enforce_ex(weights_path, j->policy, &pc, &rep, err);
	if (rc && !rep.allowed) {
		snprintf(rep.model_path, sizeof rep.model_path, "%s", j->a);
		pthread_mutex_lock(&j->mu);
		free(j->refusal);
		j->refusal = hrt_prov_report_json(&rep);
		pthread_mutex_unlock(&j->mu);
	}
	hrt_prov_report_free(&rep);
	hrt_prov_records_free(&rs);
	return rc;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct hrt_store_opts o = { .progress = progress, .progress_ctx = j, .insecure = j->insecure };
	if (j->op == OP_PULL && j->policy) {
		o.admit = admit;
		o.admit_ctx = j;
	}
	struct hrt_err e;
	hrt_err_clear(&e);
	int rc;
	switch (j->op) {
	case OP_PULL: rc = hrt_store_pull(j->st, j->a, j->b, &o, &e); break;
	case OP_PUSH: rc = hrt_store_push(j->st, j->a, j->b, &o, &e); break;
	default: rc = hrt_store_create_text(j->st, j->a, j->b, strlen(j->b), NULL, &o, &e); break;
	}
	pthread_mutex_lock(&j->mu);
	j->rc = rc;
	j->err = e;
	j->unreachable = o.unreachable;
	j->done = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static void job_free(struct job *j)
{
	hrt_hbuf_free(&j->q);
	hrt_hbuf_free(&j->out);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->a);
	free(j->b);
	free(j->refusal);
	free(j);
}

/* request end (server.c): stop the operation, wait for it, free */
void hrt_store_api_end(void *p)
{
	struct job *j = p;
	atomic_store(&j->gone, true);
	if (j->started)
		pthread_join(j->th, NULL);
	job_free(j);
}

static int status_of(const struct job *j)
{
	if (j->refusal)
		return 403;
	if (j->unreachable)
		return 502;
	switch (j->err.code) {
	case HRT_ENOTFOUND: return 404;
	case HRT_EINVAL: case HRT_EFORMAT: case HRT_ERANGE: return 400;
	case HRT_ENOTSUP: return 501;
	case HRT_ECANCELED: return 499;
	default: return 500;
	}
}

static bool wait_job(struct job *j, bool any)
{
	uint64_t next_check = hrt_now_ns() + 500000000ull;
	pthread_mutex_lock(&j->mu);
	while (!j->done && (!any || j->q.len == 0)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&j->cv, &j->mu, &ts);
		if (hrt_now_ns() >= next_check) { /* progress may wake us often */
			pthread_mutex_unlock(&j->mu);
			if (hrt_http_client_gone(j->req)) {
				atomic_store(&j->gone, true);
				return false;
			}
			next_check = hrt_now_ns() + 500000000ull;
			pthread_mutex_lock(&j->mu);
		}
	}
	pthread_mutex_unlock(&j->mu);
	return true;
}

static ssize_t job_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct job *j = cls;
	for (;;) {
		if (j->out_off < j->out.len) {
			size_t n = HRT_MIN(max, j->out.len - j->out_off);
			memcpy(buf, j->out.p + j->out_off, n);
			j->out_off += n;
			if (j->out_off == j->out.len)
				j->out.len = j->out_off = 0;
			return (ssize_t)n;
		}
		if (j->finished)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (!wait_job(j, true))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		pthread_mutex_lock(&j->mu);
		hrt_hbuf_put(&j->out, j->q.p, j->q.len);
		hrt_hbuf_consume(&j->q, j->q.len);
		bool done = j->done;
		pthread_mutex_unlock(&j->mu);
		if (done) {
			cJSON *o = cJSON_CreateObject();
			if (j->rc)
				cJSON_AddStringToObject(o, "error", j->err.msg);
			else
				cJSON_AddStringToObject(o, "status", "success");
			if (j->rc && j->refusal)
				cJSON_AddItemToObject(o, "report", cJSON_Parse(j->refusal));
			if (j->rc || !j->success_sent) {
				hrt_hbuf_json(&j->out, o);
				hrt_hbuf_puts(&j->out, "\n");
			}
			cJSON_Delete(o);
			j->finished = true;
			hrt_http_long_running(j->req, false);
		}
	}
}

static void run_job(struct hrt_http_req *r, struct job *j, bool stream)
{
	j->st = r->srv->store;
	j->req = r;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	hrt_hbuf_init(&j->q, Q_MAX);
	hrt_hbuf_init(&j->out, Q_MAX);
	atomic_init(&j->gone, false);
	r->store_job = j;
	if (pthread_create(&j->th, NULL, job_main, j)) {
		hrt_http_error(r, 503, "cannot start a thread");
		return;
	}
	j->started = true;
	hrt_http_long_running(r, true);
	if (stream) {
		struct MHD_Response *resp =
			MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, job_read, j, NULL);
		if (!resp) {
			hrt_http_error(r, 503, "out of memory");
			return;
		}
		MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
		MHD_queue_response(r->conn, 200, resp);
		MHD_destroy_response(resp);
		r->status = 200;
		r->responded = true;
		return;
	}
	if (!wait_job(j, false)) {
		hrt_http_drop(r);
		return;
	}
	hrt_http_long_running(r, false);
	if (j->rc && j->refusal) {
		hrt_http_refused(r, j->err.msg, j->refusal);
		return;
	}
	if (j->rc) {
		hrt_http_error(r, status_of(j), "%s", j->err.msg);
		return;
	}
	static const char ok[] = "{\"status\":\"success\"}";
	hrt_http_reply(r, 200, "application/json", ok, sizeof ok - 1);
}

static bool need_store(struct hrt_http_req *r)
{
	if (r->srv->store)
		return true;
	hrt_http_error(r, 501, "this server has no model store; serve model files with -m FILE");
	return false;
}

static bool get_stream(struct hrt_http_req *r, cJSON *body, bool *stream, bool *insecure)
{
	struct hrt_err e;
	bool found;
	*stream = true;
	*insecure = false;
	if (hrt_http_json_bool(body, "stream", stream, &found, &e) ||
	    hrt_http_json_bool(body, "insecure", insecure, &found, &e)) {
		hrt_http_error_err(r, &e);
		return false;
	}
	return true;
}

void hrt_api_pull(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	const char *model;
	bool stream, insecure;
	if (!need_store(r) || !get_stream(r, body, &stream, &insecure))
		return;
	if (hrt_req_model(body, &model, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!strncmp(model, "oci:", 4) || model[0] == '/' || model[0] == '.') {
		hrt_http_error(r, 400, "pull over HTTP takes a registry name or an https:// URL, not a path on the server");
		return;
	}
	snprintf(r->model, sizeof r->model, "%s", model);
	struct job *j = calloc(1, sizeof(*j));
	if (!j || !(j->a = hrt_strdup(model))) {
		free(j);
		hrt_http_error(r, 503, "out of memory");
		return;
	}
	j->op = OP_PULL;
	j->insecure = insecure;
	j->policy = hrt_models_policy(r->srv->models);
	run_job(r, j, stream);
}

void hrt_api_push(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	const char *model, *dst = NULL;
	bool stream, insecure, found;
	if (!need_store(r) || !get_stream(r, body, &stream, &insecure))
		return;
	if (hrt_req_model(body, &model, &e) ||
	    hrt_http_json_str(body, "destination", 512, &dst, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	snprintf(r->model, sizeof r->model, "%s", model);
	struct job *j = calloc(1, sizeof(*j));
	if (!j || !(j->a = hrt_strdup(model)) || (dst && !(j->b = hrt_strdup(dst)))) {
		if (j)
			free(j->a);
		free(j);
		hrt_http_error(r, 503, "out of memory");
		return;
	}
	j->op = OP_PUSH;
	j->insecure = insecure;
	run_job(r, j, stream);
}

/* a value for a Modelfile line: quoted, or a """ block */
static bool put_value(struct hrt_hbuf *b, const char *v)
{
	if (strstr(v, "\"\"\""))
		return false;
	if (strchr(v, '\n') || strchr(v, '"')) {
		hrt_hbuf_printf(b, "\"\"\"%s\"\"\"\n", v);
	} else {
		hrt_hbuf_puts(b, v);
		hrt_hbuf_puts(b, "\n");
	}
	return true;
}

static bool from_ok(const char *f)
{
	size_t n = strlen(f);
	return *f && *f != '/' && *f != '.' && *f != '~' && !strchr(f, '\n') &&
	       !(n > 5 && !strcmp(f + n - 5, ".gguf"));
}

/* the Modelfile for a structured /api/create request */
static int build_modelfile(const cJSON *body, struct hrt_hbuf *b, struct hrt_err *e)
{
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(body, "from");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(body, "files");
	const char *src = NULL;
	if (cJSON_IsObject(files) && cJSON_GetArraySize(files) > 0) {
		const cJSON *f;
		cJSON_ArrayForEach(f, files) {
			if (!cJSON_IsString(f))
				return HRT_ERR(e, HRT_EINVAL, "\"files\" maps file names to \"sha256:<hex>\" digests");
			struct hrt_digest d;
			if (hrt_digest_parse(f->valuestring, strlen(f->valuestring), &d, e))
				return HRT_EINVAL;
			size_t kl = strlen(f->string);
			if (!src || (kl > 5 && !strcmp(f->string + kl - 5, ".gguf")))
				src = f->valuestring;
		}
	} else if (cJSON_IsString(from)) {
		src = from->valuestring;
	}
	if (!src)
		return HRT_ERR(e, HRT_EINVAL, "\"from\" (a model name) or \"files\" (uploaded blobs) is required");
	if (!from_ok(src))
		return HRT_ERR(e, HRT_EINVAL, "FROM must name a stored model or a blob digest, not a path on the server");
	hrt_hbuf_printf(b, "FROM %s\n", src);
	static const char *const texts[][2] = { { "system", "SYSTEM" }, { "template", "TEMPLATE" } };
	for (size_t i = 0; i < HRT_ARRAY_LEN(texts); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, texts[i][0]);
		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsString(v))
			return HRT_ERR(e, HRT_EINVAL, "\"%s\" must be a string", texts[i][0]);
		hrt_hbuf_printf(b, "%s ", texts[i][1]);
		if (!put_value(b, v->valuestring))
			return HRT_ERR(e, HRT_EINVAL, "\"%s\" may not contain \"\"\"", texts[i][0]);
	}
	const cJSON *lic = cJSON_GetObjectItemCaseSensitive(body, "license");
	if (cJSON_IsString(lic) || cJSON_IsArray(lic)) {
		const cJSON *l;
		if (cJSON_IsString(lic)) {
			hrt_hbuf_puts(b, "LICENSE ");
			if (!put_value(b, lic->valuestring))
				return HRT_ERR(e, HRT_EINVAL, "\"license\" may not contain \"\"\"");
		} else {
			cJSON_ArrayForEach(l, lic) {
				if (!cJSON_IsString(l))
					return HRT_ERR(e, HRT_EINVAL, "\"license\" must be strings");
				hrt_hbuf_puts(b, "LICENSE ");
				if (!put_value(b, l->valuestring))
					return HRT_ERR(e, HRT_EINVAL, "\"license\" may not contain \"\"\"");
			}
		}
	}
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "parameters");
	if (params && !cJSON_IsNull(params)) {
		if (!cJSON_IsObject(params))
			return HRT_ERR(e, HRT_EINVAL, "\"parameters\" must be an object");
		const cJSON *p;
		cJSON_ArrayForEach(p, params) {
			if (!p->string || strchr(p->string, ' ') || strchr(p->string, '\n'))
				return HRT_ERR(e, HRT_EINVAL, "bad parameter name");
			const cJSON *vals = cJSON_IsArray(p) ? p : NULL;
			const cJSON *v = vals ? vals->child : p;
			for (; v; v = vals ? v->next : NULL) {
				hrt_hbuf_printf(b, "PARAMETER %s ", p->string);
				if (cJSON_IsString(v)) {
					hrt_hbuf_puts(b, "\"");
					for (const char *c = v->valuestring; *c; c++) {
						if (*c == '\n')
							return HRT_ERR(e, HRT_EINVAL, "parameter values are one line");
						if (*c == '"' || *c == '\\')
							hrt_hbuf_puts(b, "\\");
						hrt_hbuf_put(b, c, 1);
					}
					hrt_hbuf_puts(b, "\"\n");
				} else if (cJSON_IsNumber(v)) {
					hrt_hbuf_printf(b, "%.17g\n", v->valuedouble);
				} else if (cJSON_IsBool(v)) {
					hrt_hbuf_printf(b, "%s\n", cJSON_IsTrue(v) ? "true" : "false");
				} else {
					return HRT_ERR(e, HRT_EINVAL, "parameter '%s' has a bad value", p->string);
				}
				if (!vals)
					break;
			}
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(body, "quantize"))
		return HRT_ERR(e, HRT_ENOTSUP, "\"quantize\" is not supported by /api/create; use `hearth quantize`");
	return b->oom ? HRT_ERR(e, HRT_ENOMEM, "modelfile too large") : HRT_OK;
}

void hrt_api_create(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model, *mf = NULL;
	bool stream, insecure, found;
	if (!need_store(r) || !get_stream(r, body, &stream, &insecure))
		return;
	if (hrt_req_model(body, &model, &e) ||
	    hrt_http_json_str(body, "modelfile", (size_t)4 << 20, &mf, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	snprintf(r->model, sizeof r->model, "%s", model);
	struct hrt_hbuf b;
	hrt_hbuf_init(&b, (size_t)4 << 20);
	if (mf) {
		/* the Modelfile's own FROM/ADAPTER lines get the same rule */
		for (const char *l = mf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			while (*l == ' ' || *l == '\t')
				l++;
			if (!strncasecmp(l, "FROM ", 5) || !strncasecmp(l, "ADAPTER ", 8)) {
				const char *v = l + (l[0] == 'F' || l[0] == 'f' ? 5 : 8);
				while (*v == ' ')
					v++;
				char word[1024];
				size_t n = strcspn(v, " \r\n");
				snprintf(word, sizeof word, "%.*s", (int)HRT_MIN(n, sizeof word - 1), v);
				if (!from_ok(word)) {
					hrt_hbuf_free(&b);
					hrt_http_error(r, 400, "FROM and ADAPTER must name a stored model or a blob digest, not a path on the server");
					return;
				}
			}
		}
		hrt_hbuf_puts(&b, mf);
	} else if (build_modelfile(body, &b, &e)) {
		hrt_hbuf_free(&b);
		hrt_http_error_err(r, &e);
		return;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (b.oom || !j || !(j->a = hrt_strdup(model))) {
		free(j);
		hrt_hbuf_free(&b);
		hrt_http_error(r, 503, "out of memory");
		return;
	}
	j->b = b.p ? b.p : hrt_strdup("");
	j->op = OP_CREATE;
	run_job(r, j, stream);
}

/* ---------------- copy, delete ---------------- */

static void simple_reply(struct hrt_http_req *r, int rc, const struct hrt_err *e)
{
	if (rc == HRT_ENOTFOUND)
		hrt_http_error(r, 404, "%s", e->msg);
	else if (rc)
		hrt_http_error_err(r, e);
	else
		hrt_http_reply(r, 200, "application/json", "{}", 2);
}

void hrt_api_copy(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *src = NULL, *dst = NULL;
	bool found;
	if (!need_store(r))
		return;
	if (hrt_http_json_str(body, "source", 512, &src, &found, &e) ||
	    hrt_http_json_str(body, "destination", 512, &dst, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!src || !dst) {
		hrt_http_error(r, 400, "\"source\" and \"destination\" are required");
		return;
	}
	snprintf(r->model, sizeof r->model, "%s", src);
	simple_reply(r, hrt_store_copy(r->srv->store, src, dst, &e), &e);
}

void hrt_api_delete(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model;
	if (!need_store(r))
		return;
	if (hrt_req_model(body, &model, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	snprintf(r->model, sizeof r->model, "%s", model);
	int rc = hrt_store_delete(r->srv->store, model, &e);
	if (!rc)
		hrt_models_unload(r->srv->models, model);
	simple_reply(r, rc, &e);
}

/* ---------------- blobs ---------------- */

static bool blob_digest(struct hrt_http_req *r, struct hrt_digest *d)
{
	const char *s = r->url + strlen("/api/blobs/");
	struct hrt_err e;
	/* Ollama clients write "sha256-<hex>" too */
	char norm[80];
	if (!strncmp(s, "sha256-", 7) && strlen(s) < sizeof norm) {
		snprintf(norm, sizeof norm, "sha256:%s", s + 7);
		s = norm;
	}
	if (hrt_digest_parse(s, strlen(s), d, &e)) {
		hrt_http_error(r, 400, "%s", e.msg);
		return false;
	}
	return true;
}

void hrt_api_blob_head(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	struct hrt_digest d;
	if (!need_store(r) || !blob_digest(r, &d))
		return;
	if (hrt_store_blob_exists(r->srv->store, &d))
		hrt_http_reply(r, 200, "application/json", "", 0);
	else
		hrt_http_error(r, 404, "no such blob");
}

/* first bytes of an upload: open the writer (false: a reply was sent) */
bool hrt_api_blob_begin(struct hrt_http_req *r)
{
	struct hrt_digest d;
	if (!need_store(r) || !blob_digest(r, &d))
		return false;
	struct hrt_err e;
	struct hrt_blob_writer *w = NULL;
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	uint64_t size = UINT64_MAX;
	if (cl) {
		char *end;
		unsigned long long v = strtoull(cl, &end, 10);
		if (!*end)
			size = v;
	}
	if (hrt_store_blob_begin(r->srv->store, &d, size, &w, &e)) {
		hrt_http_error_err(r, &e);
		return false;
	}
	r->blob = w;
	hrt_http_long_running(r, true);
	return true;
}

bool hrt_api_blob_write(struct hrt_http_req *r, const char *data, size_t n)
{
	struct hrt_err e;
	if (hrt_store_blob_write(r->blob, data, n, &e)) {
		hrt_store_blob_abort(r->blob);
		r->blob = NULL;
		hrt_http_error_err(r, &e);
		return false;
	}
	return true;
}

void hrt_api_blob_abort(struct hrt_http_req *r)
{
	if (r->blob)
		hrt_store_blob_abort(r->blob);
	r->blob = NULL;
}

void hrt_api_blob_post(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	if (!r->blob && !hrt_api_blob_begin(r)) /* an empty upload */
		return;
	struct hrt_err e;
	struct hrt_digest got;
	int rc = hrt_store_blob_commit(r->blob, &got, &e);
	r->blob = NULL;
	hrt_http_long_running(r, false);
	if (rc)
		hrt_http_error(r, 400, "%s", e.msg);
	else
		hrt_http_reply(r, 201, "application/json", "", 0);
}
