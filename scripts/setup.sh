#!/usr/bin/env bash
# Makes sure this Debian machine can build tcheck: a C compiler (for the bundled C of some
# crates), libpcap's headers (live capture), python3 (test harnesses), and a Rust toolchain
# of the pinned version. With TCHECK_TEST_PACKAGES=1 (scripts/test.sh), also the programs
# the access-point tests drive for real: iproute2, nftables, dnsmasq, hostapd, and a DHCP
# client, dig, curl and ping for the simulated phone, dbus-daemon for a stand-in
# NetworkManager, Chromium and chromedriver for the kiosk's browser tests.
# Sourced by sample.sh and test.sh; safe to run again.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
[ -e /usr/include/pcap/pcap.h ] || need_apt+=(libpcap-dev)
if [ "${TCHECK_TEST_PACKAGES:-0}" = 1 ]; then
  command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
  command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
  command -v dnsmasq >/dev/null 2>&1 || need_apt+=(dnsmasq-base)
  command -v hostapd >/dev/null 2>&1 || need_apt+=(hostapd)
  command -v udhcpc >/dev/null 2>&1 || need_apt+=(udhcpc)
  command -v dig >/dev/null 2>&1 || need_apt+=(bind9-dnsutils)
  command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
  command -v dbus-daemon >/dev/null 2>&1 || need_apt+=(dbus-daemon dbus-session-bus-common)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v rustup >/dev/null 2>&1; then
  echo "setup: installing Rust with rustup (https://rustup.rs)" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# rust-toolchain.toml pins a version; if the machine's stable toolchain *is* that version
# but under another name, link it rather than downloading it again.
pinned=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$(dirname "$0")/../rust-toolchain.toml")
if ! rustup toolchain list | grep -q "^$pinned"; then
  stable_version=$(rustc +stable --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$stable_version" = "$pinned" ]; then
    rustup toolchain link "$pinned" "$(rustc +stable --print sysroot)"
  else
    rustup toolchain install "$pinned" --profile minimal --component rustfmt,clippy
  fi
fi
