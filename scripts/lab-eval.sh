#!/bin/sh
# The lab figures of the README in one command: build the lab set (or reuse
# what is cached in DIR), then `vaat eval` on it — every protocol, the learned
# model beside the engine — once as built and once with every name ablated
# (by-group there is by kernel), on the mechanism-only families alone
# (scenarios with `confusable` partners: same symptom, names drawn from the
# same pools), names ablated — on every kernel and on the kernels the scorer's rules were not
# made on — and across capture paths (index kdump dumps,
# query QEMU ones and back), names ablated.
#   npm run lab:eval -- [DIR] [JOBS]   (default ./labset, 2 guests at once; about 63 min from scratch on 2 cores under TCG: 61.5 min of builds measured on 2026-12-05)
set -eu
DIR=${1:-./labset}
JOBS=${2:-2}
cd "$(dirname "$0")/.."
node bin/vaat.js lab build -o "$DIR" --kernels 6.1 --scenarios all --runs 5 --capture both --jobs "$JOBS"
node bin/vaat.js lab build -o "$DIR" --kernels 6.12 --scenarios all --runs 4 --capture both --jobs "$JOBS"
node bin/vaat.js lab build -o "$DIR" --kernels 6.1-47 --scenarios all --runs 3 --capture both --jobs "$JOBS"
node bin/vaat.js eval --set "$DIR" --model models/ranker-v1
node bin/vaat.js eval --set "$DIR" --model models/ranker-v1 --ablate-names
node scripts/lab-subset.mjs "$DIR" --mechanism
node bin/vaat.js eval --set "$DIR/mechanism.json" --model models/ranker-v1 --ablate-names
# The same families on the two kernels the scorer's hand-set rules were not made on (scorer v4's
# stuck-primitive and context rules were written looking at 6.1.0-56 dumps): the clean figure.
node scripts/lab-subset.mjs "$DIR" --mechanism --kernels 6.12.95+deb12-amd64,6.1.0-47-amd64 --out "$DIR/mechanism-other-kernels.json"
node bin/vaat.js eval --set "$DIR/mechanism-other-kernels.json" --model models/ranker-v1 --ablate-names
node scripts/lab-subset.mjs "$DIR" --group capture
node bin/vaat.js eval --set "$DIR/by-capture.json" --protocol by-group --ablate-names
