# libers in layers (libers/LAYERS, test/layers): this tree keeps them, and
# the check finds each kind of break planted in a copy -- an include that
# points up, one that points across, a front using an area's insides, an
# unplaced public header, a circle of areas and a circle of calls between
# two files.  Needs no database.
. "$(dirname "$0")/lib.sh"

out=$("$ERS_TOP/test/layers" 2>&1); rc=$?
ok "$rc" "this tree keeps its layers" || diag "$out"
like "$out" '^layers: ok \([0-9]+ includes in [0-9]+ areas and 2 fronts; [0-9]+ objects without a circle\)' "... and says what it checked"

tree=$T_DIR/tree
fresh() { rm -rf "$tree"; mkdir -p "$tree"; (cd "$ERS_TOP" && tar -cf - libers cmd web) | tar -xf - -C "$tree"; }
check_copy() { OUT=$("$ERS_TOP/test/layers" --root "$tree" --objects "$T_DIR/none" 2>&1); RC=$?; }

fresh
sed -i '0,/#include "ers\/buf.h"/s//#include "ers\/buf.h"\n#include "accounts\/internal.h"/' "$tree/libers/core/buf.c"
line=$(grep -n 'accounts/internal.h' "$tree/libers/core/buf.c" | cut -d: -f1)
check_copy
is "$RC" 1 "an upward include (core -> accounts) fails the check"
like "$OUT" "^layers: libers/core/buf.c:$line: #include \"accounts/internal.h\" points up or across, into accounts: core may include core and nothing else" \
    "... naming the file, the line, the include and the allowed edges"

fresh
echo '#include "ers/dkim.h"' >>"$tree/libers/mailstack/grant.c"
check_copy
like "$OUT" '^layers: libers/mailstack/grant.c:[0-9]+: #include "ers/dkim.h" points up or across, into dns: mailstack may include mailstack and accounts core mail' \
    "a public header of a higher area (mailstack -> dns's dkim.h) fails"

fresh
echo '#include "ers/user.h"' >>"$tree/libers/include/ers/buf.h"
check_copy
like "$OUT" '^layers: libers/include/ers/buf.h:[0-9]+: #include "ers/user.h" points up or across, into accounts' \
    "a public header including one of a higher area fails"

fresh
echo '#include "core/internal.h"' >>"$tree/cmd/ersctl/main.c"
check_copy
like "$OUT" '^layers: cmd/ersctl/main.c:[0-9]+: #include "core/internal.h": a front uses only public headers' \
    "a front including an area's inside fails"

fresh
printf '#ifndef X\n#define X\n#endif\n' >"$tree/libers/include/ers/stray.h"
check_copy
like "$OUT" 'libers/include/ers/stray.h: a public header that libers/LAYERS does not place' "a public header not placed in LAYERS fails"

fresh
mkdir -p "$tree/libers/archive" && echo 'int x;' >"$tree/libers/archive/a.c"
check_copy
like "$OUT" 'libers/archive/: a folder that libers/LAYERS does not name as an area' "a folder that is not an area fails"

fresh
sed -i 's/^area core$/area core        accounts/' "$tree/libers/LAYERS"
check_copy
like "$OUT" 'circle: area core may include accounts, which is not below it' "a circle of areas in LAYERS fails"

# A circle of calls: two objects of one area, each calling the other.
fresh
mkdir -p "$T_DIR/objs/libers/core"
printf 'void two(void);\nvoid one(void) { two(); }\n' >"$T_DIR/one.c"
printf 'void one(void);\nvoid two(void) { one(); }\n' >"$T_DIR/two.c"
cc -c -o "$T_DIR/objs/libers/core/one.o" "$T_DIR/one.c" && cc -c -o "$T_DIR/objs/libers/core/two.o" "$T_DIR/two.c"
OUT=$("$ERS_TOP/test/layers" --root "$tree" --objects "$T_DIR/objs" 2>&1); RC=$?
is "$RC" 1 "a circle of calls between two files fails the check"
like "$OUT" 'circle between 2 files: libers/core/one.c -> libers/core/two.c \(two\); libers/core/two.c -> libers/core/one.c \(one\)' \
    "... naming both files and the functions"

done_testing
