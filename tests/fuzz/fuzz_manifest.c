/*
 * tests/fuzz/fuzz_manifest — libFuzzer target for the store's parsers of
 * outside text: OCI/Ollama manifests, index.json, the ModelPack config,
 * hearth.json, digests, model names, Modelfiles, WWW-Authenticate
 * challenges and archive member names (store/manifest.c, names.c,
 * modelfile.c, registry.c, layout.c).
 *
 * Input: byte 0 picks the parser, the rest is its text (not
 * NUL-terminated, NULs allowed; parsers that take C strings get a copy cut
 * at the first NUL).
 *
 * Checks besides the sanitizers: a manifest that parses has its weights
 * layer in range, every digest is 64 lower-case hex digits, and a
 * manifest we build from a parsed one parses again with the same blobs;
 * a name that parses prints to a string that parses to the same name;
 * a digest that parses prints back to the input.
 *
 * Build: tests/fuzz/run.sh (all of src/ except cli). Without libFuzzer:
 * add -DHRT_FUZZ_STANDALONE and pass input files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_manifest: %s\n", what);
	abort();
}

static void check_digest(const struct hrt_digest *d)
{
	if (strlen(d->hex) != 64)
		fail("digest of the wrong length");
	for (int i = 0; i < 64; i++)
		if (!((d->hex[i] >= '0' && d->hex[i] <= '9') || (d->hex[i] >= 'a' && d->hex[i] <= 'f')))
			fail("digest with a non-hex character");
}

static void manifest(const char *s, size_t n, enum st_flavor fl)
{
	struct st_manifest *m = malloc(sizeof *m), *m2 = malloc(sizeof *m2);
	struct hrt_err err = { 0 };
	if (!m || !m2)
		fail("no memory");
	if (st_manifest_parse(s, n, fl, m, &err) == HRT_OK) {
		if (m->n_layers < 1 || m->n_layers > HRT_STORE_MAX_LAYERS || m->weights < 0 ||
		    (size_t)m->weights >= m->n_layers)
			fail("parsed manifest out of range");
		check_digest(&m->config.digest);
		for (size_t i = 0; i < m->n_layers; i++) {
			check_digest(&m->layers[i].digest);
			if (m->layers[i].size > HRT_STORE_BLOB_MAX)
				fail("layer size over the limit");
		}
		if (fl == ST_OCI) {
			char *out;
			size_t len;
			if (st_manifest_build(m, &out, &len, &err) == HRT_OK) {
				if (st_manifest_parse(out, len, ST_OCI, m2, &err) != HRT_OK)
					fail("a manifest we wrote does not parse");
				if (m2->n_layers != m->n_layers ||
				    strcmp(m2->layers[m2->weights].digest.hex, m->layers[m->weights].digest.hex))
					fail("round trip changed the manifest");
				free(out);
			}
		}
	}
	free(m);
	free(m2);
}

/* Valid documents for the splice modes: the input overwrites a window of
 * one, so the fuzzer reaches deep fields without a seed corpus. */
static const char tmpl_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"artifactType\":\"application/vnd.cncf.model.manifest.v1+json\",\"config\":{\"mediaType\":"
	"\"application/vnd.cncf.model.config.v1+json\",\"digest\":\"sha256:"
	"74be4c09fc035a0faddd73cbaf326378fa7870e548c5715e2a3ee884b1399bef\",\"size\":329},\"layers\":"
	"[{\"mediaType\":\"application/vnd.cncf.model.weight.v1.raw\",\"digest\":\"sha256:"
	"270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d\",\"size\":1185376,"
	"\"annotations\":{\"org.cncf.model.filepath\":\"m.gguf\"}},{\"mediaType\":"
	"\"application/vnd.cncf.model.weight.config.v1.raw\",\"digest\":\"sha256:"
	"751b875c68a20f7a848c3dc3e87b8488fbf0ca798a9c9015d7afc451b6921635\",\"size\":97,"
	"\"annotations\":{\"org.cncf.model.filepath\":\"hearth.json\",\"io.hearth.role\":\"settings\"}}]}";
static const char tmpl_settings[] =
	"{\"schemaVersion\":1,\"template\":\"<|im_start|>\",\"template_family\":\"chatml\","
	"\"system\":\"s\",\"parameters\":{\"temperature\":0.7,\"stop\":[\"a\",\"b\"],"
	"\"num_ctx\":256,\"seed\":-1},\"n_params\":292800,\"file_type\":\"F32\"}";

static void splice(const char *tmpl, size_t tl, const uint8_t *in, size_t n, bool settings)
{
	char *b = malloc(tl + n + 1);
	if (!b)
		return;
	size_t at = n ? in[0] % tl : 0, k = n ? n - 1 : 0;
	memcpy(b, tmpl, at);
	memcpy(b + at, in + (n ? 1 : 0), k);
	size_t rest = at + k < tl ? tl - at - k : 0;
	memcpy(b + at + k, tmpl + tl - rest, rest);
	size_t len = at + k + rest;
	if (settings) {
		struct st_settings st;
		struct hrt_err err = { 0 };
		if (st_settings_parse(b, len, &st, &err) == HRT_OK)
			st_settings_free(&st);
	} else {
		manifest(b, len, ST_OCI);
	}
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	char *z = malloc(n + 1);
	if (!z)
		return 0;
	memcpy(z, s, n);
	z[n] = 0;
	struct hrt_err err = { 0 };
	switch (data[0] % 12) {
	case 0:
		manifest(s, n, ST_OCI);
		break;
	case 1:
		manifest(s, n, ST_OLLAMA);
		break;
	case 2: {
		struct st_index ix;
		if (st_index_parse(s, n, &ix, &err) == HRT_OK) {
			for (size_t i = 0; i < ix.n; i++)
				check_digest(&ix.m[i].digest);
			char *out;
			size_t len;
			if (st_index_build(&ix, &out, &len, &err) == HRT_OK)
				free(out);
			st_index_free(&ix);
		}
		break;
	}
	case 3: {
		struct st_config c;
		st_config_parse(s, n, &c, &err);
		struct st_settings st;
		if (st_settings_parse(s, n, &st, &err) == HRT_OK) {
			char *out;
			size_t len;
			if (st_settings_build(&st, NULL, &out, &len, &err) == HRT_OK) {
				struct st_settings st2;
				if (st_settings_parse(out, len, &st2, &err) != HRT_OK)
					fail("settings we wrote do not parse");
				st_settings_free(&st2);
				free(out);
			}
			st_settings_free(&st);
		}
		break;
	}
	case 4: {
		struct hrt_digest d;
		if (hrt_digest_parse(s, n, &d, &err) == HRT_OK) {
			char back[80];
			check_digest(&d);
			hrt_digest_str(&d, back, sizeof back);
			if (strlen(back) != n || memcmp(back, s, n))
				fail("digest does not print back");
		}
		break;
	}
	case 5: {
		struct hrt_name a, b;
		if (hrt_name_parse(z, &a, &err) == HRT_OK) {
			char full[700], shown[700];
			hrt_name_full(&a, full, sizeof full);
			hrt_name_str(&a, shown, sizeof shown);
			if (hrt_name_parse(full, &b, &err) != HRT_OK || !hrt_name_eq(&a, &b))
				fail("full name does not parse back");
			if (hrt_name_parse(shown, &b, &err) != HRT_OK || !hrt_name_eq(&a, &b))
				fail("short name does not parse back");
			/* every part becomes a path component of the store */
			if (strstr(a.host, "..") || strstr(a.ns, "..") || strstr(a.model, "..") ||
			    strchr(a.tag, '/') || a.tag[0] == '.' || !a.host[0] || !a.ns[0] ||
			    !a.model[0] || !a.tag[0] || strchr(a.ns, '/') || strchr(a.model, '/'))
				fail("a name part that is not one safe path component");
		}
		break;
	}
	case 6: {
		struct hrt_modelfile mf;
		if (hrt_modelfile_parse(s, n, &mf, &err) == HRT_OK) {
			if (!mf.from)
				fail("a Modelfile without FROM parsed");
			hrt_modelfile_free(&mf);
		}
		break;
	}
	case 7: {
		struct st_challenge c;
		st_challenge_parse(z, &c, &err);
		break;
	}
	case 8: {
		char out[300];
		if (st_member_name(z, out, sizeof out, &err) == HRT_OK) {
			if (out[0] == '/' || !out[0])
				fail("an absolute or empty member name");
			for (char *p = out, *q; p; p = q ? q + 1 : NULL) {
				q = strchr(p, '/');
				size_t l = q ? (size_t)(q - p) : strlen(p);
				if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
					fail("a member name that leaves the folder");
			}
		}
		break;
	}
	case 10:
		splice(tmpl_manifest, sizeof tmpl_manifest - 1, data + 1, n, false);
		break;
	case 11:
		splice(tmpl_settings, sizeof tmpl_settings - 1, data + 1, n, true);
		break;
	case 9: {
		struct hrt_store_params p = { 0 };
		const char *sp = memchr(z, ' ', n);
		if (sp) {
			z[sp - z] = 0;
			hrt_store_param_set(&p, z, sp + 1, &err);
		}
		hrt_store_params_free(&p);
		break;
	}
	}
	free(z);
	return 0;
}

#ifdef HRT_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f)
			continue;
		static uint8_t buf[1 << 22];
		size_t n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
