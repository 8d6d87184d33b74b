/*
 * core/err — the error record every fallible hearth function fills.
 *
 * A function that can fail returns an int status (HRT_OK == 0, otherwise one
 * of enum hrt_errcode) and writes a one-line human message into a
 * caller-supplied struct hrt_err. The message names what failed and where
 * (field name, byte offset, file:line of the check). Not a logging facility.
 */
#ifndef HRT_CORE_ERR_H
#define HRT_CORE_ERR_H

#include <stddef.h>

enum hrt_errcode {
	HRT_OK = 0,
	HRT_EINVAL,   /* bad argument from the caller or the user */
	HRT_ENOMEM,   /* allocation failed or a size cap was hit */
	HRT_EIO,      /* read/write/open/mmap failed */
	HRT_EFORMAT,  /* malformed input (file, request, token text) */
	HRT_ERANGE,   /* value out of the accepted range (context full, ...) */
	HRT_ENOTSUP,  /* valid but not supported (tensor type, architecture) */
	HRT_ENOTFOUND,/* a key, tensor, model or file does not exist */
	HRT_ECANCELED /* stopped by the caller (Ctrl-C, disconnect) */
};

struct hrt_err {
	int code;          /* enum hrt_errcode */
	char msg[512];     /* NUL-terminated, one line */
	const char *file;  /* source file of the check that failed */
	int line;
};

/* Fill *err (may be NULL) and return code. printf-style message. */
int hrt_err_set(struct hrt_err *err, int code, const char *file, int line,
		const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define HRT_ERR(err, code, ...) \
	hrt_err_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Reset a record to "no error". */
void hrt_err_clear(struct hrt_err *err);

/* Short name of a code ("format error", ...). Never NULL. */
const char *hrt_err_name(int code);

#endif
