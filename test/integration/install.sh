# `make install`: the staged tree holds what a package needs, the installed
# ersctl runs from its prefix, and a program builds against libers.pc.
. "$(dirname "$0")/lib.sh"

prefix=$T_DIR/prefix
make -s -C "$ERS_TOP" install PREFIX="$prefix" >"$T_DIR/install.log" 2>&1
ok $? "make install PREFIX=… succeeds" || diag "$(tail -n 20 "$T_DIR/install.log")"
for f in bin/ersctl lib/libers.so.0 lib/libers.so lib/libers.a lib/pkgconfig/libers.pc include/ers/ers.h \
         include/ers/tenant.h share/man/man1/ersctl.1 share/man/man1/ersctl-tenant.1 share/man/man5/ers.yaml.5 \
         share/bash-completion/completions/ersctl share/zsh/vendor-completions/_ersctl \
         share/fish/vendor_completions.d/ersctl.fish share/doc/ers/examples/ers.yaml; do
    [ -e "$prefix/$f" ]; ok $? "installed $f"
done
like "$(readelf -d "$prefix/lib/libers.so.0" 2>&1)" "SONAME.*\[libers\.so\.0\]" "the library's soname is libers.so.0"
like "$(readelf -d "$prefix/bin/ersctl" 2>&1)" "NEEDED.*\[libers\.so\.0\]" "ersctl links the shared library"
like "$(readelf -lW "$prefix/bin/ersctl" 2>&1)" "GNU_RELRO" "ersctl has RELRO"
like "$(readelf -d "$prefix/bin/ersctl" 2>&1)" "BIND_NOW|FLAGS.*NOW" "… and full RELRO (BIND_NOW)"
like "$("$prefix/bin/ersctl" --version 2>&1)" "^ersctl [0-9]+\.[0-9]+\.[0-9]+$" "the installed ersctl runs from its prefix"

cat >"$T_DIR/use.c" <<'C'
#include <stdio.h>
#include <ers/ers.h>
int main(void)
{
	struct ers_buf b = ERS_BUF_INIT;
	struct ers_error err;
	if (ers_domain_normalize("Bücher.Example", &b, &err) < 0)
		return 1;
	printf("%s %s\n", ers_version(), b.data);
	ers_buf_free(&b);
	return 0;
}
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# Under `make check SANITIZE=1` the library needs the sanitizer runtimes first.
san=""
readelf -d "$prefix/lib/libers.so.0" | grep -q 'libasan' && san="-fsanitize=address,undefined"
cc $san $(pkg-config --cflags libers) -o "$T_DIR/use" "$T_DIR/use.c" $(pkg-config --libs libers) -Wl,-rpath,"$prefix/lib" 2>"$T_DIR/cc.log"
ok $? "a program builds against the installed headers with pkg-config" || diag "$(cat "$T_DIR/cc.log")"
like "$("$T_DIR/use" 2>&1)" " xn--bcher-kva\.example$" "… and runs with the installed library"

stage=$T_DIR/stage
make -s -C "$ERS_TOP" install PREFIX=/usr DESTDIR="$stage" >"$T_DIR/stage.log" 2>&1
ok $? "make install DESTDIR=… PREFIX=/usr stages the tree" || diag "$(tail -n 20 "$T_DIR/stage.log")"
[ -x "$stage/usr/bin/ersctl" ] && [ -e "$stage/usr/lib/libers.so.0" ]; ok $? "staged under DESTDIR, nothing outside it"
like "$(cat "$stage/usr/lib/pkgconfig/libers.pc")" "^libdir=/usr/lib$" "libers.pc names the final prefix, not DESTDIR"

done_testing
