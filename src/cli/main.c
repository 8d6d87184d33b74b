/* cli/main — `hearth <command> ...`: dispatch and help. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "run", cmd_run, "chat with a model, or answer one prompt" },
	{ "show", cmd_show, "describe a model file" },
	{ "pull", cmd_pull, "get a model: known name, https URL, registry name or oci:PATH" },
	{ "push", cmd_push, "send a model to an OCI registry" },
	{ "import", cmd_import, "add a GGUF file to the store (or --from-ollama)" },
	{ "create", cmd_create, "make a model from a Modelfile" },
	{ "list", cmd_list, "list the models in the store" },
	{ "cp", cmd_cp, "give a model another name" },
	{ "rm", cmd_rm, "remove a model (unused blobs go too)" },
	{ "export", cmd_export, "write a model as an OCI layout folder or tar, for offline moves" },
	{ "fsck", cmd_fsck, "check the store: digests, manifests, leftovers" },
	{ "tokenize", cmd_tokenize, "print token ids as JSON" },
	{ "logits", cmd_logits, "print the logits of a prompt as JSON" },
	{ "generate", cmd_generate, "generate a continuation (--json for ids and text)" },
	{ "quantize", cmd_quantize, "convert a model to another type or mix (Q4_K_M, Q8_0, ...)" },
	{ "mkmodel", cmd_mkmodel, "write a synthetic model (real shape, random weights)" },
	{ "bench", cmd_bench, "measure prompt and decode speed (tokens/s), like llama-bench" },
	{ "serve", cmd_serve, "serve models over HTTP (Ollama and OpenAI APIs)" },
	{ "keys", cmd_keys, "manage the server's API keys (add, list, rm)" },
	{ "audit", cmd_audit, "verify the server's audit log (audit verify)" },
	{ "id", cmd_id, "model ID from the weights (names and metadata excluded) and fingerprint" },
	{ "lineage", cmd_lineage, "does model B derive from model A? (weights only; --json)" },
	{ "family", cmd_family, "infer the family tree of several models" },
	{ "keygen", cmd_keygen, "make an Ed25519 signing key pair" },
	{ "sign", cmd_sign, "sign a model's provenance (parents, datasets, license)" },
	{ "verify", cmd_verify, "check a model's signed provenance records" },
	{ "sbom", cmd_sbom, "export lineage and datasets as SPDX 3 or CycloneDX" },
	{ "policy", cmd_policy, "check a model against the load-time policy" },
};

static void help(FILE *f)
{
	fprintf(f, "hearth — run open models on your own hardware\n\nusage: hearth <command> [args]\n\n");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n`hearth run` with no model uses %s (downloaded on first use).\n",
		cli_default_model());
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("hearth 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hearth: unknown command '%s'\n", argv[1]);
	help(stderr);
	return 2;
}
