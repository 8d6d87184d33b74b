/*
 * cli/policy — the load-time policy for commands that run a model: the
 * default policy ($HEARTH_POLICY or $HEARTH_HOME/policy.json; none: allow
 * everything, read nothing) is loaded once, and a refused model gets the
 * readable report (claimed / verified / failed) on stderr before the
 * one-line error. The check runs before the GGUF parser sees the file.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "prov/prov.h"

int cli_policy_check(const char *path, struct hrt_err *err)
{
	static struct hrt_policy *pol;
	static bool loaded;
	if (!loaded) {
		int rc = hrt_policy_load_default(&pol, err);
		if (rc)
			return rc;
		loaded = true;
	}
	if (!pol)
		return HRT_OK;
	struct hrt_prov_report rep;
	int rc = hrt_policy_enforce(path, pol, &rep, err);
	if (rc && !rep.allowed)
		hrt_prov_report_print(stderr, &rep);
	hrt_prov_report_free(&rep);
	return rc;
}
