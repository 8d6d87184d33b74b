/*
 * cli/fetch — the first-run download: a small catalog of open models and an
 * HTTPS fetch (libcurl) with a progress bar, resume of a partial file, and
 * a SHA-256 check (libsodium) against the pinned digest or, where none is
 * pinned, the digest the hub announces for the file (X-Linked-Etag) — the
 * file is only renamed into place after the check. Offline, it says so and
 * how to use a file already on the machine. `hearth pull NAME|URL` uses it.
 * Registries and the content-addressed store are the store's business.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"

static const struct cli_catalog_entry catalog[] = {
	{ "granite3.3:2b", "granite-3.3-2b-instruct-Q4_K_M.gguf",
	  "https://huggingface.co/ibm-granite/granite-3.3-2b-instruct-GGUF/resolve/main/granite-3.3-2b-instruct-Q4_K_M.gguf",
	  NULL, "IBM Granite 3.3 2B Instruct, Q4_K_M, Apache-2.0, about 1.5 GB" },
	{ "stories260k", "stories260K.gguf",
	  "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf",
	  "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
	  "a 260K-parameter Llama that writes children's stories, MIT, 1.2 MB" },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_catalog_entry *cli_catalog(void)
{
	return catalog;
}

const char *cli_default_model(void)
{
	const char *e = getenv("HEARTH_DEFAULT_MODEL");
	return e && *e ? e : catalog[0].name;
}

struct dl {
	FILE *f;
	crypto_hash_sha256_state sha;
	char announced[65];
	uint64_t have;      /* bytes already on disk when this transfer began */
	bool tty;
	int last_pct;
	uint64_t t0;
	CURL *curl;
	bool started;
};

static size_t on_header(char *b, size_t sz, size_t n, void *ctx)
{
	struct dl *d = ctx;
	size_t len = sz * n;
	static const char key[] = "x-linked-etag:";
	if (len > sizeof key && !strncasecmp(b, key, sizeof key - 1)) {
		const char *p = b + sizeof key - 1;
		const char *end = b + len;
		while (p < end && (*p == ' ' || *p == '"'))
			p++;
		size_t k = 0;
		char hex[65];
		while (p < end && k < 64 && strchr("0123456789abcdef", *p) && *p)
			hex[k++] = *p++;
		if (k == 64) {
			memcpy(d->announced, hex, 64);
			d->announced[64] = 0;
		}
	}
	return len;
}

static size_t on_data(char *b, size_t sz, size_t n, void *ctx)
{
	struct dl *d = ctx;
	size_t len = sz * n;
	if (!d->started) {
		d->started = true;
		long code = 0;
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
		if (d->have && code == 200) {
			/* the server ignored the range: start the file over */
			if (ftruncate(fileno(d->f), 0) || fseek(d->f, 0, SEEK_SET))
				return 0;
			crypto_hash_sha256_init(&d->sha);
			d->have = 0;
		}
	}
	if (fwrite(b, 1, len, d->f) != len)
		return 0;
	crypto_hash_sha256_update(&d->sha, (const unsigned char *)b, len);
	return len;
}

static void human(double b, char *out, size_t cap)
{
	const char *u[] = { "B", "KB", "MB", "GB", "TB" };
	int i = 0;
	while (b >= 1000 && i < 4) {
		b /= 1000;
		i++;
	}
	snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct dl *d = ctx;
	(void)ultotal;
	(void)ulnow;
	if (dltotal <= 0)
		return 0;
	double total = (double)d->have + (double)dltotal;
	double now = (double)d->have + (double)dlnow;
	int pct = (int)(100.0 * now / total);
	if (!d->tty) {
		if (pct / 10 != d->last_pct / 10 || d->last_pct < 0)
			fprintf(stderr, "hearth: downloaded %d%%\n", pct);
		d->last_pct = pct;
		return 0;
	}
	char a[32], t[32], r[32];
	human(now, a, sizeof a);
	human(total, t, sizeof t);
	double secs = (double)(hrt_now_ns() - d->t0) / 1e9;
	human(secs > 0 ? (double)dlnow / secs : 0, r, sizeof r);
	int w = 30, fill = pct * w / 100;
	char bar[64];
	for (int i = 0; i < w; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[w] = 0;
	fprintf(stderr, "\rpulling  [%s] %3d%%  %s / %s  %s/s   ", bar, pct, a, t, r);
	d->last_pct = pct;
	return 0;
}

static int mkdirs(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static int hash_file(const char *path, crypto_hash_sha256_state *st,
		     uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	*size = 0;
	if (!f)
		return 0;
	unsigned char buf[1 << 16];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
		crypto_hash_sha256_update(st, buf, k);
		*size += k;
	}
	int bad = ferror(f);
	fclose(f);
	return bad ? -1 : 0;
}

static int offline_msg(struct hrt_err *err, const char *url, const char *why)
{
	return HRT_ERR(err, HRT_EIO,
		       "cannot download %s: %s. hearth looks offline. To use a model file you already have: "
		       "hearth run /path/to/model.gguf (any llama or granite GGUF, e.g. a Granite or Llama file "
		       "copied from another machine); HEARTH_DEFAULT_MODEL=/path/to/model.gguf makes it the default",
		       url, why);
}

int cli_fetch(const struct cli_catalog_entry *e, const char *dest,
	      struct hrt_err *err)
{
	char dir[4096], part[4200];
	snprintf(dir, sizeof dir, "%s", dest);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (slash && mkdirs(dir))
		return HRT_ERR(err, HRT_EIO, "%s: %s", dir, strerror(errno));
	snprintf(part, sizeof part, "%s.part", dest);
	const char *off = getenv("HEARTH_OFFLINE");
	if (off && *off && strcmp(off, "0"))
		return offline_msg(err, e->url, "HEARTH_OFFLINE is set");
	if (sodium_init() < 0)
		return HRT_ERR(err, HRT_EIO, "libsodium failed to initialise");

	struct dl d = { .tty = isatty(STDERR_FILENO), .last_pct = -1, .t0 = hrt_now_ns() };
	crypto_hash_sha256_init(&d.sha);
	if (hash_file(part, &d.sha, &d.have))
		return HRT_ERR(err, HRT_EIO, "%s: cannot read the partial download", part);
	d.f = fopen(part, "ab");
	if (!d.f)
		return HRT_ERR(err, HRT_EIO, "%s: %s", part, strerror(errno));
	fprintf(stderr, "hearth: pulling %s (%s)%s\n", e->name, e->about,
		d.have ? ", resuming" : "");

	int rc = HRT_OK;
	CURL *c = curl_easy_init();
	if (!c) {
		fclose(d.f);
		return HRT_ERR(err, HRT_ENOMEM, "libcurl failed to initialise");
	}
	d.curl = c;
	char errbuf[CURL_ERROR_SIZE] = "";
	char range[64];
	curl_easy_setopt(c, CURLOPT_URL, e->url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#endif
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hearth/0.1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &d);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	if (d.have) {
		snprintf(range, sizeof range, "%llu-", (unsigned long long)d.have);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	CURLcode cr = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (d.tty && d.last_pct >= 0)
		fputc('\n', stderr);
	if (fflush(d.f) || fsync(fileno(d.f))) {
		fclose(d.f);
		return HRT_ERR(err, HRT_EIO, "%s: %s", part, strerror(errno));
	}
	fclose(d.f);
	if (cr == CURLE_COULDNT_RESOLVE_HOST || cr == CURLE_COULDNT_CONNECT ||
	    cr == CURLE_COULDNT_RESOLVE_PROXY ||
	    (cr == CURLE_OPERATION_TIMEDOUT && !d.have))
		return offline_msg(err, e->url, errbuf[0] ? errbuf : curl_easy_strerror(cr));
	if (cr == CURLE_HTTP_RETURNED_ERROR && code == 416 && d.have) {
		/* the part is already whole: fall through to the check */
	} else if (cr != CURLE_OK) {
		return HRT_ERR(err, HRT_EIO,
			       "download of %s failed: %s (the partial file %s is kept; run the command again to resume)",
			       e->url, errbuf[0] ? errbuf : curl_easy_strerror(cr), part);
	}
	/* the check: the whole file, hashed as it arrived (and before, for a
	 * resumed part) */
	unsigned char dig[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&d.sha, dig);
	char hex[65];
	sodium_bin2hex(hex, sizeof hex, dig, sizeof dig);
	const char *want = e->sha256 ? e->sha256 : (d.announced[0] ? d.announced : NULL);
	if (!want) {
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "%s: no digest is pinned or announced for this file, so it cannot be checked; it was not installed (sha256 %s)",
			     e->url, hex);
		unlink(part);
		return rc;
	}
	if (strcmp(want, hex)) {
		unlink(part);
		return HRT_ERR(err, HRT_EFORMAT,
			       "%s: sha256 %s does not match the expected %s; the download was discarded",
			       e->url, hex, want);
	}
	if (rename(part, dest))
		return HRT_ERR(err, HRT_EIO, "%s: %s", dest, strerror(errno));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	fprintf(stderr, "hearth: %s verified (sha256 %.12s...) and saved to %s\n", e->name, hex, dest);
	return HRT_OK;
}

int cmd_pull(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: hearth pull NAME|https://.../model.gguf\nknown names:\n");
		for (const struct cli_catalog_entry *e = catalog; e->name; e++)
			fprintf(stderr, "  %-16s %s\n", e->name, e->about);
		return 2;
	}
	const char *name = argv[1];
	struct hrt_err err = { 0 };
	char dest[4096];
	struct cli_catalog_entry tmp;
	const struct cli_catalog_entry *e = NULL;
	for (const struct cli_catalog_entry *k = catalog; k->name; k++)
		if (!strcmp(k->name, name))
			e = k;
	if (!e) {
		if (strncmp(name, "https://", 8))
			return cli_fail("'%s' is not a known model name or an https URL", name);
		const char *base = strrchr(name, '/') + 1;
		size_t bl = strcspn(base, "?#");
		if (bl == 0 || bl > 200 || memchr(base, '\\', bl) || !strncmp(base, "..", 2))
			return cli_fail("cannot name a file after the URL '%s'", name);
		static char fname[256];
		snprintf(fname, sizeof fname, "%.*s", (int)bl, base);
		tmp = (struct cli_catalog_entry){ name, fname, name, NULL, fname };
		e = &tmp;
	}
	snprintf(dest, sizeof dest, "%s/models/%s", cli_home(), e->file);
	if (access(dest, F_OK) == 0) {
		printf("%s is already here: %s\n", e->name, dest);
		return 0;
	}
	if (cli_fetch(e, dest, &err))
		return cli_fail_err(&err);
	printf("%s\n", dest);
	return 0;
}
