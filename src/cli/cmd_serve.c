/*
 * cli/cmd_serve — `hearth serve`: parse flags, open the keys file, the audit
 * log and the model registry, start the HTTP server (http/server) and wait
 * for SIGINT/SIGTERM. All the serving logic lives in src/http/.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "http/audit.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/models.h"
#include "http/server.h"
#include "store/store.h"

#define MAX_LIST 64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hearth serve [-m MODEL.gguf ...] [options]\n"
		"\n"
		"Serves the Ollama API (/api/*) and the OpenAI API (/v1/*). Each -m FILE is\n"
		"served under its file name without .gguf (-m granite.gguf -> \"granite\").\n"
		"\n"
		"  --host H            address to listen on (default 127.0.0.1; env HEARTH_HOST=host:port)\n"
		"  --port P            port (default 11434; 0 picks a free one)\n"
		"  --tls-cert F --tls-key F   serve HTTPS with these PEM files\n"
		"  --keys F            API keys file (default $HEARTH_HOME/keys; see `hearth keys`)\n"
		"  --insecure-no-auth  allow a non-loopback address without API keys (dangerous)\n"
		"  --allow-host NAME   accept this Host header (repeatable; '*' accepts any)\n"
		"  --cors-origin O     allow browser requests from origin O (repeatable; none by default)\n"
		"  --audit F           audit log (default $HEARTH_HOME/audit.jsonl when keys exist)\n"
		"  --no-audit          no audit log   --audit-prompts   also log prompt text\n"
		"  --ctx N             context per request (default min(trained, 4096))\n"
		"  --parallel N        requests decoded together per model (default 4)\n"
		"  --queue N           requests waiting per model before 503 (default 64)\n"
		"  -t N                threads (default: all CPUs)\n"
		"  --keep-alive D      unload idle models after D (default 5m; -1 never)\n"
		"  --max-loaded N      models in memory at once (default 3)\n"
		"  --chat-format NAME  chat format for the -m models (default: from each file)\n"
		"  --max-body BYTES    request body limit (default 16 MiB)\n"
		"  --max-ctx N         largest num_ctx accepted (default 1048576)\n"
		"  --max-predict N     largest num_predict / max_tokens accepted (default: context)\n"
		"  --max-prompt N      largest prompt in tokens (default: context)\n"
		"  --rate-limit RPM    requests per minute per key without its own limit (default off)\n"
		"  --timeout S         idle connection timeout in seconds (default 30)\n"
		"  --max-conns N       open connections (default 256); --max-conns-per-ip N\n"
		"  --no-store          serve only -m files (no model store, store routes answer 501)\n"
		"  --quiet             no request log on stderr\n");
}

static int parse_num(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "5m", "300", "-1", "1h" into ns */
static int parse_keep(const char *s, int64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s)
		return -1;
	double unit = 1e9;
	if (!strcmp(end, "ms")) unit = 1e6;
	else if (!strcmp(end, "s") || !*end) unit = 1e9;
	else if (!strcmp(end, "m")) unit = 60e9;
	else if (!strcmp(end, "h")) unit = 3600e9;
	else return -1;
	*ns = v < 0 ? -1 : (int64_t)(v * unit);
	return 0;
}

static int make_dirs(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

int cmd_serve(int argc, char **argv)
{
	struct hrt_srv_opts so = { 0 };
	struct hrt_models_opts mo = { .keep_alive_ns = (int64_t)300 * 1000000000 };
	const char *models[MAX_LIST], *cors[MAX_LIST], *hosts[MAX_LIST];
	size_t n_models = 0, n_cors = 0, n_hosts = 0;
	const char *keys_path = NULL, *audit_path = NULL, *family = NULL;
	bool no_audit = false, port_set = false, no_store = false;
	char host[300] = "127.0.0.1";
	int port = HRT_HTTP_DEFAULT_PORT;
	struct hrt_err err;
	hrt_err_clear(&err);

	const char *env = getenv("HEARTH_HOST");
	if (env && *env && hrt_srv_parse_hostport(env, host, sizeof host, &port, &err))
		return cli_fail("HEARTH_HOST: %s", err.msg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long x;
#define NEED() do { if (!v) return cli_fail("%s needs a value", a); i++; } while (0)
#define NUMV(lo, hi) do { NEED(); if (parse_num(v, lo, hi, &x)) return cli_fail("%s: bad value '%s'", a, v); } while (0)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
			NEED();
			if (n_models >= MAX_LIST)
				return cli_fail("too many -m");
			models[n_models++] = v;
		} else if (!strcmp(a, "--host")) {
			NEED();
			int p2 = port;
			if (hrt_srv_parse_hostport(v, host, sizeof host, &p2, &err))
				return cli_fail("--host: %s", err.msg);
			if (!port_set)
				port = p2;
		} else if (!strcmp(a, "--port")) {
			NUMV(0, 65535);
			port = (int)x;
			port_set = true;
		} else if (!strcmp(a, "--tls-cert")) {
			NEED();
			so.tls_cert = v;
		} else if (!strcmp(a, "--tls-key")) {
			NEED();
			so.tls_key = v;
		} else if (!strcmp(a, "--keys")) {
			NEED();
			keys_path = v;
		} else if (!strcmp(a, "--insecure-no-auth")) {
			so.insecure_no_auth = true;
		} else if (!strcmp(a, "--allow-host")) {
			NEED();
			if (n_hosts >= MAX_LIST)
				return cli_fail("too many --allow-host");
			hosts[n_hosts++] = v;
		} else if (!strcmp(a, "--cors-origin")) {
			NEED();
			if (n_cors >= MAX_LIST)
				return cli_fail("too many --cors-origin");
			cors[n_cors++] = v;
		} else if (!strcmp(a, "--audit")) {
			NEED();
			audit_path = v;
		} else if (!strcmp(a, "--no-audit")) {
			no_audit = true;
		} else if (!strcmp(a, "--audit-prompts")) {
			so.audit_prompts = true;
		} else if (!strcmp(a, "--ctx")) {
			NUMV(16, 1 << 24);
			mo.n_ctx = (uint32_t)x;
		} else if (!strcmp(a, "--parallel")) {
			NUMV(1, 256);
			mo.n_slots = (int)x;
		} else if (!strcmp(a, "--queue")) {
			NUMV(1, 100000);
			mo.queue_max = (int)x;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
			NUMV(1, 1024);
			mo.n_threads = (int)x;
		} else if (!strcmp(a, "--keep-alive")) {
			NEED();
			if (parse_keep(v, &mo.keep_alive_ns))
				return cli_fail("--keep-alive: bad duration '%s' (e.g. 5m, 300, -1)", v);
		} else if (!strcmp(a, "--max-loaded")) {
			NUMV(1, 64);
			mo.max_loaded = (int)x;
		} else if (!strcmp(a, "--chat-format")) {
			NEED();
			if (hrt_chat_family_from_name(v) < 0)
				return cli_fail("--chat-format: unknown format '%s'", v);
			family = v;
		} else if (!strcmp(a, "--max-body")) {
			NUMV(1024, (long long)1 << 32);
			so.max_body = (size_t)x;
		} else if (!strcmp(a, "--max-ctx")) {
			NUMV(16, 1 << 24);
			so.max_ctx = (uint32_t)x;
		} else if (!strcmp(a, "--max-predict")) {
			NUMV(1, 1 << 24);
			so.max_predict = (int32_t)x;
		} else if (!strcmp(a, "--max-prompt")) {
			NUMV(1, 1 << 24);
			so.max_prompt = (uint32_t)x;
		} else if (!strcmp(a, "--rate-limit")) {
			NUMV(0, 1000000);
			so.rate_rpm = (int)x;
		} else if (!strcmp(a, "--timeout")) {
			NUMV(1, 86400);
			so.timeout_s = (unsigned)x;
		} else if (!strcmp(a, "--max-conns")) {
			NUMV(1, 100000);
			so.max_conns = (unsigned)x;
		} else if (!strcmp(a, "--max-conns-per-ip")) {
			NUMV(1, 100000);
			so.max_conns_per_ip = (unsigned)x;
		} else if (!strcmp(a, "--no-store")) {
			no_store = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			so.quiet = true;
		} else {
			usage(stderr);
			return cli_fail("serve: unknown argument '%s'", a);
		}
#undef NEED
#undef NUMV
	}
	so.host = host;
	so.port = port;
	so.cors = cors;
	so.n_cors = n_cors;
	so.allow_hosts = hosts;
	so.n_allow_hosts = n_hosts;

	char kp[4096], ap[4096];
	if (!keys_path) {
		snprintf(kp, sizeof kp, "%s/keys", cli_home());
		keys_path = kp;
	}
	int status = 1;
	struct hrt_auth *auth = NULL;
	struct hrt_audit *audit = NULL;
	struct hrt_metrics *metrics = NULL;
	struct hrt_models *reg = NULL;
	struct hrt_srv *srv = NULL;
	struct hrt_store *store = NULL;
	if (hrt_auth_open(&auth, keys_path, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	size_t n_keys = hrt_auth_count(auth);
	if (!audit_path && !no_audit && n_keys > 0) {
		snprintf(ap, sizeof ap, "%s/audit.jsonl", cli_home());
		make_dirs(cli_home());
		audit_path = ap;
	}
	if (audit_path && !no_audit && hrt_audit_open(&audit, audit_path, so.audit_prompts, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	if (hrt_metrics_new(&metrics, &err) || hrt_models_new(&reg, &mo, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	/* the load-time policy, read once: every load is checked against it,
	 * and a -m file it refuses stops the server from starting (the
	 * report says why) rather than failing each request later */
	const struct hrt_policy *pol = NULL;
	if (cli_policy_get(&pol, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	hrt_models_set_policy(reg, pol);
	struct hrt_model_cfg cfg = { .family = family };
	for (size_t i = 0; i < n_models; i++) {
		if (hrt_models_add_file(reg, models[i], NULL, &cfg, &err) ||
		    cli_policy_check(models[i], &err)) {
			cli_fail_err(&err);
			goto out;
		}
	}
	if (pol)
		fprintf(stderr, "hearth: load-time policy %s\n", hrt_policy_path(pol));
	if (!no_store && hrt_store_open(&store, cli_home(), &err)) {
		fprintf(stderr, "hearth: the model store is not available (%s); serving -m files only\n",
			err.msg);
		store = NULL;
	}
	if (n_models == 0 && !store)
		fprintf(stderr, "hearth: no models given; add some with -m FILE.gguf\n");
	if (!hrt_srv_is_loopback(host) && n_keys == 0 && so.insecure_no_auth)
		fprintf(stderr,
			"hearth: WARNING: listening on %s WITHOUT API KEYS (--insecure-no-auth).\n"
			"hearth: WARNING: anyone who can reach this address can use the models.\n"
			"hearth: WARNING: create a key with `hearth keys add NAME` and drop the flag.\n",
			host);
	/* signals go to sigwait below, not to the server threads */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (hrt_srv_start(&srv, &so, reg, auth, audit, metrics, store, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	bool v6 = strchr(host, ':') != NULL;
	fprintf(stderr, "hearth: listening on %s://%s%s%s:%d (%zu model%s, %s%s)\n",
		so.tls_cert ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
		hrt_srv_port(srv), n_models, n_models == 1 ? "" : "s",
		n_keys ? "API keys required" : "no API keys",
		audit ? ", audit log on" : "");
	fflush(stderr);
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "hearth: stopping (%s)\n", sig == SIGINT ? "interrupt" : "terminate");
	status = 0;
out:
	hrt_srv_stop(srv);
	hrt_models_free(reg);
	hrt_store_close(store);
	hrt_metrics_free(metrics);
	hrt_audit_close(audit);
	hrt_auth_free(auth);
	return status;
}
