/*
 * cli/cmd_audit — `hearth audit verify [FILE]`: check the server audit
 * log's hash chain (http/audit); exit status 0 only when intact.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "http/audit.h"

int cmd_audit(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "verify") || argc > 3) {
		fprintf(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout : stderr,
			"usage: hearth audit verify [FILE]   (default $HEARTH_HOME/audit.jsonl)\n"
			"Checks that no record of the server's audit log was edited, inserted,\n"
			"reordered or removed. FILE.key and FILE.head must be beside it.\n");
		return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
	}
	char def[4096];
	const char *path = argc == 3 ? argv[2] : NULL;
	if (!path) {
		snprintf(def, sizeof def, "%s/audit.jsonl", cli_home());
		path = def;
	}
	struct hrt_err err;
	hrt_err_clear(&err);
	uint64_t n = 0;
	if (hrt_audit_verify(path, &n, &err)) {
		fprintf(stderr, "hearth: audit log NOT intact: %s\n", err.msg);
		return 1;
	}
	printf("ok: %llu records, chain intact (%s)\n", (unsigned long long)n, path);
	return 0;
}
