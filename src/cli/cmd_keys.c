/*
 * cli/cmd_keys — `hearth keys add|list|rm`: manage the server's API keys
 * file (http/auth). A new key is printed once on stdout and never stored;
 * the file keeps only its hash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "http/auth.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hearth keys add NAME [--role user|admin] [--models PATTERN] [--rpm N] [--keys FILE]\n"
		"       hearth keys list [--keys FILE]\n"
		"       hearth keys rm NAME [--keys FILE]\n"
		"\n"
		"PATTERN: comma-separated model name globs the key may use (default '*').\n"
		"--rpm: requests per minute for this key (default 0: the server's --rate-limit).\n"
		"admin keys may also pull, push, create, copy and delete models and read /metrics.\n"
		"The keys file defaults to $HEARTH_HOME/keys; a running server re-reads it.\n");
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
	return 0;
}

static void print_key(void *ctx, const struct hrt_auth_ident *id)
{
	(void)ctx;
	printf("%-24s %-6s %-8d %s\n", id->name, hrt_auth_role_name(id->role), id->rpm, id->models);
}

int cmd_keys(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *verb = argv[1], *name = NULL, *models = "*", *path = NULL;
	enum hrt_role role = HRT_ROLE_USER;
	long rpm = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if ((!strcmp(a, "--role") || !strcmp(a, "--models") || !strcmp(a, "--rpm") ||
		     !strcmp(a, "--keys")) && !v)
			return cli_fail("%s needs a value", a);
		if (!strcmp(a, "--role")) {
			if (!hrt_auth_role_parse(v, &role))
				return cli_fail("--role must be user or admin");
			i++;
		} else if (!strcmp(a, "--models")) {
			models = v;
			i++;
		} else if (!strcmp(a, "--rpm")) {
			char *end;
			rpm = strtol(v, &end, 10);
			if (*end || rpm < 0 || rpm > 1000000)
				return cli_fail("--rpm: bad value '%s'", v);
			i++;
		} else if (!strcmp(a, "--keys")) {
			path = v;
			i++;
		} else if (a[0] == '-') {
			usage(stderr);
			return cli_fail("keys: unknown option '%s'", a);
		} else if (!name) {
			name = a;
		} else {
			return cli_fail("keys: unexpected argument '%s'", a);
		}
	}
	char def[4096];
	if (!path) {
		snprintf(def, sizeof def, "%s/keys", cli_home());
		path = def;
	}
	struct hrt_err err;
	hrt_err_clear(&err);
	if (!strcmp(verb, "add")) {
		if (!name)
			return cli_fail("keys add: a NAME is needed");
		if (make_dirs(path))
			return cli_fail("cannot create the folder of %s", path);
		char key[HRT_AUTH_KEY_LEN + 1];
		if (hrt_auth_file_add(path, name, role, models, (int)rpm, key, &err))
			return cli_fail_err(&err);
		printf("%s\n", key);
		fprintf(stderr, "hearth: key '%s' (%s, models %s) added to %s.\n"
				"hearth: this is the only time it is shown; clients send 'Authorization: Bearer <key>'.\n",
			name, hrt_auth_role_name(role), models, path);
		return 0;
	}
	if (!strcmp(verb, "list")) {
		if (hrt_auth_file_list(path, print_key, NULL, &err))
			return cli_fail_err(&err);
		return 0;
	}
	if (!strcmp(verb, "rm") || !strcmp(verb, "remove")) {
		if (!name)
			return cli_fail("keys rm: a NAME is needed");
		if (hrt_auth_file_remove(path, name, &err))
			return cli_fail_err(&err);
		fprintf(stderr, "hearth: key '%s' removed\n", name);
		return 0;
	}
	usage(stderr);
	return cli_fail("keys: unknown action '%s'", verb);
}
