#!/bin/bash
# Compare `vaat mod` with crash's `mod` (MODULE, NAME, BASE, SIZE of every module) on every dump of
# one kernel in a lab set. crash needs the kernel's debug vmlinux; vaat does not.
#   scripts/crash-compare-mod.sh CRASH VMLINUX LABSET KERNEL [OUTDIR]
set -u
CRASH=$1 VM=$2 LAB=$3 KERNEL=$4 OUT=${5:-$(mktemp -d)}
VAAT="$(dirname "$0")/../bin/vaat.js"
mkdir -p "$OUT"; ok=0; bad=0; n=0
for meta in "$LAB/$KERNEL"/*/*/meta.json; do
  d=$(dirname "$meta"); dump="$LAB/$(node -e "console.log(require(process.argv[1]).path)" "$meta")"
  n=$((n+1)); id=$(basename "$(dirname "$d")")-$(basename "$d")
  echo mod | timeout 300 "$CRASH" -s "$VM" "$dump" 2>/dev/null | awk 'NF>=4 && $1 ~ /^ffff/ {print $1, $2, $3, $4}' | sort > "$OUT/crash-$id.txt"
  node "$VAAT" mod "$dump" 2>/dev/null | awk 'NF>=4 && $1 ~ /^ffff/ {print $1, $2, $3, $4}' | sort > "$OUT/vaat-$id.txt"
  c=$(wc -l < "$OUT/crash-$id.txt")
  if [ "$c" -gt 0 ] && cmp -s "$OUT/crash-$id.txt" "$OUT/vaat-$id.txt"; then ok=$((ok+1)); echo "same $id ($c modules)"
  else bad=$((bad+1)); echo "DIFF $id (crash $c, vaat $(wc -l < "$OUT/vaat-$id.txt")): diff $OUT/crash-$id.txt $OUT/vaat-$id.txt"; fi
done
echo "dumps $n same $ok differ $bad"
[ "$bad" -eq 0 ]
