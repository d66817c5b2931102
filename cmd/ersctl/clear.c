/* ersctl user clear: a mailbox's messages deleted (ers/clear.h), after a
 * confirmation that states how many and manual 003's warning. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

int cmd_user_clear(struct cli *c)
{
	long long days = -1, n, removed;
	if (cli_opt(c, "older-than") && cli_opt_int(c, "older-than", 1, 36500, &days) < 0)
		return -1;
	struct ers_clear_spec s = { .address = c->args[0], .folder = cli_opt(c, "folder"), .older_than_days = days };
	if (ers_mailbox_clear_count(c->ctx, &c->actor, &s, &n, &c->err) < 0)
		return -1;
	if (!c->yes) {
		fprintf(stderr, "This deletes %lld message%s from %s%s%s. If there are no backups of the mailbox, it will "
			"be impossible to restore its contents.\n", n, n == 1 ? "" : "s", c->args[0],
			s.folder ? ", folder " : "", s.folder ? s.folder : "");
		char what[64];
		snprintf(what, sizeof what, "delete %lld messages", n);
		if (cli_confirm(c, what, c->args[0]) < 0)
			return -1;
	}
	if (ers_mailbox_clear(c->ctx, &c->actor, &s, &removed, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:I}", "address", c->args[0], "deleted", (json_int_t)removed));
	else
		out_note(c, "%lld message%s deleted from %s", removed, removed == 1 ? "" : "s", c->args[0]);
	return 0;
}
