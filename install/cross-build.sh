#!/usr/bin/env bash
# Cross-builds tcheck and its Debian package for a Raspberry Pi on a Debian 12 (amd64)
# machine, with Debian's cross compilers and the target's libpcap (multiarch); no Docker.
#
#   install/cross-build.sh arm64   # 64-bit Raspberry Pi OS (Pi 3, 4, 5)
#   install/cross-build.sh armhf   # 32-bit Raspberry Pi OS on a Pi 2, 3 or 4 (ARMv7)
#   install/cross-build.sh arm64 --check
#
# Installs what it needs with apt (as root, or through sudo): the cross compiler, the
# target's libpcap-dev, and with --check qemu-user. Adds the target's standard library with
# rustup. Leaves the package in target/TRIPLE/debian/. --check runs the cross-built binary
# under qemu-user on the bundled sample and compares its summary with the host build's,
# byte for byte. It runs on one thread and prints text: under Debian 12's qemu-user (7.2)
# a second thread never starts (the guest spins in glibc's pthread_create), and --json
# hashes the capture on a thread of its own.
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

packages=(gcc-"$gnu" libc6-dev-"$arch"-cross libpcap-dev:"$arch" pkg-config)
if [ "$check" = 1 ]; then
  packages+=(qemu-user)
fi
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  $SUDO dpkg --add-architecture "$arch"
fi
# A mirror caught mid-sync fails one index now and then; the install below says whether
# what is needed could be found anyway.
$SUDO apt-get update -qq || echo "cross-build: apt-get update reported errors; trying the install" >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
rustup target add "$triple"

# The C parts (mimalloc, SQLite, ring) and the link use the cross compiler; pkg-config
# looks in the target's multiarch directory.
upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
lower=$(echo "$triple" | tr '-' '_')
export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
export "CC_${lower}=$gnu-gcc"
export "AR_${lower}=$gnu-ar"
export PKG_CONFIG_ALLOW_CROSS=1
export "PKG_CONFIG_PATH_${lower}=/usr/lib/$gnu/pkgconfig"

cargo build --release --locked --target "$triple" -p tcheck
if ! command -v cargo-deb >/dev/null; then
  cargo install --locked cargo-deb
fi
cargo deb --no-build --strip --target "$triple" -p tcheck
ls -l target/"$triple"/debian/*.deb

if [ "$check" = 1 ]; then
  sample=fixtures/sample/sample.pcap
  cargo build --release --locked -p tcheck
  host=$(mktemp)
  cross=$(mktemp)
  trap 'rm -f "$host" "$cross"' EXIT
  target/release/tcheck analyze "$sample" --threads 1 > "$host"
  timeout 600 "$qemu" -L /usr/"$gnu" target/"$triple"/release/tcheck analyze "$sample" \
    --threads 1 > "$cross"
  if cmp -s "$host" "$cross"; then
    echo "cross-build: $triple: the summary of $sample is the same as the host's ($(wc -c < "$host") bytes)"
  else
    echo "cross-build: $triple: the summary of $sample differs from the host's" >&2
    diff "$host" "$cross" | head -20 >&2
    exit 1
  fi
fi
