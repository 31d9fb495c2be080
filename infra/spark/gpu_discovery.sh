#!/usr/bin/env bash
# Spark resource discovery: the GPUs this worker may hand to executors, as Spark's JSON
# ({"name": "gpu", "addresses": ["0", "1", ...]}), from nvidia-smi.
set -euo pipefail
addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader | sed 's/.*/"&"/' | paste -sd, -)
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
