#!/usr/bin/env bash
# Makes the release tarball a router installs from (README, "Installing on a real router"): the built
# daemon and CLI (dist/), the production node_modules with better-sqlite3's native part as `npm ci` built it
# in this checkout, the systemd unit, the example config and install.sh. The router then needs no npm, no
# compiler and no network: only Node.js of the same major version as this machine's, nftables and iproute2.
#
#   scripts/package.sh [--out DIR] [--no-build]      prints the tarball's path
#
# Run in a checkout after `npm ci` (`npm run package` does). It compiles into the release itself, so no
# stale file of an older build rides along; --no-build packs the checkout's dist/ as it is (tests, which
# have just built it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here
build=1
while (($#)); do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
cd "$here"
if [[ ! -d node_modules/better-sqlite3 ]]; then
  echo "package.sh: node_modules is missing: run npm ci first" >&2
  exit 1
fi
if ((!build)) && [[ ! -f dist/cli/main.js ]]; then
  echo "package.sh: dist/ is missing: run npm run build, or leave out --no-build" >&2
  exit 1
fi

version=$(node -p 'require("./package.json").version')
arch=$(node -p 'process.arch')
name=gatehouse-$version
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
t=$stage/$name
mkdir -p "$t/node_modules"
cp -R package.json package-lock.json README.md bin deploy examples "$t/"
if ((build)); then npx tsc -p tsconfig.json --outDir "$t/dist"; else cp -R dist "$t/dist"; fi
cp scripts/install.sh "$t/install.sh"
# The checkout's node_modules may be a symlink (a worktree's): copy what it points to.
cp -R "$(realpath node_modules)/." "$t/node_modules/"
# What `npm ci --omit=dev` would leave, without fetching or rebuilding anything.
(cd "$t" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
# Intermediate build products of the native module; only build/Release/better_sqlite3.node is loaded.
rm -rf "$t/node_modules/better-sqlite3/build/Release/"{obj,obj.target,.deps,test_extension.node,sqlite3.a}
find "$t/node_modules" -depth -type d -empty -delete
# install.sh refuses a Node.js whose native-module ABI differs from the one better-sqlite3 was built for.
node -e 'console.log(`version=${process.argv[1]}\nnode_abi=${process.versions.modules}\nnode_version=${process.versions.node}\narch=${process.arch}`)' "$version" >"$t/BUILD"

mkdir -p "$out"
tarball=$(cd "$out" && pwd)/$name-linux-$arch.tar.gz
tar -C "$stage" -czf "$tarball" "$name"
echo "$tarball"
