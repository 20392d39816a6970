#!/usr/bin/env bash
# Installs what servekit needs, idempotently. Usage: scripts/setup.sh run|test
#   run   the Python environment (.venv) and the example models
#   test  the above plus the CDK CLI (npm), the Lambda layer and the test tools
set -euo pipefail
cd "$(dirname "$0")/.."

purpose="${1:-run}"
case "$purpose" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "servekit needs Python 3.11 or newer (found: $("$python_bin" --version 2>&1))" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $("$python_bin" --version)"
    "$python_bin" -m venv .venv
fi

# pip is re-run only when the dependency list changes (a stamp keyed by pyproject's hash).
stamp=".venv/.servekit-$purpose-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "==> installing Python packages ($purpose)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    if [ "$purpose" = test ]; then extras="dev"; else extras="local,models"; fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
    touch "$stamp"
fi

echo "==> building the example models"
.venv/bin/python models/build.py --out models/artifacts --if-changed

if [ "$purpose" = test ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "the CDK CLI comes from npm: install Node.js 20+ first" >&2
        exit 1
    fi
    if [ ! -x node_modules/.bin/cdk ] || [ package-lock.json -nt node_modules/.bin/cdk ]; then
        echo "==> installing the CDK CLI (npm ci)"
        npm ci --no-audit --no-fund --loglevel=error
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        # The cache tests start a real redis-server of their own (CI fails without one).
        echo "==> installing redis-server"
        as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
        if command -v apt-get >/dev/null 2>&1; then
            $as_root apt-get install -y -qq redis-server >/dev/null \
                || { $as_root apt-get update -qq && $as_root apt-get install -y -qq redis-server >/dev/null; } \
                || echo "could not install redis-server: the cache tests will be skipped (failed under CI=true)" >&2
        else
            echo "install redis-server yourself (e.g. brew install redis): the cache tests need it" >&2
        fi
    fi
    echo "==> building the Lambda layer"
    .venv/bin/python layers/build_layer.py
fi
