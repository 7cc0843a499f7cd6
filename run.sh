#!/usr/bin/env bash
# One entry point for people and CI:
#   ./run.sh demo [ARGS...]   set up .venv (if needed) and run the demo
#   ./run.sh test [ARGS...]   set up .venv (if needed) and run the test suite (CPU column, strict CI verdicts)
#   ./run.sh setup            only set up .venv (CI jobs then call .venv/bin/nox -s SESSION)
# Setting up is idempotent: the environment is reinstalled only when pyproject.toml or
# constraints.txt change, so a second call starts in seconds.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "[setup] creating $VENV with $($PYTHON --version)"
        "$PYTHON" -m venv "$VENV"
    fi
    local want
    want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
        echo "[setup] installing ptychopinn and its engines into $VENV (first run takes a few minutes)"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        # constraints.txt pins the CPU build of torch; see README.
        "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[all]"
        echo "$want" > "$STAMP"
    fi
}

cmd=${1:-}
shift || true
case "$cmd" in
    demo)
        setup
        exec "$VENV/bin/ptycho" demo "$@"
        ;;
    setup)
        setup
        ;;
    test)
        setup
        # Every tier on the CPU column (the GPU column is `nox -s gpu`); a missing engine is an error
        # instead of a skip; strict verdicts: a ceiling fails, and so does incomplete work of a test
        # recorded at >= 5 s (docs/harness.md).
        export CUDA_VISIBLE_DEVICES=""
        exec "$VENV/bin/python" -m pytest --require-backends tf,torch --strict-runtime \
            --runtime-report .pytest-runtime.json --runtime-incidents .pytest-incidents "$@"
        ;;
    *)
        echo "usage: ./run.sh demo|test [ARGS...] | setup" >&2
        exit 2
        ;;
esac
