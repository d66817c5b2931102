/* ersctl mtasts ...: a domain's MTA-STS policy file (RFC 8461; manual 001
 * "MTA-STS") and its mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_mtasts_policy(struct cli *c)
{
	struct ers_dns_plan *p;
	if (ers_dns_plan(c->ctx, &c->actor, c->args[0], &p, &c->err) < 0)
		return -1;
	if (c->json) {
		char url[600], txt_name[600], txt_value[64];
		snprintf(url, sizeof url, "https://mta-sts.%s/.well-known/mta-sts.txt", p->domain);
		snprintf(txt_name, sizeof txt_name, "_mta-sts.%s", p->domain);
		snprintf(txt_value, sizeof txt_value, "v=STSv1; id=%s", p->mta_sts_id);
		out_json(c, json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}", "domain", p->domain, "mode", p->mta_sts_mode,
				      "id", p->mta_sts_id, "policy", p->mta_sts_policy, "url", url, "txt", "name",
				      txt_name, "value", txt_value));
	} else {
		fputs(p->mta_sts_policy, stdout);
	}
	ers_dns_plan_free(p);
	return 0;
}

int cmd_mtasts_mode(struct cli *c)
{
	char old[16] = "";
	const char *mode = c->args[1];
	if (ers_mta_sts_set_mode(c->ctx, &c->actor, c->args[0], mode, old, &c->err) < 0)
		return -1;
	/* The new id, for the TXT record that tells senders to fetch again. */
	struct ers_dns_plan *p;
	if (ers_dns_plan(c->ctx, &c->actor, c->args[0], &p, &c->err) < 0)
		return -1;
	bool changed = strcmp(old, mode) != 0;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:s,s:s,s:b,s:s}", "domain", p->domain, "mode", p->mta_sts_mode, "previous_mode",
				      old, "changed", changed, "id", p->mta_sts_id));
	} else if (!changed) {
		out_note(c, "the MTA-STS mode of %s is %s already; nothing changed", p->domain, mode);
	} else {
		out_note(c, "MTA-STS mode of %s: %s -> %s", p->domain, old, mode);
		out_note(c, "serve the new policy (ersctl mtasts policy %s) and publish: _mta-sts.%s TXT \"v=STSv1; id=%s\"",
			 p->domain, p->domain, p->mta_sts_id);
	}
	ers_dns_plan_free(p);
	return 0;
}
