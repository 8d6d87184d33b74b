/*
 * store/layout — models on a disk: OCI image layouts (image-spec
 * image-layout.md: an "oci-layout" file, "index.json" naming manifests in
 * org.opencontainers.image.ref.name, and blobs/sha256/<hex>), as a folder
 * or as a tar of one (libarchive reads and writes the tar).
 *   export: `hearth export NAME DIR|FILE.tar`, blobs copied out of the
 *           store and re-hashed on the way (a damaged store is not
 *           exported); a folder that already is a layout gets the model
 *           added; a tar is written to a temp file and renamed.
 *   import: `hearth pull oci:PATH[:ref]`. Nothing is ever extracted: a tar
 *           is read in passes and blob bytes go straight into the store's
 *           stages, verified. A member that is absolute, has a "..", is a
 *           link or a device, or appears twice refuses the whole archive;
 *           a compressed tar may expand at most 20 times (plus 64 MiB).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>

#include "core/util.h"
#include "store/store_int.h"

#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define MAX_MEMBERS 100000

/* ---- member names ---- */

int st_member_name(const char *in, char *out, size_t cap, struct hrt_err *err)
{
	char shown[160];
	st_printable(in, strlen(in), shown, sizeof shown);
	while (in[0] == '.' && in[1] == '/')
		in += 2;
	size_t n = strlen(in);
	while (n && in[n - 1] == '/')
		n--; /* a folder */
	if (n == 0)
		return HRT_ERR(err, HRT_EFORMAT, "archive member '%s' has an empty name", shown);
	if (in[0] == '/')
		return HRT_ERR(err, HRT_EFORMAT, "archive member '%s' is an absolute path; refused", shown);
	if (n >= cap)
		return HRT_ERR(err, HRT_EFORMAT, "archive member '%s' has a name too long", shown);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return HRT_ERR(err, HRT_EFORMAT, "archive member '%s' has an odd character in its name",
				       shown);
	}
	const char *p = in, *end = in + n;
	while (p < end) {
		const char *q = memchr(p, '/', (size_t)(end - p));
		if (!q)
			q = end;
		size_t l = (size_t)(q - p);
		if (l == 0 || (l == 1 && p[0] == '.'))
			return HRT_ERR(err, HRT_EFORMAT, "archive member '%s' has an empty or '.' part", shown);
		if (l == 2 && p[0] == '.' && p[1] == '.')
			return HRT_ERR(err, HRT_EFORMAT,
				       "archive member '%s' climbs out of the archive with '..'; refused", shown);
		p = q + 1;
	}
	memcpy(out, in, n);
	out[n] = 0;
	return HRT_OK;
}

/* "blobs/sha256/<hex>" -> digest; 0 if the name is not in blobs/sha256/,
 * 1 if it is a digest, an error if it is in there but not a digest */
static int blob_member(const char *name, struct hrt_digest *d, struct hrt_err *err)
{
	static const char pre[] = "blobs/sha256/";
	if (strncmp(name, pre, sizeof pre - 1) != 0)
		return 0;
	char ds[100];
	snprintf(ds, sizeof ds, "sha256:%s", name + sizeof pre - 1);
	if (hrt_digest_parse(ds, strlen(ds), d, err)) {
		st_err_prefix(err, "archive member %s", name);
		return -HRT_EFORMAT;
	}
	return 1;
}

static int check_layout_file(const char *buf, size_t len, struct hrt_err *err)
{
	cJSON *j = cJSON_ParseWithLength(buf, len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "imageLayoutVersion");
	int rc = cJSON_IsString(v) && !strcmp(v->valuestring, "1.0.0")
			 ? HRT_OK
			 : HRT_ERR(err, HRT_EFORMAT, "oci-layout does not say imageLayoutVersion 1.0.0");
	cJSON_Delete(j);
	return rc;
}

/* Pick the manifest of the index: by ref, or the only one. *dst gets the
 * name to store it under (from name, or the entry's ref.name). */
static int choose(const struct st_index *ix, const char *ref, const char *name,
		  const struct st_desc **out, struct hrt_name *dst, struct hrt_err *err)
{
	const struct st_desc *pick = NULL;
	struct hrt_name want, got;
	bool want_ok = ref && hrt_name_parse(ref, &want, NULL) == HRT_OK;
	for (size_t i = 0; i < ix->n && ref; i++) {
		const struct st_desc *d = &ix->m[i];
		if (!strcmp(d->ref_name, ref) ||
		    (want_ok && hrt_name_parse(d->ref_name, &got, NULL) == HRT_OK && hrt_name_eq(&want, &got))) {
			pick = d;
			break;
		}
	}
	if (!ref) {
		if (ix->n == 1) {
			pick = &ix->m[0];
		} else {
			char list[400] = "";
			for (size_t i = 0; i < ix->n && i < 6; i++) {
				size_t k = strlen(list);
				snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "",
					 ix->m[i].ref_name[0] ? ix->m[i].ref_name : "(unnamed)");
			}
			return HRT_ERR(err, HRT_EINVAL,
				       "the layout holds %zu models; say which: oci:PATH:NAME (%s)", ix->n,
				       ix->n ? list : "none");
		}
	}
	if (!pick)
		return HRT_ERR(err, HRT_ENOTFOUND, "the layout has no model named '%s'", ref);
	if (!strcmp(pick->media_type, HRT_MT_OCI_INDEX))
		return HRT_ERR(err, HRT_ENOTSUP, "'%s' is a nested index; hearth reads one manifest per name",
			       pick->ref_name);
	if (strcmp(pick->media_type, HRT_MT_OCI_MANIFEST) != 0)
		return HRT_ERR(err, HRT_EFORMAT, "index.json entry has media type '%s', not an image manifest",
			       pick->media_type);
	if (pick->size > HRT_STORE_MANIFEST_MAX)
		return HRT_ERR(err, HRT_ERANGE, "the manifest is over the %zu-byte limit",
			       HRT_STORE_MANIFEST_MAX);
	*out = pick;
	if (name)
		return hrt_name_parse(name, dst, err);
	/* a bare tag ("latest", as some tools write) names no model */
	if (!pick->ref_name[0] || (!strchr(pick->ref_name, ':') && !strchr(pick->ref_name, '/')) ||
	    hrt_name_parse(pick->ref_name, dst, NULL))
		return HRT_ERR(err, HRT_EINVAL,
			       "the layout does not name this model; give a name: hearth pull oci:PATH NAME");
	return HRT_OK;
}

static int check_manifest_bytes(const char *buf, size_t len, const struct st_desc *d,
				struct st_manifest *m, struct hrt_err *err)
{
	struct hrt_digest got;
	hrt_digest_of(buf, len, &got);
	if (len != d->size || strcmp(got.hex, d->digest.hex) != 0)
		return HRT_ERR(err, HRT_EFORMAT,
			       "the manifest's bytes (sha256:%s, %zu bytes) do not match index.json (sha256:%s, %llu)",
			       got.hex, len, d->digest.hex, (unsigned long long)d->size);
	return st_manifest_parse(buf, len, ST_OCI, m, err);
}

static size_t unique(const struct st_manifest *m, const struct st_desc **out)
{
	size_t n = 0;
	out[n++] = &m->config;
	for (size_t i = 0; i < m->n_layers; i++)
		out[n++] = &m->layers[i];
	for (size_t i = 1; i < n; i++) /* insertion sort by digest: n <= 65 */
		for (size_t k = i; k > 0 && strcmp(out[k - 1]->digest.hex, out[k]->digest.hex) > 0; k--) {
			const struct st_desc *t = out[k];
			out[k] = out[k - 1];
			out[k - 1] = t;
		}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(out[k - 1]->digest.hex, out[i]->digest.hex) != 0)
			out[k++] = out[i];
	return k;
}

/* ---- a layout folder ---- */

static int real_dir(const char *p, struct hrt_err *err)
{
	struct stat st;
	if (lstat(p, &st) != 0)
		return HRT_ERR(err, HRT_EFORMAT, "%s is missing: not an OCI image layout", p);
	if (!S_ISDIR(st.st_mode))
		return HRT_ERR(err, HRT_EFORMAT, "%s is not a folder (links are refused)", p);
	return HRT_OK;
}

static int dir_pull(struct hrt_store *s, const char *path, const char *ref, const char *name,
		    struct hrt_store_opts *o, struct hrt_err *err)
{
	char p[ST_PATH], *buf = NULL, *mbuf = NULL;
	size_t len, mlen = 0, nb = 0, opened = 0;
	struct st_index ix = { 0 };
	struct st_manifest *m = calloc(1, sizeof *m);
	struct st_stage *stages = calloc(HRT_STORE_MAX_LAYERS + 1, sizeof *stages);
	const struct st_desc *pick, *blobs[HRT_STORE_MAX_LAYERS + 1];
	struct hrt_name dst;
	int rc, lk = -1;
	if (!m || !stages) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if ((rc = st_pathf(p, sizeof p, err, "%s/oci-layout", path)) ||
	    (rc = st_read_file(p, 4096, true, &buf, &len, err))) {
		if (rc == HRT_ENOTFOUND)
			HRT_ERR(err, HRT_EFORMAT, "%s is not an OCI image layout (no oci-layout file)", path);
		goto out;
	}
	if ((rc = check_layout_file(buf, len, err)))
		goto out;
	free(buf);
	buf = NULL;
	if ((rc = st_pathf(p, sizeof p, err, "%s/index.json", path)) ||
	    (rc = st_read_file(p, HRT_STORE_MANIFEST_MAX, true, &buf, &len, err)) ||
	    (rc = st_index_parse(buf, len, &ix, err)) ||
	    (rc = choose(&ix, ref, name, &pick, &dst, err)))
		goto out;
	if ((rc = st_pathf(p, sizeof p, err, "%s/blobs", path)) || (rc = real_dir(p, err)) ||
	    (rc = st_pathf(p, sizeof p, err, "%s/blobs/sha256", path)) || (rc = real_dir(p, err)) ||
	    (rc = st_pathf(p, sizeof p, err, "%s/blobs/sha256/%s", path, pick->digest.hex)) ||
	    (rc = st_read_file(p, HRT_STORE_MANIFEST_MAX, true, &mbuf, &mlen, err)) ||
	    (rc = check_manifest_bytes(mbuf, mlen, pick, m, err)))
		goto out;
	nb = unique(m, blobs);
	if ((rc = st_lock(s, false, o, &lk, err)))
		goto out;
	for (size_t i = 0; i < nb; i++) {
		int fd;
		uint64_t size;
		stages[i].fd = -1;
		if ((rc = st_pathf(p, sizeof p, err, "%s/blobs/sha256/%s", path, blobs[i]->digest.hex)) ||
		    (rc = st_open_regular(p, &fd, &size, err)))
			goto out;
		if (size != blobs[i]->size) {
			close(fd);
			rc = HRT_ERR(err, HRT_EFORMAT, "%s has %llu bytes, but the manifest says %llu", p,
				     (unsigned long long)size, (unsigned long long)blobs[i]->size);
			goto out;
		}
		rc = st_stage_from_fd(s, fd, p, &blobs[i]->digest, size, false, NULL, &stages[i], o, err);
		opened = i + 1;
		close(fd);
		if (rc)
			goto out;
	}
	if ((rc = st_admit_staged(s, m, stages, nb, &dst, o, err)) ||
	    (rc = st_check_staged(s, m, stages, nb, o, err)))
		goto out;
	for (size_t i = 0; i < nb; i++)
		if ((rc = st_stage_publish(s, &stages[i], err)))
			goto out;
	if ((rc = st_progress(o, "writing manifest", NULL, 0, 0, err)) ||
	    (rc = st_tag_write(s, &dst, mbuf, mlen, err)))
		goto out;
	rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	for (size_t i = 0; i < opened; i++)
		st_stage_close(&stages[i], false);
	st_unlock(lk);
	st_index_free(&ix);
	free(buf);
	free(mbuf);
	free(stages);
	free(m);
	return rc;
}

/* ---- a layout tar ---- */

struct member {
	char name[300];
	uint64_t size;
};

struct tar_pass {
	int pass;                 /* 1: names and index, 2: manifest, 3: blobs */
	struct member *seen;
	size_t n_seen, cap_seen;
	char *layout, *index, *manifest;
	size_t layout_len, index_len, manifest_len;
	const struct st_desc *pick;
	struct st_stage *stages;  /* pass 3 */
	const struct st_desc **blobs;
	size_t nb;
	struct hrt_store_opts *o;
};

static int read_member(struct archive *a, const char *name, uint64_t size, size_t max,
		       char **out, size_t *len, struct hrt_err *err)
{
	if (size > max)
		return HRT_ERR(err, HRT_ERANGE, "archive member %s is over the %zu-byte limit", name, max);
	char *b = malloc((size_t)size + 1);
	if (!b)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	size_t n = 0;
	for (;;) {
		la_ssize_t k = archive_read_data(a, b + n, (size_t)size - n + (n == size ? 1 : 0));
		if (k < 0) {
			free(b);
			return HRT_ERR(err, HRT_EFORMAT, "archive member %s: %s", name, archive_error_string(a));
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > size) {
			free(b);
			return HRT_ERR(err, HRT_EFORMAT, "archive member %s is longer than it says", name);
		}
	}
	b[n] = 0;
	*out = b;
	*len = n;
	return HRT_OK;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int on_member(struct tar_pass *tp, struct archive *a, const char *name, uint64_t size,
		     struct hrt_err *err)
{
	struct hrt_digest d;
	int b = blob_member(name, &d, err);
	if (b < 0)
		return -b;
	if (tp->pass == 1) {
		if (tp->n_seen == tp->cap_seen) {
			size_t nc = tp->cap_seen ? tp->cap_seen * 2 : 64;
			struct member *ns = realloc(tp->seen, nc * sizeof *ns);
			if (!ns)
				return HRT_ERR(err, HRT_ENOMEM, "no memory");
			tp->seen = ns;
			tp->cap_seen = nc;
		}
		struct member *mb = &tp->seen[tp->n_seen++];
		snprintf(mb->name, sizeof mb->name, "%s", name);
		mb->size = size;
		if (!strcmp(name, "oci-layout")) {
			free(tp->layout);
			return read_member(a, name, size, 4096, &tp->layout, &tp->layout_len, err);
		}
		if (!strcmp(name, "index.json")) {
			free(tp->index);
			return read_member(a, name, size, HRT_STORE_MANIFEST_MAX, &tp->index,
					   &tp->index_len, err);
		}
		return HRT_OK;
	}
	if (b == 0)
		return HRT_OK;
	if (tp->pass == 2) {
		if (strcmp(d.hex, tp->pick->digest.hex) != 0)
			return HRT_OK;
		return read_member(a, name, size, HRT_STORE_MANIFEST_MAX, &tp->manifest,
				   &tp->manifest_len, err);
	}
	for (size_t i = 0; i < tp->nb; i++) {
		struct st_stage *st = &tp->stages[i];
		if (strcmp(d.hex, st->digest.hex) != 0 || st->done || st->verified)
			continue;
		if (size != st->size)
			return HRT_ERR(err, HRT_EFORMAT, "archive member %s has %llu bytes, the manifest says %llu",
				       name, (unsigned long long)size, (unsigned long long)st->size);
		int rc = st_stage_reset(st, err);
		char buf[1 << 16];
		uint64_t next = 0;
		while (!rc) {
			la_ssize_t k = archive_read_data(a, buf, sizeof buf);
			if (k < 0)
				return HRT_ERR(err, HRT_EFORMAT, "archive member %s: %s", name,
					       archive_error_string(a));
			if (k == 0)
				break;
			rc = st_stage_write(st, buf, (size_t)k, err);
			if (!rc && st->have >= next) {
				next = st->have + (st->size / 50 > sizeof buf ? st->size / 50 : sizeof buf);
				rc = st_progress(tp->o, "copying", &st->digest, st->size, st->have, err);
			}
		}
		return rc ? rc : st_stage_verify(st, err);
	}
	return HRT_OK;
}

static int tar_walk(const char *path, struct tar_pass *tp, struct hrt_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
	struct stat fst;
	fstat(fd, &fst);
	struct archive *a = archive_read_new();
	if (!a) {
		close(fd);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	int rc = HRT_OK;
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s is not a tar file: %s", path, archive_error_string(a));
		goto out;
	}
	uint64_t budget = UINT64_MAX, used = 0;
	size_t n = 0;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s: %s", path, archive_error_string(a));
			break;
		}
		if (budget == UINT64_MAX && archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE)
			budget = (uint64_t)fst.st_size * 20 + ((uint64_t)64 << 20);
		if (++n > MAX_MEMBERS) {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s has more than %d members", path, MAX_MEMBERS);
			break;
		}
		const char *raw = archive_entry_pathname(e);
		char name[300];
		if ((rc = st_member_name(raw ? raw : "", name, sizeof name, err)))
			break;
		mode_t t = archive_entry_filetype(e);
		if (archive_entry_hardlink(e) || t == AE_IFLNK) {
			const char *to = archive_entry_hardlink(e) ? archive_entry_hardlink(e)
								    : archive_entry_symlink(e);
			char shown[160];
			st_printable(to ? to : "", to ? strlen(to) : 0, shown, sizeof shown);
			rc = HRT_ERR(err, HRT_EFORMAT, "archive member %s is a link (to '%s'); OCI layouts hold files only, refused",
				     name, shown);
			break;
		}
		if (t == AE_IFDIR)
			continue;
		if (t != AE_IFREG || archive_entry_sparse_count(e) > 0) {
			rc = HRT_ERR(err, HRT_EFORMAT, "archive member %s is not a plain file; refused", name);
			break;
		}
		int64_t sz = archive_entry_size(e);
		if (sz < 0 || (uint64_t)sz > HRT_STORE_BLOB_MAX) {
			rc = HRT_ERR(err, HRT_EFORMAT, "archive member %s has a bad size", name);
			break;
		}
		used += (uint64_t)sz + 512;
		if (used > budget) {
			rc = HRT_ERR(err, HRT_ERANGE,
				     "%s expands to more than %llu bytes (20 times its size): a decompression bomb? refused",
				     path, (unsigned long long)budget);
			break;
		}
		if ((rc = on_member(tp, a, name, (uint64_t)sz, err)))
			break;
	}
out:
	archive_read_free(a);
	close(fd);
	return rc;
}

static int tar_pull(struct hrt_store *s, const char *path, const char *ref, const char *name,
		    struct hrt_store_opts *o, struct hrt_err *err)
{
	struct tar_pass tp = { .pass = 1, .o = o };
	struct st_index ix = { 0 };
	struct st_manifest *m = calloc(1, sizeof *m);
	struct st_stage *stages = calloc(HRT_STORE_MAX_LAYERS + 1, sizeof *stages);
	const struct st_desc *blobs[HRT_STORE_MAX_LAYERS + 1];
	struct hrt_name dst;
	size_t nb = 0, opened = 0;
	int rc, lk = -1;
	if (!m || !stages) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if ((rc = st_progress(o, "reading archive", NULL, 0, 0, err)) ||
	    (rc = tar_walk(path, &tp, err)))
		goto out;
	if (tp.n_seen)
		qsort(tp.seen, tp.n_seen, sizeof *tp.seen, member_cmp);
	for (size_t i = 1; i < tp.n_seen; i++)
		if (!strcmp(tp.seen[i].name, tp.seen[i - 1].name)) {
			rc = HRT_ERR(err, HRT_EFORMAT, "archive member %s appears twice; refused", tp.seen[i].name);
			goto out;
		}
	if (!tp.layout) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s is not an OCI image layout (no oci-layout member)", path);
		goto out;
	}
	if (!tp.index) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s is not an OCI image layout (no index.json member)", path);
		goto out;
	}
	if ((rc = check_layout_file(tp.layout, tp.layout_len, err)) ||
	    (rc = st_index_parse(tp.index, tp.index_len, &ix, err)) ||
	    (rc = choose(&ix, ref, name, &tp.pick, &dst, err)))
		goto out;
	tp.pass = 2;
	if ((rc = tar_walk(path, &tp, err)))
		goto out;
	if (!tp.manifest) {
		rc = HRT_ERR(err, HRT_EFORMAT, "the archive has no blob for manifest sha256:%s",
			     tp.pick->digest.hex);
		goto out;
	}
	if ((rc = check_manifest_bytes(tp.manifest, tp.manifest_len, tp.pick, m, err)))
		goto out;
	nb = unique(m, blobs);
	/* every blob must be there with its size before anything is copied */
	for (size_t i = 0; i < nb; i++) {
		struct member key;
		snprintf(key.name, sizeof key.name, "blobs/sha256/%s", blobs[i]->digest.hex);
		struct member *f = tp.n_seen ? bsearch(&key, tp.seen, tp.n_seen, sizeof key, member_cmp)
					     : NULL;
		if (!f) {
			rc = HRT_ERR(err, HRT_EFORMAT, "the archive has no blob sha256:%s", blobs[i]->digest.hex);
			goto out;
		}
		if (f->size != blobs[i]->size) {
			rc = HRT_ERR(err, HRT_EFORMAT, "archive member %s has %llu bytes, the manifest says %llu",
				     f->name, (unsigned long long)f->size, (unsigned long long)blobs[i]->size);
			goto out;
		}
	}
	if ((rc = st_lock(s, false, o, &lk, err)))
		goto out;
	for (size_t i = 0; i < nb; i++) {
		if ((rc = st_stage_open(s, &blobs[i]->digest, blobs[i]->size, &stages[i], o, err)))
			goto out;
		opened = i + 1;
	}
	tp.pass = 3;
	tp.stages = stages;
	tp.blobs = blobs;
	tp.nb = nb;
	if ((rc = tar_walk(path, &tp, err)))
		goto out;
	for (size_t i = 0; i < nb; i++)
		if ((rc = st_stage_verify(&stages[i], err)))
			goto out;
	if ((rc = st_admit_staged(s, m, stages, nb, &dst, o, err)) ||
	    (rc = st_check_staged(s, m, stages, nb, o, err)))
		goto out;
	for (size_t i = 0; i < nb; i++)
		if ((rc = st_stage_publish(s, &stages[i], err)))
			goto out;
	if ((rc = st_progress(o, "writing manifest", NULL, 0, 0, err)) ||
	    (rc = st_tag_write(s, &dst, tp.manifest, tp.manifest_len, err)))
		goto out;
	rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	for (size_t i = 0; i < opened; i++)
		st_stage_close(&stages[i], false);
	st_unlock(lk);
	st_index_free(&ix);
	free(tp.seen);
	free(tp.layout);
	free(tp.index);
	free(tp.manifest);
	free(stages);
	free(m);
	return rc;
}

int st_layout_pull(struct hrt_store *s, const char *spec, const char *name,
		   struct hrt_store_opts *o, struct hrt_err *err)
{
	char path[ST_PATH];
	const char *ref = NULL;
	struct stat st;
	int rc = st_pathf(path, sizeof path, err, "%s", spec);
	if (rc)
		return rc;
	if (stat(path, &st) != 0) {
		/* PATH:REF, where REF may hold ':' (name:tag) and '/' (ns/name):
		 * the first ':' that leaves an existing PATH */
		bool found = false;
		for (char *c = strchr(path, ':'); c && !found; c = strchr(c + 1, ':')) {
			*c = 0;
			if (stat(path, &st) == 0) {
				ref = spec + (c - path) + 1;
				found = true;
			} else {
				*c = ':';
			}
		}
		if (!found || !*ref)
			return HRT_ERR(err, HRT_ENOTFOUND, "oci:%s: no such folder or file", spec);
	}
	if (S_ISDIR(st.st_mode))
		return dir_pull(s, path, ref, name, o, err);
	if (S_ISREG(st.st_mode))
		return tar_pull(s, path, ref, name, o, err);
	return HRT_ERR(err, HRT_EINVAL, "oci:%s is neither a folder nor a file", spec);
}

/* ---- export ---- */

/* copy blob d (size bytes) out of the store into fd or archive a, checking
 * its digest on the way */
static int copy_out(const struct hrt_store *s, const struct hrt_digest *d, uint64_t size,
		    int out_fd, struct archive *a, struct hrt_store_opts *o, struct hrt_err *err)
{
	char p[ST_PATH];
	int fd, rc;
	uint64_t have;
	if ((rc = st_blob_path(s, d, p, sizeof p, err)) || (rc = st_open_regular(p, &fd, &have, err)))
		return rc;
	if (have != size) {
		close(fd);
		return HRT_ERR(err, HRT_EFORMAT, "blob sha256:%s has %llu bytes, not %llu (run hearth fsck)",
			       d->hex, (unsigned long long)have, (unsigned long long)size);
	}
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	char *buf = malloc(1 << 20);
	uint64_t done = 0, next = 0;
	if (!buf) {
		close(fd);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	while (done < size) {
		ssize_t k = read(fd, buf, 1 << 20);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = HRT_ERR(err, HRT_EIO, "reading %s: %s", p, k ? strerror(errno) : "short");
			break;
		}
		if ((uint64_t)k > size - done)
			k = (ssize_t)(size - done);
		crypto_hash_sha256_update(&sha, (unsigned char *)buf, (size_t)k);
		if (a) {
			if (archive_write_data(a, buf, (size_t)k) != k) {
				rc = HRT_ERR(err, HRT_EIO, "writing the tar: %s", archive_error_string(a));
				break;
			}
		} else if ((rc = st_write_all(out_fd, buf, (size_t)k, "the export", err))) {
			break;
		}
		done += (uint64_t)k;
		if (done >= next) {
			next = done + (size / 50 > (1u << 20) ? size / 50 : (1u << 20));
			if ((rc = st_progress(o, "exporting", d, size, done, err)))
				break;
		}
	}
	free(buf);
	close(fd);
	if (rc)
		return rc;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[65];
	crypto_hash_sha256_final(&sha, h);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	if (strcmp(hex, d->hex) != 0)
		return HRT_ERR(err, HRT_EFORMAT, "blob sha256:%s in the store is damaged (run hearth fsck)",
			       d->hex);
	return HRT_OK;
}

static int export_dir_blob(const struct hrt_store *s, const char *dir, const struct hrt_digest *d,
			   uint64_t size, const char *mem, struct hrt_store_opts *o,
			   struct hrt_err *err)
{
	char dst[ST_PATH], tmp[ST_PATH];
	struct stat st;
	int rc;
	if ((rc = st_pathf(dst, sizeof dst, err, "%s/blobs/sha256/%s", dir, d->hex)))
		return rc;
	if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
		return st_progress(o, "exists", d, size, size, err);
	if (mem)
		return st_write_atomic(dst, mem, (size_t)size, err);
	if ((rc = st_pathf(tmp, sizeof tmp, err, "%s/blobs/sha256/.tmp-XXXXXX", dir)))
		return rc;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
	rc = copy_out(s, d, size, fd, NULL, o, err);
	if (!rc && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (!rc && rename(tmp, dst) != 0)
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", dst, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

static int export_dir(const struct hrt_store *s, const char *dir, const struct st_desc *entry,
		      const char *mbuf, const struct st_desc **blobs, size_t nb,
		      struct hrt_store_opts *o, struct hrt_err *err)
{
	char p[ST_PATH], *buf = NULL, *ib = NULL;
	size_t len, il;
	struct st_index ix = { 0 };
	int rc;
	bool existing = false;
	if ((rc = st_pathf(p, sizeof p, err, "%s/oci-layout", dir)))
		return rc;
	rc = st_read_file(p, 4096, true, &buf, &len, err);
	if (rc == HRT_OK) {
		if ((rc = check_layout_file(buf, len, err)))
			goto out;
		existing = true;
	} else if (rc == HRT_ENOTFOUND) {
		DIR *d = opendir(dir);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					break;
			bool empty = e == NULL;
			closedir(d);
			if (!empty) {
				rc = HRT_ERR(err, HRT_EINVAL, "%s is a folder that is not empty and not an OCI layout",
					     dir);
				goto out;
			}
		}
	} else {
		goto out;
	}
	if ((rc = st_pathf(p, sizeof p, err, "%s/blobs/sha256", dir)) || (rc = st_mkdirs(p, err)))
		goto out;
	if (existing) {
		free(buf);
		buf = NULL;
		if ((rc = st_pathf(p, sizeof p, err, "%s/index.json", dir)))
			goto out;
		rc = st_read_file(p, HRT_STORE_MANIFEST_MAX, true, &buf, &len, err);
		if (rc == HRT_OK && (rc = st_index_parse(buf, len, &ix, err)))
			goto out;
		if (rc == HRT_ENOTFOUND)
			rc = HRT_OK;
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < nb; i++)
		if ((rc = export_dir_blob(s, dir, &blobs[i]->digest, blobs[i]->size, NULL, o, err)))
			goto out;
	if ((rc = export_dir_blob(s, dir, &entry->digest, entry->size, mbuf, o, err)))
		goto out;
	if ((rc = st_pathf(p, sizeof p, err, "%s/oci-layout", dir)) ||
	    (!existing && (rc = st_write_atomic(p, LAYOUT_FILE, strlen(LAYOUT_FILE), err))))
		goto out;
	/* the index: this name's entry replaced or added */
	struct st_desc *nm = realloc(ix.m, (ix.n + 1) * sizeof *nm);
	if (!nm) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	ix.m = nm;
	size_t k = 0;
	for (size_t i = 0; i < ix.n; i++)
		if (strcmp(ix.m[i].ref_name, entry->ref_name) != 0)
			ix.m[k++] = ix.m[i];
	ix.m[k++] = *entry;
	ix.n = k;
	if ((rc = st_index_build(&ix, &ib, &il, err)) ||
	    (rc = st_pathf(p, sizeof p, err, "%s/index.json", dir)) ||
	    (rc = st_write_atomic(p, ib, il, err)))
		goto out;
out:
	st_index_free(&ix);
	free(buf);
	free(ib);
	return rc;
}

static int tar_add(struct archive *a, const char *name, bool dir, uint64_t size,
		   struct hrt_err *err)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return HRT_ERR(err, HRT_EIO, "writing the tar: %s", archive_error_string(a));
	return HRT_OK;
}

static int tar_mem(struct archive *a, const char *name, const char *buf, size_t len,
		   struct hrt_err *err)
{
	int rc = tar_add(a, name, false, len, err);
	if (!rc && archive_write_data(a, buf, len) != (la_ssize_t)len)
		rc = HRT_ERR(err, HRT_EIO, "writing the tar: %s", archive_error_string(a));
	return rc;
}

static int export_tar(const struct hrt_store *s, const char *path, const struct st_desc *entry,
		      const char *mbuf, const struct st_desc **blobs, size_t nb,
		      struct hrt_store_opts *o, struct hrt_err *err)
{
	char tmp[ST_PATH], *ib = NULL, name[120];
	size_t il;
	struct st_index ix = { (struct st_desc *)entry, 1 };
	int rc;
	if ((rc = st_pathf(tmp, sizeof tmp, err, "%s.tmp-XXXXXX", path)))
		return rc;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "cannot create %s: %s", tmp, strerror(errno));
	struct archive *a = archive_write_new();
	if (!a) {
		close(fd);
		unlink(tmp);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", tmp, archive_error_string(a));
		goto out;
	}
	if ((rc = st_index_build(&ix, &ib, &il, err)) ||
	    (rc = tar_mem(a, "oci-layout", LAYOUT_FILE, strlen(LAYOUT_FILE), err)) ||
	    (rc = tar_mem(a, "index.json", ib, il, err)) || (rc = tar_add(a, "blobs/", true, 0, err)) ||
	    (rc = tar_add(a, "blobs/sha256/", true, 0, err)))
		goto out;
	snprintf(name, sizeof name, "blobs/sha256/%s", entry->digest.hex);
	if ((rc = tar_mem(a, name, mbuf, (size_t)entry->size, err)))
		goto out;
	for (size_t i = 0; i < nb; i++) {
		if (!strcmp(blobs[i]->digest.hex, entry->digest.hex))
			continue;
		snprintf(name, sizeof name, "blobs/sha256/%s", blobs[i]->digest.hex);
		if ((rc = tar_add(a, name, false, blobs[i]->size, err)) ||
		    (rc = copy_out(s, &blobs[i]->digest, blobs[i]->size, -1, a, o, err)))
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = HRT_ERR(err, HRT_EIO, "writing the tar: %s", archive_error_string(a));
	if (!rc && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
out:
	archive_write_free(a);
	close(fd);
	if (!rc && rename(tmp, path) != 0)
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	else
		rc = st_fsync_parent(path, err);
	free(ib);
	return rc;
}

int hrt_store_export(struct hrt_store *s, const char *name, const char *path,
		     struct hrt_store_opts *o, struct hrt_err *err)
{
	struct hrt_name n;
	char *buf = NULL;
	size_t len;
	int rc, lk = -1;
	struct st_manifest *m = malloc(sizeof *m);
	if (!m)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if ((rc = hrt_name_parse(name, &n, err)) || (rc = st_lock(s, false, o, &lk, err)) ||
	    (rc = st_tag_read(s, &n, &buf, &len, err)) ||
	    (rc = st_manifest_parse(buf, len, ST_OCI, m, err)))
		goto out;
	struct st_desc entry = { 0 };
	snprintf(entry.media_type, sizeof entry.media_type, "%s", HRT_MT_OCI_MANIFEST);
	snprintf(entry.artifact_type, sizeof entry.artifact_type, "%s", HRT_MT_MODEL_ARTIFACT);
	hrt_digest_of(buf, len, &entry.digest);
	entry.size = len;
	hrt_name_str(&n, entry.ref_name, sizeof entry.ref_name);
	const struct st_desc *blobs[HRT_STORE_MAX_LAYERS + 1];
	size_t nb = unique(m, blobs);
	size_t pl = strlen(path);
	if (pl > 4 && !strcmp(path + pl - 4, ".tar"))
		rc = export_tar(s, path, &entry, buf, blobs, nb, o, err);
	else
		rc = export_dir(s, path, &entry, buf, blobs, nb, o, err);
	if (!rc)
		rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	st_unlock(lk);
	free(buf);
	free(m);
	return rc;
}
