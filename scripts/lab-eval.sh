#!/bin/sh
# The lab figures of the README in one command: build the lab set (or reuse
# what is cached in DIR), then `vaat eval` on it — every protocol, the learned
# model beside the engine — once as built and once with every name ablated.
#   npm run lab:eval -- [DIR]        (default ./labset; about 45 min from scratch on 2 cores)
set -eu
DIR=${1:-./labset}
cd "$(dirname "$0")/.."
node bin/vaat.js lab build -o "$DIR" --kernels 6.1 --scenarios all --runs 5 --capture both
node bin/vaat.js lab build -o "$DIR" --kernels 6.12 --scenarios sysrq,panic,nullderef,timer,warn,hung,hungb,hungcg,softlockup,rqimbalance,uaf,oom --runs 2 --capture both
node bin/vaat.js eval --set "$DIR" --model models/ranker-v1
node bin/vaat.js eval --set "$DIR" --model models/ranker-v1 --ablate-names
