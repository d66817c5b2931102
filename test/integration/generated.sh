# What is generated from the command table -- the shell completions and the
# man pages' synopses -- is committed up to date, the man pages document
# every command and render cleanly.  Needs no database.
. "$(dirname "$0")/lib.sh"
cd "$ERS_TOP" || { echo "Bail out! no ERS_TOP"; exit 1; }

# --- completions --------------------------------------------------------

for pair in bash:completions/ersctl.bash zsh:completions/_ersctl fish:completions/ersctl.fish; do
    shell=${pair%%:*} file=${pair#*:}
    if [ ! -f "$file" ]; then
        ok 1 "$file is committed"
        diag "$file is missing: run 'make completions'"
        continue
    fi
    want=$("$ERSCTL" completion "$shell" 2>&1)
    have=$(cat "$file")
    if [ "$want" = "$have" ]; then ok 0 "$file is what 'ersctl completion $shell' prints"; else
        ok 1 "$file is what 'ersctl completion $shell' prints"
        diag "$file is stale: run 'make completions'" "$(diff <(printf '%s\n' "$have") <(printf '%s\n' "$want") | head -n 10)"
    fi
done

bash -n completions/ersctl.bash 2>"$T_DIR/bash-n"
rc=$?
ok "$rc" "completions/ersctl.bash is valid bash" || diag "$(cat "$T_DIR/bash-n")"
if command -v zsh >/dev/null; then
    zsh -n completions/_ersctl 2>"$T_DIR/zsh-n"
    rc=$?
    ok "$rc" "completions/_ersctl is valid zsh" || diag "$(cat "$T_DIR/zsh-n")"
fi
if command -v fish >/dev/null; then
    fish --no-execute completions/ersctl.fish 2>"$T_DIR/fish-n"
    rc=$?
    ok "$rc" "completions/ersctl.fish is valid fish" || diag "$(cat "$T_DIR/fish-n")"
fi

# --- man pages: synopses ------------------------------------------------------

pages=(man/*.[1-8])
if [ ! -e "${pages[0]}" ]; then
    ok 1 "there are man pages in man/"
    done_testing
    exit 0
fi

# The generator on copies of the pages must change nothing.
mkdir -p "$T_DIR/man"
cp "${pages[@]}" "$T_DIR/man/"
test/gen-man-synopsis "$ERSCTL" "$T_DIR"/man/* 2>"$T_DIR/gen.err"
rc=$?
ok "$rc" "test/gen-man-synopsis runs on the man pages" || diag "$(cat "$T_DIR/gen.err")"
for page in "${pages[@]}"; do
    copy=$T_DIR/man/$(basename "$page")
    if cmp -s "$page" "$copy"; then ok 0 "$page: synopsis is up to date"; else
        ok 1 "$page: synopsis is up to date"
        diag "$page is stale: run 'make man'" "$(diff "$page" "$copy" | head -n 10)"
    fi
done
n=$(grep -lxF '.\" BEGIN GENERATED SYNOPSIS' "${pages[@]}" | wc -l)
[ "$n" -gt 0 ]
ok $? "some pages have a generated synopsis ($n)"

# --- man pages: every command is documented -----------------------------------

# The command paths, from the overview of `ersctl help`: the leading
# lower-case words of each command line, as many as `ersctl help` accepts
# as one command (the summary after the path may start with lower-case
# words too).
paths=()
while IFS= read -r line; do
    case $line in "  "[a-z]*) ;; *) continue ;; esac
    left=${line#  }
    case $left in *"  "*) left=${left%%  *} ;; esac
    words=()
    for w in $left; do
        [[ $w =~ ^[a-z][a-z0-9-]*$ ]] || break
        words+=("$w")
    done
    for ((k = ${#words[@]}; k > 0; k--)); do
        first=$("$ERSCTL" help "${words[@]:0:k}" 2>/dev/null | head -n 1)
        case $first in
            "usage: ersctl ${words[*]:0:k}" | "usage: ersctl ${words[*]:0:k} "*)
                paths+=("${words[*]:0:k}")
                break ;;
        esac
    done
done < <("$ERSCTL" help)
[ ${#paths[@]} -gt 0 ]
ok $? "'ersctl help' lists commands (${#paths[@]})"

# The pages' text outside the generated synopses, with the roff escapes
# that can occur inside a command path taken out.
text=$(for page in "${pages[@]}"; do
    sed -e '/^\.\\" BEGIN GENERATED SYNOPSIS$/,/^\.\\" END GENERATED SYNOPSIS$/d' \
        -e '/^\.\\"/d' -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\~/ /g' -e 's/\\ / /g' \
        -e 's/^\.[A-Z][A-Z]* *//' -e 's/"//g' "$page"
done)
for path in "${paths[@]}"; do
    if printf '%s\n' "$text" | grep -qF -- "$path"; then ok 0 "'$path' is documented in a man page"; else
        ok 1 "'$path' is documented in a man page"
        diag "no man page mentions '$path' outside its generated synopsis: describe it in man/ersctl-${path%% *}.1 or man/ersctl.1"
    fi
done

# --- the README says only what exists --------------------------------------

# Each command of the README's "What works today" table is in ersctl's
# command table, and the opening paragraphs name no subsystem ersctl lacks.
commands=$("$ERSCTL" help 2>&1 | awk '/^  [a-z]/ { sub(/^  /, ""); split($0, f, /   +/); n = split(f[1], w, " "); c = "";
    for (i = 1; i <= n && w[i] ~ /^[a-z]+$/; i++) c = c (c ? " " : "") w[i]; print c }')
missing=
while IFS= read -r cell; do
    words=${cell#ersctl }; noun=${words% *}; verbs=${words##* }
    [ "$noun" = "$words" ] && { noun=$words; verbs=; }
    for v in ${verbs//\// }; do
        grep -qx "$noun $v" <<<"$commands" || missing+=" '$noun $v'"
    done
done < <(sed -n 's/^| `\(ersctl [a-z ]*[a-z/]*\)[^`]*` |.*/\1/p' README.md)
is "$missing" "" "every command in the README's table of what works is an ersctl command"
intro=$(sed -n '1,/^## /p' README.md)
for word in backup archive clamd S/MIME anti-virus; do
    if grep -qi -- "$word" <<<"$intro" && ! grep -qi "^${word%/*}" <<<"$commands"; then
        ok 1 "the README's opening does not name $word, which does not exist yet"
    else
        ok 0 "the README's opening does not name $word, which does not exist yet"
    fi
done

# --- man pages: they render without warnings --------------------------------------

if ! command -v man >/dev/null; then
    ok 0 "# SKIP man is not installed: the pages' rendering is not checked"
else
    for page in "${pages[@]}"; do
        LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >"$T_DIR/man.out" 2>"$T_DIR/man.err"
        rc=$?
        if [ "$rc" -eq 0 ] && [ ! -s "$T_DIR/man.err" ] && [ -s "$T_DIR/man.out" ]; then
            ok 0 "$page renders without warnings"
        else
            ok 1 "$page renders without warnings"
            diag "man exited $rc" "$(head -n 10 "$T_DIR/man.err")"
        fi
    done
fi

done_testing
