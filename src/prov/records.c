/*
 * prov/records — where provenance records live: "MODEL.hearth-prov/" beside
 * the model file, hearth envelopes named by their own SHA-256
 * ("<hex>.dsse.json", so ancestors' records copied in never collide and a
 * store can carry each as a blob whose digest is its name) and the OMS
 * bundle as "model.sig". A store hands its blobs in with
 * hrt_prov_records_add instead. Not here: what the records mean.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "core/util.h"
#include "prov/prov_int.h"

#define DIR_SUFFIX ".hearth-prov"
#define DSSE_SUFFIX ".dsse.json"
#define OMS_NAME "model.sig"

int hrt_prov_records_dir(const char *model_path, char *out, size_t cap,
			 struct hrt_err *err)
{
	int k = snprintf(out, cap, "%s%s", model_path, DIR_SUFFIX);
	if (k < 0 || (size_t)k >= cap)
		return HRT_ERR(err, HRT_EINVAL, "%s: path too long", model_path);
	return HRT_OK;
}

int hrt_prov_records_add(struct hrt_prov_records *rs, const void *bytes, size_t len,
			 bool oms, const char *origin, struct hrt_err *err)
{
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	if (len > HRT_PROV_MAX_RECORD)
		return HRT_ERR(err, HRT_ERANGE, "%s: record larger than %u bytes",
			       origin ? origin : "record", HRT_PROV_MAX_RECORD);
	if (rs->n >= HRT_PROV_MAX_RECORDS)
		return HRT_ERR(err, HRT_ERANGE, "more than %d records", HRT_PROV_MAX_RECORDS);
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 8;
		void *nr = realloc(rs->r, nc * sizeof *rs->r);
		if (!nr)
			return HRT_ERR(err, HRT_ENOMEM, "out of memory");
		rs->r = nr;
		rs->cap = nc;
	}
	struct hrt_prov_record *r = &rs->r[rs->n];
	memset(r, 0, sizeof *r);
	r->bytes = malloc(len ? len : 1);
	if (!r->bytes)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	if (len)
		memcpy(r->bytes, bytes, len);
	r->len = len;
	r->oms = oms;
	uint8_t h[32];
	crypto_hash_sha256(h, bytes, len);
	hrt_prov_hex(h, 32, r->sha256);
	snprintf(r->origin, sizeof r->origin, "%s", origin ? origin : "");
	/* the same bytes twice (a copy in two places) count once */
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->r[i].sha256, r->sha256)) {
			free(r->bytes);
			return HRT_OK;
		}
	rs->n++;
	return HRT_OK;
}

static bool is_record_file(const char *name)
{
	size_t l = strlen(name), sl = strlen(DSSE_SUFFIX);
	return (l > sl && !strcmp(name + l - sl, DSSE_SUFFIX)) || !strcmp(name, OMS_NAME);
}

int hrt_prov_records_load(struct hrt_prov_records *rs, const char *dir,
			  struct hrt_err *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return HRT_OK;
		return HRT_ERR(err, HRT_EIO, "%s: %s", dir, strerror(errno));
	}
	char **names;
	size_t n;
	int rc = prov_dir_names(d, dir, is_record_file, HRT_PROV_MAX_RECORDS, "records", &names, &n,
				err);
	for (size_t i = 0; !rc && i < n; i++) {
		char path[4096];
		char *buf = NULL;
		size_t len = 0;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((rc = prov_read_file(path, HRT_PROV_MAX_RECORD, &buf, &len, err)))
			break;
		rc = hrt_prov_records_add(rs, buf, len, !strcmp(names[i], OMS_NAME), path, err);
		free(buf);
	}
	prov_names_free(names, n);
	return rc;
}

int hrt_prov_records_save(const char *dir, const void *bytes, size_t len, bool oms,
			  char *sha_out, struct hrt_err *err)
{
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	if (mkdir(dir, 0755) && errno != EEXIST)
		return HRT_ERR(err, HRT_EIO, "%s: %s", dir, strerror(errno));
	uint8_t h[32];
	char hex[65], path[4096];
	crypto_hash_sha256(h, bytes, len);
	hrt_prov_hex(h, 32, hex);
	if (sha_out)
		memcpy(sha_out, hex, 65);
	if (oms)
		snprintf(path, sizeof path, "%s/%s", dir, OMS_NAME);
	else
		snprintf(path, sizeof path, "%s/%s%s", dir, hex, DSSE_SUFFIX);
	return prov_write_file(path, bytes, len, 0644, false, err);
}

void hrt_prov_records_free(struct hrt_prov_records *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].bytes);
	free(rs->r);
	memset(rs, 0, sizeof *rs);
}

int prov_collect_records(const char *model_path, const struct hrt_prov_records *given,
			 struct hrt_prov_records *own, const struct hrt_prov_records **use,
			 struct hrt_err *err)
{
	memset(own, 0, sizeof *own);
	if (given) {
		*use = given;
		return HRT_OK;
	}
	char dir[4096];
	int rc = hrt_prov_records_dir(model_path, dir, sizeof dir, err);
	if (!rc)
		rc = hrt_prov_records_load(own, dir, err);
	*use = own;
	return rc;
}
