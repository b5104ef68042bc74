#!/usr/bin/env bash
# Installs Gatehouse from an unpacked release tarball (made by scripts/package.sh), as root:
#   PREFIX (/opt/gatehouse)          the daemon, the CLI and their node_modules, this script, the unit's source
#   BINDIR/gatehouse (/usr/local/bin) a launcher running PREFIX with the Node.js checked here
#   /etc/systemd/system/gatehouse.service
#   /etc/gatehouse/gatehouse.yaml    the example config, only if there is none (never overwritten)
# Needs Node.js of the major version the tarball was built with (see BUILD), nftables and iproute2.
#
#   ./install.sh [--prefix DIR] [--bindir DIR] [--root DIR] [--node PATH]
#   ./install.sh --uninstall [--purge] [--prefix DIR] [--root DIR]
#
# --root DIR installs into DIR as if it were / (for a scratch root or an image); systemctl runs only
# without it. --uninstall removes the program, launcher and unit, and keeps /etc/gatehouse and the data
# in /var/lib/gatehouse unless --purge is given. The kernel keeps Gatehouse's nftables table either way.
set -euo pipefail

prefix=/opt/gatehouse
bindir=/usr/local/bin
root=/
node=
uninstall=0
purge=0
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --bindir) bindir=${2:?--bindir needs a directory}; shift 2 ;;
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --node) node=${2:?--node needs the path of node}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit 1; }
# These paths are written into the launcher and the unit: plain absolute paths only, nothing a shell or
# systemd would read differently.
for p in "$prefix" "$bindir" "$root"; do
  [[ $p =~ ^/[A-Za-z0-9._/-]*$ && ! $p =~ (^|/)\.\.?(/|$) ]] || die "not a plain absolute path: $p"
done
[[ $prefix != / && $bindir != / ]] || die "--prefix and --bindir cannot be /"
((purge == 0 || uninstall == 1)) || die "--purge goes with --uninstall"
root=${root%/}
if [[ -z $root && $(id -u) -ne 0 ]]; then die "run as root (or give --root DIR to install into a scratch root)"; fi
live=0
[[ -z $root && -d /run/systemd/system ]] && live=1 # systemd runs this machine: tell it

dest=$root$prefix
launcher=$root$bindir/gatehouse
unit=$root/etc/systemd/system/gatehouse.service
confdir=$root/etc/gatehouse
marker="written by Gatehouse's install.sh"

if ((uninstall)); then
  [[ -f $dest/.installed ]] || die "no Gatehouse installed in $dest (give the --prefix and --root it was installed with)"
  # The launcher may live elsewhere than the default: the install recorded where.
  installed_bindir=$(sed -n 's/^bindir=//p' "$dest/.installed")
  [[ -n $installed_bindir ]] && launcher=$root$installed_bindir/gatehouse
  if ((live)); then systemctl disable --now gatehouse.service 2>/dev/null || true; fi
  if [[ -f $launcher ]] && grep -qF "$marker" "$launcher"; then rm -f "$launcher"; fi
  rm -f "$unit"
  rm -rf "$dest"
  if ((purge)); then rm -rf "$confdir" "$root/var/lib/gatehouse"; fi
  if ((live)); then systemctl daemon-reload; fi
  echo "Gatehouse removed from $dest$( ((purge)) && echo ', with its config and data' || echo "; kept $confdir and $root/var/lib/gatehouse (--purge removes them)")."
  echo "The kernel keeps its nftables table until a reboot; remove it now with: nft delete table inet gatehouse"
  exit 0
fi

src=$(cd "$(dirname "$0")" && pwd)
if [[ ! -f $src/BUILD ]]; then
  [[ -f $src/../package.json ]] && die "this is a checkout: make the release tarball with scripts/package.sh and run install.sh from it"
  die "$src is not an unpacked Gatehouse release (no BUILD file)"
fi
for f in dist/cli/main.js bin/gatehouse.js node_modules/better-sqlite3/package.json deploy/gatehouse.service examples/gatehouse.yaml package.json; do
  [[ -e $src/$f ]] || die "the release in $src is incomplete: $f is missing"
done
want_abi=$(sed -n 's/^node_abi=//p' "$src/BUILD")
built_with=$(sed -n 's/^node_version=//p' "$src/BUILD")
version=$(sed -n 's/^version=//p' "$src/BUILD")

# The Node.js the launcher will run, checked now: better-sqlite3's native part only loads into the Node.js
# ABI it was built for, and a mismatch found here beats a daemon that cannot start after a reboot.
if [[ -z $node ]]; then node=$(command -v node) || die "Node.js is not installed: install Node.js ${built_with%%.*} (the version this release was built with)"; fi
node=$(realpath "$node") || die "no such file: $node"
[[ -x $node && $node =~ ^/[A-Za-z0-9._/+-]*$ ]] || die "not an executable at a plain path: $node"
# The unit hides homes (ProtectHome=yes): a Node.js from nvm under /root would not start at boot.
[[ ! $node =~ ^/(home|root)(/|$) ]] || die "$node is in a home directory, which the service cannot see: install Node.js system-wide (e.g. /usr/bin/node) or give --node"
have_abi=$("$node" -p 'process.versions.modules') || die "$node does not run"
[[ $have_abi == "$want_abi" ]] ||
  die "this release was built with Node.js $built_with (module ABI $want_abi), but $node is $("$node" --version) (ABI $have_abi): install Node.js ${built_with%%.*}, or build the release with this one"
"$node" -e 'const D = require(process.argv[1]); new D(":memory:").prepare("select 1").get()' "$src/node_modules/better-sqlite3" ||
  die "better-sqlite3 does not load into $node (see above)"

# A directory that is not ours is never replaced.
if [[ -e $dest && ! -f $dest/.installed ]] && [[ -n $(ls -A "$dest" 2>/dev/null) ]]; then
  die "$dest exists and is not a Gatehouse install: choose another --prefix"
fi

# The new tree goes in beside the old one and then takes its place, so a failed copy leaves the old one.
umask 022
mkdir -p "$(dirname "$dest")"
new=$dest.new.$$
old=$dest.old.$$
trap 'rm -rf "$new" "$old"' EXIT
rm -rf "$new"
mkdir "$new"
cp -R "$src/package.json" "$src/README.md" "$src/BUILD" "$src/bin" "$src/dist" "$src/deploy" "$src/examples" "$src/node_modules" "$new/"
cp "$src/install.sh" "$new/install.sh"
chmod -R u=rwX,go=rX "$new"
chmod 755 "$new/install.sh" "$new/bin/gatehouse.js"
printf 'version=%s\nbindir=%s\nnode=%s\n' "$version" "$bindir" "$node" >"$new/.installed"
if [[ -e $dest ]]; then mv "$dest" "$old"; fi
mv "$new" "$dest"
rm -rf "$old"

mkdir -p "$(dirname "$launcher")"
cat >"$launcher.new" <<EOF
#!/bin/sh
# Gatehouse $version, $marker: the CLI and daemon in $prefix, run by the Node.js checked at install.
exec $node $prefix/bin/gatehouse.js "\$@"
EOF
chmod 755 "$launcher.new"
mv "$launcher.new" "$launcher"

# The unit names the default places; another prefix or bindir is written into it here.
mkdir -p "$(dirname "$unit")"
sed -e "s|/usr/local/bin/gatehouse|$bindir/gatehouse|g" -e "s|/opt/gatehouse|$prefix|g" "$src/deploy/gatehouse.service" >"$unit.new"
chmod 644 "$unit.new"
mv "$unit.new" "$unit"

# The config may hold API keys: root's only. An existing one is the admin's and stays as it is.
new_config=0
if [[ ! -e $confdir/gatehouse.yaml ]]; then
  mkdir -p "$confdir"
  chmod 750 "$confdir"
  (umask 077 && cp "$src/examples/gatehouse.yaml" "$confdir/gatehouse.yaml")
  new_config=1
fi

if ((live)); then
  systemctl daemon-reload
  # An upgrade: the running daemon still has the old code loaded.
  systemctl try-restart gatehouse.service
fi

echo "Gatehouse $version installed in $dest, launcher $launcher, unit $unit."
if ((new_config)); then
  echo "Next: set interfaces.lan and interfaces.wan in $confdir/gatehouse.yaml (an example; start in monitor mode),"
else
  echo "Kept the existing $confdir/gatehouse.yaml. Next:"
fi
echo "  gatehouse config check /etc/gatehouse/gatehouse.yaml"
echo "  systemctl enable --now gatehouse      # then: gatehouse status, journalctl -u gatehouse"
