#!/usr/bin/env bash
# The README's two commands.
#   packaging/dev.sh run   install what is missing, build (release), start relanced on config/relance.yaml
#   packaging/dev.sh test  install what is missing, build (ASan+UBSan), run the whole test suite with ctest
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
# ccache (when installed) then hits across clones of the tree in different folders.
export CCACHE_BASEDIR="$PWD"
bash packaging/install-deps.sh

case "${1:-}" in
  run)
    cmake --preset release >/dev/null
    cmake --build --preset release -j "$jobs" --target relanced  # the daemon only: tests build with `test`
    mkdir -p var/mail
    exec build/release/daemon/relanced --config config/relance.yaml
    ;;
  test)
    preset=test
    [ "${CI:-}" = "true" ] && preset=ci
    cmake --preset "$preset"
    cmake --build --preset "$preset" -j "$jobs"
    ctest --preset "$preset" -j "$jobs"
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 64
    ;;
esac
