#!/usr/bin/env bash
# deploy/replicas.sh N PORT — N Streamlit replicas of the dashboard behind nginx on 127.0.0.1:PORT, in the
# foreground; Ctrl-C or SIGTERM stops them all.
#
# Replicas listen on 127.0.0.1:PORT+1 … PORT+N. nginx (Debian's /usr/sbin/nginx; NGINX=… for another) runs as a
# non-daemon with its own config, pid, logs and temp folders in a fresh temporary folder (removed on exit):
#   - sticky sessions: the first response sets a cookie `mlm_explorer_route` (a random id) and every request
#     carrying it is routed by `hash $cookie consistent` to the same replica (see the README for what must be sticky);
#   - /_stcore/stream is upgraded to a WebSocket and kept open for an hour without traffic;
#   - the frontend files (/static/) are served by nginx from a gzip-compressed copy (gzip_static), cached by browsers
#     for a year (their names carry a hash), so replicas only run the app.
# Environment: everything the app reads (MLM_EXPLORER_*, HF_*) is passed to the replicas; REPLICA_ARGS adds
# arguments to each `streamlit run` (e.g. REPLICA_ARGS="--server.baseUrlPath mlm" is not supported here).
set -euo pipefail

if [[ $# -ne 2 || ! $1 =~ ^[1-9][0-9]*$ || ! $2 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 N PORT   (e.g. $0 2 8500: two replicas on 8501-8502, nginx on 127.0.0.1:8500)" >&2
    exit 2
fi
REPLICAS=$1
PORT=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
PYTHON=${PYTHON:-python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlm-explorer-replicas.XXXXXX")
chmod 755 "$WORK"  # nginx started by root reads the static files as its worker user (nobody)
PIDS=()

stop_all() {
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

for ((i = 1; i <= REPLICAS; i++)); do
    (cd "$ROOT" && exec "$PYTHON" -m streamlit run streamlit_app.py --server.headless true \
        --server.address 127.0.0.1 --server.port $((PORT + i)) ${REPLICA_ARGS:-}) \
        > "$WORK/replica-$i.log" 2>&1 &
    PIDS+=($!)
done

# The frontend files, copied once and compressed beside themselves for nginx's gzip_static.
STATIC=$("$PYTHON" -c 'import os, streamlit; print(os.path.join(os.path.dirname(streamlit.__file__), "static"))')
cp -r "$STATIC" "$WORK/static"
find "$WORK/static" -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.json' -o -name '*.svg' \
    -o -name '*.map' -o -name '*.txt' -o -name '*.ttf' \) -size +1k -exec gzip -k -6 {} +

UPSTREAMS=""
for ((i = 1; i <= REPLICAS; i++)); do UPSTREAMS+="        server 127.0.0.1:$((PORT + i)) max_fails=0;"$'\n'; done
mkdir -p "$WORK/temp"
cat > "$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    client_body_temp_path $WORK/temp/body;
    proxy_temp_path $WORK/temp/proxy;
    fastcgi_temp_path $WORK/temp/fastcgi;
    uwsgi_temp_path $WORK/temp/uwsgi;
    scgi_temp_path $WORK/temp/scgi;
    client_max_body_size 10m;               # the upload limit of .streamlit/config.toml

    gzip on;                                # pages and messages proxied from the replicas
    gzip_proxied any;
    gzip_vary on;
    gzip_min_length 1024;
    gzip_types text/css application/javascript text/javascript application/json image/svg+xml text/plain;

    map \$http_upgrade \$connection_upgrade { default upgrade; "" close; }
    # Sticky sessions: a user's cookie names their replica; a first request (no cookie) gets a random id.
    map \$cookie_mlm_explorer_route \$route { "" \$request_id; default \$cookie_mlm_explorer_route; }
    map \$cookie_mlm_explorer_route \$route_cookie {
        "" "mlm_explorer_route=\$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }
    upstream replicas {
        hash \$route consistent;
$UPSTREAMS    }

    server {
        listen 127.0.0.1:$PORT;
        location /static/ {
            alias $WORK/static/static/;
            gzip_static on;
            add_header Cache-Control "public, immutable, max-age=31536000";
        }
        location / {
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;     # /_stcore/stream is a WebSocket
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$http_host;           # with the port: Streamlit compares it with Origin
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_read_timeout 3600s;                   # fine-tuning pages stay connected for minutes
            add_header Set-Cookie \$route_cookie;       # empty (not sent) once the user has one
        }
    }
}
EOF

for ((i = 1; i <= REPLICAS; i++)); do
    until curl -sf "http://127.0.0.1:$((PORT + i))/_stcore/health" > /dev/null; do
        if ! kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null; then
            echo "replica $i (port $((PORT + i))) did not start:" >&2
            tail -20 "$WORK/replica-$i.log" >&2
            exit 1
        fi
        sleep 0.5
    done
done
"$NGINX" -e "$WORK/error.log" -p "$WORK" -c "$WORK/nginx.conf" -g "daemon off;" &
PIDS+=($!)
echo "MLM Explorer: $REPLICAS replicas (127.0.0.1:$((PORT + 1))-$((PORT + REPLICAS))) behind nginx on" \
     "http://127.0.0.1:$PORT — Ctrl-C stops them all. Logs: $WORK"
# Stop everything as soon as any one of them ends (a crashed replica is not silently left out).
wait -n
exit 1
