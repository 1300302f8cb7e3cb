#!/usr/bin/env bash
# Runs the desktop end-to-end tests as a person's session would be: a private HOME, an X display (Xvfb), a dbus
# session with an unlocked gnome-keyring (the real Secret Service), and tauri-driver in front of WebKitWebDriver.
# Installs tauri-driver under target/tools the first time. Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
if [ ! -x target/tools/bin/tauri-driver ]; then
    cargo install tauri-driver --version '^2' --locked --root target/tools --quiet
fi
export HOME=$(mktemp -d)
export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share XDG_RUNTIME_DIR=$HOME/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; rm -rf "$HOME"' EXIT
export DISPLAY=$display
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
export BURNLINK_TEST_HOOKS=1 NO_AT_BRIDGE=1
dbus-run-session -- bash -c '
    set -euo pipefail
    printf ci-pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "'"$root"'/target/tools/bin/tauri-driver" --port 4444 --native-driver /usr/bin/WebKitWebDriver >/dev/null 2>&1 &
    driver=$!
    trap "kill $driver 2>/dev/null" EXIT
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/4444) 2>/dev/null && break; sleep 0.1; done
    if [ -n "${DESKTOP_CMD:-}" ]; then eval "$DESKTOP_CMD"; else node --test --test-concurrency=1 "'"$root"'/tests/desktop/"; fi
'
