#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for torchrun (tools/dist_run.sh).
DIR="$(cd "$(dirname "$0")" && pwd)"
exec bash "$DIR/dist_run.sh" "$2" "$DIR/train.py" "$1" --launcher pytorch "${@:3}"
