#!/usr/bin/env bash
# Creates the Conan package of recfuse (conanfile.py) and runs its test_package, offline:
#   1. a virtual environment .cache/conan-venv with a pinned Conan (pip, from PyPI, once);
#   2. a Conan home .cache/conan-home (never ~/.conan2): the detected default profile, every
#      remote disabled, and an unreachable proxy in global.conf, so a Conan that tries the
#      network fails instead of downloading;
#   3. conan create with the detected default profile plus conan/profiles/offline, which takes
#      xsimd 14.3.0 and Kokkos 4.6.01 from .cache/deps ([platform_requires]; scripts/install-deps.sh
#      builds them from ../shared/deps) and Thrust from the CUDA toolkit, when it is there.
# Safe to run again. Skips (exit 0) when the pinned dependencies are not there.
# RECFUSE_SHARED overrides where shared/ is (default: ../shared beside the repository).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
conan_version=2.34.0
started=$(date +%s)

shared="${RECFUSE_SHARED:-$repo/../shared}"
deps="$repo/.cache/deps"
if [ ! -d "$shared/deps" ]; then
  echo "conan-create: $shared/deps not found (the pinned dependency sources): skipping the Conan package test"
  exit 0
fi
if [ ! -f "$deps/share/cmake/xsimd/xsimdConfig.cmake" ]; then
  echo "conan-create: $deps has no xsimd: run 'bash scripts/install-deps.sh test' first; skipping the Conan package test"
  exit 0
fi

# ---- 1. Conan in a virtual environment ------------------------------------------------------------
venv="$repo/.cache/conan-venv"
conan="$venv/bin/conan"
if [ ! -x "$conan" ] || [ "$("$conan" --version 2>/dev/null)" != "Conan version $conan_version" ]; then
  echo "conan-create: installing conan==$conan_version into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "conan==$conan_version"
fi

# ---- 2. A Conan home of this repository, with no remote -------------------------------------------
export CONAN_HOME="$repo/.cache/conan-home"
mkdir -p "$CONAN_HOME"
# Any HTTP(S) request of Conan goes to a closed local port and fails at once.
cat > "$CONAN_HOME/global.conf" <<'EOF'
# Written by scripts/conan-create.sh: this Conan home never contacts a remote.
core.net.http:proxies={"http": "http://127.0.0.1:9", "https": "http://127.0.0.1:9"}
core.net.http:max_retries=0
core.net.http:timeout=5
EOF
if [ ! -f "$CONAN_HOME/profiles/default" ]; then
  "$conan" profile detect
fi
for remote in $("$conan" remote list --format=json | "$venv/bin/python" -c \
    'import json, sys; print(" ".join(r["name"] for r in json.load(sys.stdin) if r.get("enabled", True)))'); do
  "$conan" remote disable "$remote" >/dev/null
  echo "conan-create: remote $remote disabled in $CONAN_HOME"
done

# ---- 3. conan create ----------------------------------------------------------------------------
components=core,xsimd
options=()
shown=""
if [ -f "$deps/lib/cmake/Kokkos/KokkosConfig.cmake" ]; then
  options+=(-o "&:with_kokkos=True")
  shown+=' -o "&:with_kokkos=True"'
  components+=,kokkos
else
  echo "conan-create: no Kokkos in $deps: the kokkos component is left out"
fi
if [ -d /usr/local/cuda/lib64/cmake/thrust ]; then
  options+=(-o "&:with_thrust=True")
  shown+=' -o "&:with_thrust=True"'
  components+=,thrust
else
  echo "conan-create: no Thrust in /usr/local/cuda/lib64/cmake: the thrust component is left out"
fi

log="$repo/.cache/conan-create.log"
echo "conan-create: CONAN_HOME=$CONAN_HOME conan create . -pr:a default -pr:a conan/profiles/offline$shown --no-remote (log: $log)"
set +e
"$conan" create . -pr:a default -pr:a conan/profiles/offline "${options[@]}" --no-remote 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "conan-create: conan create failed ($rc); see $log" >&2
  exit "$rc"
fi

# Each run exports a new recipe revision when the sources changed: keep only the latest.
"$conan" remove "recfuse/*#!latest" --confirm >/dev/null 2>&1 || true

# test_package prints the components it found with find_package and ran.
used=$(sed -n 's/.*recfuse components used: \([a-z,]*\).*/\1/p' "$log" | tail -n 1)
for c in ${components//,/ }; do
  case ",$used," in
    *",$c,"*) ;;
    *) echo "conan-create: test_package did not use the component $c (used: ${used:-none})" >&2; exit 1 ;;
  esac
done
version=$(sed -n 's/^project(recfuse VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
echo "conan-create: recfuse/$version created and consumed through find_package (components $used) in $(( $(date +%s) - started )) s"
