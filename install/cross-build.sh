#!/usr/bin/env bash
# Cross-builds tcheck and its Debian package for a Raspberry Pi on a Debian 12 (amd64)
# machine, with Debian's cross compilers and the target's libpcap; no Docker.
#
#   install/cross-build.sh arm64   # 64-bit Raspberry Pi OS (Pi 3, 4, 5)
#   install/cross-build.sh armhf   # 32-bit Raspberry Pi OS on a Pi 2, 3 or 4 (ARMv7)
#   install/cross-build.sh arm64 --check
#
# Installs what it needs with apt (as root, or through sudo): the cross compiler, and with
# --check qemu-user. The target's libpcap (and, for --check, the libraries it loads) is
# downloaded with `apt-get download` and unpacked into target/sysroot-ARCH rather than
# installed: a multiarch install needs every shared library at the very version the build
# machine runs, so one security index late for the target's architecture breaks it. Adds
# the target's standard library with rustup. Leaves the package in target/TRIPLE/debian/.
#
# --check runs the cross-built binary under qemu-user on the bundled sample and compares
# its summary, EVE file and Zeek-style logs with the host build's, byte for byte. It runs
# on one thread and prints text: under Debian 12's qemu-user (7.2) a second thread may
# never start (the guest spins in glibc's pthread_create), and --json hashes the capture
# on a thread of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: install/cross-build.sh arm64|armhf [--check]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
arch=$1
check=0
if [ "${2:-}" = "--check" ]; then
  check=1
elif [ $# -gt 1 ]; then
  usage
fi

case "$arch" in
  arm64)
    triple=aarch64-unknown-linux-gnu
    gnu=aarch64-linux-gnu
    qemu=qemu-aarch64
    ;;
  armhf)
    triple=armv7-unknown-linux-gnueabihf
    gnu=arm-linux-gnueabihf
    qemu=qemu-arm
    ;;
  *) usage ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi

packages=(gcc-"$gnu" libc6-dev-"$arch"-cross)
if [ "$check" = 1 ]; then
  packages+=(qemu-user)
fi
# The target's architecture is known to apt only while its packages are downloaded, even
# when a step fails: nothing of it is installed, and this machine's apt goes back to its own
# (an index of the target's caught mid-sync would otherwise fail every later update).
added_arch=0
forget_arch() {
  if [ "$added_arch" = 1 ]; then
    added_arch=0
    $SUDO dpkg --remove-architecture "$arch"
    $SUDO apt-get update -qq || true
  fi
}
trap forget_arch EXIT
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  $SUDO dpkg --add-architecture "$arch"
  added_arch=1
fi
# A mirror caught mid-sync fails one index now and then; the install below says whether
# what is needed could be found anyway.
$SUDO apt-get update -qq || echo "cross-build: apt-get update reported errors; trying the install" >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
rustup target add "$triple"

# The target's libpcap, unpacked: the link needs libpcap.so (from the -dev package) and
# --check needs what libpcap loads (D-Bus and its own dependencies), all but the C
# library, which the cross toolchain brings, and elogind, an alternative to libsystemd0.
sysroot=$PWD/target/sysroot-$arch
debs=$sysroot/debs
libs=(libpcap0.8:"$arch" libpcap0.8-dev:"$arch")
if [ "$check" = 1 ]; then
  deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances --no-pre-depends libpcap0.8:"$arch")
  mapfile -t runtime < <(echo "$deps" | grep -E "^[a-z0-9]" \
    | grep -vE "^(libc6|libgcc-s1|gcc-12-base|libelogind0):" | sort -u)
  [ "${#runtime[@]}" -gt 0 ] || { echo "cross-build: no dependencies found for libpcap0.8:$arch" >&2; exit 1; }
  libs+=("${runtime[@]}")
fi
rm -rf "$sysroot"
mkdir -p "$debs"
(cd "$debs" && apt-get download "${libs[@]}")
forget_arch
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$sysroot"
done
libdir=$sysroot/usr/lib/$gnu
pcap_version=$(dpkg-deb -f "$(ls "$debs"/libpcap0.8_*.deb)" Version | sed 's/-.*//')

# The C parts (mimalloc, SQLite, ring) and the link use the cross compiler.
upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
lower=$(echo "$triple" | tr '-' '_')
export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
export "CC_${lower}=$gnu-gcc"
export "AR_${lower}=$gnu-ar"
# The pcap crate links the library found in LIBPCAP_LIBDIR; the libraries libpcap itself
# needs are not on this machine, so their symbols are left for the target's loader.
export LIBPCAP_LIBDIR="$libdir"
export LIBPCAP_VER="$pcap_version"
export "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-arg=-Wl,--allow-shlib-undefined"

cargo build --profile dist --locked --target "$triple" -p tcheck
if ! command -v cargo-deb >/dev/null; then
  cargo install --locked cargo-deb
fi
cargo deb --no-build --profile dist --strip --target "$triple" -p tcheck
ls -l target/"$triple"/debian/*.deb

if [ "$check" = 1 ]; then
  sample=fixtures/sample/sample.pcap
  # The host's build links the host's libpcap.
  env -u LIBPCAP_LIBDIR -u LIBPCAP_VER cargo build --release --locked -p tcheck
  out=$(mktemp -d)
  trap 'rm -rf "$out"; forget_arch' EXIT
  mkdir -p "$out"/host/logs "$out"/cross/logs
  target/release/tcheck analyze "$sample" --threads 1 \
    --eve "$out"/host/eve.json --logs "$out"/host/logs > "$out"/host/summary.txt
  timeout 600 "$qemu" -L /usr/"$gnu" -E LD_LIBRARY_PATH="$libdir:$sysroot/lib/$gnu" \
    target/"$triple"/dist/tcheck analyze "$sample" --threads 1 \
    --eve "$out"/cross/eve.json --logs "$out"/cross/logs > "$out"/cross/summary.txt
  if diff -r "$out"/host "$out"/cross > "$out"/diff; then
    echo "cross-build: $triple: the summary, EVE and logs of $sample are the same as the host's" \
      "($(cat "$out"/host/summary.txt "$out"/host/eve.json "$out"/host/logs/* | wc -c) bytes)"
  else
    echo "cross-build: $triple: the outputs of $sample differ from the host's" >&2
    head -c 4000 "$out"/diff >&2
    exit 1
  fi
fi
