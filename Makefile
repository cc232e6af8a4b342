# SPDX-License-Identifier: MIT
# berth - one non-recursive Makefile (STYLE R13).

CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS    := libcjson libnl-3.0 libnl-route-3.0 libseccomp libcap
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wundef -Wpointer-arith
HARDEN  := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
override CFLAGS += -std=gnu11 -D_GNU_SOURCE -I. $(WARN) $(HARDEN) -MMD -MP $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lev -lm
# libarchive only for what links storage/archive.o or storage/export.o (berthd, their tests),
# not for the client
ARCHIVE_LIBS := $(shell pkg-config --libs libarchive 2>/dev/null || echo -larchive)
override LDFLAGS += -pie -Wl,-z,relro,-z,now
ifeq ($(SAN),1)
override CFLAGS  += -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
BUILD   ?= build/san
else
BUILD   ?= build
endif

# Debian packages needed to build, test and benchmark (make deps installs the missing ones).
DEB_DEPS := gcc make pkg-config libev-dev libcjson-dev libseccomp-dev libcap-dev libnl-3-dev \
            libnl-route-3-dev libarchive-dev busybox-static bats jq socat iproute2 util-linux \
            procps tmux curl crun runc clang clang-format cppcheck nftables python3 umoci \
            libacl1-dev libzstd-dev liblz4-dev cpio qemu-system-x86 xz-utils

CORE_SRC    := $(filter-out core/err.c core/util.c,$(wildcard core/*.c))
COMMON_SRC  := core/err.c core/util.c
# ctl/proto.c and ctl/runopt.c are shared: berthd links them with the libraries, the client too
CTL_SHARED  := ctl/proto.c ctl/runopt.c
LIB_SRC     := $(wildcard net/*.c storage/*.c) $(CTL_SHARED)
CLIENT_SRC  := $(filter-out $(CTL_SHARED),$(wildcard ctl/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
LIB_OBJ    := $(call obj,$(LIB_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all static deps check unit integration check-layers format format-check analyze \
        fuzz clean run image bench vm-test vm-kernel
all: $(BUILD)/berthd $(BUILD)/berth image

GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
$(BUILD)/core/verbs.o: override CFLAGS += -DBERTH_GIT_COMMIT='"$(GIT_COMMIT)"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/berthd: $(call obj,$(CORE_SRC)) $(LIB_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ARCHIVE_LIBS)

$(BUILD)/berth: $(call obj,$(CLIENT_SRC) $(CTL_SHARED)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A statically linked berthd for /init and client for the VM test. Debian has static archives of
# libnl, libev, libseccomp, libcap and libarchive's compressors (libacl1-dev, libzstd-dev and
# liblz4-dev hold the .a files); cJSON's is built from Debian's source package
# (tests/vm/cjson-static.sh). Their objects are compiled apart, under $(BUILD)/static, for size
# (DESIGN §15: static berthd <= 2 MB): -Os, a section per function and per variable for
# --gc-sections, no PIE (the binaries are static, not static-pie) and no unwind tables (plain C
# without exceptions or backtrace() never unwinds its own frames). The dynamic build keeps its
# flags and objects.
static: $(BUILD)/berthd-static $(BUILD)/berth-static
SBUILD         := $(BUILD)/static
sobj            = $(patsubst %.c,$(SBUILD)/%.o,$(1))
STATIC_CFLAGS  := -Os -fno-PIE -ffunction-sections -fdata-sections \
                  -fno-asynchronous-unwind-tables -fno-unwind-tables
STATIC_LDFLAGS := -static -Wl,--gc-sections
$(SBUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $< (static)"
	@$(CC) $(CFLAGS) $(STATIC_CFLAGS) -c -o $@ $<
$(SBUILD)/core/verbs.o: override CFLAGS += -DBERTH_GIT_COMMIT='"$(GIT_COMMIT)"'
$(BUILD)/cjson/libcjson.a: tests/vm/cjson-static.sh tests/vm/deb-source.sh
	sh tests/vm/cjson-static.sh $(BUILD)/cjson
# libzstd.a without the pre-1.0 format decoders (tests/vm/zstd-static.sh), found before Debian's
$(BUILD)/zstd/libzstd.a: tests/vm/zstd-static.sh tests/vm/deb-source.sh
	sh tests/vm/zstd-static.sh $(BUILD)/zstd
# tests/vm/archive-static.c keeps libarchive's table of every writer (and so libxml2, ICU and
# libstdc++) out of the static binary, tests/vm/nss-static.c glibc's NSS and DNS resolver
# (which libnl's unused name lookups would pull in).
STATIC_EXTRA   := tests/vm/archive-static.c tests/vm/nss-static.c
$(BUILD)/berthd-static: $(call sobj,$(CORE_SRC) $(LIB_SRC) $(COMMON_SRC) $(STATIC_EXTRA)) \
                        $(BUILD)/cjson/libcjson.a $(BUILD)/zstd/libzstd.a
	$(CC) $(STATIC_LDFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD)/cjson -L$(BUILD)/zstd \
	    $(shell pkg-config --static --libs $(PKGS) libarchive) -lev -lm
	strip $@
	@ls -l $@

$(BUILD)/berth-static: $(call sobj,$(CLIENT_SRC) $(CTL_SHARED) $(COMMON_SRC)) \
                       $(BUILD)/cjson/libcjson.a
	$(CC) $(STATIC_LDFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD)/cjson \
	    $(shell pkg-config --static --libs $(PKGS)) -lev -lm
	strip $@
	@ls -l $@

# The busybox image: Debian's busybox-static with every applet linked.
image: $(BUILD)/images/busybox/config.json
$(BUILD)/images/busybox/config.json: storage/mkbusybox.sh
	sh storage/mkbusybox.sh $(BUILD)/images/busybox

# The VM test (tests/vm/README.md): Debian's cloud kernel, unpacked (not installed) and cached
# in $(BUILD)/vm/kernel; an initramfs with berthd-static as /init applying tests/vm/boot.json
# (VM_INIT=berthd), or started by a script that runs the containers with the client and leaves
# 100 orphans to PID 1 (VM_INIT=bootstrap), or a busybox script alone (VM_INIT=probe, the
# recipe without berthd); booted under qemu TCG, judged by tests/vm/run.sh.
VM      := $(BUILD)/vm
VM_INIT ?= berthd
vm-kernel:
	@sh tests/vm/kernel.sh $(VM)/kernel >/dev/null
vm-test: static image vm-kernel
	@BUILD=$(BUILD) INIT=$(VM_INIT) sh tests/vm/initramfs.sh $(VM)/initramfs-$(VM_INIT).cpio.gz
	@EXPECT_EXIT='$(if $(filter berthd,$(VM_INIT)),berth: selftest exited with 0)' \
	    sh tests/vm/run.sh $(VM)/kernel/vmlinuz $(VM)/initramfs-$(VM_INIT).cpio.gz $(VM)/$(VM_INIT)

# Unit tests: a test of a library module (ctl/ net/ storage/) links only that module with err
# and util (plus the library modules it builds on, UNIT_DEPS_<module>); a test of a core
# module links the daemon's objects without main.
.SECONDEXPANSION:
CORE_NOMAIN_OBJ := $(call obj,$(filter-out core/main.c,$(CORE_SRC)))
UNIT_DEPS_archive := $(call obj,storage/image.c storage/sha256.c)
UNIT_DEPS_runopt  := $(call obj,ctl/proto.c)
unit_objs = $(if $(wildcard core/$(1).c),$(CORE_NOMAIN_OBJ) $(LIB_OBJ),$(call obj,$(wildcard ctl/$(1).c net/$(1).c storage/$(1).c)) $(UNIT_DEPS_$(1)))
$(BUILD)/tests/test_%: tests/unit/test_%.c $(COMMON_OBJ) $$(call unit_objs,$$*)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) $(ARCHIVE_LIBS)

FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c ctl/proto.c core/err.c core/util.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

FUZZ_SNAP_SRC := $(filter-out core/main.c,$(CORE_SRC)) $(LIB_SRC) $(COMMON_SRC)
$(BUILD)/fuzz/fuzz_snapshot: tests/fuzz/fuzz_snapshot.c $(FUZZ_SNAP_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS) $(ARCHIVE_LIBS) -lev -lm

fuzz: $(BUILD)/fuzz/fuzz_proto $(BUILD)/fuzz/fuzz_snapshot
	$(BUILD)/fuzz/fuzz_proto -max_total_time=60 -max_len=70000
	$(BUILD)/fuzz/fuzz_snapshot -max_total_time=60

deps:
	@missing=""; for p in $(DEB_DEPS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

integration: $(BUILD)/berthd $(BUILD)/berth image
	@BUILD=$(BUILD) sh tests/run-integration.sh

check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check-layers
	@BUILD=$(BUILD) sh tests/run-all.sh $(MAKE)

check-layers:
	@! grep -rn '<ev.h>' net storage ctl
	@! grep -rn '#include "core/' net storage | grep -vE 'core/(err|util|limits)\.h'
	@! grep -rn '#include "' ctl | grep -vE '"(ctl/|core/(err|util|limits)\.h)'

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

analyze:
	cppcheck --quiet --error-exitcode=1 --enable=warning --inline-suppr -I. -D_GNU_SOURCE \
	    --suppress=missingIncludeSystem core net storage ctl

run: deps all
	sh examples/run.sh $(BUILD)

# run.sh (berth vs crun/runc), storage.sh (load throughput, start vs image size), then exec.sh
# (exec latency vs crun/runc, exec -i throughput vs the host); the exit status is the worst of
# the three (0 clean, 1 berth misbehaved, 2 setup failure)
bench: all
	@rc=0; \
	sh tests/bench/run.sh $(BUILD) || rc=$$?; \
	sh tests/bench/storage.sh $(BUILD) || { s=$$?; [ $$s -gt $$rc ] && rc=$$s; }; \
	sh tests/bench/exec.sh $(BUILD) || { s=$$?; [ $$s -gt $$rc ] && rc=$$s; }; \
	exit $$rc

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
