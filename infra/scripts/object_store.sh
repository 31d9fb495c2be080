#!/usr/bin/env bash
# A throwaway S3-compatible object store on loopback (moto's server mode), for tests and local trials
# of an object-storage warehouse (never for production data: it keeps everything in memory).
#
#   infra/scripts/object_store.sh start DIR [PORT] [BUCKET]   start it on 127.0.0.1:PORT (default
#                                                              59000), create BUCKET (default
#                                                              warehouse); prints the endpoint URL
#   infra/scripts/object_store.sh stop DIR                     stop it
#
# The Python with moto installed is $REELHOUSE_PYTHON (default: the repo's .venv). Credentials are
# moto's: any key id and secret are accepted. Every step is bounded in time.
set -euo pipefail

cmd=${1:?usage: object_store.sh start|stop DIR [PORT] [BUCKET]}
dir=$(realpath -m "${2:?usage: object_store.sh start|stop DIR [PORT] [BUCKET]}")
port=${3:-59000}
bucket=${4:-warehouse}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python=${REELHOUSE_PYTHON:-$root/.venv/bin/python}
endpoint="http://127.0.0.1:$port"

case "$cmd" in
start)
    mkdir -p "$dir"
    if ! "$python" -c "import moto.server" 2>/dev/null; then
        echo "object_store.sh: $python has no moto server (pip install 'moto[server]')" >&2
        exit 3
    fi
    setsid "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 < /dev/null &
    echo $! >"$dir/server.pid"
    for _ in $(seq 1 60); do
        if "$python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$endpoint" 2>/dev/null; then
            timeout 60 "$python" - "$endpoint" "$bucket" <<'PY' || { "$0" stop "$dir"; exit 1; }
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="reelhouse", aws_secret_access_key="reelhouse",
                  region_name="us-east-1")
if sys.argv[2] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket=sys.argv[2])
PY
            echo "$endpoint"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
            cat "$dir/server.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "object_store.sh: the server did not answer on $endpoint within 30 s" >&2
    tail -n 20 "$dir/server.log" >&2
    "$0" stop "$dir"
    exit 1
    ;;
stop)
    if [[ -f "$dir/server.pid" ]]; then
        pid=$(cat "$dir/server.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/server.pid"
    fi
    ;;
*)
    echo "usage: object_store.sh start|stop DIR [PORT] [BUCKET]" >&2
    exit 2
    ;;
esac
