/*
 * http/audit — hash-chained append-only audit log; see audit.h for the
 * line format and what the chain does and does not protect against.
 */
#include "http/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"
#include "http/json.h"

#define LINE_MAX_BYTES ((size_t)64 << 20)
#define HASH_HEX 64
/* ,"hash":"<64 hex>"} */
#define TAIL_LEN (9 + HASH_HEX + 2)
/* ,"prev":"<64 hex>" */
#define PREV_LEN (9 + HASH_HEX + 1)

struct hrt_audit {
	char *path, *head_path;
	int fd;
	int head_fd;
	bool log_prompts;
	unsigned char key[32];
	uint64_t seq;
	char last[HASH_HEX + 1];
	pthread_mutex_t mu;
};

static int side_path(const char *path, const char *ext, char **out,
		     struct hrt_err *err)
{
	size_t n = strlen(path) + strlen(ext) + 1;
	if (!(*out = malloc(n)))
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	snprintf(*out, n, "%s%s", path, ext);
	return HRT_OK;
}

/* read PATH.key; create it when create is true and it does not exist */
static int load_key(const char *path, bool create, unsigned char key[32],
		    struct hrt_err *err)
{
	char *kp;
	int rc = side_path(path, ".key", &kp, err);
	if (rc)
		return rc;
	int fd = open(kp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		unsigned char k[32];
		randombytes_buf(k, sizeof k);
		int wfd = open(kp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (wfd >= 0) {
			bool ok = write(wfd, k, sizeof k) == (ssize_t)sizeof k && fsync(wfd) == 0;
			close(wfd);
			if (!ok) {
				unlink(kp);
				rc = HRT_ERR(err, HRT_EIO, "%s: cannot write the audit key", kp);
				goto out_free;
			}
		}
		sodium_memzero(k, sizeof k);
		fd = open(kp, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		rc = HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO,
			     "%s: %s (the audit log's key)", kp, strerror(errno));
		goto out_free;
	}
	ssize_t k = read(fd, key, 32);
	close(fd);
	if (k != 32)
		rc = HRT_ERR(err, HRT_EFORMAT, "%s: the audit key must be 32 bytes", kp);
out_free:
	free(kp);
	return rc;
}

static void mac_hex(const unsigned char key[32], const char *body, size_t n,
		    char out[HASH_HEX + 1])
{
	crypto_generichash_state st;
	unsigned char h[32];
	crypto_generichash_init(&st, key, 32, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)body, n);
	crypto_generichash_update(&st, (const unsigned char *)"}", 1);
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, HASH_HEX + 1, h, sizeof h);
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Split one line (no newline) into its parts; false when it does not have
 * the shape of an audit line. */
static bool split_line(const char *line, size_t len, uint64_t *seq,
		       const char **prev, const char **hash)
{
	if (len < 8 + PREV_LEN + TAIL_LEN || strncmp(line, "{\"seq\":", 7))
		return false;
	const char *tail = line + len - TAIL_LEN;
	if (strncmp(tail, ",\"hash\":\"", 9) || strncmp(tail + 9 + HASH_HEX, "\"}", 2) ||
	    !is_hex(tail + 9, HASH_HEX))
		return false;
	const char *pv = tail - PREV_LEN;
	if (strncmp(pv, ",\"prev\":\"", 9) || pv[9 + HASH_HEX] != '"' ||
	    !is_hex(pv + 9, HASH_HEX))
		return false;
	uint64_t v = 0;
	const char *p = line + 7;
	if (*p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (*p != ',')
		return false;
	*seq = v;
	*prev = pv + 9;
	*hash = tail + 9;
	return true;
}

static int write_head(int fd, uint64_t seq, const char *hash)
{
	char b[128];
	int n = snprintf(b, sizeof b, "%llu %s\n", (unsigned long long)seq, hash);
	if (ftruncate(fd, 0) || pwrite(fd, b, (size_t)n, 0) != n)
		return -1;
	return 0;
}

static int read_head(const char *path, uint64_t *seq, char hash[HASH_HEX + 1])
{
	char *hp;
	if (side_path(path, ".head", &hp, NULL))
		return -1;
	FILE *f = fopen(hp, "r");
	free(hp);
	if (!f)
		return -1;
	unsigned long long s;
	char h[HASH_HEX + 2];
	int ok = fscanf(f, "%llu %65s", &s, h) == 2 && strlen(h) == HASH_HEX &&
		 is_hex(h, HASH_HEX);
	fclose(f);
	if (!ok)
		return -2;
	*seq = s;
	memcpy(hash, h, HASH_HEX + 1);
	return 0;
}

int hrt_audit_open(struct hrt_audit **out, const char *path, bool log_prompts,
		   struct hrt_err *err)
{
	*out = NULL;
	if (sodium_init() < 0)
		return HRT_ERR(err, HRT_EIO, "libsodium failed to initialise");
	struct hrt_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	a->fd = a->head_fd = -1;
	a->log_prompts = log_prompts;
	pthread_mutex_init(&a->mu, NULL);
	memset(a->last, '0', HASH_HEX);
	int rc;
	if (!(a->path = hrt_strdup(path))) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	if ((rc = side_path(path, ".head", &a->head_path, err)))
		goto out_free;
	if ((rc = load_key(path, true, a->key, err)))
		goto out_free;
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
		goto out_free;
	}
	/* continue the chain from the last line */
	FILE *f = fopen(path, "r");
	if (f) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		uint64_t lineno = 0;
		while ((n = getline(&line, &cap, f)) > 0) {
			lineno++;
			size_t len = (size_t)n;
			if (line[len - 1] != '\n')
				break; /* a torn last write: the next line starts fresh */
			len--;
			uint64_t seq;
			const char *prev, *hash;
			if (!split_line(line, len, &seq, &prev, &hash)) {
				free(line);
				fclose(f);
				rc = HRT_ERR(err, HRT_EFORMAT,
					     "%s: line %llu is not an audit record; check it with `hearth audit verify`",
					     path, (unsigned long long)lineno);
				goto out_free;
			}
			a->seq = seq;
			memcpy(a->last, hash, HASH_HEX);
		}
		free(line);
		fclose(f);
	}
	a->last[HASH_HEX] = 0;
	a->head_fd = open(a->head_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->head_fd < 0) {
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", a->head_path, strerror(errno));
		goto out_free;
	}
	if (a->seq)
		write_head(a->head_fd, a->seq, a->last);
	*out = a;
	return HRT_OK;
out_free:
	hrt_audit_close(a);
	return rc;
}

void hrt_audit_close(struct hrt_audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	if (a->head_fd >= 0)
		close(a->head_fd);
	sodium_memzero(a->key, sizeof a->key);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a->head_path);
	free(a);
}

static void put_str(struct hrt_hbuf *b, const char *name, const char *v)
{
	hrt_hbuf_printf(b, ",\"%s\":", name);
	if (v)
		hrt_hbuf_json_str(b, v, strlen(v));
	else
		hrt_hbuf_puts(b, "null");
}

int hrt_audit_write(struct hrt_audit *a, const struct hrt_audit_rec *r,
		    struct hrt_err *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[64];
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, ts.tv_nsec / 1000000);
	struct hrt_hbuf b;
	hrt_hbuf_init(&b, LINE_MAX_BYTES);
	pthread_mutex_lock(&a->mu);
	uint64_t seq = a->seq + 1;
	hrt_hbuf_printf(&b, "{\"seq\":%llu,\"time\":\"%s\"", (unsigned long long)seq, when);
	put_str(&b, "key", r->key ? r->key : "-");
	put_str(&b, "method", r->method);
	put_str(&b, "route", r->route);
	put_str(&b, "model", r->model);
	put_str(&b, "digest", r->digest);
	if (r->prompt_tokens >= 0)
		hrt_hbuf_printf(&b, ",\"prompt_tokens\":%lld", (long long)r->prompt_tokens);
	if (r->gen_tokens >= 0)
		hrt_hbuf_printf(&b, ",\"gen_tokens\":%lld", (long long)r->gen_tokens);
	hrt_hbuf_printf(&b, ",\"status\":%d,\"duration_ms\":%.3f", r->status,
			(double)r->duration_ns / 1e6);
	put_str(&b, "remote", r->remote);
	if (a->log_prompts && r->prompt)
		put_str(&b, "prompt", r->prompt);
	hrt_hbuf_printf(&b, ",\"prev\":\"%s\"", a->last);
	char h[HASH_HEX + 1];
	int rc = HRT_OK;
	if (b.oom) {
		rc = HRT_ERR(err, HRT_ENOMEM, "audit record too large");
		goto out_unlock;
	}
	mac_hex(a->key, b.p, b.len, h);
	hrt_hbuf_printf(&b, ",\"hash\":\"%s\"}\n", h);
	if (b.oom) {
		rc = HRT_ERR(err, HRT_ENOMEM, "audit record too large");
		goto out_unlock;
	}
	ssize_t w = write(a->fd, b.p, b.len);
	if (w != (ssize_t)b.len) {
		rc = HRT_ERR(err, HRT_EIO, "%s: audit write failed: %s", a->path,
			     w < 0 ? strerror(errno) : "short write");
		goto out_unlock;
	}
	a->seq = seq;
	memcpy(a->last, h, sizeof h);
	if (write_head(a->head_fd, seq, h))
		rc = HRT_ERR(err, HRT_EIO, "%s: cannot update the head", a->head_path);
out_unlock:
	pthread_mutex_unlock(&a->mu);
	hrt_hbuf_free(&b);
	return rc;
}

int hrt_audit_verify(const char *path, uint64_t *n_lines, struct hrt_err *err)
{
	*n_lines = 0;
	if (sodium_init() < 0)
		return HRT_ERR(err, HRT_EIO, "libsodium failed to initialise");
	unsigned char key[32];
	int rc = load_key(path, false, key, err);
	if (rc)
		return rc;
	FILE *f = fopen(path, "r");
	if (!f) {
		sodium_memzero(key, sizeof key);
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO, "%s: %s",
			       path, strerror(errno));
	}
	uint64_t head_seq = 0;
	char head_hash[HASH_HEX + 1] = { 0 };
	int hr = read_head(path, &head_seq, head_hash);
	bool head_seen = false;
	char prev[HASH_HEX + 1];
	memset(prev, '0', HASH_HEX);
	prev[HASH_HEX] = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		size_t len = (size_t)n;
		if (line[len - 1] != '\n') {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s:%llu: the last line is cut short",
				     path, (unsigned long long)lineno);
			goto out;
		}
		len--;
		uint64_t seq;
		const char *pv, *hash;
		if (!split_line(line, len, &seq, &pv, &hash)) {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s:%llu: not an audit record (edited)",
				     path, (unsigned long long)lineno);
			goto out;
		}
		char want[HASH_HEX + 1];
		mac_hex(key, line, len - TAIL_LEN, want);
		if (sodium_memcmp(want, hash, HASH_HEX)) {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s:%llu: the record's hash does not match its text (edited)",
				     path, (unsigned long long)lineno);
			goto out;
		}
		if (seq != lineno || memcmp(pv, prev, HASH_HEX)) {
			rc = HRT_ERR(err, HRT_EFORMAT,
				     "%s:%llu: the chain breaks here: record %llu follows record %llu (a line before it was removed, inserted or moved)",
				     path, (unsigned long long)lineno, (unsigned long long)seq,
				     (unsigned long long)(lineno - 1));
			goto out;
		}
		memcpy(prev, hash, HASH_HEX);
		if (hr == 0 && seq == head_seq) {
			if (memcmp(hash, head_hash, HASH_HEX)) {
				rc = HRT_ERR(err, HRT_EFORMAT, "%s:%llu: does not match the head file",
					     path, (unsigned long long)lineno);
				goto out;
			}
			head_seen = true;
		}
	}
	if (ferror(f)) {
		rc = HRT_ERR(err, HRT_EIO, "%s: read error", path);
		goto out;
	}
	if (hr == -2) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s.head is malformed", path);
		goto out;
	}
	if (hr == 0 && !head_seen) {
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "%s: the log ends at record %llu but its head records %llu (lines removed at the end)",
			     path, (unsigned long long)lineno, (unsigned long long)head_seq);
		goto out;
	}
	if (hr == -1 && lineno > 0) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s.head is missing: cannot tell whether lines were cut off the end",
			     path);
		goto out;
	}
	*n_lines = lineno;
out:
	free(line);
	fclose(f);
	sodium_memzero(key, sizeof key);
	return rc;
}
