#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for torchrun (tools/dist_run.sh).
DIR="$(cd "$(dirname "$0")" && pwd)"
exec bash "$DIR/dist_run.sh" "$3" "$DIR/test.py" "$1" "$2" --launcher pytorch "${@:4}"
