#!/usr/bin/env bash
# Install the system programs the pipeline runs: redis-server (the queue, for `npm start`
# without REDIS_URL and for the tests) and ffmpeg/ffprobe (the transcoder). With --ci, also what
# the tests and CI's checks use besides: redis-sentinel (the failover test), Debian's chromium (the
# browser tests, at /usr/bin/chromium: test/browser.ts never downloads one), promtool (Debian's
# prometheus package) and docker-compose (the deployment files). Debian/Ubuntu, as root. Does
# nothing for what is already installed.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || missing+=(ffmpeg)
if [ "${1:-}" = "--ci" ]; then
  # The failover test runs real sentinels (Debian's redis-sentinel).
  command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
  { command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "system dependencies present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${missing[*]}; install them with your package manager (macOS: brew install redis ffmpeg)" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
