/*
 * store/http — the store's HTTP client, a thin layer over libcurl: one
 * request at a time, bodies from memory or a file range, responses into a
 * capped buffer or straight into a blob stage (hashing as bytes arrive and
 * refusing more than the blob may hold), the headers the registry
 * protocol needs, progress, rate limits. Redirects are followed only when
 * the request carries no credentials (registry.c follows the others by
 * hand). https only, unless the caller asked for insecure http.
 * Not here: the registry protocol (registry.c), what to download (pull.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/util.h"
#include "store/store_int.h"

struct st_http {
	CURL *c;
	struct hrt_store_opts *o;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int st_http_new(struct st_http **out, struct hrt_store_opts *o, struct hrt_err *err)
{
	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return HRT_ERR(err, HRT_EIO, "libcurl failed to initialise");
	struct st_http *h = calloc(1, sizeof *h);
	if (!h)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	h->c = curl_easy_init();
	if (!h->c) {
		free(h);
		return HRT_ERR(err, HRT_ENOMEM, "libcurl failed to initialise");
	}
	h->o = o;
	*out = h;
	return HRT_OK;
}

void st_http_free(struct st_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->c);
	free(h);
}

void st_resp_free(struct st_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

struct xfer {
	struct st_http *h;
	const struct st_req *rq;
	struct st_resp *resp;
	struct hrt_err err;     /* a failure inside a callback */
	int err_rc;
	size_t mem_max;
	bool body_started;
	bool to_stage;
	uint64_t src_pos;       /* request body: bytes sent */
	uint64_t last_ns;
};

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	st_printable(v, n, dst, cap);
}

static bool header_is(const char *b, size_t len, const char *name, const char **val,
		      size_t *vlen)
{
	size_t k = strlen(name);
	if (len <= k || strncasecmp(b, name, k) != 0 || b[k] != ':')
		return false;
	*val = b + k + 1;
	*vlen = len - k - 1;
	return true;
}

static uint64_t parse_u64(const char *v, size_t n)
{
	char tmp[32];
	copy_value(tmp, sizeof tmp, v, n);
	char *end;
	errno = 0;
	unsigned long long x = strtoull(tmp, &end, 10);
	if (errno || end == tmp || *end || tmp[0] == '-')
		return UINT64_MAX;
	return (uint64_t)x;
}

static size_t on_header(char *b, size_t sz, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	struct st_resp *r = x->resp;
	size_t len = sz * n;
	const char *v;
	size_t vl;
	if (len >= 5 && !strncmp(b, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100): forget the last
		 * one's headers, but keep what the hub said about the file */
		const char *sp = memchr(b, ' ', len);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->location[0] = r->www_auth[0] = r->content_type[0] = 0;
		r->docker_digest[0] = r->content_range[0] = r->range[0] = 0;
		r->content_length = UINT64_MAX;
	} else if (header_is(b, len, "location", &v, &vl)) {
		copy_value(r->location, sizeof r->location, v, vl);
	} else if (header_is(b, len, "www-authenticate", &v, &vl)) {
		if (!r->www_auth[0])
			copy_value(r->www_auth, sizeof r->www_auth, v, vl);
	} else if (header_is(b, len, "content-type", &v, &vl)) {
		copy_value(r->content_type, sizeof r->content_type, v, vl);
	} else if (header_is(b, len, "docker-content-digest", &v, &vl)) {
		copy_value(r->docker_digest, sizeof r->docker_digest, v, vl);
	} else if (header_is(b, len, "content-range", &v, &vl)) {
		copy_value(r->content_range, sizeof r->content_range, v, vl);
	} else if (header_is(b, len, "range", &v, &vl)) {
		copy_value(r->range, sizeof r->range, v, vl);
	} else if (header_is(b, len, "content-length", &v, &vl)) {
		r->content_length = parse_u64(v, vl);
	} else if (header_is(b, len, "x-linked-etag", &v, &vl)) {
		char tmp[80];
		copy_value(tmp, sizeof tmp, v, vl);
		char *p = tmp;
		if (*p == '"')
			p++;
		size_t k = strlen(p);
		if (k && p[k - 1] == '"')
			p[--k] = 0;
		snprintf(r->linked_etag, sizeof r->linked_etag, "%s", p);
	} else if (header_is(b, len, "x-linked-size", &v, &vl)) {
		r->linked_size = parse_u64(v, vl);
	}
	return len;
}

static size_t fail_cb(struct xfer *x, int rc)
{
	x->err_rc = rc;
	return 0; /* curl stops with CURLE_WRITE_ERROR */
}

/* "bytes A-B/T", T may be "*" */
static bool parse_content_range(const char *s, uint64_t *a, uint64_t *total)
{
	unsigned long long A, B;
	char t[32];
	if (sscanf(s, "bytes %llu-%llu/%31s", &A, &B, t) != 3)
		return false;
	*a = A;
	*total = strcmp(t, "*") ? strtoull(t, NULL, 10) : UINT64_MAX;
	return B >= A;
}

static int body_start(struct xfer *x)
{
	struct st_resp *r = x->resp;
	struct st_sink *sk = x->rq->sink;
	x->body_started = true;
	if (!sk || !sk->stage || r->status < 200 || r->status > 299) {
		x->to_stage = false;
		return HRT_OK;
	}
	struct st_stage *st = sk->stage;
	x->to_stage = true;
	uint64_t size = st->size;
	if (r->status == 206) {
		uint64_t a, total;
		if (!parse_content_range(r->content_range, &a, &total) || a != st->have ||
		    (total != UINT64_MAX && size != UINT64_MAX && total != size))
			return HRT_ERR(&x->err, HRT_EFORMAT,
				       "the server resumed blob sha256:%.12s at the wrong place (Content-Range '%s', have %" PRIu64 " of %" PRIu64 ")",
				       st->digest.hex, r->content_range, st->have, size);
		if (r->content_length != UINT64_MAX && size != UINT64_MAX &&
		    r->content_length != size - st->have)
			return HRT_ERR(&x->err, HRT_EFORMAT,
				       "the server announced %" PRIu64 " bytes for the rest of blob sha256:%.12s, which has %" PRIu64 " left; refused",
				       r->content_length, st->digest.hex, size - st->have);
		return HRT_OK;
	}
	if (st->have) { /* the range was ignored: start over */
		int rc = st_stage_reset(st, &x->err);
		if (rc)
			return rc;
	}
	if (r->content_length != UINT64_MAX && size != UINT64_MAX && r->content_length != size)
		return HRT_ERR(&x->err, HRT_EFORMAT,
			       "the server announced %" PRIu64 " bytes for blob sha256:%.12s, whose manifest says %" PRIu64 "; refused",
			       r->content_length, st->digest.hex, size);
	return HRT_OK;
}

static size_t on_data(char *b, size_t sz, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = sz * n;
	int rc;
	if (!x->body_started && (rc = body_start(x)))
		return fail_cb(x, rc);
	if (x->to_stage) {
		if ((rc = st_stage_write(x->rq->sink->stage, b, len, &x->err)))
			return fail_cb(x, rc);
		return len;
	}
	struct st_resp *r = x->resp;
	if (r->body_len + len > x->mem_max)
		return fail_cb(x, HRT_ERR(&x->err, HRT_ERANGE,
					  "the server sent more than %zu bytes where a small document was expected",
					  x->mem_max));
	char *nb = realloc(r->body, r->body_len + len + 1);
	if (!nb)
		return fail_cb(x, HRT_ERR(&x->err, HRT_ENOMEM, "no memory"));
	memcpy(nb + r->body_len, b, len);
	r->body = nb;
	r->body_len += len;
	nb[r->body_len] = 0;
	return len;
}

static size_t on_read(char *b, size_t sz, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	const struct st_source *src = x->rq->body;
	size_t want = sz * n;
	if (!src || x->src_pos >= src->len)
		return 0;
	if (want > src->len - x->src_pos)
		want = (size_t)(src->len - x->src_pos);
	if (src->mem) {
		memcpy(b, (const char *)src->mem + src->off + x->src_pos, want);
	} else {
		ssize_t k;
		do
			k = pread(src->fd, b, want, (off_t)(src->off + x->src_pos));
		while (k < 0 && errno == EINTR);
		if (k <= 0) {
			x->err_rc = HRT_ERR(&x->err, HRT_EIO, "reading the blob to send: %s",
					    k < 0 ? strerror(errno) : "short file");
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)k;
	}
	x->src_pos += want;
	return want;
}

static int on_seek(void *ctx, curl_off_t off, int origin)
{
	struct xfer *x = ctx;
	if (origin != SEEK_SET || off < 0 || !x->rq->body || (uint64_t)off > x->rq->body->len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->src_pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = ctx;
	const struct st_req *rq = x->rq;
	(void)dltotal;
	(void)ultotal;
	if (!rq->progress_status)
		return 0;
	uint64_t now = hrt_now_ns();
	if (now - x->last_ns < 200000000ull)
		return 0;
	x->last_ns = now;
	uint64_t done = rq->progress_base + (uint64_t)(ulnow > 0 ? ulnow : dlnow);
	if (rq->sink && rq->sink->stage)
		done = rq->sink->stage->have;
	if (st_progress(x->h->o, rq->progress_status, rq->progress_digest, rq->progress_total,
			done, &x->err)) {
		x->err_rc = HRT_ECANCELED;
		return 1;
	}
	return 0;
}

int st_http_do(struct st_http *h, const struct st_req *rq, struct st_resp *resp,
	       struct hrt_err *err)
{
	CURL *c = h->c;
	struct hrt_store_opts *o = h->o;
	struct xfer x = { .h = h, .rq = rq, .resp = resp };
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", range[64], auth[8300];
	bool insecure = o && o->insecure;
	st_resp_free(resp);
	memset(resp, 0, sizeof *resp);
	resp->content_length = resp->linked_size = UINT64_MAX;
	x.mem_max = rq->sink && rq->sink->max_mem ? rq->sink->max_mem : 65536;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, insecure ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, insecure ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hearth/0.1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	long low = 1024;
	if (o && o->limit_rate && o->limit_rate < 2048)
		low = (long)(o->limit_rate / 2 + 1);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, low);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	if (o && o->limit_rate) {
		curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)o->limit_rate);
		curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)o->limit_rate);
	}
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, rq->follow && !rq->bearer && !rq->basic ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);

	uint64_t blen = rq->body ? rq->body->len : 0;
	const char *m = rq->method;
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		struct st_sink *sk = rq->sink;
		if (sk && sk->stage && sk->stage->have) {
			snprintf(range, sizeof range, "%" PRIu64 "-", sk->stage->have);
			curl_easy_setopt(c, CURLOPT_RANGE, range);
		}
	} else if (!strcmp(m, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
		if (blen == 0)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	} else if (!strcmp(m, "PUT") || !strcmp(m, "PATCH")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
		if (!strcmp(m, "PATCH"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
	} else {
		return HRT_ERR(err, HRT_EINVAL, "unknown HTTP method %s", m);
	}
	if (blen || !strcmp(m, "PUT") || !strcmp(m, "PATCH")) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (const char *const *hp = rq->headers; hp && *hp; hp++)
		hdrs = curl_slist_append(hdrs, *hp);
	if (rq->bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", rq->bearer);
		hdrs = curl_slist_append(hdrs, auth);
	} else if (rq->basic) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, rq->basic);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	CURLcode cr = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code)
		resp->status = code;
	/* a body-less success still has to pass the checks (a HEAD, an empty
	 * blob) */
	if (cr == CURLE_OK && !x.body_started && rq->sink && rq->sink->stage &&
	    strcmp(m, "HEAD") != 0) {
		int rc = body_start(&x);
		if (rc) {
			curl_slist_free_all(hdrs);
			if (err)
				*err = x.err;
			return rc;
		}
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (cr == CURLE_OK)
		return HRT_OK;
	if (x.err_rc) {
		if (err)
			*err = x.err;
		return x.err_rc;
	}
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cr);
	if (cr == CURLE_COULDNT_RESOLVE_HOST || cr == CURLE_COULDNT_CONNECT ||
	    cr == CURLE_COULDNT_RESOLVE_PROXY) {
		if (o)
			o->unreachable = true;
		return HRT_ERR(err, HRT_EIO, "cannot reach %s: %s", rq->url, why);
	}
	if (cr == CURLE_UNSUPPORTED_PROTOCOL)
		return HRT_ERR(err, HRT_EINVAL, "%s: %s (plain http needs --insecure)", rq->url, why);
	return HRT_ERR(err, HRT_EIO, "%s %s: %s", m, rq->url, why);
}

int st_url_origin(const char *url, char *origin, size_t ocap, char *host,
		  size_t hcap, struct hrt_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *hn = NULL, *port = NULL;
	int rc = HRT_OK;
	if (!u)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &hn, 0) != CURLUE_OK) {
		char shown[200];
		st_printable(url, strlen(url), shown, sizeof shown);
		rc = HRT_ERR(err, HRT_EINVAL, "'%s' is not a URL", shown);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	for (char *p = hn; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (host && st_pathf(host, hcap, err, "%s%s%s", hn, port ? ":" : "", port ? port : ""))
		rc = HRT_ERANGE;
	if (!rc && origin &&
	    st_pathf(origin, ocap, err, "%s://%s%s%s", scheme, hn, port ? ":" : "", port ? port : ""))
		rc = HRT_ERANGE;
out:
	curl_free(scheme);
	curl_free(hn);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int st_url_resolve(const char *base, const char *loc, char *out, size_t cap,
		   struct hrt_err *err)
{
	CURLU *u = curl_url();
	char *full = NULL;
	int rc = HRT_OK;
	if (!u)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, loc, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		char shown[200];
		st_printable(loc, strlen(loc), shown, sizeof shown);
		rc = HRT_ERR(err, HRT_EFORMAT, "the server sent a bad Location '%s'", shown);
	} else if (st_pathf(out, cap, err, "%s", full)) {
		rc = HRT_ERANGE;
	}
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}
