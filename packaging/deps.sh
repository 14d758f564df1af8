#!/usr/bin/env bash
# Installs exactly the Debian packages that building and testing Cairn needs.
# Idempotent: when everything is present it only runs dpkg-query and returns.
set -euo pipefail

packages=(
  # build
  cmake ninja-build ccache g++ make pkg-config
  dpkg-dev  # dpkg-shlibdeps for packaging/deb.sh (packaging_test)
  # libraries
  libboost1.81-dev libboost-url1.81-dev librocksdb-dev libssl-dev nlohmann-json3-dev
  libcli11-dev libgtest-dev libgmock-dev libspdlog-dev libfmt-dev
  libnghttp2-dev  # gRPC and H2PING health checks (HTTP/2)
  # test tools (integration tests talk to real processes with real clients)
  curl python3 iproute2 procps
  bind9-dnsutils knot-dnsutils  # dig and kdig for the DNS interface tests
  # compat suites: real third-party Consul clients (test/compat)
  python3-consul
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# The npm compat suite (test/compat/npm) needs node and npm. Debian's nodejs + npm do; a nodejs
# build that bundles npm (NodeSource's, which conflicts with Debian's npm package) counts as both.
command -v node > /dev/null || missing+=(nodejs)
command -v npm > /dev/null || missing+=(npm)

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
