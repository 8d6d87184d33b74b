/*
 * http/auth — API keys for the server: the keys file, hashing, roles,
 * per-key model patterns and a per-key rate limit.
 *
 * A key is "hk_" + 64 hex digits (32 random bytes from libsodium). The
 * keys file keeps only its BLAKE2b-256 hash (crypto_generichash, keyed with
 * a fixed domain string): the keys are uniformly random 256-bit secrets, so
 * a stolen file cannot be brute-forced and a deliberately slow password
 * hash (Argon2) would only add CPU time to every request. Comparison is
 * constant-time (sodium_memcmp).
 *
 * Keys file: one key per line, tab-separated
 *     NAME  ROLE  RPM  MODELS  b2:HASH
 * ROLE is user or admin; RPM requests per minute (0: the server default);
 * MODELS comma-separated glob patterns ("*": all). Lines starting with '#'
 * are comments. The server re-reads the file when it changes, so `hearth
 * keys add` takes effect without a restart.
 *
 * Not here: which route needs which role (http/server).
 */
#ifndef HRT_HTTP_AUTH_H
#define HRT_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum hrt_role { HRT_ROLE_NONE = 0, HRT_ROLE_USER = 1, HRT_ROLE_ADMIN = 2 };

#define HRT_AUTH_NAME_MAX 64
#define HRT_AUTH_MODELS_MAX 256
#define HRT_AUTH_KEY_LEN 67 /* "hk_" + 64 hex */

/* who made a request */
struct hrt_auth_ident {
	char name[HRT_AUTH_NAME_MAX + 1];     /* key name; "-" without keys */
	enum hrt_role role;
	char models[HRT_AUTH_MODELS_MAX + 1]; /* glob patterns, comma-separated */
	int rpm;                               /* 0: the server default */
};

struct hrt_auth;

/* Open the keys file at path (copied). A missing file means no keys. The
 * file is read now and again whenever it changes. Errors: HRT_EFORMAT for
 * a malformed file (line number named), HRT_EIO, HRT_ENOMEM. */
int hrt_auth_open(struct hrt_auth **out, const char *path, struct hrt_err *err);
void hrt_auth_free(struct hrt_auth *a);

/* number of keys now (re-reads a changed file; a file that became
 * malformed keeps the previous keys and logs nothing) */
size_t hrt_auth_count(struct hrt_auth *a);

/* Look up a presented key ("Bearer " already removed). HRT_OK fills *id;
 * HRT_ENOTFOUND for an unknown key. */
int hrt_auth_check(struct hrt_auth *a, const char *key, struct hrt_auth_ident *id);

/* may this identity use the model name? ("x:latest" also matches "x") */
bool hrt_auth_model_ok(const struct hrt_auth_ident *id, const char *model);

/* Rate limit: take one request from the key's bucket (rpm per minute,
 * bursts of up to rpm). Returns 0 when allowed, else the seconds to wait.
 * rpm <= 0 means unlimited. */
int hrt_auth_rate_take(struct hrt_auth *a, const char *name, int rpm,
		       uint64_t now_ns);

/* --- hashing (exposed for tests) --- */
/* "b2:" + 64 hex of the key's hash into out (needs 68 bytes) */
void hrt_auth_hash(const char *key, size_t len, char out[68]);
/* a fresh random key into out (needs HRT_AUTH_KEY_LEN + 1 bytes) */
int hrt_auth_new_key(char out[HRT_AUTH_KEY_LEN + 1], struct hrt_err *err);
bool hrt_auth_name_ok(const char *name);
bool hrt_auth_role_parse(const char *s, enum hrt_role *out);
const char *hrt_auth_role_name(enum hrt_role r);

/* --- editing the file (the CLI) --- */
/* Add a key; writes the file atomically with mode 0600. The new key's text
 * goes to key_out (shown once, never stored). HRT_EINVAL for a bad name or
 * pattern or a name already present. */
int hrt_auth_file_add(const char *path, const char *name, enum hrt_role role,
		      const char *models, int rpm,
		      char key_out[HRT_AUTH_KEY_LEN + 1], struct hrt_err *err);
/* HRT_ENOTFOUND when no key has that name */
int hrt_auth_file_remove(const char *path, const char *name, struct hrt_err *err);
/* call fn for every key (hash not given) */
int hrt_auth_file_list(const char *path,
		       void (*fn)(void *ctx, const struct hrt_auth_ident *id),
		       void *ctx, struct hrt_err *err);

#endif
