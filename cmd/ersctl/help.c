/* Help text and shell completions, both generated from the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void print_opts(FILE *f, const struct opt_spec *opts)
{
	for (size_t i = 0; opts[i].name; i++) {
		char left[80];
		snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-24s %s%s", left, opts[i].help,
			(opts[i].flags & OPT_REQUIRED) ? " (required)" : "");
		if (opts[i].choices)
			fprintf(f, " [%s]", opts[i].choices);
		fputc('\n', f);
	}
}

static void synopsis(FILE *f, const struct cmd_spec *cmd)
{
	fprintf(f, "ersctl %s", cmd->path);
	if (cmd->args && *cmd->args)
		fprintf(f, " %s", cmd->args);
	for (size_t i = 0; cmd->opts[i].name; i++) {
		const struct opt_spec *o = &cmd->opts[i];
		bool req = o->flags & OPT_REQUIRED;
		fprintf(f, " %s--%s%s%s%s%s", req ? "" : "[", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
			req ? "" : "]", (o->flags & OPT_REPEAT) ? "..." : "");
	}
	fputc('\n', f);
}

void help_command(FILE *f, const struct cmd_spec *cmd)
{
	fprintf(f, "usage: ");
	synopsis(f, cmd);
	fprintf(f, "\n%s\n", cmd->help);
	if (cmd->opts[0].name) {
		fprintf(f, "\noptions:\n");
		print_opts(f, cmd->opts);
	}
	fprintf(f, "\nglobal options: --config FILE, --json, --quiet, --yes, --help (see: man ersctl)\n");
}

void help_overview(FILE *f, const char *prefix)
{
	if (!prefix)
		fprintf(f, "usage: ersctl [--config FILE] [--json] [--quiet] [--yes] COMMAND [ARGS]\n\n"
			   "Email Reseller Server control.  Commands:\n");
	for (const struct cmd_spec *c = ersctl_commands; c->path; c++) {
		if (prefix && strncmp(c->path, prefix, strlen(prefix)))
			continue;
		char left[80];
		snprintf(left, sizeof left, "%s%s%s", c->path, *c->args ? " " : "", c->args);
		fprintf(f, "  %-36s %s\n", left, c->help);
	}
	if (!prefix) {
		fprintf(f, "\nglobal options:\n");
		print_opts(f, ersctl_global_opts);
		fprintf(f, "\n'ersctl help NOUN [VERB]' or 'ersctl NOUN VERB --help' for more; man ersctl.\n");
	}
}

int cmd_help(struct cli *c)
{
	char prefix[200] = "";
	for (int i = 0; i < c->nargs; i++)
		snprintf(prefix + strlen(prefix), sizeof prefix - strlen(prefix), "%s%s", i ? " " : "", c->args[i]);
	if (!*prefix) {
		help_overview(stdout, NULL);
		return 0;
	}
	for (const struct cmd_spec *cmd = ersctl_commands; cmd->path; cmd++) {
		if (!strcmp(cmd->path, prefix)) {
			help_command(stdout, cmd);
			return 0;
		}
	}
	size_t len = strlen(prefix);
	bool any = false;
	for (const struct cmd_spec *cmd = ersctl_commands; cmd->path; cmd++)
		any |= !strncmp(cmd->path, prefix, len) && cmd->path[len] == ' ';
	if (!any) {
		/* The words that may follow the longest known part of the prefix. */
		size_t known = 0;
		for (const struct cmd_spec *cmd = ersctl_commands; cmd->path; cmd++)
			for (size_t k = 1; k <= len; k++)
				if ((prefix[k] == ' ' || !prefix[k]) && !strncmp(cmd->path, prefix, k) &&
				    cmd->path[k] == ' ' && k + 1 > known)
					known = k + 1;
		struct ers_buf poss = ERS_BUF_INIT;
		for (const struct cmd_spec *cmd = ersctl_commands; cmd->path; cmd++) {
			if (strncmp(cmd->path, prefix, known))
				continue;
			const char *w = cmd->path + known;
			int n = (int)strcspn(w, " ");
			char item[80];
			snprintf(item, sizeof item, ", %.*s,", n, w);
			struct ers_buf probe = ERS_BUF_INIT;
			ers_buf_addf(&probe, ", %s,", poss.data);
			if (!strstr(probe.data, item))
				ers_buf_addf(&poss, "%s%.*s", poss.len ? ", " : "", n, w);
			ers_buf_free(&probe);
		}
		ers_error_set(&c->err, ERS_E_USAGE, "no command \"%s\"; possibilities are: %s", prefix, poss.data);
		ers_buf_free(&poss);
		return -1;
	}
	char with_space[210];
	snprintf(with_space, sizeof with_space, "%s ", prefix);
	printf("ersctl %s commands:\n", prefix);
	help_overview(stdout, with_space);
	return 0;
}

/* --- completions ------------------------------------------------------ */

static void opts_words(struct ers_buf *b, const struct opt_spec *opts)
{
	for (size_t i = 0; opts[i].name; i++)
		ers_buf_addf(b, "%s--%s", b->len ? " " : "", opts[i].name);
}

/* One line per command, "path|--opt --opt|--opt=choice choice;...": the
 * data every shell's script walks. */
static void completion_table(const char *line_start, const char *line_end, FILE *f)
{
	for (const struct cmd_spec *c = ersctl_commands; c->path; c++) {
		struct ers_buf opts = ERS_BUF_INIT, choices = ERS_BUF_INIT;
		opts_words(&opts, c->opts);
		for (size_t i = 0; c->opts[i].name; i++)
			if (c->opts[i].choices)
				ers_buf_addf(&choices, "%s--%s=%s", choices.len ? ";" : "", c->opts[i].name, c->opts[i].choices);
		fprintf(f, "%s%s|%s|%s%s\n", line_start, c->path, opts.data, choices.data, line_end);
		ers_buf_free(&opts);
		ers_buf_free(&choices);
	}
}

static void global_words(struct ers_buf *b)
{
	opts_words(b, ersctl_global_opts);
}

static const char bash_body[] =
	"_ersctl() {\n"
	"    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"    local words=() i w line path opts choices\n"
	"    for ((i = 1; i < COMP_CWORD; i++)); do\n"
	"        w=${COMP_WORDS[i]}\n"
	"        case $w in\n"
	"            --config) ((i++)) ;;\n"
	"            -*) ;;\n"
	"            *) words+=(\"$w\") ;;\n"
	"        esac\n"
	"    done\n"
	"    local typed=\"${words[*]}\" best='' best_opts='' best_choices='' next=()\n"
	"    for line in \"${_ersctl_commands[@]}\"; do\n"
	"        IFS='|' read -r path opts choices <<<\"$line\"\n"
	"        if [[ \"$typed \" == \"$path \"* && ${#path} -gt ${#best} ]]; then\n"
	"            best=$path best_opts=$opts best_choices=$choices\n"
	"        elif [[ -z \"$typed\" ]]; then\n"
	"            next+=(\"${path%% *}\")\n"
	"        elif [[ \"$path\" == \"$typed \"* ]]; then\n"
	"            w=${path#\"$typed \"}; next+=(\"${w%% *}\")\n"
	"        fi\n"
	"    done\n"
	"    if [[ $prev == --config ]]; then COMPREPLY=($(compgen -f -- \"$cur\")); return; fi\n"
	"    if [[ $prev == --* && -n $best_choices ]]; then\n"
	"        local IFS=';' c\n"
	"        for c in $best_choices; do\n"
	"            if [[ ${c%%=*} == \"$prev\" ]]; then IFS=' '; COMPREPLY=($(compgen -W \"${c#*=}\" -- \"$cur\")); return; fi\n"
	"        done\n"
	"    fi\n"
	"    if [[ $cur == -* ]]; then\n"
	"        COMPREPLY=($(compgen -W \"$best_opts $_ersctl_global\" -- \"$cur\"))\n"
	"    elif [[ -z $best ]]; then\n"
	"        COMPREPLY=($(compgen -W \"${next[*]}\" -- \"$cur\"))\n"
	"    fi\n"
	"}\n"
	"complete -F _ersctl ersctl\n";

static const char zsh_body[] =
	"_ersctl() {\n"
	"    local -a words_typed next\n"
	"    local i w line path opts choices best='' best_opts='' best_choices=''\n"
	"    for ((i = 2; i < CURRENT; i++)); do\n"
	"        w=${words[i]}\n"
	"        case $w in\n"
	"            --config) ((i++)) ;;\n"
	"            -*) ;;\n"
	"            *) words_typed+=($w) ;;\n"
	"        esac\n"
	"    done\n"
	"    local typed=\"${(j: :)words_typed}\" cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
	"    for line in $_ersctl_commands; do\n"
	"        path=${line%%|*}; opts=${${line#*|}%%|*}; choices=${line##*|}\n"
	"        if [[ \"$typed \" == \"$path \"* && ${#path} -gt ${#best} ]]; then\n"
	"            best=$path best_opts=$opts best_choices=$choices\n"
	"        elif [[ -z $typed ]]; then\n"
	"            next+=(${path%% *})\n"
	"        elif [[ \"$path\" == \"$typed \"* ]]; then\n"
	"            w=${path#\"$typed \"}; next+=(${w%% *})\n"
	"        fi\n"
	"    done\n"
	"    if [[ $prev == --config ]]; then _files; return; fi\n"
	"    if [[ $prev == --* && -n $best_choices ]]; then\n"
	"        local c\n"
	"        for c in ${(s:;:)best_choices}; do\n"
	"            if [[ ${c%%=*} == $prev ]]; then compadd -- ${(s: :)${c#*=}}; return; fi\n"
	"        done\n"
	"    fi\n"
	"    if [[ $cur == -* ]]; then\n"
	"        compadd -- ${(s: :)best_opts} ${(s: :)_ersctl_global}\n"
	"    elif [[ -z $best ]]; then\n"
	"        compadd -- ${(u)next}\n"
	"    fi\n"
	"}\n"
	"_ersctl \"$@\"\n";

static void fish_script(void)
{
	printf("# fish completion for ersctl, generated by 'ersctl completion fish'\n");
	printf("complete -c ersctl -f\n");
	for (size_t i = 0; ersctl_global_opts[i].name; i++) {
		const struct opt_spec *o = &ersctl_global_opts[i];
		printf("complete -c ersctl -l %s%s -d '%s'\n", o->name, o->arg ? " -r" : "", o->name);
	}
	/* For each command: offer the next word after the words before it, and
	 * the command's options once all its words are there. */
	for (const struct cmd_spec *c = ersctl_commands; c->path; c++) {
		char *path = ers_xstrdup(c->path);
		char *words[4];
		int n = 0;
		for (char *save, *tok = strtok_r(path, " ", &save); tok && n < 4; tok = strtok_r(NULL, " ", &save))
			words[n++] = tok;
		for (int k = 0; k < n; k++) {
			struct ers_buf cond = ERS_BUF_INIT;
			if (k == 0)
				ers_buf_adds(&cond, "__fish_use_subcommand");
			for (int j = 0; j < k; j++)
				ers_buf_addf(&cond, "%s__fish_seen_subcommand_from %s", j ? "; and " : "", words[j]);
			printf("complete -c ersctl -n '%s' -a %s\n", cond.data, words[k]);
			ers_buf_free(&cond);
		}
		for (size_t i = 0; c->opts[i].name; i++) {
			const struct opt_spec *o = &c->opts[i];
			struct ers_buf cond = ERS_BUF_INIT;
			for (int j = 0; j < n; j++)
				ers_buf_addf(&cond, "%s__fish_seen_subcommand_from %s", j ? "; and " : "", words[j]);
			printf("complete -c ersctl -n '%s' -l %s%s", cond.data, o->name, o->arg ? " -r" : "");
			if (o->choices)
				printf(" -a '%s'", o->choices);
			printf("\n");
			ers_buf_free(&cond);
		}
		free(path);
	}
}

int cmd_completion(struct cli *c)
{
	const char *shell = c->args[0];
	struct ers_buf global = ERS_BUF_INIT;
	global_words(&global);
	if (!strcmp(shell, "bash")) {
		printf("# bash completion for ersctl, generated by 'ersctl completion bash'\n");
		printf("_ersctl_global='%s'\n_ersctl_commands=(\n", global.data);
		completion_table("    '", "'", stdout);
		printf(")\n%s", bash_body);
	} else if (!strcmp(shell, "zsh")) {
		printf("#compdef ersctl\n# zsh completion for ersctl, generated by 'ersctl completion zsh'\n");
		printf("_ersctl_global='%s'\n_ersctl_commands=(\n", global.data);
		completion_table("    '", "'", stdout);
		printf(")\n%s", zsh_body);
	} else if (!strcmp(shell, "fish")) {
		fish_script();
	} else {
		ers_buf_free(&global);
		ers_error_set(&c->err, ERS_E_USAGE, "unknown shell \"%s\"; possibilities are: bash, zsh, fish", shell);
		return -1;
	}
	ers_buf_free(&global);
	return 0;
}
