#!/usr/bin/env bash
# A throwaway Spark standalone cluster on loopback, from the pyspark distribution in the venv.
#
#   infra/scripts/spark_cluster.sh start DIR [PORT] [WORKERS]   a master on 127.0.0.1:PORT (default 57077)
#                                                               and WORKERS workers (default 2) of one
#                                                               core and 2 GiB each; prints the master URL
#                                                               once every worker has registered
#   infra/scripts/spark_cluster.sh stop DIR                     stop them all
#
# Logs and pid files go to DIR. The workers' Python is the venv's (PYSPARK_PYTHON), so executors import
# the same reelhouse, models and spark_jobs as the driver. Every wait is bounded in time.
set -euo pipefail

cmd=${1:?usage: spark_cluster.sh start|stop DIR [PORT] [WORKERS]}
dir=$(realpath -m "${2:?usage: spark_cluster.sh start|stop DIR [PORT] [WORKERS]}")
port=${3:-57077}
workers=${4:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYSPARK_PYTHON:-$root/.venv/bin/python}
spark_home=$("$python" -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))")

launch() {  # launch NAME CLASS ARGS...: a daemon process whose pid goes to DIR/NAME.pid
    local name=$1
    shift
    SPARK_HOME=$spark_home PYSPARK_PYTHON=$python SPARK_LOCAL_IP=127.0.0.1 \
        nohup "$spark_home/bin/spark-class" "$@" >"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
}

case "$cmd" in
start)
    mkdir -p "$dir"
    webui=$((port + 1))
    launch master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" --webui-port "$webui"
    for i in $(seq 1 "$workers"); do
        mkdir -p "$dir/work-$i"
        launch "worker-$i" org.apache.spark.deploy.worker.Worker "spark://127.0.0.1:$port" --host 127.0.0.1 \
            --cores 1 --memory 2g --work-dir "$dir/work-$i" --webui-port 0
    done
    for _ in $(seq 1 120); do
        alive=$("$python" - "$webui" <<'EOF' 2>/dev/null || echo 0
import json, sys, urllib.request
state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2))
print(sum(w["state"] == "ALIVE" for w in state["workers"]))
EOF
)
        if [[ "$alive" -ge "$workers" ]]; then
            echo "spark://127.0.0.1:$port"
            exit 0
        fi
        sleep 1
    done
    echo "spark_cluster.sh: $workers worker(s) did not register within 120 s; see $dir/*.log" >&2
    "$0" stop "$dir"
    exit 1
    ;;
stop)
    for pidfile in "$dir"/worker-*.pid "$dir"/master.pid; do
        [[ -f "$pidfile" ]] || continue
        pid=$(cat "$pidfile")
        # spark-class execs java; kill the whole process group of what it started.
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
    ;;
*)
    echo "usage: spark_cluster.sh start|stop DIR [PORT] [WORKERS]" >&2
    exit 2
    ;;
esac
