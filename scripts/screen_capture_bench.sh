#!/usr/bin/env bash
# A real 3D game restyled live from the screen: Neverball (Debian's package, software OpenGL
# through Mesa's llvmpipe) in an 800x600 Xvfb screen, played by xdotool (the mouse tilts the
# floor, the ball rolls), captured by `lsd-runtime run --input screen` with the toon look.
# Prints the run's summary (frames restyled, FPS, capture-to-display latency) and leaves
# out/screen_capture.mkv and out/screen_capture.png (one captured frame) behind.
#
#   scripts/screen_capture_bench.sh [FRAMES] [OUT_DIR]      (default 150, lsd_screen_out)
#
# Installs xvfb, xdotool and neverball when run as root. Needs the runtime installed
# (scripts/setup.sh). This is a benchmark, not a test: the game's own frame rate depends on the
# machine, and on a 2-core machine the game and the runtime share the cores.
set -euo pipefail
FRAMES="${1:-150}"
OUT="${2:-lsd_screen_out}"
SCREEN=":${LSD_XVFB_DISPLAY:-97}"
missing=()
for p in xvfb xdotool neverball libgl1-mesa-dri; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$OUT"
HOME_DIR="$(mktemp -d)"  # the game's settings and player name: a fresh, throwaway home
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$HOME_DIR"; }
trap cleanup EXIT

Xvfb "$SCREEN" -screen 0 800x600x24 -nolisten tcp >/dev/null 2>&1 & pids+=($!)
export DISPLAY="$SCREEN"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
HOME="$HOME_DIR" /usr/games/neverball >"$OUT/neverball.log" 2>&1 & pids+=($!)
sleep 6
click() { xdotool mousemove "$1" "$2" click 1; sleep "${3:-2}"; }
click 400 237       # Play
click 233 337 0.5   # a fresh home asks for a player name: type "A"
click 522 467       # OK
click 220 112       # Neverball Easy
click 75 101 3      # level 01
click 400 300 3     # start
# keep the ball rolling: the mouse tilts the floor, back and forth
( while true; do xdotool mousemove 560 300; sleep 0.7; xdotool mousemove 240 300; sleep 0.7; done ) & pids+=($!)
sleep 1
python3 -c "
import mss; from PIL import Image
with mss.MSS() as m:
    s = m.grab(m.monitors[1]); Image.frombytes('RGB', s.size, s.rgb).save('$OUT/screen_capture.png')
"
lsd-runtime run --input screen --output "$OUT/screen_capture.mkv" --prompt cartoon --frames "$FRAMES" \
  --device cpu --no-progress | tee "$OUT/summary.txt"
