#!/usr/bin/env bash
# Usage: tools/dist_run.sh GPUS SCRIPT [script args...]: SCRIPT under torchrun, one process per GPU
# (tools/dist_train.sh and tools/dist_test.sh call it). Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR, PORT as for torchrun.
# A rank that stops on a user error (a missing file, an unknown key: the one-line errors of the
# single-process tools) leaves its message in FACEPARSE_ERROR_DIR instead of printing it; after
# torchrun's own report, the lowest such rank's message is printed once, last, and the exit
# status is the tools' 2. Any other failure keeps torchrun's output and status.
GPUS=$1
SCRIPT=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "$0")" && pwd)"
PYTHON=${PYTHON:-python}

ERRORS="$(mktemp -d)"
trap 'rm -rf "$ERRORS"' EXIT
FACEPARSE_ERROR_DIR="$ERRORS" PYTHONPATH="$DIR/..":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$SCRIPT" "${@:3}"
status=$?
first=$(ls "$ERRORS" | sed -n 's/^rank\([0-9][0-9]*\)\.txt$/\1/p' | sort -n | head -n 1)
if [ "$status" -ne 0 ] && [ -n "$first" ]; then
    echo "error: $(cat "$ERRORS/rank$first.txt")" >&2
    exit 2
fi
exit "$status"
