/*
 * cli/cmd_run — `hearth run [MODEL] [PROMPT...]`: with a prompt (or text on
 * a non-terminal stdin), stream one answer; otherwise an interactive chat
 * with history (KV prefix reused between turns), /bye, /clear, /help, and
 * Ctrl-C stopping the current answer rather than the program. With no
 * MODEL, the default model is used (downloaded on first use).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"
#include "kern/types.h"

static atomic_int interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	atomic_store(&interrupted, 1);
}

struct run_opts {
	const char *model;
	char *prompt;        /* joined PROMPT words, or NULL */
	const char *system;
	bool raw, verbose;
	uint32_t kv_type;      /* 0: default */
	struct hrt_gen_params gp;
	uint32_t n_ctx;
	int n_threads;
};

static const char usage[] =
	"usage: hearth run [MODEL] [PROMPT...] [options]\n"
	"  MODEL                 a .gguf file or a known model name (default: %s)\n"
	"  --system TEXT         system prompt\n"
	"  --raw                 no chat template: the prompt is the model's input\n"
	"  --verbose             timings on stderr\n"
	"  --kv-type f16|q8_0    KV cache type (q8_0: half the memory; also $HEARTH_KV_TYPE)\n"
	"%s";

struct out_state {
	bool any;
	char last;
};

static int stream_out(void *ctx, const char *t, size_t k, int32_t tok)
{
	struct out_state *o = ctx;
	(void)tok;
	fwrite(t, 1, k, stdout);
	fflush(stdout);
	if (k) {
		o->any = true;
		o->last = t[k - 1];
	}
	return 0;
}

static void report(const struct run_opts *o, const struct hrt_gen_result *r)
{
	if (!o->verbose)
		return;
	double ps = (double)r->prompt_ns / 1e9, gs = (double)r->gen_ns / 1e9;
	fprintf(stderr, "\nprompt: %zu tokens in %.2f s (%.1f tok/s); generated: %zu tokens in %.2f s (%.1f tok/s); stop: %s\n",
		r->n_prompt, ps, ps > 0 ? (double)r->n_prompt / ps : 0, r->n_gen, gs,
		gs > 0 ? (double)r->n_gen / gs : 0, hrt_stop_reason_name(r->reason));
}

/* Render the conversation, reuse the common prefix in the session, generate.
 * On success *answer holds the reply text (malloc'd). */
static int turn(struct hrt_llm *l, struct hrt_session *s, const struct run_opts *o,
		const struct hrt_chat_msg *msgs, size_t n_msgs, const char *raw_text,
		char **answer, struct hrt_err *err)
{
	int32_t *ids = NULL;
	size_t n = 0;
	int rc;
	if (raw_text)
		rc = hrt_tok_encode(hrt_llm_vocab(l), raw_text, strlen(raw_text),
				    hrt_session_n_past(s) == 0, false, &ids, &n, err);
	else
		rc = hrt_llm_chat_tokens(l, msgs, n_msgs, true, &ids, &n, err);
	if (rc)
		return rc;
	size_t keep = raw_text ? hrt_session_n_past(s) : hrt_session_common_prefix(s, ids, n);
	const int32_t *todo = raw_text ? ids : ids + keep;
	size_t n_todo = raw_text ? n : n - keep;
	if (!raw_text && keep == n && keep > 0) {
		/* re-evaluate the last token so there are fresh logits */
		keep--;
		todo = ids + keep;
		n_todo = 1;
	}
	if (!raw_text)
		hrt_session_truncate(s, keep);
	if (n_todo > hrt_session_n_ctx(s) - hrt_session_n_past(s)) {
		rc = HRT_ERR(err, HRT_ERANGE,
			     "the conversation is %zu tokens and no longer fits the context of %u tokens (/clear starts over, --ctx sets a larger one)",
			     hrt_session_n_past(s) + n_todo, hrt_session_n_ctx(s));
		free(ids);
		return rc;
	}
	struct hrt_gen_params gp = o->gp;
	gp.cancel = &interrupted;
	struct out_state os = { 0 };
	struct hrt_gen_result res;
	atomic_store(&interrupted, 0);
	rc = hrt_session_generate(s, todo, n_todo, &gp, stream_out, &os, &res, err);
	free(ids);
	if (rc)
		return rc;
	if (os.any && os.last != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	if (res.reason == HRT_STOP_CONTEXT)
		fprintf(stderr, "hearth: stopped: the context of %u tokens is full\n",
			hrt_session_n_ctx(s));
	report(o, &res);
	if (answer) {
		/* the reply text, for the history */
		size_t alen;
		if (hrt_tok_decode(hrt_llm_vocab(l), res.tokens, res.n_gen, false, answer, &alen, err))
			*answer = NULL;
	}
	free(res.tokens);
	return HRT_OK;
}

static int one_shot(struct hrt_llm *l, struct run_opts *o)
{
	struct hrt_err err = { 0 };
	struct hrt_session *s = NULL;
	int status = 1;
	if (hrt_session_new(&s, l, 0, &err))
		goto fail;
	bool raw = o->raw || hrt_llm_chat(l) == HRT_CHAT_RAW;
	struct hrt_chat_msg msgs[2];
	size_t nm = 0;
	if (o->system)
		msgs[nm++] = (struct hrt_chat_msg){ "system", o->system };
	msgs[nm++] = (struct hrt_chat_msg){ "user", o->prompt };
	if (turn(l, s, o, msgs, nm, raw ? o->prompt : NULL, NULL, &err))
		goto fail;
	status = 0;
	goto out;
fail:
	cli_fail_err(&err);
out:
	hrt_session_free(s);
	return status;
}

/* read one user message; handles """ blocks. NULL at end of input. */
static char *read_message(bool *eof)
{
	char *line = NULL;
	size_t cap = 0;
	*eof = false;
	fputs(">>> ", stdout);
	fflush(stdout);
	errno = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		if (errno == EINTR) {
			clearerr(stdin);
			fputs("\n(Use Ctrl+D or /bye to exit.)\n", stdout);
			return hrt_strdup("");
		}
		*eof = true;
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	if (strncmp(line, "\"\"\"", 3))
		return line;
	/* multi-line: until a line ending in """ */
	size_t len = (size_t)n - 3, bcap = len + 256;
	char *buf = malloc(bcap);
	if (!buf) {
		free(line);
		return NULL;
	}
	memcpy(buf, line + 3, len);
	for (;;) {
		if (len >= 3 && !memcmp(buf + len - 3, "\"\"\"", 3)) {
			len -= 3;
			break;
		}
		fputs("... ", stdout);
		fflush(stdout);
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		if (len + (size_t)n + 2 > bcap) {
			char *nb = realloc(buf, bcap = (len + (size_t)n + 2) * 2);
			if (!nb)
				break;
			buf = nb;
		}
		buf[len++] = '\n';
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		memcpy(buf + len, line, (size_t)n);
		len += (size_t)n;
	}
	buf[len] = 0;
	free(line);
	return buf;
}

static int interactive(struct hrt_llm *l, struct run_opts *o)
{
	struct hrt_err err = { 0 };
	struct hrt_session *s = NULL;
	if (hrt_session_new(&s, l, 0, &err))
		return cli_fail_err(&err);
	bool raw = o->raw || hrt_llm_chat(l) == HRT_CHAT_RAW;
	struct hrt_chat_msg *msgs = NULL;
	char **owned = NULL;
	size_t nm = 0, no = 0;
	int status = 0;
	fprintf(stderr, "hearth: chatting with %s (%s template, context %u). /help for help, /bye to leave.\n",
		o->model, raw ? "no" : hrt_chat_family_name(hrt_llm_chat(l)), hrt_session_n_ctx(s));
	for (;;) {
		bool eof;
		char *msg = read_message(&eof);
		if (eof) {
			fputc('\n', stdout);
			break;
		}
		if (!msg) {
			status = cli_fail("no memory");
			break;
		}
		if (!*msg) {
			free(msg);
			continue;
		}
		if (!strcmp(msg, "/bye") || !strcmp(msg, "/exit")) {
			free(msg);
			break;
		}
		if (!strcmp(msg, "/help") || !strcmp(msg, "/?")) {
			puts("  /bye     leave\n  /clear   forget the conversation\n  \"\"\"      start and end a multi-line message\n  Ctrl-C   stop the current answer");
			free(msg);
			continue;
		}
		if (!strcmp(msg, "/clear")) {
			for (size_t i = 0; i < no; i++)
				free(owned[i]);
			nm = no = 0;
			hrt_session_truncate(s, 0);
			puts("Cleared the conversation.");
			free(msg);
			continue;
		}
		if (msg[0] == '/' && msg[1] && !strchr(msg, ' ')) {
			printf("Unknown command '%s'. /help lists the commands.\n", msg);
			free(msg);
			continue;
		}
		/* history: system (once), then user/assistant turns */
		struct hrt_chat_msg *nmsgs = realloc(msgs, (nm + 3) * sizeof(*msgs));
		char **nown = realloc(owned, (no + 2) * sizeof(char *));
		if (nmsgs)
			msgs = nmsgs;
		if (nown)
			owned = nown;
		if (!nmsgs || !nown) {
			free(msg);
			status = cli_fail("no memory");
			break;
		}
		if (nm == 0 && o->system)
			msgs[nm++] = (struct hrt_chat_msg){ "system", o->system };
		owned[no++] = msg;
		msgs[nm++] = (struct hrt_chat_msg){ "user", msg };
		char *answer = NULL;
		if (turn(l, s, o, msgs, nm, raw ? msg : NULL, &answer, &err)) {
			cli_fail_err(&err);
			nm--; /* the message did not make it into the conversation */
			continue;
		}
		if (atomic_load(&interrupted))
			fputs("\n", stdout);
		if (answer) {
			owned[no++] = answer;
			msgs[nm++] = (struct hrt_chat_msg){ "assistant", answer };
		}
	}
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	free(owned);
	free(msgs);
	hrt_session_free(s);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct cli_model cm = { 0 };
	hrt_sample_defaults(&o.gp.sample);
	o.gp.max_tokens = -1;
	size_t plen = 0;
	int status = 1;
	/* first pass: the model, the prompt and the non-sampling options;
	 * sampling flags are checked here and applied after the model's own
	 * parameters, so the command line wins */
	struct hrt_gen_params scratch = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r;
		uint32_t c0;
		int t0;
		if (!strcmp(a, "--raw")) {
			o.raw = true;
		} else if (!strcmp(a, "--verbose")) {
			o.verbose = true;
		} else if (!strcmp(a, "--system") && i + 1 < argc) {
			o.system = argv[++i];
		} else if (!strcmp(a, "--kv-type") && i + 1 < argc) {
			int t = hrt_type_from_name(argv[++i]);
			if (t != HRT_F16 && t != HRT_Q8_0) {
				cli_fail("--kv-type: f16 or q8_0, not '%s'", argv[i]);
				goto out;
			}
			o.kv_type = (uint32_t)t;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf(usage, cli_default_model(), cli_sample_usage());
			status = 0;
			goto out;
		} else if ((r = cli_sample_flag(argc, argv, &i, &scratch, &c0, &t0))) {
			if (r < 0)
				goto out;
		} else if (a[0] == '-' && a[1] && !o.prompt) {
			cli_fail("unknown option '%s'", a);
			fprintf(stderr, usage, cli_default_model(), cli_sample_usage());
			goto out;
		} else if (!o.model) {
			o.model = a;
		} else {
			size_t k = strlen(a);
			char *np = realloc(o.prompt, plen + k + 2);
			if (!np) {
				cli_fail("no memory");
				goto out;
			}
			o.prompt = np;
			if (plen)
				o.prompt[plen++] = ' ';
			memcpy(o.prompt + plen, a, k + 1);
			plen += k;
		}
	}
	free((void *)scratch.stop);
	if (!o.model)
		o.model = cli_default_model();
	/* text piped in is the prompt */
	if (!o.prompt && !isatty(STDIN_FILENO)) {
		struct hrt_err e = { 0 };
		size_t len;
		if (cli_read_file("-", 64u << 20, &o.prompt, &len, &e)) {
			cli_fail_err(&e);
			goto out;
		}
	}
	struct hrt_err err = { 0 };
	if (cli_model_open(o.model, true, &cm, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	/* the model's PARAMETER lines, then the flags on top (--stop
	 * replaces the model's stop strings rather than adding to them) */
	cli_model_apply_params(&cm, &o.gp, &o.n_ctx);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--stop"))
			o.gp.n_stop = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--system") || !strcmp(argv[i], "--kv-type")) {
			i++;
			continue;
		}
		if (cli_sample_flag(argc, argv, &i, &o.gp, &o.n_ctx, &o.n_threads) < 0)
			goto out;
	}
	if (!o.system && cm.system)
		o.system = cm.system;
	struct hrt_llm *l = NULL;
	struct hrt_llm_opts lo = { .n_threads = o.n_threads, .n_ctx = o.n_ctx,
				   .kv_type = o.kv_type };
	if (hrt_llm_open(&l, cm.path, &lo, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	if (cm.template_family) {
		int f = hrt_chat_family_from_name(cm.template_family);
		if (f >= 0)
			hrt_llm_set_chat(l, (enum hrt_chat_family)f);
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: Ctrl-C interrupts a pending read */
	sigaction(SIGINT, &sa, NULL);
	status = o.prompt ? one_shot(l, &o) : interactive(l, &o);
	hrt_llm_close(l);
out:
	cli_model_free(&cm);
	free(o.prompt);
	free((void *)o.gp.stop);
	return status;
}
