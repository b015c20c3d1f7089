#!/usr/bin/env bash
# Build (once per machine) the real llama.cpp server used by the LM Studio HTTP tests.
#
#   tools/llama-server.sh          -> prints the python of the llama venv on stdout
#
# Idempotent and cached under ${LMSDRIVE_CACHE:-$HOME/.cache/lmsdrive}:
#   wheels/llama_cpp_python-<ver>-*.whl   compiled from source only if missing (~4.5 min on 2 cores)
#   llama-venv/                           a separate venv with the wheel + its [server] extra
# Everything but the final path goes to stderr. Concurrent runs wait on a lock.
# Env: LMSDRIVE_CACHE, LLAMA_CPP_VERSION (default 0.3.36), LMSDRIVE_BUILD_PYTHON (default python3),
#      CMAKE_ARGS (default -DLLAVA_BUILD=OFF: the multimodal part is not needed, halves the build).
set -euo pipefail

VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
CACHE="${LMSDRIVE_CACHE:-$HOME/.cache/lmsdrive}"
WHEELS="$CACHE/wheels"
VENV="$CACHE/llama-venv"
PY="${LMSDRIVE_BUILD_PYTHON:-python3}"
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"

log() { printf 'llama-server: %s\n' "$*" >&2; }

mkdir -p "$WHEELS"
exec 9>"$CACHE/.llama-server.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

find_wheel() {
    ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n1 || true
}

WHEEL="$(find_wheel)"
if [[ -z "$WHEEL" ]]; then
    log "first run on this machine: compiling llama-cpp-python==$VERSION for the real llama.cpp" \
        "server takes about 5 to 15 minutes; it is cached in $WHEELS, later runs take seconds"
    # Another build started by hand (outside this lock) may be writing the same wheel: wait for it.
    while pgrep -f "pip wheel.*llama-cpp-python" >/dev/null 2>&1; do
        log "a llama-cpp-python build is already running; waiting for it"
        sleep 10
    done
    WHEEL="$(find_wheel)"
fi
if [[ -z "$WHEEL" ]]; then
    log "building llama-cpp-python==$VERSION from source (CMAKE_ARGS=$CMAKE_ARGS)"
    tmp="$(mktemp -d "$WHEELS/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    start=$SECONDS
    "$PY" -m pip wheel --no-deps "llama-cpp-python==$VERSION" -w "$tmp" >&2
    mv "$tmp"/llama_cpp_python-"$VERSION"-*.whl "$WHEELS"/
    log "wheel built in $((SECONDS - start)) s"
    WHEEL="$(find_wheel)"
fi

VPY="$VENV/bin/python"
if [[ -x "$VPY" ]] && "$VPY" -c "import llama_cpp, llama_cpp.server.app; assert llama_cpp.__version__ == '$VERSION'" >/dev/null 2>&1; then
    log "venv ready: $VENV"
else
    log "creating $VENV with $(basename "$WHEEL")[server]"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VPY" -m pip install --quiet --disable-pip-version-check "${WHEEL}[server]" >&2
    "$VPY" -c "import llama_cpp.server.app" >&2
fi
printf '%s\n' "$VPY"
