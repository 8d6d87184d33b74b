/*
 * cli/cmd_prov_sign — the genealogy commands about records and policy:
 *   hearth keygen [-o DIR] [--name NAME] [--expires DATE]
 *   hearth sign MODEL --key K [--parent ID|FILE [--relation R]]...
 *        [--dataset URI[=sha256:HEX][,license=SPDX]]... [--license SPDX]
 *        [--name NAME] [--expires DATE] [--no-oms] [-t N]
 *   hearth verify MODEL [--key PUB | --trusted DIR] [--json] [--oms]
 *   hearth sbom MODEL (--spdx | --cyclonedx) [--trusted DIR] [-o FILE]
 *   hearth policy check MODEL [--policy FILE] [--json]
 * MODEL is a file or a store name: a store model is signed, verified and
 * checked through the records its manifest carries (sign adds them as
 * layers: a new manifest), with the weights digest the store verified.
 * Exit status: verify and policy check give 0 when the model passes,
 * 1 when it does not, 2 for usage errors. Thin wrappers over prov/.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "prov/prov.h"

static int parse_date(const char *s, int64_t *out)
{
	if (!s || hrt_prov_parse_time(s, out)) {
		cli_fail("bad date '%s' (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", s ? s : "");
		return -1;
	}
	return 0;
}

static const char *need_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		cli_fail("%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

int cmd_keygen(int argc, char **argv)
{
	const char *dir = NULL, *name = "hearth";
	int64_t expires = 0;
	char def[1100];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) {
			if (!(dir = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--name")) {
			if (!(name = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--expires")) {
			if (i + 1 >= argc || parse_date(argv[++i], &expires))
				return 2;
		} else {
			fprintf(stderr, "usage: hearth keygen [-o DIR] [--name NAME] [--expires DATE]\n"
					"  writes DIR/NAME.key (secret, 0600), DIR/NAME.pub and NAME.pub.pem\n");
			return 2;
		}
	}
	if (!dir) {
		snprintf(def, sizeof def, "%s/keys", cli_home());
		mkdir(cli_home(), 0755);
		dir = def;
	}
	struct hrt_err err = { 0 };
	struct hrt_prov_key k;
	if (hrt_prov_keygen(&k, name, expires, &err) || hrt_prov_key_save(&k, dir, &err)) {
		hrt_prov_key_wipe(&k);
		return cli_fail_err(&err);
	}
	printf("key id   %s\nsecret   %s/%s.key\npublic   %s/%s.pub (and .pub.pem)\n", k.keyid, dir,
	       k.name, dir, k.name);
	hrt_prov_key_wipe(&k);
	return 0;
}

/* "URI[=sha256:HEX][,license=SPDX]" */
static int parse_dataset(const char *s, struct hrt_prov_dataset *d)
{
	memset(d, 0, sizeof *d);
	char buf[1024];
	if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
		return cli_fail("--dataset value too long");
	char *lic = strstr(buf, ",license=");
	if (lic) {
		*lic = 0;
		if (snprintf(d->license, sizeof d->license, "%s", lic + 9) >= (int)sizeof d->license)
			return cli_fail("--dataset license too long");
	}
	char *sha = strstr(buf, "=sha256:");
	if (sha) {
		*sha = 0;
		const char *h = sha + 8;
		if (strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
			return cli_fail("--dataset: sha256 must be 64 lowercase hex digits");
		memcpy(d->sha256, h, 65);
	}
	if (!buf[0] || snprintf(d->uri, sizeof d->uri, "%s", buf) >= (int)sizeof d->uri)
		return cli_fail("--dataset: bad URI");
	return 0;
}

/* the weights' file name a store model's records should name: the base
 * name of its layer's file path, or model.gguf */
static void store_file_name(const struct cli_prov_target *t, char *out, size_t cap)
{
	const char *f = t->file[0] ? t->file : "model.gguf";
	const char *b = strrchr(f, '/');
	snprintf(out, cap, "%s", b && b[1] ? b + 1 : f);
}

/* remove a temp folder of records and the folder */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			char p[4500];
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* the records written into dir (and extra ones) become layers of t's
 * model; *id gets the new manifest digest */
static int store_add_records(const struct cli_prov_target *t, const char *dir,
			     const struct hrt_prov_records *extra, struct hrt_digest *id,
			     struct hrt_err *err)
{
	struct hrt_prov_records rs = { 0 };
	struct hrt_store *s = NULL;
	struct hrt_store_doc *docs = NULL;
	int rc = hrt_prov_records_load(&rs, dir, err);
	for (size_t k = 0; !rc && k < extra->n; k++)
		rc = hrt_prov_records_add(&rs, extra->r[k].bytes, extra->r[k].len, false,
					  extra->r[k].origin, err);
	if (!rc && !(docs = calloc(rs.n ? rs.n : 1, sizeof *docs)))
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
	for (size_t k = 0; !rc && k < rs.n; k++) {
		docs[k].media_type = rs.r[k].oms ? HRT_MT_SIGSTORE_BUNDLE : HRT_MT_DSSE;
		docs[k].bytes = rs.r[k].bytes;
		docs[k].len = rs.r[k].len;
	}
	if (!rc && !(rc = cli_store_open(&s, err)))
		rc = hrt_store_docs_add(s, t->name, docs, rs.n, id, err);
	hrt_store_close(s);
	free(docs);
	hrt_prov_records_free(&rs);
	return rc;
}

int cmd_sign(int argc, char **argv)
{
	static struct hrt_prov_sign_opts o; /* large: keep it off the stack */
	memset(&o, 0, sizeof o);
	const char *model = NULL, *keyp = NULL;
	struct hrt_prov_key key;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "--key")) {
			if (!(keyp = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--parent")) {
			if (!(v = need_arg(argc, argv, &i)))
				return 2;
			if (o.n_parents == HRT_PROV_MAX_PARENTS)
				return cli_fail("at most %d parents", HRT_PROV_MAX_PARENTS);
			struct hrt_prov_parent *p = &o.parents[o.n_parents];
			if (hrt_prov_id_valid(v))
				snprintf(p->id, sizeof p->id, "%s", v);
			else
				o.parent_paths[o.n_parents] = v;
			o.n_parents++;
		} else if (!strcmp(argv[i], "--relation")) {
			if (!(v = need_arg(argc, argv, &i)))
				return 2;
			if (!o.n_parents)
				return cli_fail("--relation follows a --parent");
			if (hrt_relation_from_name(v) <= 0)
				return cli_fail("--relation: one of identical, quantized, finetune, adapter, merge");
			snprintf(o.parents[o.n_parents - 1].relation, sizeof o.parents[0].relation, "%s", v);
		} else if (!strcmp(argv[i], "--dataset")) {
			if (!(v = need_arg(argc, argv, &i)))
				return 2;
			if (o.n_datasets == HRT_PROV_MAX_DATASETS)
				return cli_fail("at most %d datasets", HRT_PROV_MAX_DATASETS);
			if (parse_dataset(v, &o.datasets[o.n_datasets]))
				return 2;
			o.n_datasets++;
		} else if (!strcmp(argv[i], "--license")) {
			if (!(o.license = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--name")) {
			if (!(o.name = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--expires")) {
			if (i + 1 >= argc || parse_date(argv[++i], &o.expires))
				return 2;
		} else if (!strcmp(argv[i], "--no-oms")) {
			o.no_oms = true;
		} else if (!strcmp(argv[i], "-t")) {
			if (!(v = need_arg(argc, argv, &i)))
				return 2;
			o.n_threads = atoi(v);
		} else if (argv[i][0] != '-' && !model) {
			model = argv[i];
		} else {
			model = NULL;
			keyp = NULL;
			break;
		}
	}
	if (!model || !keyp) {
		fprintf(stderr,
			"usage: hearth sign MODEL --key NAME.key [--parent ID|FILE [--relation R]]...\n"
			"         [--dataset URI[=sha256:HEX][,license=SPDX]]... [--license SPDX]\n"
			"         [--name NAME] [--expires DATE] [--no-oms]\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	if (hrt_prov_key_load(keyp, &key, &err))
		return cli_fail_err(&err);
	if (!key.has_secret) {
		hrt_prov_key_wipe(&key);
		return cli_fail("%s is a public key; signing needs the .key file", keyp);
	}
	o.key = &key;
	static struct hrt_prov_claim c;
	static struct cli_prov_target parents[HRT_PROV_MAX_PARENTS];
	struct cli_prov_target tg = { 0 };
	struct hrt_prov_records prs = { 0 }; /* store parents' records */
	char signer[64], keyid[65], tmp[4200] = "", fname[256];
	struct hrt_digest id;
	snprintf(signer, sizeof signer, "%s", key.name);
	snprintf(keyid, sizeof keyid, "%s", key.keyid);
	size_t n_par = 0;
	int rc = cli_prov_target_open(model, &tg, &err);
	/* a parent given as a store name: its weights blob, and its records
	 * (which a parent file would have beside it) go along */
	for (size_t i = 0; !rc && i < o.n_parents; i++) {
		struct stat st;
		const char *pp = o.parent_paths[i];
		if (!pp || (stat(pp, &st) == 0 && S_ISREG(st.st_mode)))
			continue;
		struct cli_prov_target *pt = &parents[n_par];
		if ((rc = cli_prov_target_open(pp, pt, &err)))
			break;
		n_par++;
		o.parent_paths[i] = pt->path;
		if (!o.parents[i].name[0])
			snprintf(o.parents[i].name, sizeof o.parents[i].name, "%s", pp);
		for (size_t k = 0; !rc && k < pt->records.n; k++)
			if (!pt->records.r[k].oms)
				rc = hrt_prov_records_add(&prs, pt->records.r[k].bytes,
							  pt->records.r[k].len, false,
							  pt->records.r[k].origin, &err);
	}
	if (!rc && tg.store) {
		/* sign the weights blob; the records go into a temp folder, then
		 * become layers of a new manifest of the model */
		const char *td = getenv("TMPDIR");
		snprintf(tmp, sizeof tmp, "%s/hearth-sign-XXXXXX", td && *td ? td : "/tmp");
		if (!mkdtemp(tmp)) {
			tmp[0] = 0;
			rc = HRT_ERR(&err, HRT_EIO, "cannot make a temp folder: %s", strerror(errno));
		}
		o.records_dir = tmp;
		store_file_name(&tg, fname, sizeof fname);
		o.file_name = fname;
	}
	if (!rc)
		rc = hrt_prov_sign(tg.path ? tg.path : model, &o, &c, &err);
	hrt_prov_key_wipe(&key);
	if (!rc && tg.store) {
		rc = store_add_records(&tg, tmp, &prs, &id, &err);
	} else if (!rc && prs.n) {
		char dir[4200];
		if (!(rc = hrt_prov_records_dir(tg.path, dir, sizeof dir, &err)))
			for (size_t k = 0; !rc && k < prs.n; k++)
				rc = hrt_prov_records_save(dir, prs.r[k].bytes, prs.r[k].len, false, NULL,
							   &err);
	}
	if (tmp[0])
		remove_dir(tmp);
	for (size_t i = 0; i < n_par; i++)
		cli_prov_target_free(&parents[i]);
	hrt_prov_records_free(&prs);
	if (rc) {
		cli_prov_target_free(&tg);
		return cli_fail_err(&err);
	}
	printf("signed   %s\nmodel id %s\nsha256   %s\nsigner   %s (key %.16s…)\nlicense  %s\n",
	       model, c.model_id, c.file_sha256, signer, keyid,
	       c.license[0] ? c.license : "(none)");
	for (size_t i = 0; i < c.n_parents; i++)
		printf("parent   %s (%s)\n", c.parents[i].id, c.parents[i].relation);
	for (size_t i = 0; i < c.n_datasets; i++)
		printf("dataset  %s\n", c.datasets[i].uri);
	if (tg.store)
		printf("records  layers of %s (new ID %.12s)\n", tg.name, id.hex);
	else
		printf("records  %s.hearth-prov/\n", tg.path);
	cli_prov_target_free(&tg);
	return 0;
}

/* --key / --trusted, else the default policy's keys, else HOME/trusted */
static int load_trust(const char *key, const char *dir, struct hrt_prov_trust *t,
		      bool *explicit_key, struct hrt_err *err)
{
	*explicit_key = false;
	if (key) {
		struct hrt_prov_key k;
		int rc = hrt_prov_key_load(key, &k, err);
		if (!rc)
			rc = hrt_prov_trust_add(t, &k, err);
		hrt_prov_key_wipe(&k);
		*explicit_key = true;
		return rc;
	}
	if (dir)
		return hrt_prov_trust_add_dir(t, dir, err);
	char d[1100];
	snprintf(d, sizeof d, "%s/trusted", cli_home());
	int rc = hrt_prov_trust_add_dir(t, d, err);
	return rc == HRT_ENOTFOUND ? HRT_OK : rc;
}

int cmd_verify(int argc, char **argv)
{
	const char *model = NULL, *key = NULL, *dir = NULL;
	bool json = false, oms_only = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key")) {
			if (!(key = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--trusted")) {
			if (!(dir = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--oms")) {
			oms_only = true;
		} else if (argv[i][0] != '-' && !model) {
			model = argv[i];
		} else {
			model = NULL;
			break;
		}
	}
	if (!model || (key && dir)) {
		fprintf(stderr, "usage: hearth verify MODEL [--key NAME.pub | --trusted DIR] [--json] [--oms]\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_prov_trust t = { 0 };
	bool explicit_key;
	if (load_trust(key, dir, &t, &explicit_key, &err)) {
		hrt_prov_trust_free(&t);
		return cli_fail_err(&err);
	}
	struct cli_prov_target tg;
	if (cli_prov_target_open(model, &tg, &err)) {
		hrt_prov_trust_free(&t);
		return cli_fail_err(&err);
	}
	/* a store model: the records its manifest carries, the digest the
	 * store verified (the blob is not hashed again) */
	const struct hrt_prov_records *recs = tg.store ? &tg.records : NULL;
	const uint8_t *known = tg.store ? tg.sha256 : NULL;
	struct hrt_prov_report rep;
	hrt_prov_report_init(&rep);
	int rc;
	bool ok;
	if (oms_only) {
		/* only the OpenSSF Model Signing bundle (model.sig) */
		snprintf(rep.model_path, sizeof rep.model_path, "%s", model);
		rc = hrt_oms_verify_file(tg.path, recs, &t, known, &rep, &err);
		ok = false;
		for (size_t i = 0; i < rep.n; i++)
			if (rep.lines[i].kind == HRT_PL_OK)
				ok = true;
		if (!ok && rep.allowed)
			hrt_prov_report_add(&rep, HRT_PL_FAIL, HRT_PR_UNTRUSTED_KEY,
					    "the OMS bundle does not verify");
		ok = ok && rep.allowed;
	} else {
		struct hrt_prov_verified v;
		struct hrt_prov_verify_opts vo = { .trust = &t, .explicit_key = explicit_key,
						   .records = recs, .known_sha256 = known };
		rc = hrt_prov_verify(tg.path, &vo, &v, &rep, &err);
		ok = !rc && v.ok;
		hrt_prov_verified_free(&v);
	}
	hrt_prov_trust_free(&t);
	if (tg.store)
		snprintf(rep.model_path, sizeof rep.model_path, "%s", tg.name);
	cli_prov_target_free(&tg);
	if (rc) {
		hrt_prov_report_free(&rep);
		return cli_fail_err(&err);
	}
	rep.allowed = ok;
	if (json) {
		char *s = hrt_prov_report_json(&rep);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		hrt_prov_report_print(stdout, &rep);
	}
	hrt_prov_report_free(&rep);
	return ok ? 0 : 1;
}

int cmd_sbom(int argc, char **argv)
{
	const char *model = NULL, *out = NULL, *dir = NULL;
	int fmt = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--spdx")) {
			fmt = HRT_SBOM_SPDX3;
		} else if (!strcmp(argv[i], "--cyclonedx")) {
			fmt = HRT_SBOM_CYCLONEDX;
		} else if (!strcmp(argv[i], "-o")) {
			if (!(out = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--trusted")) {
			if (!(dir = need_arg(argc, argv, &i)))
				return 2;
		} else if (argv[i][0] != '-' && !model) {
			model = argv[i];
		} else {
			model = NULL;
			break;
		}
	}
	if (!model || fmt < 0) {
		fprintf(stderr, "usage: hearth sbom MODEL (--spdx | --cyclonedx) [--trusted DIR] [-o FILE]\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_prov_trust t = { 0 };
	bool ek;
	if (load_trust(NULL, dir, &t, &ek, &err)) {
		hrt_prov_trust_free(&t);
		return cli_fail_err(&err);
	}
	char *s = NULL;
	int rc = hrt_sbom_model(model, (enum hrt_sbom_format)fmt, &t, 0, &s, &err);
	hrt_prov_trust_free(&t);
	if (rc)
		return cli_fail_err(&err);
	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f) {
		free(s);
		return cli_fail("%s: %s", out, strerror(errno));
	}
	fprintf(f, "%s\n", s);
	if (out && fclose(f)) {
		free(s);
		return cli_fail("%s: write failed", out);
	}
	free(s);
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	const char *model = NULL, *pol = NULL;
	bool json = false;
	if (argc < 2 || strcmp(argv[1], "check")) {
		fprintf(stderr, "usage: hearth policy check MODEL [--policy FILE] [--json]\n"
				"  without --policy: $HEARTH_POLICY, else $HEARTH_HOME/policy.json\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--policy")) {
			if (!(pol = need_arg(argc, argv, &i)))
				return 2;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] != '-' && !model) {
			model = argv[i];
		} else {
			fprintf(stderr, "usage: hearth policy check MODEL [--policy FILE] [--json]\n");
			return 2;
		}
	}
	if (!model) {
		fprintf(stderr, "usage: hearth policy check MODEL [--policy FILE] [--json]\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_policy *p = NULL;
	if (pol ? hrt_policy_load(pol, &p, &err) : hrt_policy_load_default(&p, &err))
		return cli_fail_err(&err);
	if (!p)
		fprintf(stderr, "hearth: no policy (set HEARTH_POLICY or write %s/policy.json): every model is allowed\n",
			cli_home());
	struct cli_prov_target tg;
	if (cli_prov_target_open(model, &tg, &err)) {
		hrt_policy_free(p);
		return cli_fail_err(&err);
	}
	struct hrt_policy_ctx ctx = { .records = tg.store ? &tg.records : NULL,
				      .known_sha256 = tg.store ? tg.sha256 : NULL };
	struct hrt_prov_report rep;
	int rc = hrt_policy_enforce_ex(tg.path, p, &ctx, &rep, &err);
	if (tg.store)
		snprintf(rep.model_path, sizeof rep.model_path, "%s", tg.name);
	cli_prov_target_free(&tg);
	hrt_policy_free(p);
	if (rc && rep.allowed) {
		hrt_prov_report_free(&rep);
		return cli_fail_err(&err);
	}
	if (json) {
		char *s = hrt_prov_report_json(&rep);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		hrt_prov_report_print(stdout, &rep);
	}
	bool ok = rep.allowed;
	hrt_prov_report_free(&rep);
	return ok ? 0 : 1;
}
