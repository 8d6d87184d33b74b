/*
 * http/tools — tool (function) calling around a chat model that has no
 * notion of it beyond text: the system text that tells the model which
 * tools exist and how to call them, in the form its family was trained on,
 * and the extraction of calls from what it wrote:
 *   granite    <|tool_call|>[{"name": …, "arguments": {…}}, …]
 *   llama3     {"name": …, "parameters": {…}}  (optionally after <|python_tag|>)
 *   chatml     <tool_call>{"name": …, "arguments": {…}}</tool_call> …  (Qwen, Hermes)
 *   mistral    [TOOL_CALLS][{"name": …, "arguments": {…}}, …]  or  [TOOL_CALLS]name[ARGS]{…}
 * Other families use the chatml form. Extraction also accepts the other
 * families' forms: small models do not always keep to their own.
 *
 * The tool text goes into a system message as plain content: tool names
 * and descriptions from a request can never become control tokens.
 * Not here: HTTP shapes of tool calls (http/ollama, http/openai).
 */
#ifndef HRT_HTTP_TOOLS_H
#define HRT_HTTP_TOOLS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "http/json.h"
#include "tok/chat.h"

struct hrt_tool_call {
	char *name;
	char *arguments; /* JSON text of an object ("{}" when none given) */
};

/* Validate a request's "tools" array (OpenAI/Ollama shape: {type:
 * "function", function: {name, description, parameters}}); HRT_EINVAL
 * naming the bad entry. */
int hrt_tools_validate(const cJSON *tools, struct hrt_err *err);

/* Append the system text announcing tools to out. */
void hrt_tools_prompt(enum hrt_chat_family f, const cJSON *tools,
		      struct hrt_hbuf *out);

/* Append an assistant turn's earlier calls (the request's tool_calls
 * array, OpenAI or Ollama shape) as the family writes them. */
int hrt_tools_render_calls(enum hrt_chat_family f, const cJSON *calls,
			   struct hrt_hbuf *out, struct hrt_err *err);

/* Find tool calls in generated text. On success with *n > 0, *calls is
 * malloc'd (free with hrt_tool_calls_free) and *content_len is how many
 * leading bytes of text are ordinary content (before the first call).
 * Text that is not a well-formed call gives *n == 0 (not an error). */
int hrt_tools_extract(enum hrt_chat_family f, const char *text, size_t len,
		      struct hrt_tool_call **calls, size_t *n,
		      size_t *content_len, struct hrt_err *err);
void hrt_tool_calls_free(struct hrt_tool_call *calls, size_t n);

/* Streaming: the byte offset in text[0..len) from which output must be
 * held back because a tool call starts (or may start) there; len when all
 * of it is plain content. */
size_t hrt_tools_hold_from(enum hrt_chat_family f, const char *text, size_t len);

#endif
