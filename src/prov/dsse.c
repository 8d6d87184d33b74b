/*
 * prov/dsse — Ed25519 keys (libsodium), the sets of trusted keys, and DSSE
 * envelopes: the pre-authentication encoding, signing, strict parsing and
 * verification.
 *
 * Key files (JSON, one object):
 *   NAME.pub  {"type": "hearth-ed25519-public-v1", "keyid": hex, "public":
 *              base64(32 bytes), "name": s, "created": time, "expires": time}
 *   NAME.key  {"type": "hearth-ed25519-secret-v1", ... "secret": base64(64)}
 *   NAME.pub.pem  the public key as a PEM SubjectPublicKeyInfo (RFC 8410),
 *              for tools that want PEM; accepted as input too.
 * keyid = lowercase hex SHA-256 of the 32 public key bytes.
 *
 * DSSE v1: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *   envelope = {"payload": b64, "payloadType": s, "signatures": [{"keyid",
 *   "sig"}]}; the signature is over PAE, never over the JSON.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "prov/prov_int.h"

#define KEY_PUB_TYPE "hearth-ed25519-public-v1"
#define KEY_SEC_TYPE "hearth-ed25519-secret-v1"
#define KEY_MAX_FILE 16384
#define TRUST_MAX 1024

/* DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410) */
static const uint8_t spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };

static void set_keyid(struct hrt_prov_key *k)
{
	uint8_t h[32];
	crypto_hash_sha256(h, k->pk, 32);
	hrt_prov_hex(h, 32, k->keyid);
}

static bool name_ok(const char *n)
{
	if (!n || !*n || strlen(n) > 63 || n[0] == '.')
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

int hrt_prov_keygen(struct hrt_prov_key *k, const char *name, int64_t expires,
		    struct hrt_err *err)
{
	memset(k, 0, sizeof *k);
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	if (!name)
		name = "hearth";
	if (!name_ok(name))
		return HRT_ERR(err, HRT_EINVAL,
			       "key name '%.64s': use 1-63 letters, digits, '.', '_' or '-'", name);
	crypto_sign_keypair(k->pk, k->sk);
	k->has_secret = true;
	k->expires = expires;
	snprintf(k->name, sizeof k->name, "%s", name);
	set_keyid(k);
	return HRT_OK;
}

void hrt_prov_key_wipe(struct hrt_prov_key *k)
{
	if (k)
		sodium_memzero(k, sizeof *k);
}

char *hrt_prov_key_pem(const struct hrt_prov_key *k)
{
	uint8_t der[44];
	memcpy(der, spki_prefix, 12);
	memcpy(der + 12, k->pk, 32);
	char *b = prov_b64_encode(der, sizeof der);
	if (!b)
		return NULL;
	size_t n = strlen(b) + 64;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b);
	free(b);
	return s;
}

static char *key_json(const struct hrt_prov_key *k, bool secret)
{
	cJSON *j = cJSON_CreateObject();
	char *pub = prov_b64_encode(k->pk, 32);
	char *sec = secret ? prov_b64_encode(k->sk, 64) : NULL;
	char *out = NULL;
	char t[21];
	if (!j || !pub || (secret && !sec))
		goto out_free;
	cJSON_AddStringToObject(j, "type", secret ? KEY_SEC_TYPE : KEY_PUB_TYPE);
	cJSON_AddStringToObject(j, "keyid", k->keyid);
	cJSON_AddStringToObject(j, "name", k->name);
	cJSON_AddStringToObject(j, "public", pub);
	if (secret)
		cJSON_AddStringToObject(j, "secret", sec);
	hrt_prov_format_time((int64_t)time(NULL), t);
	cJSON_AddStringToObject(j, "created", t);
	if (k->expires) {
		hrt_prov_format_time(k->expires, t);
		cJSON_AddStringToObject(j, "expires", t);
	}
	out = cJSON_Print(j);
out_free:
	cJSON_Delete(j);
	free(pub);
	if (sec) {
		sodium_memzero(sec, strlen(sec));
		free(sec);
	}
	return out;
}

int hrt_prov_key_save(const struct hrt_prov_key *k, const char *dir,
		      struct hrt_err *err)
{
	char path[4096];
	if (!k->has_secret)
		return HRT_ERR(err, HRT_EINVAL, "no secret key to save");
	if (mkdir(dir, 0700) && errno != EEXIST)
		return HRT_ERR(err, HRT_EIO, "%s: %s", dir, strerror(errno));
	char *sec = key_json(k, true), *pub = key_json(k, false), *pem = hrt_prov_key_pem(k);
	int rc = HRT_OK;
	if (!sec || !pub || !pem) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	snprintf(path, sizeof path, "%s/%s.key", dir, k->name);
	if ((rc = prov_write_file(path, sec, strlen(sec), 0600, true, err)))
		goto out_free;
	snprintf(path, sizeof path, "%s/%s.pub", dir, k->name);
	if ((rc = prov_write_file(path, pub, strlen(pub), 0644, false, err)))
		goto out_free;
	snprintf(path, sizeof path, "%s/%s.pub.pem", dir, k->name);
	rc = prov_write_file(path, pem, strlen(pem), 0644, false, err);
out_free:
	if (sec) {
		sodium_memzero(sec, strlen(sec));
		free(sec);
	}
	free(pub);
	free(pem);
	return rc;
}

static int parse_pem(const char *in, size_t len, struct hrt_prov_key *k,
		     struct hrt_err *err)
{
	static const char head[] = "-----BEGIN PUBLIC KEY-----";
	static const char tail[] = "-----END PUBLIC KEY-----";
	char buf[KEY_MAX_FILE + 1];
	if (len > KEY_MAX_FILE || memchr(in, 0, len))
		return HRT_ERR(err, HRT_EFORMAT, "PEM key: not text");
	memcpy(buf, in, len);
	buf[len] = 0;
	const char *b = strstr(buf, head);
	const char *e = b ? strstr(b, tail) : NULL;
	if (!b || !e)
		return HRT_ERR(err, HRT_EFORMAT, "PEM key: no PUBLIC KEY block");
	b += sizeof head - 1;
	char body[256];
	size_t n = 0;
	for (const char *p = b; p < e; p++) {
		if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			continue;
		if (n + 1 >= sizeof body)
			return HRT_ERR(err, HRT_EFORMAT, "PEM key: too long for Ed25519");
		body[n++] = *p;
	}
	body[n] = 0;
	uint8_t *der = NULL;
	size_t dl = 0;
	if (prov_b64_decode(body, &der, &dl) || dl != 44 || memcmp(der, spki_prefix, 12)) {
		free(der);
		return HRT_ERR(err, HRT_ENOTSUP, "PEM key: not an Ed25519 public key");
	}
	memcpy(k->pk, der + 12, 32);
	free(der);
	set_keyid(k);
	snprintf(k->name, sizeof k->name, "pem");
	return HRT_OK;
}

int hrt_prov_key_parse(const char *buf, size_t len, struct hrt_prov_key *k,
		       struct hrt_err *err)
{
	static const char *const keys[] = { "type", "keyid", "name", "public", "secret",
					    "created", "expires", NULL };
	memset(k, 0, sizeof *k);
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	if (len > KEY_MAX_FILE)
		return HRT_ERR(err, HRT_EFORMAT, "key file: larger than %d bytes", KEY_MAX_FILE);
	for (size_t i = 0; i + 10 <= len; i++)
		if (!memcmp(buf + i, "-----BEGIN", 10))
			return parse_pem(buf, len, k, err);
	cJSON *j = prov_json_parse(buf, len, "key file", err);
	if (!j)
		return err ? err->code : HRT_EFORMAT;
	char type[64], keyid[80], pub[128], sec[160], exp[40], created[40];
	int rc;
	uint8_t *raw = NULL;
	size_t rl = 0;
	if ((rc = prov_json_keys(j, keys, "key file", err)) ||
	    (rc = prov_json_str(j, "type", true, type, sizeof type, "key file", err)) ||
	    (rc = prov_json_str(j, "keyid", false, keyid, sizeof keyid, "key file", err)) ||
	    (rc = prov_json_str(j, "name", false, k->name, sizeof k->name, "key file", err)) ||
	    (rc = prov_json_str(j, "public", true, pub, sizeof pub, "key file", err)) ||
	    (rc = prov_json_str(j, "secret", false, sec, sizeof sec, "key file", err)) ||
	    (rc = prov_json_str(j, "created", false, created, sizeof created, "key file", err)) ||
	    (rc = prov_json_str(j, "expires", false, exp, sizeof exp, "key file", err)))
		goto out;
	bool is_sec = !strcmp(type, KEY_SEC_TYPE);
	if (!is_sec && strcmp(type, KEY_PUB_TYPE)) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "key file: unknown type \"%.40s\"", type);
		goto out;
	}
	if (prov_b64_decode(pub, &raw, &rl) || rl != 32) {
		rc = HRT_ERR(err, HRT_EFORMAT, "key file: \"public\" is not 32 base64 bytes");
		goto out;
	}
	memcpy(k->pk, raw, 32);
	free(raw);
	raw = NULL;
	set_keyid(k);
	if (keyid[0] && strcmp(keyid, k->keyid)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "key file: keyid does not match the public key");
		goto out;
	}
	if (exp[0] && hrt_prov_parse_time(exp, &k->expires)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "key file: bad \"expires\" time");
		goto out;
	}
	if (is_sec) {
		uint8_t pk2[32];
		if (!sec[0] || prov_b64_decode(sec, &raw, &rl) || rl != 64) {
			rc = HRT_ERR(err, HRT_EFORMAT, "key file: \"secret\" is not 64 base64 bytes");
			goto out;
		}
		memcpy(k->sk, raw, 64);
		crypto_sign_ed25519_sk_to_pk(pk2, k->sk);
		if (sodium_memcmp(pk2, k->pk, 32)) {
			rc = HRT_ERR(err, HRT_EFORMAT, "key file: secret and public keys disagree");
			goto out;
		}
		k->has_secret = true;
	} else if (sec[0]) {
		rc = HRT_ERR(err, HRT_EFORMAT, "key file: a public key file holds a secret");
		goto out;
	}
	rc = HRT_OK;
out:
	if (raw) {
		sodium_memzero(raw, rl);
		free(raw);
	}
	sodium_memzero(sec, sizeof sec);
	cJSON *sj = cJSON_GetObjectItemCaseSensitive(j, "secret");
	if (sj && cJSON_IsString(sj) && sj->valuestring)
		sodium_memzero(sj->valuestring, strlen(sj->valuestring));
	cJSON_Delete(j);
	if (rc)
		hrt_prov_key_wipe(k);
	return rc;
}

int hrt_prov_key_load(const char *path, struct hrt_prov_key *k, struct hrt_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = prov_read_file(path, KEY_MAX_FILE, &buf, &len, err);
	if (rc)
		return rc;
	rc = hrt_prov_key_parse(buf, len, k, err);
	if (rc && err) {
		char m[sizeof err->msg];
		snprintf(m, sizeof m, "%s", err->msg);
		snprintf(err->msg, sizeof err->msg, "%s: %s", path, m);
	}
	sodium_memzero(buf, len);
	free(buf);
	if (!rc && !k->name[0]) {
		const char *b = strrchr(path, '/');
		snprintf(k->name, sizeof k->name, "%s", b ? b + 1 : path);
	}
	return rc;
}

/* ------------------------------------------------------------- trust */

int hrt_prov_trust_add(struct hrt_prov_trust *t, const struct hrt_prov_key *k,
		       struct hrt_err *err)
{
	if (hrt_prov_trust_find(t, k->keyid))
		return HRT_OK;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 8;
		if (nc > TRUST_MAX)
			return HRT_ERR(err, HRT_ERANGE, "more than %d trusted keys", TRUST_MAX);
		void *nk = realloc(t->keys, nc * sizeof *t->keys);
		if (!nk)
			return HRT_ERR(err, HRT_ENOMEM, "out of memory");
		t->keys = nk;
		t->cap = nc;
	}
	t->keys[t->n] = *k;
	/* a trust set never holds secrets */
	sodium_memzero(t->keys[t->n].sk, 64);
	t->keys[t->n].has_secret = false;
	t->n++;
	return HRT_OK;
}

static bool is_key_file(const char *name)
{
	size_t l = strlen(name);
	return l > 4 && (!strcmp(name + l - 4, ".pub") || !strcmp(name + l - 4, ".pem"));
}

int hrt_prov_trust_add_dir(struct hrt_prov_trust *t, const char *dir,
			   struct hrt_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO, "%s: %s", dir,
			       strerror(errno));
	char **names;
	size_t n;
	int rc = prov_dir_names(d, dir, is_key_file, TRUST_MAX * 2, "key files", &names, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		char path[4096];
		struct hrt_prov_key k;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((rc = hrt_prov_key_load(path, &k, err)))
			break;
		rc = hrt_prov_trust_add(t, &k, err);
		hrt_prov_key_wipe(&k);
	}
	prov_names_free(names, n);
	return rc;
}

const struct hrt_prov_key *hrt_prov_trust_find(const struct hrt_prov_trust *t,
					       const char *keyid)
{
	for (size_t i = 0; t && keyid && i < t->n; i++)
		if (!strcmp(t->keys[i].keyid, keyid))
			return &t->keys[i];
	return NULL;
}

void hrt_prov_trust_free(struct hrt_prov_trust *t)
{
	if (!t)
		return;
	free(t->keys);
	memset(t, 0, sizeof *t);
}

/* -------------------------------------------------------------- DSSE */

int hrt_dsse_pae(const char *type, const uint8_t *body, size_t n, uint8_t **out,
		 size_t *out_len, struct hrt_err *err)
{
	size_t tl = strlen(type);
	char head[96];
	int k = snprintf(head, sizeof head, "DSSEv1 %zu ", tl);
	char mid[32];
	int k2 = snprintf(mid, sizeof mid, " %zu ", n);
	size_t total = (size_t)k + tl + (size_t)k2 + n;
	uint8_t *b = malloc(total ? total : 1);
	if (!b)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	memcpy(b, head, (size_t)k);
	memcpy(b + k, type, tl);
	memcpy(b + k + tl, mid, (size_t)k2);
	if (n)
		memcpy(b + k + tl + k2, body, n);
	*out = b;
	*out_len = total;
	return HRT_OK;
}

int hrt_dsse_sign(const char *payload_type, const uint8_t *payload, size_t n,
		  const struct hrt_prov_key *k, char **out, struct hrt_err *err)
{
	*out = NULL;
	if (!k->has_secret)
		return HRT_ERR(err, HRT_EINVAL, "signing needs a secret key");
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	uint8_t *pae = NULL;
	size_t pl = 0;
	int rc = hrt_dsse_pae(payload_type, payload, n, &pae, &pl, err);
	if (rc)
		return rc;
	uint8_t sig[64];
	crypto_sign_detached(sig, NULL, pae, pl, k->sk);
	free(pae);
	char *p64 = prov_b64_encode(payload, n), *s64 = prov_b64_encode(sig, 64);
	cJSON *j = cJSON_CreateObject(), *sigs = NULL, *s = NULL;
	if (!p64 || !s64 || !j)
		goto oom;
	cJSON_AddStringToObject(j, "payload", p64);
	cJSON_AddStringToObject(j, "payloadType", payload_type);
	sigs = cJSON_AddArrayToObject(j, "signatures");
	s = cJSON_CreateObject();
	if (!sigs || !s)
		goto oom;
	cJSON_AddStringToObject(s, "keyid", k->keyid);
	cJSON_AddStringToObject(s, "sig", s64);
	cJSON_AddItemToArray(sigs, s);
	*out = cJSON_Print(j);
	if (!*out)
		goto oom;
	cJSON_Delete(j);
	free(p64);
	free(s64);
	return HRT_OK;
oom:
	cJSON_Delete(j);
	free(p64);
	free(s64);
	return HRT_ERR(err, HRT_ENOMEM, "out of memory");
}

/* parse an envelope object (already parsed JSON) */
static int dsse_from_json(const cJSON *j, struct hrt_dsse *e, struct hrt_err *err)
{
	static const char *const keys[] = { "payload", "payloadType", "signatures", NULL };
	static const char *const skeys[] = { "keyid", "sig", NULL };
	int rc;
	if ((rc = prov_json_keys(j, keys, "DSSE envelope", err)) ||
	    (rc = prov_json_str(j, "payloadType", true, e->payload_type, sizeof e->payload_type,
				"DSSE envelope", err)))
		return rc;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "payload");
	if (!cJSON_IsString(p) || !p->valuestring)
		return HRT_ERR(err, HRT_EFORMAT, "DSSE envelope: \"payload\" must be a string");
	if (strlen(p->valuestring) > HRT_PROV_MAX_RECORD / 3 * 4 + 4)
		return HRT_ERR(err, HRT_EFORMAT, "DSSE envelope: payload too large");
	if (prov_b64_decode(p->valuestring, &e->payload, &e->payload_len))
		return HRT_ERR(err, HRT_EFORMAT, "DSSE envelope: payload is not base64");
	const cJSON *sigs = cJSON_GetObjectItemCaseSensitive(j, "signatures");
	if (!cJSON_IsArray(sigs))
		return HRT_ERR(err, HRT_EFORMAT, "DSSE envelope: \"signatures\" must be an array");
	int ns = cJSON_GetArraySize(sigs);
	if (ns < 1 || ns > HRT_DSSE_MAX_SIGS)
		return HRT_ERR(err, HRT_EFORMAT, "DSSE envelope: %d signatures (1..%d)", ns,
			       HRT_DSSE_MAX_SIGS);
	const cJSON *s;
	cJSON_ArrayForEach(s, sigs)
	{
		char sig64[200];
		if ((rc = prov_json_keys(s, skeys, "DSSE signature", err)) ||
		    (rc = prov_json_str(s, "keyid", false, e->sigs[e->n_sigs].keyid,
					sizeof e->sigs[0].keyid, "DSSE signature", err)) ||
		    (rc = prov_json_str(s, "sig", true, sig64, sizeof sig64, "DSSE signature", err)))
			return rc;
		uint8_t *raw = NULL;
		size_t rl = 0;
		if (prov_b64_decode(sig64, &raw, &rl))
			return HRT_ERR(err, HRT_EFORMAT, "DSSE signature: \"sig\" is not base64");
		e->sigs[e->n_sigs].sig_len_ok = rl == 64;
		if (rl == 64)
			memcpy(e->sigs[e->n_sigs].sig, raw, 64);
		free(raw);
		e->n_sigs++;
	}
	return HRT_OK;
}

int prov_dsse_from_json(const cJSON *j, struct hrt_dsse *e, struct hrt_err *err)
{
	memset(e, 0, sizeof *e);
	int rc = dsse_from_json(j, e, err);
	if (rc)
		hrt_dsse_free(e);
	return rc;
}

int hrt_dsse_parse(const char *json, size_t len, struct hrt_dsse *out,
		   struct hrt_err *err)
{
	memset(out, 0, sizeof *out);
	if (len > HRT_PROV_MAX_RECORD)
		return HRT_ERR(err, HRT_EFORMAT, "DSSE envelope: larger than %u bytes",
			       HRT_PROV_MAX_RECORD);
	cJSON *j = prov_json_parse(json, len, "DSSE envelope", err);
	if (!j)
		return err ? err->code : HRT_EFORMAT;
	int rc = prov_dsse_from_json(j, out, err);
	cJSON_Delete(j);
	return rc;
}

void hrt_dsse_free(struct hrt_dsse *e)
{
	if (!e)
		return;
	free(e->payload);
	e->payload = NULL;
	e->payload_len = 0;
}

int hrt_dsse_verify(const struct hrt_dsse *e, const struct hrt_prov_key *k)
{
	if (!prov_sodium_ready())
		return -1;
	uint8_t *pae = NULL;
	size_t pl = 0;
	if (hrt_dsse_pae(e->payload_type, e->payload, e->payload_len, &pae, &pl, NULL))
		return -1;
	int found = -1;
	for (size_t i = 0; i < e->n_sigs && found < 0; i++) {
		if (e->sigs[i].keyid[0] && strcmp(e->sigs[i].keyid, k->keyid))
			continue;
		if (e->sigs[i].sig_len_ok &&
		    crypto_sign_verify_detached(e->sigs[i].sig, pae, pl, k->pk) == 0)
			found = (int)i;
	}
	free(pae);
	return found;
}
