/* core/err — see err.h. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hrt_err_set(struct hrt_err *err, int code, const char *file, int line,
		const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	err->file = file;
	err->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* keep the record one line, whatever the arguments contained */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

void hrt_err_clear(struct hrt_err *err)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
}

const char *hrt_err_name(int code)
{
	switch (code) {
	case HRT_OK: return "ok";
	case HRT_EINVAL: return "invalid argument";
	case HRT_ENOMEM: return "out of memory";
	case HRT_EIO: return "i/o error";
	case HRT_EFORMAT: return "format error";
	case HRT_ERANGE: return "out of range";
	case HRT_ENOTSUP: return "not supported";
	case HRT_ENOTFOUND: return "not found";
	case HRT_ECANCELED: return "canceled";
	}
	return "error";
}
