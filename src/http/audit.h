/*
 * http/audit — the server's audit log: append-only JSON lines, each one
 * chained to the one before by a keyed hash, so that editing, inserting,
 * reordering or removing any line is detected by hrt_audit_verify.
 *
 * Line n (seq from 1) is a JSON object whose last two members are
 *     "prev":"<hash of line n-1, or 64 zeros>","hash":"<hex>"
 * and hash = BLAKE2b-256 keyed with the log's secret over the line's text
 * up to and including the "prev" member, closed with '}' (that is: the
 * line with its ,"hash":"…" member cut out). The secret lives in
 * PATH.key (32 random bytes, mode 0600, made on first use): without it
 * nobody can forge a consistent chain after an edit. PATH.head holds the
 * last seq and hash, rewritten after every append, so cutting lines off the
 * end is detected too (as long as the head file is not rolled back with
 * them — keep PATH.key and PATH.head where the log's writers cannot).
 *
 * Records: time, key name, route, model name and digest, token counts,
 * HTTP status, duration; the prompt text only when the server runs with
 * --audit-prompts.
 */
#ifndef HRT_HTTP_AUDIT_H
#define HRT_HTTP_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct hrt_audit;

struct hrt_audit_rec {
	const char *key;       /* key name ("-" without auth) */
	const char *method;
	const char *route;
	const char *model;     /* may be NULL */
	const char *digest;    /* model digest, may be NULL */
	int64_t prompt_tokens; /* -1: none */
	int64_t gen_tokens;    /* -1: none */
	int status;
	uint64_t duration_ns;
	const char *remote;    /* client address, may be NULL */
	const char *prompt;    /* written only if the log was opened with prompts */
};

/* Open (create) the log at path for appending; continues the chain of an
 * existing log (its last line must be intact). */
int hrt_audit_open(struct hrt_audit **out, const char *path, bool log_prompts,
		   struct hrt_err *err);
void hrt_audit_close(struct hrt_audit *a);
/* Append one record (thread-safe; one write(2) of the whole line). */
int hrt_audit_write(struct hrt_audit *a, const struct hrt_audit_rec *r,
		    struct hrt_err *err);

/* Check the whole chain of the log at path. HRT_OK with *n_lines set when
 * intact; HRT_EFORMAT naming the first bad line otherwise (edited,
 * removed, inserted, reordered, or lines cut off the end). */
int hrt_audit_verify(const char *path, uint64_t *n_lines, struct hrt_err *err);

#endif
