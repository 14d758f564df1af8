#!/usr/bin/env bash
# packaging/deb.sh BUILD_DIR [OUT_DIR]: the cairn .deb from a built (Release) tree:
#   /usr/bin/cairn                   client agents, the CLI, sidecar proxies (no server code)
#   /usr/lib/cairn/cairn-server      server mode and `cairn snapshot` (cairn execs it: cli/server_loader.h)
# Depends is computed by dpkg-shlibdeps from both binaries. Prints the .deb's path.
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "${2:-.}")
src=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build" --prefix "$stage/root/usr" --component cairn --strip > /dev/null
for f in usr/bin/cairn usr/lib/cairn/cairn-server; do
  [[ -x $stage/root/$f ]] || { echo "deb.sh: $f missing after cmake --install $build" >&2; exit 1; }
done
version=$(sed -n 's/^project(cairn VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
mkdir -p "$stage/debian"
printf 'Source: cairn\n\nPackage: cairn\nArchitecture: any\n' > "$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O root/usr/bin/cairn root/usr/lib/cairn/cairn-server 2> /dev/null |
          sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
mkdir -p "$stage/root/DEBIAN"
cat > "$stage/root/DEBIAN/control" <<EOF
Package: cairn
Version: $version
Architecture: $arch
Maintainer: Cairn developers <cairn@localhost>
Depends: $depends
Section: net
Priority: optional
Description: Consul-compatible service mesh: agent, server and sidecar proxy
 /usr/bin/cairn runs client agents, the CLI and sidecar proxies; server mode
 (cairn agent -server or -dev) runs /usr/lib/cairn/cairn-server.
EOF
mkdir -p "$out"
deb="$out/cairn_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage/root" "$deb" > /dev/null
echo "$deb"
