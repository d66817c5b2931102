# The build on a new machine: targets that install packages build in a make
# started after the install (this make read pkg-config's flags before the
# packages were there), and a build without the -dev packages stops with one
# line naming the missing modules and `make deps`.  Needs no database.
. "$(dirname "$0")/lib.sh"

# --- no rule names deps beside anything else --------------------------------

# "TARGET: deps X" would build X with the flags read before deps ran.
bad_rules=$(awk -F: '/^[A-Za-z0-9_.-]+:[^=]*\<deps\>/ { n = split($2, p, " "); if (n > 1) print FILENAME ":" FNR ": " $0 }' "$ERS_TOP/Makefile")
is "$bad_rules" "" "no Makefile rule has deps beside another prerequisite (build in \$(SUBMAKE) after it)"
for t in check demo bench fuzz; do
    like "$(awk -v t="$t" '$0 ~ "^" t ":" { print; getline; print }' "$ERS_TOP/Makefile")" "^$t: deps
	\\\$\\(SUBMAKE\\) " "make $t: installs (deps), then builds in a new make"
done

# --- a build without the packages: one clear line ---------------------------

src=$T_DIR/src
mkdir -p "$src" "$T_DIR/no-pkgconfig"
(cd "$ERS_TOP" && tar -cf - Makefile libers cmd web) | tar -xf - -C "$src"
PKG_CONFIG_LIBDIR=$T_DIR/no-pkgconfig PKG_CONFIG_PATH= make -C "$src" --no-print-directory all >"$T_DIR/make.out" 2>"$T_DIR/make.err"
rc=$?
is "$rc" 2 "make all without the -dev packages fails"
like "$(cat "$T_DIR/make.err")" "^make: missing pkg-config modules: libpq yaml-0.1 .*gmime-3.0.*; run 'make deps' as root first" \
    "... with one line that names the missing modules and make deps"
unlike "$(cat "$T_DIR/make.err" "$T_DIR/make.out")" 'error:|fatal error|No such file' "... and no compiler error"
is "$(find "$src" -name '*.o' | wc -l)" 0 "... having compiled nothing"

done_testing
