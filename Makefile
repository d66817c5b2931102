# ERS build.  `make` builds libers (shared, versioned soname, and a static
# archive for tests) and ersctl.  See README.md for deps/check/demo.

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
DATADIR      ?= $(PREFIX)/share
SYSCONFDIR   ?= /etc
DESTDIR      ?=

CC           ?= cc
PKGS         := libpq yaml-0.1 jansson libidn2 libcrypto libcrypt libcurl ldns gmime-3.0 gumbo libqrencode libarchive gpgme
PKG_CFLAGS   := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS     := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libmilter (ersctl scan milter) is ersctl's alone: libers does not link it.
MILTER_LIBS  := $(shell pkg-config --libs milter 2>/dev/null) -lpthread
# Asked only when something is compiled (recursive =): the modules missing.
PKG_MISSING   = $(strip $(foreach p,$(PKGS) milter,$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p))))

WARN         := -Wall -Wextra -Wformat=2 -Wshadow -Werror -Wno-unused-parameter
HARDEN       := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT          ?= -O2 -g
# Private headers of an area are included as "AREA/x.h" (-Ilibers), public
# ones as "ers/x.h"; test/layers checks that includes point down only.
CFLAGS_ALL   := -std=gnu17 $(OPT) $(WARN) $(HARDEN) -Ilibers/include -Ilibers -DERS_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
LDFLAGS_ALL  := -Wl,-z,relro,-z,now -Wl,--as-needed
ifeq ($(SANITIZE),1)
CFLAGS_ALL   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_ALL  += -fsanitize=address,undefined
endif
CFLAGS_ALL   += $(CFLAGS)
LDFLAGS_ALL  += $(LDFLAGS)

# Everything the build makes -- objects, generated sources, the library,
# ersctl, the webmail, test programs -- goes under $(O), never beside the
# sources: `git status` and a folder listing show only code.
O            ?= build
# libers is cut in areas (libers/AREA/*.c; see libers/LAYERS and README.md).
LIB_SRC      := $(sort $(wildcard libers/*/*.c))
LIB_OBJ      := $(patsubst %.c,$(O)/%.o,$(LIB_SRC)) $(O)/libers/migrations.gen.o
LIB_SO       := $(O)/libers.so.$(SOVERSION)
LIB_A        := $(O)/libers.a
CLI_SRC      := $(sort $(wildcard cmd/ersctl/*.c))
CLI_OBJ      := $(patsubst %.c,$(O)/%.o,$(CLI_SRC))
ERSCTL       := $(O)/ersctl
WEB_SRC      := $(sort $(wildcard web/*.c))
WEB_OBJ      := $(patsubst %.c,$(O)/%.o,$(WEB_SRC)) $(O)/web/css.gen.o
WEBMAIL      := $(O)/ers-webmail.cgi
WEBMAIL_SO   := $(O)/ers-webmail.so
# The front (ers-webmail.cgi) links libc only; the module (ers-webmail.so)
# everything else of web/ with libers.a and its libraries.
FRONT_OBJ    := $(O)/web/front.o $(O)/web/core.o $(O)/web/html.o $(O)/web/css.gen.o $(O)/libers/core/buf.o $(O)/libers/core/mem.o
MODULE_OBJ   := $(filter-out $(O)/web/front.o $(O)/web/fcgi.o,$(WEB_OBJ))
WEBMAIL_FCGI := $(O)/ers-webmail-fcgi
UNIT_SRC     := $(sort $(wildcard test/unit/*.c))
UNIT_BIN     := $(patsubst %.c,$(O)/%.t,$(UNIT_SRC))
MIGRATIONS   := $(sort $(wildcard libers/core/sql/*.sql))
HEADERS      := $(wildcard libers/include/ers/*.h) $(wildcard libers/*.h libers/*/*.h) $(wildcard cmd/ersctl/*.h) $(wildcard web/*.h)

.DEFAULT_GOAL := all

# Rebuild everything when the flags change (SANITIZE=1 and back), as git does.
BUILD_FLAGS  := $(O)/.build-flags
FLAGS_NOW    := $(subst ',,$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL))
# Every object depends on this file, so a build on a machine without the
# -dev packages stops here with one line, not with a compiler error.
$(BUILD_FLAGS): FORCE
	@mkdir -p $(O)
	@missing='$(PKG_MISSING)'; [ -z "$$missing" ] || { echo "make: missing pkg-config modules: $$missing; run 'make deps' as root first" >&2; exit 1; }
	@[ "$$(cat $@ 2>/dev/null)" = '$(FLAGS_NOW)' ] || { echo '  FLAGS (changed: rebuilding)'; echo '$(FLAGS_NOW)' > $@; }
FORCE:

.PHONY: FORCE all deps check unit integration demo demo-stop install completions man clean bench check-generated fuzz fuzz-run
all: $(LIB_SO) $(LIB_A) $(ERSCTL) $(WEBMAIL) $(WEBMAIL_SO) $(WEBMAIL_FCGI)

deps:
	@test/deps

$(O)/%.o: %.c $(BUILD_FLAGS) $(HEADERS)
	@mkdir -p $(@D)
	@echo '  CC    $@'
	@$(CC) $(CFLAGS_ALL) -fPIC -c -o $@ $<

# Generated sources live in $(O) too; they include headers of the tree.
$(O)/%.gen.o: $(O)/%.gen.c $(BUILD_FLAGS) $(HEADERS)
	@echo '  CC    $@'
	@$(CC) $(CFLAGS_ALL) -fPIC -c -o $@ $<

$(O)/libers/migrations.gen.c: $(MIGRATIONS) libers/core/sql/embed.awk
	@mkdir -p $(@D)
	awk -f libers/core/sql/embed.awk $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libers.so.$(SOVERSION) $(LDFLAGS_ALL) -o $@ $(LIB_OBJ) $(PKG_LIBS)
	ln -sf libers.so.$(SOVERSION) $(O)/libers.so

$(LIB_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $(LIB_OBJ)

# In-tree ersctl finds the in-tree library beside it; `make install` relinks it.
$(ERSCTL): $(CLI_OBJ) $(LIB_SO)
	$(CC) -pie $(LDFLAGS_ALL) -Wl,-rpath,'$$ORIGIN' -o $@ $(CLI_OBJ) -L$(O) -lers -ljansson $(MILTER_LIBS)

# The webmail CGI; its stylesheet and script are compiled in (served at
# /static/ers.css as web_css and /static/ers.js as web_js).
$(O)/web/css.gen.c: web/static/ers.css web/static/ers.js
	@mkdir -p $(@D)
	awk 'BEGIN { print "/* generated from web/static/ers.css and ers.js: do not edit */" } \
	  FNR == 1 { if (NR > 1) print "\t\"\";"; print "const char " (FILENAME ~ /\.js$$/ ? "web_js" : "web_css") "[] =" } \
	  { gsub(/\\/, "&&"); gsub(/"/, "\\\""); printf "\t\"%s\\n\"\n", $$0 } END { print "\t\"\";" }' $^ > $@.tmp && mv $@.tmp $@

# Each request is a new process, and loading the ~50 shared libraries of
# the whole webmail costs ~7x a hello-world's start (test/bench/RESULTS.md,
# section 6).  So ers-webmail.cgi is a front linked with libc only that
# answers the stylesheet, the script and the login form itself and loads
# ers-webmail.so, from beside its own executable, for every other request
# (web/front.c).  The module is linked with libers.a and exports only its
# entry (web/ers-webmail.map); -z defs finds a missing symbol here rather
# than at dlopen.  dlopen is in libc since glibc 2.34 (-ldl: older ones).
# Both are installed as they are, no rpath.
$(WEBMAIL): $(FRONT_OBJ)
	$(CC) -pie $(LDFLAGS_ALL) -o $@ $(FRONT_OBJ) -ldl

$(WEBMAIL_SO): $(MODULE_OBJ) $(LIB_A) web/ers-webmail.map
	$(CC) -shared $(LDFLAGS_ALL) $(if $(filter 1,$(SANITIZE)),,-Wl,-z,defs) -Wl,--version-script=web/ers-webmail.map \
	  -o $@ $(MODULE_OBJ) $(LIB_A) $(PKG_LIBS)

# The same pages as a FastCGI server (web/fcgi.c, issue 22): one process
# keeps what the CGI makes anew for every request, libfcgi speaks the protocol.
$(WEBMAIL_FCGI): $(MODULE_OBJ) $(O)/web/fcgi.o $(LIB_A)
	$(CC) -pie $(LDFLAGS_ALL) -o $@ $(O)/web/fcgi.o $(MODULE_OBJ) $(LIB_A) $(PKG_LIBS) -lfcgi

$(O)/test/unit/%.t: test/unit/%.c test/unit/tap.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itest/unit -pie $(LDFLAGS_ALL) -o $@ $< $(LIB_A) $(PKG_LIBS)

# The multipart test compiles the CGI's parser in (#include of web/multipart.c).
$(O)/test/unit/multipart.t: web/multipart.c web/multipart.h web/web.h

unit: $(UNIT_BIN)

# Fuzz targets (test/fuzz/*.c, libFuzzer's LLVMFuzzerTestOneInput): with
# clang, libFuzzer + ASan over the library's sources; without it, gcc + ASan
# and test/fuzz/driver.c, which runs each input of a corpus once.  Each
# target then runs for FUZZ_SECONDS (default 10; 0 only builds), from the
# committed seeds in test/fuzz/seeds/NAME, growing $(O)/fuzz/corpus/NAME.
FUZZ_SRC     := $(filter-out test/fuzz/driver.c,$(sort $(wildcard test/fuzz/*.c)))
FUZZ_BIN     := $(patsubst test/fuzz/%.c,$(O)/fuzz/%.fuzz,$(FUZZ_SRC))
FUZZ_CORPUS  := $(O)/fuzz/corpus
FUZZ_SECONDS ?= 10
CLANG        := $(shell command -v clang 2>/dev/null)
FUZZ_CFLAGS  := -std=gnu17 -g -O1 -Ilibers/include -Ilibers -DERS_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
# The modules fuzzed get clang's coverage instrumentation; the rest of the
# library comes from libers.a.
FUZZ_LIB_SRC := libers/core/buf.c libers/core/mem.c libers/core/error.c libers/mail/sanitize.c libers/mail/imap_parse.c libers/mail/message.c
$(O)/fuzz/%.fuzz: test/fuzz/%.c test/fuzz/driver.c $(FUZZ_LIB_SRC) $(LIB_A)
	@mkdir -p $(@D)
ifneq ($(CLANG),)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB_SRC) $(LIB_A) $(PKG_LIBS) -lssl
else
	$(CC) $(FUZZ_CFLAGS) -fsanitize=address,undefined -o $@ $< test/fuzz/driver.c $(FUZZ_LIB_SRC) $(LIB_A) $(PKG_LIBS) -lssl
endif

fuzz: deps
	$(SUBMAKE) fuzz-run
fuzz-run: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f .fuzz); c=$(FUZZ_CORPUS)/$$n; mkdir -p $$c; \
	  [ "$(FUZZ_SECONDS)" = 0 ] && continue; echo "  FUZZ  $$n ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	    $$c test/fuzz/seeds/$$n >$$c.log 2>&1 \
	    || { tail -n 30 $$c.log; exit 1; }; grep -E '^Done|inputs run' $$c.log; done

# The completions and the man pages' synopses are generated from the command
# table; the committed copies must match (test/integration checks too).
completions: $(ERSCTL)
	$(ERSCTL) completion bash > completions/ersctl.bash
	$(ERSCTL) completion zsh  > completions/_ersctl
	$(ERSCTL) completion fish > completions/ersctl.fish
man: $(ERSCTL)
	test/gen-man-synopsis $(ERSCTL) man/*.1

# Targets that install packages and then build do the build in a second make,
# started after `deps`: this make read pkg-config's flags before the packages
# were there.  So such a target's only prerequisite is deps (test/integration/
# generated.sh checks that no rule names deps beside anything else).
SUBMAKE      := $(MAKE) --no-print-directory

check: deps
	$(SUBMAKE) all unit
	test/layers
	test/run-all

demo: deps
	$(SUBMAKE) all
	test/demo start

demo-stop:
	test/demo stop

bench: deps
	$(SUBMAKE) all
	test/bench/run

# ERS_BACKUP_BEFORE_DEPLOY=true: a secure backup first, by the ersctl now
# installed (it knows the running schema; else the one just built), into
# ERS_BACKUP_DIR (default /var/backups/ers), with ERS_BACKUP_PASSPHRASE_FILE;
# if it fails, nothing is installed (ersctl-backup(1)).
install: all
	@if [ "$${ERS_BACKUP_BEFORE_DEPLOY:-}" = true ]; then \
	  e=$(DESTDIR)$(BINDIR)/ersctl; [ -x "$$e" ] || e=$(ERSCTL); \
	  echo "  BACKUP before installing (ERS_BACKUP_BEFORE_DEPLOY=true) with $$e"; \
	  "$$e" backup create -o "$${ERS_BACKUP_DIR:-/var/backups/ers}/" \
	    || { echo "make install: the backup failed; nothing was installed" >&2; exit 1; }; fi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/ers $(DESTDIR)$(INCLUDEDIR)/ers \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/zsh/vendor-completions \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d $(DESTDIR)$(DATADIR)/doc/ers/examples
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libers.so.$(VERSION)
	ln -sf libers.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libers.so.$(SOVERSION)
	ln -sf libers.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libers.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libers.a
	$(CC) -pie $(LDFLAGS_ALL) -Wl,-rpath,$(LIBDIR) -o $(DESTDIR)$(BINDIR)/ersctl $(CLI_OBJ) -L$(O) -lers -ljansson $(MILTER_LIBS)
	install -m 0755 $(WEBMAIL) $(DESTDIR)$(LIBDIR)/ers/ers-webmail.cgi
	install -m 0644 $(WEBMAIL_SO) $(DESTDIR)$(LIBDIR)/ers/ers-webmail.so
	install -m 0755 $(WEBMAIL_FCGI) $(DESTDIR)$(LIBDIR)/ers/ers-webmail-fcgi
	install -m 0644 libers/include/ers/*.h $(DESTDIR)$(INCLUDEDIR)/ers/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|; s|@PKGS@|$(PKGS)|' \
	  libers/libers.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libers.pc
	for f in man/*.1; do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man1/; done
	for f in man/*.5; do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man5/; done
	for f in man/*.8; do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man8/; done
	install -m 0644 completions/ersctl.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/ersctl
	install -m 0644 completions/_ersctl $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_ersctl
	install -m 0644 completions/ersctl.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/ersctl.fish
	cp -r examples/. $(DESTDIR)$(DATADIR)/doc/ers/examples/

clean:
	rm -rf $(O)
