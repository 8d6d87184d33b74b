/*
 * http/models — registry of servable models and the loaded ones; see
 * models.h. One mutex guards the list; loading and unloading happen
 * outside it, with the entry marked busy so others wait on the condition.
 */
#include "http/models.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "prov/prov.h"

#define MAX_MODELS 4096

enum state { ST_IDLE, ST_LOADING, ST_LOADED, ST_UNLOADING };

struct hrt_loaded {
	char *name;
	char *path;
	char *family, *system, *params;
	bool from_file;          /* added with add_file (else: resolver) */
	bool gone;               /* the resolver no longer knows it */
	uint64_t size;
	time_t mtime;
	char digest[80];
	struct hrt_prov_records *records; /* store models: their records */
	enum state st;
	struct hrt_llm *llm;
	struct hrt_sched *sched;
	enum hrt_chat_family fam;
	int refs;
	int64_t keep_ns;         /* for the next expiry */
	uint64_t expires;        /* monotonic ns; UINT64_MAX never */
	uint64_t last_used;
};

struct hrt_models {
	struct hrt_models_opts o;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* an entry changed state */
	struct hrt_loaded **v;
	size_t n;
	hrt_models_resolve_fn resolve;
	void *resolve_ctx;
	const struct hrt_policy *policy;
	pthread_t reaper;
	bool reaper_on, stop;
	pthread_cond_t stop_cv;
};

static void *reaper_main(void *arg);

int hrt_models_new(struct hrt_models **out, const struct hrt_models_opts *o,
		   struct hrt_err *err)
{
	*out = NULL;
	struct hrt_models *m = calloc(1, sizeof(*m));
	if (!m)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (o)
		m->o = *o;
	if (m->o.max_loaded <= 0)
		m->o.max_loaded = 3;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	pthread_cond_init(&m->stop_cv, NULL);
	if (pthread_create(&m->reaper, NULL, reaper_main, m)) {
		hrt_models_free(m);
		return HRT_ERR(err, HRT_ENOMEM, "cannot start a thread");
	}
	m->reaper_on = true;
	*out = m;
	return HRT_OK;
}

static void unload_entry(struct hrt_loaded *e)
{
	hrt_sched_free(e->sched);
	hrt_llm_close(e->llm);
	e->sched = NULL;
	e->llm = NULL;
}

static void records_free(struct hrt_prov_records *rs)
{
	hrt_prov_records_free(rs);
	free(rs);
}

static void entry_free(struct hrt_loaded *e)
{
	if (!e)
		return;
	unload_entry(e);
	records_free(e->records);
	free(e->name);
	free(e->path);
	free(e->family);
	free(e->system);
	free(e->params);
	free(e);
}

void hrt_models_free(struct hrt_models *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_broadcast(&m->stop_cv);
	pthread_mutex_unlock(&m->mu);
	if (m->reaper_on)
		pthread_join(m->reaper, NULL);
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++) {
		while (m->v[i]->refs > 0 || m->v[i]->st == ST_LOADING ||
		       m->v[i]->st == ST_UNLOADING)
			pthread_cond_wait(&m->cv, &m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < m->n; i++)
		entry_free(m->v[i]);
	free(m->v);
	pthread_cond_destroy(&m->cv);
	pthread_cond_destroy(&m->stop_cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void hrt_models_name_of(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (n > 5 && !strcmp(b + n - 5, ".gguf"))
		n -= 5;
	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, b, n);
	out[n] = 0;
}

/* "x:latest" and "x" are the same model */
static bool name_eq(const char *have, const char *want)
{
	if (!strcmp(have, want))
		return true;
	size_t hl = strlen(have), wl = strlen(want);
	if (wl == hl + 7 && !strncmp(want, have, hl) && !strcmp(want + hl, ":latest"))
		return true;
	if (hl == wl + 7 && !strncmp(have, want, wl) && !strcmp(have + wl, ":latest"))
		return true;
	return false;
}

static struct hrt_loaded *find(struct hrt_models *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!m->v[i]->gone && name_eq(m->v[i]->name, name))
			return m->v[i];
	return NULL;
}

static int insert(struct hrt_models *m, struct hrt_loaded *e, struct hrt_err *err)
{
	if (m->n >= MAX_MODELS)
		return HRT_ERR(err, HRT_ERANGE, "too many models (%d)", MAX_MODELS);
	struct hrt_loaded **nv = realloc(m->v, (m->n + 1) * sizeof(*nv));
	if (!nv)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	m->v = nv;
	/* keep name order */
	size_t i = m->n;
	while (i > 0 && strcmp(m->v[i - 1]->name, e->name) > 0) {
		m->v[i] = m->v[i - 1];
		i--;
	}
	m->v[i] = e;
	m->n++;
	return HRT_OK;
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = hrt_strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int hrt_models_add_file(struct hrt_models *m, const char *path,
			const char *name, const struct hrt_model_cfg *cfg,
			struct hrt_err *err)
{
	struct stat st;
	if (stat(path, &st))
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO, "%s: %s", path,
			       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return HRT_ERR(err, HRT_EINVAL, "%s: not a regular file", path);
	char nm[HRT_MODEL_NAME_MAX + 1];
	if (name)
		snprintf(nm, sizeof nm, "%s", name);
	else
		hrt_models_name_of(path, nm, sizeof nm);
	if (!*nm)
		return HRT_ERR(err, HRT_EINVAL, "%s: cannot make a model name from this path", path);
	if (cfg && cfg->family && hrt_chat_family_from_name(cfg->family) < 0)
		return HRT_ERR(err, HRT_EINVAL, "unknown chat format '%s'", cfg->family);
	struct hrt_loaded *e = calloc(1, sizeof(*e));
	if (!e)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	bool oom = false;
	e->name = dup_or_null(nm, &oom);
	e->path = dup_or_null(path, &oom);
	if (cfg) {
		e->family = dup_or_null(cfg->family, &oom);
		e->system = dup_or_null(cfg->system, &oom);
		e->params = dup_or_null(cfg->params, &oom);
	}
	e->from_file = true;
	e->size = (uint64_t)st.st_size;
	e->mtime = st.st_mtime;
	if (oom) {
		entry_free(e);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	pthread_mutex_lock(&m->mu);
	int rc = HRT_OK;
	if (find(m, nm))
		rc = HRT_ERR(err, HRT_EINVAL,
			     "two models are named '%s'; rename one of the files", nm);
	else
		rc = insert(m, e, err);
	pthread_mutex_unlock(&m->mu);
	if (rc)
		entry_free(e);
	return rc;
}

void hrt_models_set_resolver(struct hrt_models *m, hrt_models_resolve_fn fn,
			     void *ctx)
{
	pthread_mutex_lock(&m->mu);
	m->resolve = fn;
	m->resolve_ctx = ctx;
	pthread_mutex_unlock(&m->mu);
}

void hrt_models_set_policy(struct hrt_models *m, const struct hrt_policy *p)
{
	pthread_mutex_lock(&m->mu);
	m->policy = p;
	pthread_mutex_unlock(&m->mu);
}

const struct hrt_policy *hrt_models_policy(const struct hrt_models *m)
{
	return m->policy; /* set once, before use */
}

static void resolved_free(struct hrt_models_resolved *r)
{
	free(r->path);
	free(r->family);
	free(r->system);
	free(r->params);
	records_free(r->records);
	memset(r, 0, sizeof(*r));
}

/* take over r's strings into e (old ones freed) */
static void entry_take(struct hrt_loaded *e, struct hrt_models_resolved *r,
		       const struct stat *st)
{
	free(e->path);
	free(e->family);
	free(e->system);
	free(e->params);
	records_free(e->records);
	e->path = r->path;
	e->family = r->family;
	e->system = r->system;
	e->params = r->params;
	e->records = r->records;
	memcpy(e->digest, r->digest, sizeof e->digest);
	e->size = (uint64_t)st->st_size;
	e->mtime = st->st_mtime;
	memset(r, 0, sizeof(*r));
}

/* Find name, asking the resolver for names not known yet and again for
 * known resolver names that are not in memory; call with mu held
 * (released around the resolver call). */
static struct hrt_loaded *lookup(struct hrt_models *m, const char *name,
				 struct hrt_err *err)
{
	struct hrt_loaded *e = find(m, name);
	if ((e && (e->from_file || e->st != ST_IDLE)) || !m->resolve)
		goto out;
	hrt_models_resolve_fn fn = m->resolve;
	void *ctx = m->resolve_ctx;
	struct hrt_models_resolved r;
	memset(&r, 0, sizeof r);
	pthread_mutex_unlock(&m->mu);
	struct hrt_err e2;
	int rc = fn(ctx, name, &r, &e2);
	struct stat st;
	if (!rc && (!r.path || stat(r.path, &st)))
		rc = HRT_ENOTFOUND;
	pthread_mutex_lock(&m->mu);
	e = find(m, r.name[0] ? r.name : name);
	if (!e && r.name[0])
		e = find(m, name);
	if (rc) {
		resolved_free(&r);
		if (e && !e->from_file && e->st == ST_IDLE)
			e->gone = true;
		e = e && !e->gone ? e : NULL;
		goto out;
	}
	if (e) {
		if (!e->from_file && e->st == ST_IDLE)
			entry_take(e, &r, &st);
		resolved_free(&r);
		goto out;
	}
	e = calloc(1, sizeof(*e));
	bool oom = !e;
	if (e) {
		e->name = dup_or_null(r.name[0] ? r.name : name, &oom);
		entry_take(e, &r, &st);
	}
	resolved_free(&r);
	if (oom || insert(m, e, err)) {
		entry_free(e);
		e = NULL;
	}
out:
	if (!e)
		HRT_ERR(err, HRT_ENOTFOUND, "model '%s' not found", name);
	return e;
}

static int hash_file(const char *path, char out[80])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char *buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -1;
	}
	size_t k;
	while ((k = fread(buf, 1, 1 << 20, f)) > 0)
		crypto_hash_sha256_update(&st, buf, k);
	int bad = ferror(f);
	fclose(f);
	free(buf);
	if (bad)
		return -1;
	unsigned char h[32];
	crypto_hash_sha256_final(&st, h);
	memcpy(out, "sha256:", 7);
	sodium_bin2hex(out + 7, 65, h, sizeof h);
	return 0;
}

/* compute e's digest if unknown; call without mu (reads the file) */
static void ensure_digest(struct hrt_models *m, struct hrt_loaded *e)
{
	pthread_mutex_lock(&m->mu);
	bool have = e->digest[0] != 0;
	char *path = have ? NULL : hrt_strdup(e->path);
	pthread_mutex_unlock(&m->mu);
	if (have || !path)
		return;
	char d[80];
	if (!hash_file(path, d)) {
		pthread_mutex_lock(&m->mu);
		memcpy(e->digest, d, sizeof d);
		pthread_mutex_unlock(&m->mu);
	}
	free(path);
}

/* "sha256:<64 hex>" into 32 bytes; false if it is not that */
static bool digest_bytes(const char *d, uint8_t out[32])
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return false;
	size_t n = 0;
	return sodium_hex2bin(out, 32, d + 7, 64, NULL, &n, NULL) == 0 && n == 32;
}

/* The policy's word on e before it is loaded (e is LOADING: its fields
 * stay put without the lock). A store model is checked against its own
 * records and the digest the store verified; a -m file is hashed and
 * checked against the records beside it. */
static int admit(const struct hrt_policy *p, const struct hrt_loaded *e, const char *path,
		 char **refusal, struct hrt_err *err)
{
	struct hrt_prov_records none = { 0 };
	struct hrt_policy_ctx ctx = { .n_threads = 0 };
	uint8_t sha[32];
	if (!e->from_file) {
		ctx.records = e->records ? e->records : &none;
		if (digest_bytes(e->digest, sha))
			ctx.known_sha256 = sha;
	}
	struct hrt_prov_report rep;
	int rc = hrt_policy_enforce_ex(path, p, &ctx, &rep, err);
	if (rc && !rep.allowed && refusal) {
		snprintf(rep.model_path, sizeof rep.model_path, "%s", e->name);
		*refusal = hrt_prov_report_json(&rep);
	}
	hrt_prov_report_free(&rep);
	return rc;
}

static uint64_t expiry_of(int64_t keep_ns, uint64_t now)
{
	if (keep_ns < 0)
		return UINT64_MAX;
	return now + (uint64_t)keep_ns;
}

/* Pick an idle loaded entry to evict (least recently used); mu held. */
static struct hrt_loaded *victim(struct hrt_models *m)
{
	struct hrt_loaded *best = NULL;
	for (size_t i = 0; i < m->n; i++) {
		struct hrt_loaded *e = m->v[i];
		if (e->st == ST_LOADED && e->refs == 0 && (!best || e->last_used < best->last_used))
			best = e;
	}
	return best;
}

static size_t count_loaded(struct hrt_models *m)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->st == ST_LOADED || m->v[i]->st == ST_LOADING)
			k++;
	return k;
}

int hrt_models_acquire(struct hrt_models *m, const char *name,
		       int64_t keep_alive_ns, struct hrt_loaded **out,
		       uint64_t *load_ns, char **refusal, struct hrt_err *err)
{
	*out = NULL;
	*load_ns = 0;
	if (refusal)
		*refusal = NULL;
	if (keep_alive_ns == HRT_KEEP_DEFAULT)
		keep_alive_ns = m->o.keep_alive_ns;
	pthread_mutex_lock(&m->mu);
	struct hrt_loaded *e = lookup(m, name, err);
	if (!e) {
		pthread_mutex_unlock(&m->mu);
		return HRT_ENOTFOUND;
	}
	for (;;) {
		if (e->st == ST_LOADED) {
			e->refs++;
			e->keep_ns = keep_alive_ns;
			e->last_used = hrt_now_ns();
			pthread_mutex_unlock(&m->mu);
			*out = e;
			return HRT_OK;
		}
		if (e->st == ST_IDLE)
			break;
		pthread_cond_wait(&m->cv, &m->mu);
	}
	/* load it: make room first */
	while (count_loaded(m) >= (size_t)m->o.max_loaded) {
		struct hrt_loaded *v = victim(m);
		if (!v) {
			pthread_mutex_unlock(&m->mu);
			return HRT_ERR(err, HRT_ERANGE,
				       "%d models are loaded and all are busy; try again later",
				       m->o.max_loaded);
		}
		v->st = ST_UNLOADING;
		pthread_mutex_unlock(&m->mu);
		unload_entry(v);
		pthread_mutex_lock(&m->mu);
		v->st = ST_IDLE;
		pthread_cond_broadcast(&m->cv);
	}
	e->st = ST_LOADING;
	char *path = hrt_strdup(e->path);
	const struct hrt_policy *pol = m->policy;
	pthread_mutex_unlock(&m->mu);
	uint64_t t0 = hrt_now_ns();
	struct hrt_llm *llm = NULL;
	struct hrt_sched *sched = NULL;
	int rc = path ? HRT_OK : HRT_ERR(err, HRT_ENOMEM, "no memory");
	struct hrt_llm_opts lo = { .n_threads = m->o.n_threads, .n_ctx = m->o.n_ctx };
	/* the policy first: a refused file never reaches the GGUF parser */
	if (!rc && pol)
		rc = admit(pol, e, path, refusal, err);
	if (!rc)
		rc = hrt_llm_open(&llm, path, &lo, err);
	if (!rc) {
		struct hrt_sched_opts so = { .n_slots = m->o.n_slots, .n_ctx = 0,
					     .queue_max = m->o.queue_max };
		rc = hrt_sched_new(&sched, llm, &so, err);
	}
	free(path);
	if (rc) {
		hrt_llm_close(llm);
		pthread_mutex_lock(&m->mu);
		e->st = ST_IDLE;
		pthread_cond_broadcast(&m->cv);
		pthread_mutex_unlock(&m->mu);
		return rc;
	}
	ensure_digest(m, e);
	pthread_mutex_lock(&m->mu);
	e->llm = llm;
	e->sched = sched;
	int f = e->family ? hrt_chat_family_from_name(e->family) : -1;
	e->fam = f >= 0 ? (enum hrt_chat_family)f : hrt_llm_chat(llm);
	e->st = ST_LOADED;
	e->refs = 1;
	e->keep_ns = keep_alive_ns;
	e->last_used = hrt_now_ns();
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	*load_ns = hrt_now_ns() - t0;
	*out = e;
	return HRT_OK;
}

void hrt_models_release(struct hrt_models *m, struct hrt_loaded *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&m->mu);
	uint64_t now = hrt_now_ns();
	e->refs--;
	e->last_used = now;
	e->expires = expiry_of(e->keep_ns, now);
	bool now_unload = e->refs == 0 && e->keep_ns == 0 && e->st == ST_LOADED;
	if (now_unload)
		e->st = ST_UNLOADING;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (now_unload) {
		unload_entry(e);
		pthread_mutex_lock(&m->mu);
		e->st = ST_IDLE;
		pthread_cond_broadcast(&m->cv);
		pthread_mutex_unlock(&m->mu);
	}
}

bool hrt_models_exists(struct hrt_models *m, const char *name)
{
	pthread_mutex_lock(&m->mu);
	struct hrt_err e;
	bool ok = lookup(m, name, &e) != NULL;
	pthread_mutex_unlock(&m->mu);
	return ok;
}

bool hrt_models_exists_file(struct hrt_models *m, const char *name)
{
	pthread_mutex_lock(&m->mu);
	struct hrt_loaded *e = find(m, name);
	bool ok = e && e->from_file;
	pthread_mutex_unlock(&m->mu);
	return ok;
}

void hrt_models_unload(struct hrt_models *m, const char *name)
{
	pthread_mutex_lock(&m->mu);
	struct hrt_loaded *e = find(m, name);
	bool go = e && e->st == ST_LOADED && e->refs == 0;
	if (go)
		e->st = ST_UNLOADING;
	pthread_mutex_unlock(&m->mu);
	if (!go)
		return;
	unload_entry(e);
	pthread_mutex_lock(&m->mu);
	e->st = ST_IDLE;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void hrt_models_reap(struct hrt_models *m)
{
	for (;;) {
		pthread_mutex_lock(&m->mu);
		uint64_t now = hrt_now_ns();
		struct hrt_loaded *e = NULL;
		for (size_t i = 0; i < m->n && !e; i++) {
			struct hrt_loaded *c = m->v[i];
			if (c->st == ST_LOADED && c->refs == 0 && c->expires <= now)
				e = c;
		}
		if (e)
			e->st = ST_UNLOADING;
		pthread_mutex_unlock(&m->mu);
		if (!e)
			return;
		unload_entry(e);
		pthread_mutex_lock(&m->mu);
		e->st = ST_IDLE;
		pthread_cond_broadcast(&m->cv);
		pthread_mutex_unlock(&m->mu);
	}
}

static void *reaper_main(void *arg)
{
	struct hrt_models *m = arg;
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&m->stop_cv, &m->mu, &ts);
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->mu);
		hrt_models_reap(m);
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

struct hrt_sched *hrt_loaded_sched(const struct hrt_loaded *h) { return h->sched; }
struct hrt_llm *hrt_loaded_llm(const struct hrt_loaded *h) { return h->llm; }
const char *hrt_loaded_name(const struct hrt_loaded *h) { return h->name; }
const char *hrt_loaded_digest(const struct hrt_loaded *h) { return h->digest; }
enum hrt_chat_family hrt_loaded_family(const struct hrt_loaded *h) { return h->fam; }
const char *hrt_loaded_system(const struct hrt_loaded *h) { return h->system; }
const char *hrt_loaded_params(const struct hrt_loaded *h) { return h->params; }

static void fill_info(const struct hrt_loaded *e, struct hrt_model_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->name = e->name;
	mi->path = e->path;
	mi->size = e->size;
	mi->modified = e->mtime;
	memcpy(mi->digest, e->digest, sizeof mi->digest);
	mi->loaded = e->st == ST_LOADED;
	mi->refs = e->refs;
	mi->family = e->family;
	mi->system = e->system;
	mi->params = e->params;
	mi->from_file = e->from_file;
	if (mi->loaded) {
		hrt_sched_get_stats(e->sched, &mi->stats);
		mi->n_ctx = hrt_sched_n_ctx(e->sched);
		if (e->expires == UINT64_MAX || e->refs > 0) {
			mi->expires_ns = e->refs > 0 && e->keep_ns >= 0 ? 0 : INT64_MAX;
			if (e->refs > 0 && e->keep_ns >= 0) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				mi->expires_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + e->keep_ns;
			}
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t left = (int64_t)(e->expires - HRT_MIN(e->expires, hrt_now_ns()));
			mi->expires_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + left;
		}
	}
}

void hrt_models_each(struct hrt_models *m,
		     void (*fn)(void *ctx, const struct hrt_model_info *mi),
		     void *ctx)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->n;
	pthread_mutex_unlock(&m->mu);
	/* entries are never removed, so indexes below n stay valid */
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&m->mu);
		struct hrt_loaded *e = m->v[i];
		pthread_mutex_unlock(&m->mu);
		ensure_digest(m, e);
	}
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++) {
		struct hrt_model_info mi;
		if (m->v[i]->gone)
			continue;
		fill_info(m->v[i], &mi);
		fn(ctx, &mi);
	}
	pthread_mutex_unlock(&m->mu);
}

size_t hrt_models_n_loaded(struct hrt_models *m)
{
	pthread_mutex_lock(&m->mu);
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++)
		k += m->v[i]->st == ST_LOADED;
	pthread_mutex_unlock(&m->mu);
	return k;
}

uint32_t hrt_models_ctx_for(const struct hrt_models *m, uint32_t n_ctx_train)
{
	if (m->o.n_ctx)
		return m->o.n_ctx;
	return HRT_MIN(n_ctx_train ? n_ctx_train : 4096, 4096u);
}

int hrt_models_info(struct hrt_models *m, const char *name,
		    struct hrt_model_info *out, char *path_buf, size_t path_cap,
		    struct hrt_err *err)
{
	pthread_mutex_lock(&m->mu);
	struct hrt_loaded *e = lookup(m, name, err);
	pthread_mutex_unlock(&m->mu);
	if (!e)
		return HRT_ENOTFOUND;
	ensure_digest(m, e);
	pthread_mutex_lock(&m->mu);
	fill_info(e, out);
	snprintf(path_buf, path_cap, "%s", e->path);
	out->path = path_buf;
	pthread_mutex_unlock(&m->mu);
	return HRT_OK;
}
