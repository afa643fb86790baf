#!/usr/bin/env bash
# Installs tcheck on a Raspberry Pi OS or Debian 12 machine: checks the network interfaces,
# installs the package, writes the interfaces into /etc/tcheck/tcheck.toml, sets the admin
# password (asked for; there is no default), makes sure the admin certificate exists, and
# enables the services. Safe to run again: every step looks before it acts.
#
#   install/install.sh [--deb FILE] [--kiosk] [--password-file FILE] [--dry-run]
#   install/install.sh --uninstall [--dry-run]     # removes everything it added
#
# --dry-run prints each step instead of doing it. --password-file reads the admin password
# from a file (automation); otherwise it is asked for twice on the terminal.
# TCHECK_SYSFS_NET and TCHECK_IW (tests) replace /sys/class/net and the iw program.
set -euo pipefail

dry_run=0
uninstall=0
kiosk=0
deb=""
password_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --uninstall) uninstall=1 ;;
    --kiosk) kiosk=1 ;;
    --deb) deb=${2:?--deb needs a file}; shift ;;
    --password-file) password_file=${2:?--password-file needs a file}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }
# Runs a command, or prints it with --dry-run. Arguments are passed as they are (no shell).
run() {
  if [ "$dry_run" = 1 ]; then
    printf 'install.sh: would run:'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo install/install.sh), or with --dry-run to see the steps"
fi

if [ -r /etc/os-release ]; then
  . /etc/os-release
  case "${ID:-}:${VERSION_ID:-}" in
    debian:12|debian:13|raspbian:12|raspbian:13) say "system: ${PRETTY_NAME:-$ID}" ;;
    *) say "warning: ${PRETTY_NAME:-this system} is not Debian 12/13 or Raspberry Pi OS; going on" ;;
  esac
fi

# What the machine booted into before --kiosk made it graphical.target (restored on
# uninstall); kept outside /var/lib/tcheck, which the purge removes first.
previous_target_file=/var/lib/tcheck-install/previous-default.target

if [ "$uninstall" = 1 ]; then
  if [ -f "$previous_target_file" ]; then
    previous=$(cat "$previous_target_file")
    case "$previous" in
      *.target) run systemctl set-default "$previous" ;;
      *) say "warning: $previous_target_file does not name a target; default target left" ;;
    esac
    run rm -rf "$(dirname "$previous_target_file")"
  fi
  if dpkg-query -W -f='${Status}' tcheck 2>/dev/null | grep -q "install ok"; then
    run systemctl disable --now tcheck-kiosk.service tcheck-web.service tcheck-feeds.timer
    # purge: the package's postrm removes /etc/tcheck, /var/lib/tcheck and the accounts.
    run env DEBIAN_FRONTEND=noninteractive apt-get purge -y tcheck
  else
    say "tcheck is not installed; nothing to remove"
  fi
  exit 0
fi

# The interfaces: the phone's network needs Wi-Fi in access-point mode (or a wired adapter),
# the box's own way out needs another interface.
sysfs_net=${TCHECK_SYSFS_NET:-/sys/class/net}
iw=${TCHECK_IW:-iw}
wifi=()
wired=()
for dev in "$sysfs_net"/*; do
  name=$(basename "$dev")
  [ -e "$dev/device" ] || continue          # physical interfaces only
  if [ -d "$dev/wireless" ] || [ -e "$dev/phy80211" ]; then
    wifi+=("$name")
  elif [ "$(cat "$dev/type" 2>/dev/null)" = 1 ]; then
    wired+=("$name")
  fi
done
say "Wi-Fi interfaces: ${wifi[*]:-none}; wired: ${wired[*]:-none}"
# Which radios can be an access point: "* AP" among the "Supported interface modes" that
# `iw phy PHY info` lists. Without iw, every radio is assumed able (and said so).
can_ap=()
no_ap=()
for name in "${wifi[@]}"; do
  phy=$(cat "$sysfs_net/$name/phy80211/name" 2>/dev/null || true)
  if ! command -v "$iw" >/dev/null 2>&1 || [ -z "$phy" ]; then
    say "warning: cannot ask whether $name supports access-point mode (iw missing or no phy); assuming it does"
    can_ap+=("$name")
  elif "$iw" phy "$phy" info 2>/dev/null \
      | awk '/Supported interface modes:/ {m=1; next} m && /^\t[^\t]/ {m=0} m && /\* AP$/ {f=1} END {exit !f}'; then
    can_ap+=("$name")
  else
    no_ap+=("$name")
  fi
done
[ ${#no_ap[@]} -eq 0 ] || say "without access-point mode: ${no_ap[*]}"
mode=""
if [ ${#can_ap[@]} -ge 1 ]; then
  # The phone's network on a radio that can be an access point, the last found (a USB
  # adapter comes after the built-in radio); the way out on another radio, else on Ethernet.
  phone=${can_ap[$(( ${#can_ap[@]} - 1 ))]}
  uplink=""
  for name in "${wifi[@]}"; do
    [ "$name" = "$phone" ] || { uplink=$name; break; }
  done
  [ -n "$uplink" ] || uplink=${wired[0]:-}
  [ -z "$uplink" ] || mode=wifi
elif [ ${#wired[@]} -ge 2 ]; then
  mode=ethernet; phone=${wired[1]}; uplink=${wired[0]}
fi
if [ -z "$mode" ]; then
  msg="tcheck needs two Wi-Fi interfaces, or Wi-Fi plus Ethernet, with one radio that supports access-point mode (a USB Wi-Fi adapter that does, or a USB Ethernet adapter for a wired phone)"
  [ ${#wifi[@]} -eq 0 ] || [ ${#can_ap[@]} -gt 0 ] || msg="$msg; none of ${wifi[*]} supports access-point mode"
  [ "$dry_run" = 1 ] || die "$msg"
  say "warning: $msg; going on (dry run)"
  mode=wifi; phone=wlan1; uplink=wlan0
fi
say "the phone's network: $phone ($mode); the box's internet: $uplink"

# The package.
if [ -z "$deb" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  deb=$(ls -t "$here"/tcheck_*.deb "$here"/target/debian/tcheck_*.deb 2>/dev/null | head -1 || true)
fi
[ -n "$deb" ] && [ -f "$deb" ] || die "no tcheck_*.deb found (build it with: cargo deb --profile dist --strip), or give --deb FILE"
case "$deb" in /*) ;; *) deb="$PWD/$deb" ;; esac
run env DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb"

# The interfaces, in the configuration (only these keys; the rest is left as it is).
config=/etc/tcheck/tcheck.toml
set_key() {
  local key=$1 value=$2
  if [ "$dry_run" = 1 ] || [ ! -f "$config" ]; then
    say "would set $key = \"$value\" in $config"
  elif grep -q "^$key = \"$value\"$" "$config"; then
    :
  else
    run sed -i "s/^$key = .*/$key = \"$value\"/" "$config"
  fi
}
set_key mode "$mode"
set_key interface "$phone"
set_key uplink "$uplink"

# The admin password: asked for, never a default.
if [ -n "$password_file" ]; then
  password=$(head -n 1 "$password_file" || true)
elif [ "$dry_run" = 1 ]; then
  password=""
  say "would ask for the admin password (twice)"
else
  read -r -s -p "admin password for the box (12 characters or more): " password; echo
  read -r -s -p "again: " again; echo
  [ "$password" = "$again" ] || die "the two passwords differ; nothing was changed"
fi
if [ -n "$password" ]; then
  if [ "$dry_run" = 1 ]; then
    say "would run: tcheck admin passwd admin --db /var/lib/tcheck/tcheck.db (password on stdin)"
  else
    printf '%s\n' "$password" | runuser -u tcheck -- /usr/bin/tcheck admin passwd admin \
      --db /var/lib/tcheck/tcheck.db
  fi
elif [ "$dry_run" = 0 ]; then
  die "no admin password given"
fi

# The admin backend's certificate (the package makes one; kept if it exists).
if [ "$dry_run" = 1 ] || [ ! -e /etc/tcheck/admin.pem ]; then
  run /usr/bin/tcheck admin cert --cert /etc/tcheck/admin.pem --key /etc/tcheck/admin.key \
    --name "$(hostname)" --name "$(hostname).local" --name localhost
  run chown tcheck:tcheck /etc/tcheck/admin.pem /etc/tcheck/admin.key
fi

# The services.
run systemctl daemon-reload
run systemctl enable --now tcheck-web.service tcheck-feeds.timer
if [ "$kiosk" = 1 ]; then
  run systemctl enable --now tcheck-kiosk.service
  current=$(systemctl get-default 2>/dev/null || true)
  if [ -n "$current" ] && [ "$current" != graphical.target ] && [ ! -f "$previous_target_file" ]; then
    run mkdir -p "$(dirname "$previous_target_file")"
    if [ "$dry_run" = 1 ]; then
      say "would note $current in $previous_target_file (restored by --uninstall)"
    else
      echo "$current" >"$previous_target_file"
    fi
  fi
  run systemctl set-default graphical.target
fi

say "done. The kiosk: http://127.0.0.1:8080/ on the box$( [ "$kiosk" = 1 ] && echo ' (and its screen)'); the admin backend: https://$(hostname).local:8443/admin"
