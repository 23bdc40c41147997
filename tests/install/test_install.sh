#!/bin/sh
# tests/install/test_install.sh BUILD_DIR [CC]: `cmake --install` into a
# DESTDIR lays out the binaries, the driver header with its pkg-config
# file, the sample configuration and the systemd units; a vendor driver
# (the skeleton) builds against the installed header alone.
set -eu
build=$1
cc=${2:-cc}
tmp=$(mktemp -d /tmp/hadron-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/hadron-test

fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR="$tmp/root" cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" \
    || { cat "$tmp/install.log" >&2; fail "cmake --install"; }
root=$tmp/root$prefix

for f in bin/hadron-server bin/hadron-manage; do
    [ -x "$root/$f" ] || fail "$f missing or not executable"
done
if grep -q '^hadron-dpdk:' "$build/build.ninja" 2>/dev/null \
   || [ -e "$build/backends/dpdk/hadron-dpdk" ]; then
    [ -x "$root/bin/hadron-dpdk" ] || fail "bin/hadron-dpdk missing"
fi
for f in include/hadron/driver.h include/hadron/flavors/driver.h \
         share/hadron/hadron.conf share/pkgconfig/hadron-l3-driver.pc \
         lib/systemd/system/hadron-server.service \
         lib/systemd/system/hadron-dpdk.service \
         share/hadron/driver-skeleton/skeleton.c; do
    [ -f "$root/$f" ] || fail "$f missing"
done

# The units start the installed binaries with the installed paths.
grep -q "^ExecStart=$prefix/bin/hadron-server --config-file /etc/hadron/hadron.conf\$" \
    "$root/lib/systemd/system/hadron-server.service" \
    || fail "hadron-server.service ExecStart"
grep -q "^ExecStart=$prefix/bin/hadron-dpdk " \
    "$root/lib/systemd/system/hadron-dpdk.service" \
    || fail "hadron-dpdk.service ExecStart"
if grep -q '@[A-Z_]*@' "$root"/lib/systemd/system/*.service \
       "$root/share/pkgconfig/hadron-l3-driver.pc"; then
    fail "an unsubstituted @VARIABLE@ is left"
fi

# The installed manage tool runs, and accepts the sample configuration.
"$root/bin/hadron-manage" --help >/dev/null || fail "hadron-manage --help"
(cd "$tmp" && "$root/bin/hadron-manage" --config-file \
    "$root/share/hadron/hadron.conf" check-config >"$tmp/check.log" 2>&1) \
    || { cat "$tmp/check.log" >&2; fail "check-config on the sample"; }

# pkg-config finds the driver API; its flags point into the DESTDIR.
export PKG_CONFIG_PATH="$root/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags hadron-l3-driver) || fail "pkg-config --cflags"
case $cflags in
*"-I$root/include/hadron"*) ;;
*) fail "unexpected cflags: $cflags" ;;
esac
[ "$(pkg-config --modversion hadron-l3-driver)" != "" ] || fail "modversion"

# The skeleton builds against the installed header only (a copy outside the
# source tree, with its own Makefile and with the pkg-config flags), and
# a driver including <hadron/driver.h> does too.
cp -r "$root/share/hadron/driver-skeleton" "$tmp/skel"
make -s -C "$tmp/skel" HADRON_SRC="$root/include/hadron" CC="$cc" \
    || fail "skeleton Makefile build"
[ -f "$tmp/skel/libskeleton.so" ] || fail "no libskeleton.so"
# shellcheck disable=SC2086
"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
    -shared -fPIC $cflags -o "$tmp/skel2.so" "$tmp/skel/skeleton.c" \
    || fail "skeleton build with pkg-config flags"
cat >"$tmp/vendor.c" <<'C'
#include <hadron/driver.h>
int vendor_api_version = HADRON_L3_DRIVER_API_VERSION;
C
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Werror -shared -fPIC $cflags -o "$tmp/vendor.so" \
    "$tmp/vendor.c" || fail "<hadron/driver.h> build"
nm -D "$tmp/skel2.so" | grep -q hadron_l3_driver || fail "no driver symbol"
echo "install layout OK"
