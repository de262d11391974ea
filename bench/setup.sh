#!/bin/sh
# Fetch what the benchmarks compare against into bench/.cache (not in git):
# crash 8.0.6 from ../shared/tools, Debian's debug vmlinux of 6.1.0-56 (for
# crash: 858 MB download), makedumpfile and GNU time from apt.
set -eu
cd "$(dirname "$0")"
mkdir -p .cache
SHARED=${VAAT_SHARED:-../../shared}
export DEBIAN_FRONTEND=noninteractive
need=""
for p in makedumpfile time libsnappy1v5 liblzo2-2 libzstd1 libncursesw6; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] || { apt-get update -qq && apt-get install -y -qq $need; }
[ -x .cache/crash ] || { xz -dc "$SHARED/tools/crash-8.0.6.xz" > .cache/crash && chmod +x .cache/crash; }
V=.cache/vmlinux-6.1.0-56-amd64
if [ ! -f "$V" ]; then
  (cd .cache && apt-get download linux-image-6.1.0-56-amd64-dbg)
  dpkg-deb --fsys-tarfile .cache/linux-image-6.1.0-56-amd64-dbg_*.deb | tar -xO ./usr/lib/debug/boot/vmlinux-6.1.0-56-amd64 > "$V"
  rm -f .cache/linux-image-6.1.0-56-amd64-dbg_*.deb
fi
echo "bench tools ready in bench/.cache"
