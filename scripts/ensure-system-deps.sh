#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing:
#   chromium (browser tests), espeak-ng + sox (speech fixtures), ffmpeg (video), vpx-tools (vpxdec, the
#   low-latency VP8 decoder), coturn (TURN relay tests), redis-server + haproxy (cluster tests: a
#   throwaway Redis and a round-robin balancer in front of the instances).
# Runs as root or through sudo; prints what it does. Set CALLSTREAM_SKIP_SYSTEM_DEPS=1 to skip.
set -euo pipefail
[ "${CALLSTREAM_SKIP_SYSTEM_DEPS:-}" = "1" ] && exit 0

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
for pkg in "$@"; do
  case "$pkg" in
    espeak-ng) command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng) ;;
    sox) command -v sox >/dev/null 2>&1 || need+=(sox) ;;
    ffmpeg) command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg) ;;
    vpx-tools) command -v vpxdec >/dev/null 2>&1 || need+=(vpx-tools) ;;
    coturn) command -v turnserver >/dev/null 2>&1 || need+=(coturn) ;;
    redis-server) command -v redis-server >/dev/null 2>&1 || need+=(redis-server) ;;
    haproxy) command -v haproxy >/dev/null 2>&1 || need+=(haproxy) ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "ensure-system-deps: missing ${need[*]} and not root (no sudo): install them with apt-get." >&2
  exit 1
fi
echo "ensure-system-deps: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
