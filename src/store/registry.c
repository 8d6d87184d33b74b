/*
 * store/registry — an OCI Distribution client (distribution-spec v1.1
 * spec.md): manifests by tag, blobs by digest (HEAD to skip what is there,
 * GET with Range to resume), uploads (POST a session, then one monolithic
 * PUT ?digest= or PATCH chunks with Content-Range and a closing PUT), and
 * the two ways registries ask who we are:
 *   - Basic: user:pass from the caller, $HEARTH_REGISTRY_AUTH, or
 *     $HEARTH_HOME/auth.json ({"auths": {"host:port": {"auth": base64 of
 *     "user:pass"}}} or {"username": ..., "password": ...});
 *   - Bearer: the WWW-Authenticate challenge names a realm; we ask it for a
 *     token (service, scope=repository:NS/MODEL:pull[,push]) and keep it
 *     for this registry. Our credentials go to the realm only when the
 *     realm is on the registry's own host; the token goes only to the
 *     registry's own origin, never to a redirect target elsewhere.
 * Plain http only with insecure; credentials never cross hosts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "core/util.h"
#include "store/store_int.h"

struct st_reg {
	struct hrt_store_opts *o;
	struct st_http *h;
	char origin[300];   /* scheme://host[:port] */
	char host[300];     /* host[:port] */
	char repo[300];     /* ns/model */
	bool push;
	char *token;        /* bearer token for this registry */
	char basic[520];    /* "user:pass", "" if none known */
	bool use_basic;     /* the registry asked for it */
	bool tried_token;
};

/* ---- the challenge ---- */

int st_challenge_parse(const char *hdr, struct st_challenge *c, struct hrt_err *err)
{
	memset(c, 0, sizeof *c);
	const char *p = hdr;
	while (*p == ' ')
		p++;
	size_t sl = strcspn(p, " ");
	if (sl == 0 || sl >= sizeof c->scheme)
		return HRT_ERR(err, HRT_EFORMAT, "empty or odd WWW-Authenticate challenge");
	memcpy(c->scheme, p, sl);
	p += sl;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *k = p;
		while (*p && *p != '=' && *p != ' ' && *p != ',')
			p++;
		size_t kl = (size_t)(p - k);
		if (*p != '=')
			return HRT_ERR(err, HRT_EFORMAT, "WWW-Authenticate: a parameter without '='");
		p++;
		char val[1024];
		size_t vl = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (vl + 1 >= sizeof val)
					return HRT_ERR(err, HRT_EFORMAT, "WWW-Authenticate: a value is too long");
				val[vl++] = *p++;
			}
			if (*p != '"')
				return HRT_ERR(err, HRT_EFORMAT, "WWW-Authenticate: an unclosed quote");
			p++;
		} else {
			while (*p && *p != ',' && *p != ' ') {
				if (vl + 1 >= sizeof val)
					return HRT_ERR(err, HRT_EFORMAT, "WWW-Authenticate: a value is too long");
				val[vl++] = *p++;
			}
		}
		val[vl] = 0;
		char *dst = NULL;
		size_t cap = 0;
		if (kl == 5 && !strncasecmp(k, "realm", 5))
			dst = c->realm, cap = sizeof c->realm;
		else if (kl == 7 && !strncasecmp(k, "service", 7))
			dst = c->service, cap = sizeof c->service;
		else if (kl == 5 && !strncasecmp(k, "scope", 5))
			dst = c->scope, cap = sizeof c->scope;
		if (dst) {
			if (vl >= cap)
				return HRT_ERR(err, HRT_EFORMAT, "WWW-Authenticate: a value is too long");
			memcpy(dst, val, vl + 1);
		}
	}
	return HRT_OK;
}

/* ---- credentials ---- */

static int creds_from_auth_json(const char *home, const char *host, char *out,
				size_t cap)
{
	char p[ST_PATH], *buf;
	size_t len;
	if (st_pathf(p, sizeof p, NULL, "%s/auth.json", home) ||
	    st_read_file(p, 1 << 20, false, &buf, &len, NULL))
		return -1;
	int rc = -1;
	cJSON *j = cJSON_ParseWithLength(buf, len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "auths"),
							  host);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "auth");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "username");
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(e, "password");
	if (cJSON_IsString(a) && a->valuestring) {
		size_t bl = 0;
		if (sodium_base642bin((unsigned char *)out, cap - 1, a->valuestring,
				      strlen(a->valuestring), NULL, &bl, NULL,
				      sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    memchr(out, ':', bl) && !memchr(out, 0, bl)) {
			out[bl] = 0;
			rc = 0;
		}
	} else if (cJSON_IsString(u) && cJSON_IsString(pw) &&
		   strlen(u->valuestring) + strlen(pw->valuestring) + 2 <= cap) {
		snprintf(out, cap, "%s:%s", u->valuestring, pw->valuestring);
		rc = 0;
	}
	cJSON_Delete(j);
	free(buf);
	return rc;
}

int st_reg_open(struct st_reg **out, const struct hrt_store *s,
		const struct hrt_name *n, bool push, struct hrt_store_opts *o,
		struct hrt_err *err)
{
	*out = NULL;
	struct st_reg *r = calloc(1, sizeof *r);
	if (!r)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	r->o = o;
	r->push = push;
	snprintf(r->host, sizeof r->host, "%s", n->host);
	snprintf(r->origin, sizeof r->origin, "%s://%s", o && o->insecure ? "http" : "https", n->host);
	snprintf(r->repo, sizeof r->repo, "%s/%s", n->ns, n->model);
	const char *env = getenv("HEARTH_REGISTRY_AUTH");
	const char *a = o && o->auth ? o->auth : env && *env ? env : NULL;
	if (a) {
		if (!strchr(a, ':') || strlen(a) >= sizeof r->basic) {
			free(r);
			return HRT_ERR(err, HRT_EINVAL, "registry credentials must read user:password");
		}
		snprintf(r->basic, sizeof r->basic, "%s", a);
	} else if (creds_from_auth_json(s->home, r->host, r->basic, sizeof r->basic) != 0) {
		r->basic[0] = 0;
	}
	int rc = st_http_new(&r->h, o, err);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return HRT_OK;
}

void st_reg_close(struct st_reg *r)
{
	if (!r)
		return;
	st_http_free(r->h);
	if (r->token)
		sodium_memzero(r->token, strlen(r->token));
	free(r->token);
	sodium_memzero(r->basic, sizeof r->basic);
	free(r);
}

/* the first error a registry put in its JSON body, for messages */
static void reg_why(const struct st_resp *resp, char *out, size_t cap)
{
	out[0] = 0;
	if (!resp->body || !resp->body_len)
		return;
	cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	char a[64] = "", b[200] = "";
	if (cJSON_IsString(c))
		st_printable(c->valuestring, strlen(c->valuestring), a, sizeof a);
	if (cJSON_IsString(m))
		st_printable(m->valuestring, strlen(m->valuestring), b, sizeof b);
	if (a[0] || b[0])
		snprintf(out, cap, ": %s %s", a, b);
	cJSON_Delete(j);
}

static int get_token(struct st_reg *r, const struct st_challenge *c, struct hrt_err *err)
{
	char rorigin[300], rhost[300], url[4096];
	int rc = st_url_origin(c->realm, rorigin, sizeof rorigin, rhost, sizeof rhost, err);
	if (rc) {
		st_err_prefix(err, "token realm");
		return HRT_EFORMAT;
	}
	if (strncmp(c->realm, "https://", 8) != 0 && !(r->o && r->o->insecure))
		return HRT_ERR(err, HRT_EFORMAT, "the registry names a token realm that is not https; refused");
	CURL *e = curl_easy_init();
	if (!e)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	char scope[700];
	snprintf(scope, sizeof scope, "repository:%s:%s", r->repo, r->push ? "pull,push" : "pull");
	char *es = curl_easy_escape(e, c->service, 0), *ec = curl_easy_escape(e, scope, 0);
	rc = st_pathf(url, sizeof url, err, "%s%sservice=%s&scope=%s", c->realm,
		      strchr(c->realm, '?') ? "&" : "?", es ? es : "", ec ? ec : "");
	curl_free(es);
	curl_free(ec);
	curl_easy_cleanup(e);
	if (rc)
		return rc;
	/* our credentials go to the realm only on the registry's own host */
	bool same = !strcmp(rhost, r->host);
	struct st_sink sk = { .max_mem = 65536 };
	struct st_req rq = { .method = "GET", .url = url, .sink = &sk,
			     .basic = same && r->basic[0] ? r->basic : NULL };
	struct st_resp resp = { 0 };
	if ((rc = st_http_do(r->h, &rq, &resp, err)))
		goto out;
	if (resp.status != 200) {
		rc = HRT_ERR(err, resp.status == 401 || resp.status == 403 ? HRT_EINVAL : HRT_EIO,
			     "token request to %s: HTTP %ld%s", rorigin, resp.status,
			     same || !r->basic[0] ? "" : " (credentials are only sent to a realm on the registry's own host)");
		goto out;
	}
	cJSON *j = cJSON_ParseWithLength(resp.body ? resp.body : "", resp.body_len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (!cJSON_IsString(t))
		t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	if (!cJSON_IsString(t) || !t->valuestring || !*t->valuestring ||
	    strlen(t->valuestring) > 8000 || strcspn(t->valuestring, "\r\n ") != strlen(t->valuestring)) {
		cJSON_Delete(j);
		rc = HRT_ERR(err, HRT_EFORMAT, "the token realm %s sent no usable token", rorigin);
		goto out;
	}
	free(r->token);
	r->token = hrt_strdup(t->valuestring);
	cJSON_Delete(j);
	if (!r->token)
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
out:
	st_resp_free(&resp);
	return rc;
}

/* One request to the registry's origin, answering one auth challenge. */
static int reg_do(struct st_reg *r, struct st_req *rq, struct st_resp *resp,
		  struct hrt_err *err)
{
	for (int attempt = 0;; attempt++) {
		rq->bearer = r->token;
		rq->basic = !r->token && r->use_basic ? r->basic : NULL;
		int rc = st_http_do(r->h, rq, resp, err);
		if (rc)
			return rc;
		if (resp->status != 401 || attempt > 0)
			return HRT_OK;
		struct st_challenge c;
		if (!resp->www_auth[0] || st_challenge_parse(resp->www_auth, &c, err))
			return HRT_ERR(err, HRT_EINVAL, "%s asks for authentication but says not how",
				       r->origin);
		if (!strcasecmp(c.scheme, "Bearer")) {
			if (r->tried_token && r->token)
				return HRT_OK; /* the token we have was refused */
			r->tried_token = true;
			if ((rc = get_token(r, &c, err)))
				return rc;
		} else if (!strcasecmp(c.scheme, "Basic")) {
			if (!r->basic[0])
				return HRT_ERR(err, HRT_EINVAL,
					       "%s wants a user name and password: set HEARTH_REGISTRY_AUTH=user:password "
					       "or add it to auth.json in the hearth home folder", r->origin);
			if (r->use_basic)
				return HRT_OK;
			r->use_basic = true;
		} else {
			return HRT_ERR(err, HRT_ENOTSUP, "%s asks for %s authentication, which hearth does not speak",
				       r->origin, c.scheme);
		}
	}
}

static int status_err(const struct st_reg *r, const struct st_resp *resp, const char *what,
		      struct hrt_err *err)
{
	char why[300];
	reg_why(resp, why, sizeof why);
	int code = resp->status == 404 ? HRT_ENOTFOUND
		 : resp->status == 401 || resp->status == 403 ? HRT_EINVAL
		 : HRT_EIO;
	if (resp->status == 401 || resp->status == 403)
		return HRT_ERR(err, code, "%s %s: HTTP %ld%s: the registry refused %s", r->host, what,
			       resp->status, why,
			       r->basic[0] ? "the credentials given" : "access without credentials");
	return HRT_ERR(err, code, "%s %s: HTTP %ld%s", r->host, what, resp->status, why);
}

int st_reg_get_manifest(struct st_reg *r, const char *ref, char **out, size_t *len,
			struct hrt_err *err)
{
	char url[1024];
	static const char *const hdrs[] = {
		"Accept: " HRT_MT_OCI_MANIFEST ", " HRT_MT_OCI_INDEX
		", application/vnd.docker.distribution.manifest.v2+json",
		NULL
	};
	int rc = st_pathf(url, sizeof url, err, "%s/v2/%s/manifests/%s", r->origin, r->repo, ref);
	if (rc)
		return rc;
	struct st_sink sk = { .max_mem = HRT_STORE_MANIFEST_MAX };
	struct st_req rq = { .method = "GET", .url = url, .headers = hdrs, .sink = &sk };
	struct st_resp resp = { 0 };
	if ((rc = reg_do(r, &rq, &resp, err)))
		goto out;
	if (resp.status != 200) {
		char what[400];
		snprintf(what, sizeof what, "manifest %s:%s", r->repo, ref);
		rc = status_err(r, &resp, what, err);
		goto out;
	}
	if (!resp.body || !resp.body_len) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s sent an empty manifest", r->host);
		goto out;
	}
	if (resp.docker_digest[0]) {
		struct hrt_digest said, got;
		hrt_digest_of(resp.body, resp.body_len, &got);
		if (hrt_digest_parse(resp.docker_digest, strlen(resp.docker_digest), &said, NULL) ||
		    strcmp(said.hex, got.hex) != 0) {
			rc = HRT_ERR(err, HRT_EFORMAT,
				     "%s says the manifest is %s but its bytes hash to sha256:%s; refused",
				     r->host, resp.docker_digest, got.hex);
			goto out;
		}
	}
	*out = resp.body;
	*len = resp.body_len;
	resp.body = NULL;
out:
	st_resp_free(&resp);
	return rc;
}

int st_reg_put_manifest(struct st_reg *r, const char *ref, const char *buf,
			size_t len, struct hrt_err *err)
{
	char url[1024];
	static const char *const hdrs[] = { "Content-Type: " HRT_MT_OCI_MANIFEST, NULL };
	int rc = st_pathf(url, sizeof url, err, "%s/v2/%s/manifests/%s", r->origin, r->repo, ref);
	if (rc)
		return rc;
	struct st_source src = { .mem = buf, .fd = -1, .len = len };
	struct st_sink sk = { .max_mem = 65536 };
	struct st_req rq = { .method = "PUT", .url = url, .headers = hdrs, .body = &src, .sink = &sk };
	struct st_resp resp = { 0 };
	if ((rc = reg_do(r, &rq, &resp, err)))
		goto out;
	if (resp.status != 201 && resp.status != 200)
		rc = status_err(r, &resp, "manifest upload", err);
out:
	st_resp_free(&resp);
	return rc;
}

int st_reg_blob_exists(struct st_reg *r, const struct hrt_digest *d, uint64_t size,
		       struct hrt_err *err)
{
	char url[1024];
	int rc = st_pathf(url, sizeof url, err, "%s/v2/%s/blobs/sha256:%s", r->origin, r->repo, d->hex);
	if (rc)
		return -rc;
	struct st_req rq = { .method = "HEAD", .url = url };
	struct st_resp resp = { 0 };
	if ((rc = reg_do(r, &rq, &resp, err))) {
		st_resp_free(&resp);
		return -rc;
	}
	int have = 0;
	if (resp.status == 200)
		have = resp.content_length == UINT64_MAX || resp.content_length == size;
	else if (resp.status >= 300 && resp.status < 400)
		have = 1;
	else if (resp.status != 404)
		have = -status_err(r, &resp, "blob check", err);
	st_resp_free(&resp);
	return have;
}

int st_reg_blob_get(struct st_reg *r, struct st_stage *st, struct hrt_err *err)
{
	char url[4096];
	int rc = st_pathf(url, sizeof url, err, "%s/v2/%s/blobs/sha256:%s", r->origin, r->repo,
			  st->digest.hex);
	if (rc)
		return rc;
	bool other_host = false;
	for (int hop = 0; hop < 10; hop++) {
		struct st_sink sk = { .max_mem = 65536, .stage = st };
		struct st_req rq = { .method = "GET", .url = url, .sink = &sk,
				     .progress_status = "pulling", .progress_digest = &st->digest,
				     .progress_total = st->size };
		struct st_resp resp = { 0 };
		if (other_host) {
			/* a storage host the registry sent us to: no credentials */
			rq.follow = true;
			rc = st_http_do(r->h, &rq, &resp, err);
		} else {
			rc = reg_do(r, &rq, &resp, err);
		}
		if (rc) {
			st_resp_free(&resp);
			return rc;
		}
		if (resp.status >= 300 && resp.status < 400 && resp.location[0] && !other_host) {
			char next[4096], origin[300];
			rc = st_url_resolve(url, resp.location, next, sizeof next, err);
			if (!rc)
				rc = st_url_origin(next, origin, sizeof origin, NULL, 0, err);
			st_resp_free(&resp);
			if (rc)
				return rc;
			if (strncmp(next, "https://", 8) != 0 && !(r->o && r->o->insecure))
				return HRT_ERR(err, HRT_EFORMAT, "the registry redirected a blob to plain http; refused");
			other_host = strcmp(origin, r->origin) != 0;
			snprintf(url, sizeof url, "%s", next);
			continue;
		}
		if (resp.status == 416 && st->have) {
			st_resp_free(&resp);
			if ((rc = st_stage_reset(st, err)))
				return rc;
			continue;
		}
		if (resp.status != 200 && resp.status != 206) {
			char what[120];
			snprintf(what, sizeof what, "blob sha256:%.12s", st->digest.hex);
			rc = status_err(r, &resp, what, err);
		}
		st_resp_free(&resp);
		return rc;
	}
	return HRT_ERR(err, HRT_EIO, "too many redirects for blob sha256:%.12s", st->digest.hex);
}

/* the upload session URL must stay on the registry's origin */
static int upload_location(struct st_reg *r, const char *base, const struct st_resp *resp,
			   char *out, size_t cap, struct hrt_err *err)
{
	char origin[300];
	if (!resp->location[0])
		return HRT_ERR(err, HRT_EFORMAT, "%s started an upload without a Location", r->host);
	int rc = st_url_resolve(base, resp->location, out, cap, err);
	if (!rc)
		rc = st_url_origin(out, origin, sizeof origin, NULL, 0, err);
	if (!rc && strcmp(origin, r->origin) != 0)
		rc = HRT_ERR(err, HRT_EFORMAT, "%s sent the upload to another host (%s); refused", r->host,
			     origin);
	return rc;
}

int st_reg_blob_put(struct st_reg *r, int fd, const struct hrt_digest *d,
		    uint64_t size, struct hrt_err *err)
{
	char url[4096], loc[4096];
	const char *env = getenv("HEARTH_UPLOAD_CHUNK");
	uint64_t chunk = r->o && r->o->chunk ? r->o->chunk
		       : env && *env ? strtoull(env, NULL, 10) : (uint64_t)64 << 20;
	if (chunk < 4096)
		chunk = 4096;
	int rc = st_pathf(url, sizeof url, err, "%s/v2/%s/blobs/uploads/", r->origin, r->repo);
	if (rc)
		return rc;
	struct st_sink sk = { .max_mem = 65536 };
	struct st_req rq = { .method = "POST", .url = url, .sink = &sk };
	struct st_resp resp = { 0 };
	if ((rc = reg_do(r, &rq, &resp, err)))
		goto out;
	if (resp.status != 202) {
		rc = status_err(r, &resp, "upload start", err);
		goto out;
	}
	if ((rc = upload_location(r, url, &resp, loc, sizeof loc, err)))
		goto out;
	static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };
	uint64_t off = 0;
	if (size > chunk) {
		while (off < size) {
			uint64_t n = HRT_MIN(chunk, size - off);
			char cr[96];
			snprintf(cr, sizeof cr, "Content-Range: %" PRIu64 "-%" PRIu64, off, off + n - 1);
			const char *const hdrs[] = { octet[0], cr, NULL };
			struct st_source src = { .fd = fd, .off = off, .len = n };
			struct st_req pq = { .method = "PATCH", .url = loc, .headers = hdrs, .body = &src,
					     .sink = &sk, .progress_status = "pushing",
					     .progress_digest = d, .progress_base = off,
					     .progress_total = size };
			if ((rc = reg_do(r, &pq, &resp, err)))
				goto out;
			if (resp.status != 202) {
				rc = status_err(r, &resp, "upload chunk", err);
				goto out;
			}
			char next[4096];
			if ((rc = upload_location(r, loc, &resp, next, sizeof next, err)))
				goto out;
			snprintf(loc, sizeof loc, "%s", next);
			off += n;
			if (st_progress(r->o, "pushing", d, size, off, err)) {
				rc = HRT_ECANCELED;
				goto out;
			}
		}
	}
	/* close the session: the whole blob (monolithic) or nothing more */
	char put[4200];
	if ((rc = st_pathf(put, sizeof put, err, "%s%sdigest=sha256%%3A%s", loc,
			   strchr(loc, '?') ? "&" : "?", d->hex)))
		goto out;
	struct st_source src = { .fd = fd, .off = 0, .len = off == size && size > chunk ? 0 : size };
	struct st_req uq = { .method = "PUT", .url = put, .headers = octet, .body = &src, .sink = &sk,
			     .progress_status = src.len ? "pushing" : NULL, .progress_digest = d,
			     .progress_total = size };
	if ((rc = reg_do(r, &uq, &resp, err)))
		goto out;
	if (resp.status != 201) {
		rc = status_err(r, &resp, "upload", err);
		goto out;
	}
	if (resp.docker_digest[0]) {
		struct hrt_digest got;
		if (hrt_digest_parse(resp.docker_digest, strlen(resp.docker_digest), &got, NULL) ||
		    strcmp(got.hex, d->hex) != 0)
			rc = HRT_ERR(err, HRT_EFORMAT, "%s stored the blob as %s, not sha256:%s", r->host,
				     resp.docker_digest, d->hex);
	}
out:
	st_resp_free(&resp);
	return rc;
}
