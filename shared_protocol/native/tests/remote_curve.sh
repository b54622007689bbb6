#!/usr/bin/env bash
# Runs a command against an lsd-runtime on a non-loopback address, as a runtime on another
# machine would be. A private network namespace (unshare; as root, or in a user namespace)
# gives this host the address 10.77.0.1 (on the namespace's own loopback device: no kernel
# module needed, and to the runtime and the client it is not a loopback address). The runtime
# serves tcp://10.77.0.1:PORT with --allow-remote, so it encrypts with CURVE and writes its
# server key to runtime.json. The command runs in the same namespace with
# LSD_TEST_REMOTE_STATE_DIR naming the runtime's state directory.
#
#   remote_curve.sh COMMAND [ARGS...]
#   e.g. remote_curve.sh build/tests/test_integration --gtest_filter='Curve.Remote*'
set -euo pipefail
# exit status 77: this machine does not allow a private network namespace (ctest: skipped),
# unless LSD_REQUIRE_NETNS=1 (scripts/test.sh sets it: CI must run this test, not skip it)
if [ -z "${LSD_IN_NETNS:-}" ]; then
    flags=(--net)
    [ "$(id -u)" -ne 0 ] && flags=(--net --map-root-user)
    if ! unshare "${flags[@]}" true 2>/dev/null; then
        if [ "${LSD_REQUIRE_NETNS:-0}" = 1 ]; then
            echo "remote_curve: cannot create a network namespace here (unshare ${flags[*]}), and" \
                 "LSD_REQUIRE_NETNS=1 says this test must run: FAILED"
            exit 1
        fi
        echo "remote_curve: cannot create a network namespace here (unshare ${flags[*]}): skipped"
        exit 77
    fi
    exec unshare "${flags[@]}" env LSD_IN_NETNS=1 bash "$0" "$@"
fi
ADDR=10.77.0.1
ip link set lo up
ip addr add "$ADDR/24" dev lo

if [ -n "${LSD_RUNTIME_CMD:-}" ]; then read -r -a runtime <<<"$LSD_RUNTIME_CMD"
elif command -v lsd-runtime >/dev/null; then runtime=(lsd-runtime)
else runtime=(python3 -m lsd_runtime); fi
dir="$(mktemp -d "${TMPDIR:-/tmp}/lsd-remote-XXXXXX")"
port="$(python3 -c "import socket; s = socket.socket(); s.bind(('$ADDR', 0)); print(s.getsockname()[1])")"
"${runtime[@]}" serve --endpoint "tcp://$ADDR:$port" --allow-remote --state-dir "$dir" >"$dir/runtime.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 600); do
    grep -q "\"pid\": $pid" "$dir/runtime.json" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "remote_curve: the runtime exited"; cat "$dir/runtime.log"; exit 1; }
    sleep 0.1
done
grep -q '"server_key"' "$dir/runtime.json" || { echo "remote_curve: no server_key in runtime.json"; exit 1; }
echo "remote_curve: runtime at tcp://$ADDR:$port (CURVE), state $dir"
LSD_TEST_REMOTE_STATE_DIR="$dir" "$@"
