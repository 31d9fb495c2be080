#!/usr/bin/env bash
# Start a Spark standalone master or worker from the pyspark distribution in the reelhouse image.
#   start.sh master            master on :7077, web UI on :8081
#   start.sh worker URL        worker of URL; advertises the container's GPUs (gpu_discovery.sh)
set -euo pipefail
spark_home=$(python -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))")
export SPARK_HOME=$spark_home PYSPARK_PYTHON=$(command -v python)
case "${1:?master|worker URL}" in
master)
    exec "$spark_home/bin/spark-class" org.apache.spark.deploy.master.Master --host 0.0.0.0 --port 7077 --webui-port 8081
    ;;
worker)
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        gpus=$(nvidia-smi -L | wc -l)
        export SPARK_WORKER_OPTS="-Dspark.worker.resource.gpu.amount=$gpus -Dspark.worker.resource.gpu.discoveryScript=/opt/reelhouse/infra/spark/gpu_discovery.sh"
    fi
    exec "$spark_home/bin/spark-class" org.apache.spark.deploy.worker.Worker "${2:?master URL}" \
        --cores "${SPARK_WORKER_CORES:-4}" --memory "${SPARK_WORKER_MEMORY:-8g}"
    ;;
esac
