/* ersctl user mfa ...: a user's sign-in codes (TOTP), seen and reset by
 * admins -- enrolment itself happens in the webmail, on the user's phone. */
#include <stdio.h>
#include "cli.h"

int cmd_user_mfa_status(struct cli *c)
{
	struct ers_mfa_status st;
	if (ers_mfa_status(c->ctx, &c->actor, c->args[0], &st, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:b,s:o,s:b,s:b,s:o,s:i}", "address", st.address, "enabled", st.enabled,
				      "enabled_at", json_str_or_null(st.enabled ? st.enabled_at : NULL),
				      "setup_pending", st.setup_pending, "locked", st.locked,
				      "locked_until", json_str_or_null(st.locked ? st.locked_until : NULL),
				      "failed_codes_15min", st.recent_failures));
		return 0;
	}
	printf("address:        %s\n", st.address);
	if (st.enabled)
		printf("mfa:            on since %s\n", st.enabled_at);
	else
		printf("mfa:            off\n");
	printf("setup pending:  %s\n", st.setup_pending ? "yes (a secret was shown, no code verified yet)" : "no");
	printf("locked until:   %s\n", st.locked ? st.locked_until : "-");
	printf("wrong codes:    %d in the last 15 minutes\n", st.recent_failures);
	return 0;
}

int cmd_user_mfa_reset(struct cli *c)
{
	bool was_on;
	if (ers_mfa_reset(c->ctx, &c->actor, c->args[0], &was_on, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "address", c->args[0], "reset", was_on));
	else if (was_on)
		out_note(c, "MFA of %s is off; every session of it has ended; the user can set it up again", c->args[0]);
	else
		out_note(c, "MFA of %s was not on; nothing changed", c->args[0]);
	return 0;
}
