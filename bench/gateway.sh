# What bench/instructions.sh and bench/kernel.sh share (source it once `work` names a temporary directory):
# a Redis holding the benchmark's key, a gateway in front of it, each on a free port, and wrk's header script.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_redis [command prefix…]: a Redis without persistence on $redis_port, the key `k` holding 100 bytes;
# `work/get.lua` sends the benchmark's token.
start_redis() {
    redis_port=$(free_port)
    "$@" redis-server --port "$redis_port" --save "" --appendonly no --daemonize yes --dir "$work" \
        --logfile "$work/redis.log"
    until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done
    redis-cli -p "$redis_port" set k "$(printf 'v%.0s' $(seq 100))" >/dev/null
    echo 'wrk.headers["Authorization"] = "Bearer bench-token"' > "$work/get.lua"
}

# start_gateway BINARY [command prefix…]: the gateway (one worker) in front of that Redis on $port, its pid in
# $gateway, once it answers a GET.
start_gateway() {
    local bin=$1
    shift
    port=$(free_port)
    "$@" "$bin" --listen "127.0.0.1:$port" --redis-url "redis://127.0.0.1:$redis_port" --token bench-token \
        --workers 1 2>/dev/null &
    gateway=$!
    until curl -sf -o /dev/null -H 'Authorization: Bearer bench-token' "http://127.0.0.1:$port/get/k"; do
        sleep 0.1
    done
}
