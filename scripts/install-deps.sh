#!/usr/bin/env bash
# Installs the Debian packages recfuse builds with: `scripts/install-deps.sh quickstart` for the
# library and examples, `scripts/install-deps.sh test` for tests and benchmarks too. Skips
# apt-get entirely when everything is already there.
set -euo pipefail
packages=(cmake make g++ libxsimd-dev libxtensor-dev)
if [ "${1:-quickstart}" = test ]; then
  packages+=(catch2 libbenchmark-dev libtrilinos-kokkos-dev libtbb-dev python3)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
