#!/usr/bin/env bash
# The Debian package, checked: built with cargo-deb from the release build, its control data
# and contents listed and checked, the installer's dry run. With TCHECK_REQUIRE_SYSTEM=1 (CI,
# as root, on a throwaway machine) it is also installed for real: users, directories, the
# seeded database and the certificate checked, the units verified with systemd-analyze,
# then purged, and checked to leave nothing behind.
# Run by scripts/test.sh after the tests (which build target/release/tcheck).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test-package: $*" >&2; exit 1; }

command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked --version 3.8.0
[ -x target/release/tcheck ] || fail "target/release/tcheck is missing (run the tests first)"
rm -f target/debian/tcheck_*.deb
cargo deb --no-build --strip >/dev/null
deb=$(ls target/debian/tcheck_*.deb)
echo "test-package: built $deb ($(du -h "$deb" | cut -f1))"

info=$(dpkg-deb -I "$deb")
for dep in hostapd dnsmasq-base nftables libpcap0.8 iproute2 udisks2 polkitd; do
  grep -q "Depends:.*\b$dep\b" <<<"$info" || fail "Depends lacks $dep"
done
grep -q "Recommends:.*chromium" <<<"$info" || fail "Recommends lacks chromium"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/tcheck ./etc/tcheck/tcheck.toml \
         ./lib/systemd/system/tcheck-web.service ./lib/systemd/system/tcheck-feeds.service \
         ./lib/systemd/system/tcheck-feeds.timer ./lib/systemd/system/tcheck-kiosk.service \
         ./usr/share/doc/tcheck/copyright ./usr/share/doc/tcheck/tcheck.example.toml \
         ./usr/share/doc/tcheck/examples/vector.toml ./usr/share/polkit-1/rules.d/50-tcheck.rules; do
  grep -q " $f\$" <<<"$contents" || fail "$f is not in the package"
done
# Nothing else: every file the package installs is one of these, or a doc.
others=$(awk '{print $6}' <<<"$contents" | grep -v '/$' \
  | grep -v -E '^\./(usr/bin/tcheck|etc/tcheck/tcheck.toml|lib/systemd/system/tcheck-[a-z-]+\.(service|timer)|usr/share/polkit-1/rules.d/50-tcheck.rules|usr/share/doc/tcheck/.*)$' || true)
[ -z "$others" ] || fail "unexpected files: $others"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
"$tmp/usr/bin/tcheck" --version >/dev/null || fail "the packaged binary does not run"
grep -q '^User=tcheck$' "$tmp/lib/systemd/system/tcheck-web.service" || fail "tcheck-web runs as root"
grep -q '^NoNewPrivileges=yes$' "$tmp/lib/systemd/system/tcheck-web.service" || fail "no NoNewPrivileges"
echo "test-package: contents and control data checked"

bash install/install.sh --dry-run --deb "$deb" --password-file /dev/null >"$tmp/dry-run.txt"
grep -q "apt-get install" "$tmp/dry-run.txt" || fail "the dry run does not install the package"
grep -q "would run" "$tmp/dry-run.txt" || fail "the dry run did not print its steps"
echo "test-package: install.sh --dry-run ran"

# The interfaces install.sh picks, on made-up machines: a sysfs tree of interfaces and an
# iw that prints, for each phy, its supported modes in iw's layout.
fake_machine() { # DIR then NAME:KIND[:PHY:MODES] ... (KIND wifi or eth; MODES comma-separated)
  local dir=$1; shift
  mkdir -p "$dir/net" "$dir/phys"
  for spec in "$@"; do
    IFS=: read -r name kind phy modes <<<"$spec"
    mkdir -p "$dir/net/$name/device"
    if [ "$kind" = wifi ]; then
      mkdir -p "$dir/net/$name/wireless" "$dir/net/$name/phy80211"
      echo "$phy" >"$dir/net/$name/phy80211/name"
      {
        printf 'Wiphy %s\n\twiphy index: 0\n\tSupported interface modes:\n' "$phy"
        tr , '\n' <<<"$modes" | sed 's/^/\t\t * /'
        printf '\tBand 1:\n\t\tFrequencies:\n\tsoftware interface modes (can always be added):\n\t\t * AP/VLAN\n\t\t * monitor\n'
      } >"$dir/phys/$phy"
    else
      echo 1 >"$dir/net/$name/type"
    fi
  done
  printf '#!/bin/sh\n[ "$1" = phy ] && [ "$3" = info ] && exec cat "%s/phys/$2"\nexit 1\n' "$dir" >"$dir/iw"
  chmod +x "$dir/iw"
}
picks() { # DIR -> what a dry run on that machine says of the interfaces
  TCHECK_SYSFS_NET="$1/net" TCHECK_IW="$1/iw" bash install/install.sh --dry-run --deb "$deb" \
    --password-file /dev/null 2>&1 | grep -E "phone's network|access-point mode"
}
fake_machine "$tmp/m1" wlan0:wifi:phy0:managed,monitor wlan1:wifi:phy1:managed,AP,monitor
[[ "$(picks "$tmp/m1")" == *"phone's network: wlan1 (wifi); the box's internet: wlan0"* ]] \
  || fail "m1: $(picks "$tmp/m1")"
fake_machine "$tmp/m2" wlan0:wifi:phy0:managed,AP wlan1:wifi:phy1:managed,monitor
[[ "$(picks "$tmp/m2")" == *"phone's network: wlan0 (wifi); the box's internet: wlan1"* ]] \
  || fail "m2: $(picks "$tmp/m2")"
fake_machine "$tmp/m3" eth0:eth wlan0:wifi:phy0:IBSS,managed
[[ "$(picks "$tmp/m3")" == *"none of wlan0 supports access-point mode"* ]] \
  || fail "m3: $(picks "$tmp/m3")"
fake_machine "$tmp/m4" eth0:eth wlan0:wifi:phy0:managed,AP
[[ "$(picks "$tmp/m4")" == *"phone's network: wlan0 (wifi); the box's internet: eth0"* ]] \
  || fail "m4: $(picks "$tmp/m4")"
echo "test-package: install.sh picks the radio that supports access-point mode"

if [ "${TCHECK_REQUIRE_SYSTEM:-0}" != 1 ] || [ "$(id -u)" != 0 ]; then
  echo "test-package: not installed for real (needs root and TCHECK_REQUIRE_SYSTEM=1)"
  exit 0
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null
getent passwd tcheck >/dev/null || fail "no tcheck user"
[ "$(stat -c %U /var/lib/tcheck/tcheck.db)" = tcheck ] || fail "the database is not the service's"
[ "$(stat -c %a /etc/tcheck/admin.key)" = 600 ] || fail "the certificate's key is readable by others"
n=$(runuser -u tcheck -- tcheck iocs list --db /var/lib/tcheck/tcheck.db | awk '{s+=$1} END {print s}')
[ "${n:-0}" -gt 1000 ] || fail "the database was not seeded with the bundled feeds ($n)"
out=$(systemd-analyze verify /lib/systemd/system/tcheck-web.service \
  /lib/systemd/system/tcheck-feeds.service /lib/systemd/system/tcheck-feeds.timer 2>&1) || fail "$out"
[ -z "$out" ] || fail "systemd-analyze: $out"
if command -v cage >/dev/null && command -v chromium >/dev/null; then
  out=$(systemd-analyze verify /lib/systemd/system/tcheck-kiosk.service 2>&1) || fail "$out"
  [ -z "$out" ] || fail "systemd-analyze: $out"
fi
runuser -u tcheck -- tcheck feeds update --if-any --db /var/lib/tcheck/tcheck.db >/dev/null \
  || fail "the feeds timer's command fails"
echo "test-package: installed ($n indicators), units verified"

# The polkit rule, asked of the real polkitd (on a system bus of its own if the machine has
# none): the tcheck user may mount a removable drive without a password, not a fixed disk;
# another user may not.
started=()
own_bus=0
trap 'for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
if [ ! -S /run/dbus/system_bus_socket ]; then
  mkdir -p /run/dbus
  dbus-daemon --system --fork --print-pid >"$tmp/dbus.pid"
  started+=("$(cat "$tmp/dbus.pid")")
  own_bus=1
fi
if ! pgrep -x polkitd >/dev/null; then
  /usr/lib/polkit-1/polkitd --no-debug >"$tmp/polkitd.log" 2>&1 &
  started+=("$!")
fi
polkit_answer() { # USER ACTION REMOVABLE BUS -> pkcheck's status for a process of USER
  setpriv --reuid="$1" --regid="$(id -g "$1")" --clear-groups sleep 30 &
  local pid=$! rc=0
  sleep 0.2
  pkcheck --action-id "$2" --process "$pid" --detail drive.removable "$3" \
    --detail drive.removable.bus "$4" >/dev/null 2>&1 || rc=$?
  kill "$pid"
  echo "$rc"
}
for _ in $(seq 50); do
  pkaction --action-id org.freedesktop.udisks2.filesystem-mount >/dev/null 2>&1 && break
  sleep 0.1
done
mount_action=org.freedesktop.udisks2.filesystem-mount-other-seat
[ "$(polkit_answer tcheck "$mount_action" true usb)" = 0 ] \
  || fail "polkit: tcheck may not mount a USB key ($(cat "$tmp/polkitd.log" 2>/dev/null))"
[ "$(polkit_answer tcheck "$mount_action" false usb)" != 0 ] || fail "polkit: tcheck may mount a fixed disk"
[ "$(polkit_answer tcheck "$mount_action" true sdio)" != 0 ] || fail "polkit: tcheck may mount an SD card"
[ "$(polkit_answer tcheck org.freedesktop.udisks2.power-off-drive-other-seat true usb)" != 0 ] \
  || fail "polkit: tcheck may power off a drive"
[ "$(polkit_answer tcheck org.freedesktop.udisks2.filesystem-unmount-others true usb)" != 0 ] \
  || fail "polkit: tcheck may unmount others' filesystems"
[ "$(polkit_answer nobody "$mount_action" true usb)" != 0 ] || fail "polkit: nobody may mount"
for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
[ "$own_bus" = 0 ] || rm -f /run/dbus/system_bus_socket /run/dbus/pid
echo "test-package: polkit lets the service mount USB keys, nothing more"
# The uninstaller puts back the boot target that --kiosk replaced.
mkdir -p /var/lib/tcheck-install
echo multi-user.target >/var/lib/tcheck-install/previous-default.target
out=$(bash install/install.sh --uninstall --dry-run)
grep -q "would run: systemctl set-default multi-user.target" <<<"$out" \
  || fail "the uninstaller does not restore the boot target: $out"
grep -q "would run: env DEBIAN_FRONTEND=noninteractive apt-get purge -y tcheck" <<<"$out" \
  || fail "the uninstaller does not purge: $out"
rm -rf /var/lib/tcheck-install
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tcheck >/dev/null
for p in /usr/bin/tcheck /etc/tcheck /var/lib/tcheck /lib/systemd/system/tcheck-web.service; do
  [ ! -e "$p" ] || fail "$p left after purge"
done
! getent passwd tcheck >/dev/null || fail "the tcheck user left after purge"
echo "test-package: purged, nothing left"
