#!/usr/bin/env bash
# bench/run.sh — revgate's performance harness, one command:
#
#   bench/run.sh [--duration 10s] [--connections 32] [--threads 2] [--repeats 3]
#                [--distinct 50000] [--latency-duration 10s] [--quick] [--keep]
#                [--revgate-env VAR=VALUE]... [--variant-env VAR=VALUE]...
#                [--rows ID,ID,...]
#
# --revgate-env sets an environment variable for every revgate instance
# (repeatable), e.g. --revgate-env GOGC=400 --revgate-env GOMEMLIMIT=256MiB.
# --variant-env adds a row "rs256-variant": revgate RS256 on Redis A with
# these variables (repeatable), interleaved with the others, so its ratio to
# the rs256 row comes from one run (GOGC / GOMEMLIMIT guidance, say).
# --rows keeps only the listed row ids (listed below; the latency phase
# runs for those of bare, none, rs256 and rs256-memory kept, and needs bare),
# e.g. --rows bare,rs256,rs256-variant.
#
# It builds revgate, a small upstream (bench/upstream) and a bare
# httputil.ReverseProxy (bench/bareproxy) into a temporary directory; mints
# keys and tokens (bench/mint; the distinct-token set is cached in
# bench/results/cache for 12h because RS256 signing costs ~1ms a token);
# starts three dedicated redis-servers on free loopback ports (never 6379;
# --save "" --appendonly no) and fills them through the revocation
# package's own Store (bench/load):
#
#   A: MARKS subject marks, 0 revoked jtis   (every algorithm row uses A)
#   B: MARKS subject marks, 100 000 revoked jtis
#   C: MARKS subject marks, 1 000 000 revoked jtis
#
# (MARKS = 100 000). Bench tokens carry subjects that have a mark, placed
# before their iat: every check reads a mark and rejects nothing. Then it
# drives each row with wrk (-t threads, -c connections, bounded duration,
# 127.0.0.1 only), the rows interleaved (each round rotates the order) and
# repeated, every request carrying a bearer token (bench/wrk/tokens.lua):
#
#   upstream        upstream direct
#   bare            bare httputil.ReverseProxy (the baseline of every ratio)
#   bare-pool       the same with a buffer pool, as revgate has
#   none            revgate auth: none
#   rs256 es256 eddsa hs256
#                   revgate per algorithm on Redis A, one token repeated
#   rs256-distinct  revgate RS256, every token distinct (--distinct tokens,
#                   consumed in order across runs: none repeats within that
#                   many requests)
#   rs256-memory    revgate RS256 on the memory store (what Redis costs)
#   rs256-access    revgate RS256 with the access log on (log.level info, to
#                   /dev/null; the other instances run at warn)
#   rs256-jti-mid rs256-jti-big
#                   revgate RS256 on Redis B and C
#   nginx           NGINX -> upstream, no auth (the baseline of decision mode)
#   nginx-authreq   NGINX + auth_request -> revgate's decision listener
#                   (RS256, Redis A, one token repeated) -> upstream
#   decision        revgate's /auth-request called directly (what NGINX's
#                   subrequest costs revgate), against the rs256 row: the
#                   same check without forwarding
#   grpc-check      the Envoy ext_authz gRPC Check alone (the same decision
#                   revgate's decision.grpc_listen), driven by bench/grpcload
#                   (closed loop, --connections calls in flight over
#                   --threads HTTP/2 connections), against the decision row
#
# The decision rows need a revgate whose serve starts decision.listen; the
# run probes the listener and, when it is not there, records the rows as
# not run, with the reason, instead of failing. NGINX ($NGINX, default
# /usr/sbin/nginx; nginx-light has auth_request) runs with a generated
# config on free loopback ports, daemon off, pid and error log in the
# results directory; without it the nginx rows are skipped the same way.
#
# then an open-loop latency phase (bench/loadgen) at half the bare proxy's
# median peak: bare proxy, revgate auth: none, revgate RS256 and revgate
# RS256 on the memory store (which splits what the Redis hop adds to the
# tail from the rest), interleaved. It also records
# Redis memory per subject mark and per revoked jti (INFO memory) and Redis
# commands per request during the RS256 row of every round (INFO
# commandstats on Redis A, which no other row uses meanwhile).
#
# Results go to bench/results/<UTC time>/ (results.jsonl, table.md, logs/),
# bench/results/latest points there, and the table is printed (bench/report).
# Defaults take about 12-13 minutes (plus 2 the first time, to mint);
# --quick (3s rows, one round, 15 000 distinct tokens, 10 000 / 100 000
# jtis and 10 000 marks) about 2. The distinct-token row only measures
# uncached verification while --distinct exceeds jwt.verify_cache_size
# (default 10 000); the report says when it does not.
#
# Needs: go, wrk, redis-server, redis-cli, curl, jq, ss. The decision rows
# also need nginx. The machine is shared
# and noisy: read ratios from one run, not absolute numbers across runs.
set -euo pipefail

DURATION=10s
WARMUP=1s
CONNECTIONS=32
THREADS=2
REPEATS=3
DISTINCT=50000
LAT_DURATION=10s
MARKS=100000
JTIS_MID=100000
JTIS_BIG=1000000
KEEP=0
REVGATE_ENV=()
VARIANT_ENV=()
ONLY_ROWS=""
NGINX=${NGINX:-/usr/sbin/nginx}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--duration) DURATION=$2; shift 2 ;;
	--connections) CONNECTIONS=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--repeats) REPEATS=$2; shift 2 ;;
	--distinct) DISTINCT=$2; shift 2 ;;
	--latency-duration) LAT_DURATION=$2; shift 2 ;;
	--quick)
		DURATION=3s LAT_DURATION=3s REPEATS=1 DISTINCT=15000 MARKS=10000 JTIS_MID=10000 JTIS_BIG=100000
		shift ;;
	--keep) KEEP=1; shift ;;
	--revgate-env) REVGATE_ENV+=("$2"); shift 2 ;;
	--variant-env) VARIANT_ENV+=("$2"); shift 2 ;;
	--rows) ONLY_ROWS=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

for tool in go wrk redis-server redis-cli curl jq ss; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found in PATH" >&2; exit 1; }
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$ROOT/bench/results/$STAMP"
LOGS="$OUT/logs"
mkdir -p "$LOGS"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
WORK=$(mktemp -d /tmp/revgate-bench.XXXXXX)
BIN="$WORK/bin"
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ $KEEP == 1 ]]; then
		echo "run.sh: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# record appends one JSON object (built by jq from name=value arguments) to
# results.jsonl.
param() { jq -cn --arg n "$1" --arg v "$2" '{kind:"param",name:$n,value:$v}' >>"$RESULTS"; }
# skip_row id label reason: a row that could not run here, with the reason
# (only when the row was asked for).
skip_row() {
	[[ -z $ONLY_ROWS || ,$ONLY_ROWS, == *,$1,* ]] || return 0
	log "row $1 not run: $3"
	jq -cn --arg id "$1" --arg l "$2" --arg r "$3" '{kind:"skip",id:$id,label:$l,reason:$r}' >>"$RESULTS"
}

# free_port sets PORT to a free 127.0.0.1 port, never 6379, never one this
# run already handed out, and below the kernel's ephemeral range, where the
# local end of an outgoing connection (wrk's, the loader's) could hold it.
USED_PORTS=" "
read -r EPHEMERAL_LOW _ </proc/sys/net/ipv4/ip_local_port_range
PORT_LOW=10000
((EPHEMERAL_LOW - PORT_LOW >= 2000)) || PORT_LOW=$((EPHEMERAL_LOW - 2000))
free_port() {
	local p
	while :; do
		p=$(((RANDOM << 15 | RANDOM) % (EPHEMERAL_LOW - PORT_LOW) + PORT_LOW))
		[[ $p == 6379 || $USED_PORTS == *" $p "* ]] && continue
		if [[ -z $(ss -Htan "sport = :$p") ]]; then
			USED_PORTS+="$p "
			PORT=$p
			return
		fi
	done
}

# wait_for CMD...: retry CMD for up to 15s.
wait_for() {
	local i
	for i in $(seq 150); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "run.sh: timed out waiting for: $*" >&2
	return 1
}

# wait_file FILE: wait until a helper wrote its bound address.
wait_file() { wait_for test -s "$1"; cat "$1"; }

# ---------------------------------------------------------------- build
log "building into $WORK"
go build -o "$BIN/revgate" ./cmd/revgate
go build -o "$BIN/upstream" ./bench/upstream
go build -o "$BIN/bareproxy" ./bench/bareproxy
go build -o "$BIN/mint" ./bench/mint
go build -o "$BIN/load" ./bench/load
go build -o "$BIN/loadgen" ./bench/loadgen
go build -o "$BIN/grpcload" ./bench/grpcload
go build -o "$BIN/report" ./bench/report

param duration "$DURATION"
param warmup "$WARMUP"
param connections "$CONNECTIONS"
param threads "$THREADS"
param repeats "$REPEATS"
param distinct_tokens "$DISTINCT"
param commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo +dirty)"
param go "$(go env GOVERSION)"
param redis "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
param cpus "$(nproc)"
param loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
param revgate_env "${REVGATE_ENV[*]:-none}"
[[ ${#VARIANT_ENV[@]} -gt 0 ]] && param variant_env "${VARIANT_ENV[*]}"

# ---------------------------------------------------------------- keys, tokens
KEYS="$ROOT/bench/results/cache/tokens-$DISTINCT"
log "minting keys and tokens ($DISTINCT distinct RS256) in $KEYS"
"$BIN/mint" -dir "$KEYS" -distinct "$DISTINCT" >&2
OLDEST_IAT=$(jq -r .oldest_iat "$KEYS/meta.json")
MARK_UNIX=$((OLDEST_IAT - 60))

# ---------------------------------------------------------------- redis
declare -A REDIS_PORT REDIS_PID
start_redis() { # name
	local name=$1 dir="$WORK/redis-$1"
	mkdir -p "$dir"
	free_port
	REDIS_PORT[$name]=$PORT
	redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
		--maxmemory-policy noeviction --dir "$dir" --logfile "$LOGS/redis-$name.log" --daemonize no &
	PIDS+=($!)
	REDIS_PID[$name]=$!
	wait_for redis-cli -p "$PORT" ping
}
load_redis() { # name marks jtis label
	local name=$1 marks=$2 jtis=$3 label=$4 extra=()
	[[ $jtis -gt 0 ]] && extra=(-revoke "$(jq -r .revoked_jti "$KEYS/meta.json")")
	log "loading redis $name: $marks marks, $jtis revoked jtis"
	"$BIN/load" -addr "127.0.0.1:${REDIS_PORT[$name]}" -marks "$marks" -mark-unix "$MARK_UNIX" -jtis "$jtis" "${extra[@]}" \
		| jq -c --arg l "$label" '{kind:"memory",label:$l,load:.}' >>"$RESULTS"
}
for r in A B C; do start_redis $r; done
load_redis A "$MARKS" 0 "redis A"
load_redis B "$MARKS" "$JTIS_MID" "redis B"
load_redis C "$MARKS" "$JTIS_BIG" "redis C"

# ---------------------------------------------------------------- servers
"$BIN/upstream" -listen 127.0.0.1:0 -addr-file "$WORK/upstream.addr" 2>"$LOGS/upstream.log" &
PIDS+=($!)
UPSTREAM_PID=$!
UPSTREAM=$(wait_file "$WORK/upstream.addr")
"$BIN/bareproxy" -listen 127.0.0.1:0 -upstream "http://$UPSTREAM" -addr-file "$WORK/bareproxy.addr" 2>"$LOGS/bareproxy.log" &
PIDS+=($!)
BARE_PID=$!
BARE=$(wait_file "$WORK/bareproxy.addr")
"$BIN/bareproxy" -buffer-pool -listen 127.0.0.1:0 -upstream "http://$UPSTREAM" -addr-file "$WORK/bareproxy-pool.addr" 2>"$LOGS/bareproxy-pool.log" &
PIDS+=($!)
BARE_POOL_PID=$!
BARE_POOL=$(wait_file "$WORK/bareproxy-pool.addr")

declare -A GW_ADDR GW_PID GW_ADMIN GW_REDIS
# start_revgate name alg store(A|B|C|memory) auth(required|none) [log level] [VAR=VALUE...]
# Instances log at warn (no access log) unless given a level; an instance at
# info writes its access log to /dev/null, not to a file this run would
# fill with gigabytes.
start_revgate() {
	local name=$1 alg=$2 store=$3 auth=$4 level=${5:-warn} cfg="$WORK/$1.yaml" keycfg routes="" storecfg logfile
	local extra_env=("${@:6}")
	free_port; local listen=$PORT
	free_port; local admin=$PORT
	case $alg in
	HS256) keycfg="hmac_secret_file: \"$KEYS/hs256.secret\"" ;;
	*) keycfg="jwks_file: \"$KEYS/$(tr '[:upper:]' '[:lower:]' <<<"$alg").jwks.json\"" ;;
	esac
	[[ $auth == none ]] && routes=$'routes:\n  - prefix: "/"\n    auth: none'
	if [[ $store == memory ]]; then
		storecfg='store: memory'
	else
		storecfg=$'store: redis\n  redis:\n    url: "redis://127.0.0.1:'"${REDIS_PORT[$store]}"'/0"'
	fi
	cat >"$cfg" <<-EOF
		listen: "127.0.0.1:$listen"
		upstream:
		  url: "http://$UPSTREAM"
		  timeout: 10s
		$routes
		jwt:
		  $keycfg
		  algorithms: ["$alg"]
		  issuer: "$(jq -r .issuer "$KEYS/meta.json")"
		  audience: "$(jq -r .audience "$KEYS/meta.json")"
		revocation:
		  $storecfg
		  max_token_lifetime: 24h
		admin:
		  listen: "127.0.0.1:$admin"
		  tokens:
		    - name: bench
		      token: "bench-admin-token-0123456789"
		log:
		  level: $level
	EOF
	logfile="$LOGS/revgate-$name.log"
	[[ $level == warn ]] || logfile=/dev/null
	env "${REVGATE_ENV[@]}" "${extra_env[@]}" "$BIN/revgate" serve --config "$cfg" >"$logfile" 2>&1 &
	PIDS+=($!)
	GW_PID[$name]=$!
	GW_ADMIN[$name]="127.0.0.1:$admin"
	GW_REDIS[$name]=$store
	if ! wait_for curl -sf "http://127.0.0.1:$admin/readyz"; then
		echo "run.sh: revgate $name did not become ready; its log:" >&2
		cat "$logfile" >&2
		exit 1
	fi
	GW_ADDR[$name]="127.0.0.1:$listen"
}
log "starting revgate instances"
start_revgate none RS256 A none
start_revgate rs256 RS256 A required
start_revgate es256 ES256 A required
start_revgate eddsa EdDSA A required
start_revgate hs256 HS256 A required
start_revgate rs256-memory RS256 memory required
start_revgate rs256-access RS256 A required info
start_revgate rs256-b RS256 B required
start_revgate rs256-c RS256 C required
[[ ${#VARIANT_ENV[@]} -gt 0 ]] && start_revgate rs256-variant RS256 A required warn "${VARIANT_ENV[@]}"
param verify_cache_size "$("$BIN/revgate" config check --config "$WORK/rs256.yaml" 2>/dev/null | sed -n 's/^ *verify_cache_size: *//p')"

# ---------------------------------------------------------------- decision mode
# One revgate in decision mode only (no upstream): RS256 on Redis A, like
# the rs256 row. listen is set to a loopback port anyway, so a serve that
# ignored decision.listen would not bind :8080 on every interface.
DECISION_SKIP="" GRPC_SKIP="" DECISION="" DECISION_PID="" DECISION_GRPC=""
ORIG_HEADERS=$'X-Original-Method: GET\nX-Original-URI: '"/api/orders/42"
start_decision() {
	local cfg="$WORK/decision.yaml" logfile="$LOGS/revgate-decision.log" grpccfg=""
	free_port; local listen=$PORT
	free_port; local dec=$PORT
	free_port; local grpc=$PORT
	free_port; local admin=$PORT
	write_cfg() {
		cat >"$cfg" <<-EOF
			listen: "127.0.0.1:$listen"
			decision:
			  listen: "127.0.0.1:$dec"
			  $grpccfg
			jwt:
			  jwks_file: "$KEYS/rs256.jwks.json"
			  algorithms: ["RS256"]
			  issuer: "$(jq -r .issuer "$KEYS/meta.json")"
			  audience: "$(jq -r .audience "$KEYS/meta.json")"
			revocation:
			  store: redis
			  redis:
			    url: "redis://127.0.0.1:${REDIS_PORT[A]}/0"
			  max_token_lifetime: 24h
			admin:
			  listen: "127.0.0.1:$admin"
			  tokens:
			    - name: bench
			      token: "bench-admin-token-0123456789"
			log:
			  level: warn
		EOF
	}
	grpccfg="grpc_listen: \"127.0.0.1:$grpc\""
	write_cfg
	if ! "$BIN/revgate" config check --config "$cfg" >"$LOGS/config-check-decision.log" 2>&1; then
		GRPC_SKIP="this revgate's config check refuses decision.grpc_listen (no gRPC ext_authz support)"
		grpccfg=""
		write_cfg
		if ! "$BIN/revgate" config check --config "$cfg" >"$LOGS/config-check-decision.log" 2>&1; then
			DECISION_SKIP="this revgate's config check refuses decision.listen without upstream.url (see logs/config-check-decision.log)"
			return
		fi
	fi
	env "${REVGATE_ENV[@]}" "$BIN/revgate" serve --config "$cfg" >"$logfile" 2>&1 &
	PIDS+=($!)
	DECISION_PID=$!
	local i code=000
	for i in $(seq 150); do
		kill -0 "$DECISION_PID" 2>/dev/null || break
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$ONE")" \
			-H "X-Original-Method: GET" -H "X-Original-URI: /api/orders/42" "http://127.0.0.1:$dec/auth-request" || true)
		[[ $code == 000 ]] || break
		sleep 0.1
	done
	if [[ $code != 200 ]]; then
		if ! kill -0 "$DECISION_PID" 2>/dev/null; then
			DECISION_SKIP="revgate serve exited with decision.listen and no upstream.url (its log: logs/revgate-decision.log)"
		elif [[ $code == 000 ]]; then
			DECISION_SKIP="revgate serve does not listen on decision.listen on this commit (nothing on 127.0.0.1:$dec after 15s)"
		else
			DECISION_SKIP="revgate's /auth-request answered $code to a valid token, not 200"
		fi
		kill "$DECISION_PID" 2>/dev/null || true
		DECISION_PID=""
		GRPC_SKIP=${GRPC_SKIP:-"no decision listener to go with it"}
		return
	fi
	DECISION="127.0.0.1:$dec"
	GW_ADMIN[decision]="127.0.0.1:$admin"
	if [[ -z $GRPC_SKIP ]]; then
		if [[ -n $(ss -Htln "sport = :$grpc") ]]; then
			DECISION_GRPC="127.0.0.1:$grpc"
		else
			GRPC_SKIP="revgate serve does not start decision.grpc_listen on this commit (config check accepts the key, nothing listens)"
		fi
	fi
}
ONE="$KEYS/token-rs256.txt"
log "starting revgate in decision mode"
start_decision

# NGINX: one process, two servers on free loopback ports: nginx -> upstream,
# and nginx + auth_request -> revgate decision -> upstream (as
# examples/decision/nginx.conf.tmpl on the decision branch). Keep-alive to
# both the upstream and revgate, as a production config would.
NGINX_SKIP="" NGINX_PID="" NGINX_ADDR="" NGINX_AUTH_ADDR=""
start_nginx() {
	local dir="$OUT/nginx" conf authserver=""
	if [[ ! -x $NGINX ]]; then
		NGINX_SKIP="$NGINX not found (apt-get install nginx-light, or set NGINX)"
		return
	fi
	mkdir -p "$dir/tmp"
	free_port; NGINX_ADDR="127.0.0.1:$PORT"
	free_port; NGINX_AUTH_ADDR="127.0.0.1:$PORT"
	if [[ -n $DECISION ]]; then
		authserver=$(cat <<-EOF
			upstream revgate_decision {
			    server $DECISION;
			    keepalive 64;
			}
			server {
			    listen $NGINX_AUTH_ADDR;
			    auth_request /_revgate;
			    auth_request_set \$revgate_subject \$upstream_http_x_revgate_subject;
			    location = /_revgate {
			        internal;
			        proxy_pass http://revgate_decision/auth-request;
			        proxy_http_version 1.1;
			        proxy_set_header Connection "";
			        proxy_set_header X-Original-Method \$request_method;
			        proxy_set_header X-Original-URI \$request_uri;
			        proxy_pass_request_body off;
			        proxy_set_header Content-Length "";
			    }
			    location / {
			        proxy_pass http://app;
			        proxy_http_version 1.1;
			        proxy_set_header Connection "";
			        proxy_set_header X-Revgate-Subject \$revgate_subject;
			    }
			}
		EOF
		)
	fi
	conf="$dir/nginx.conf"
	cat >"$conf" <<-EOF
		daemon off;
		worker_processes auto;
		pid $dir/nginx.pid;
		error_log $LOGS/nginx-error.log warn;
		events { worker_connections 1024; }
		http {
		    access_log off;
		    client_body_temp_path $dir/tmp/body;
		    proxy_temp_path $dir/tmp/proxy;
		    fastcgi_temp_path $dir/tmp/fastcgi;
		    uwsgi_temp_path $dir/tmp/uwsgi;
		    scgi_temp_path $dir/tmp/scgi;
		    upstream app {
		        server $UPSTREAM;
		        keepalive 64;
		    }
		    server {
		        listen $NGINX_ADDR;
		        location / {
		            proxy_pass http://app;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		$authserver
		}
	EOF
	if ! "$NGINX" -t -p "$dir" -c "$conf" >"$LOGS/nginx-t.log" 2>&1; then
		NGINX_SKIP="nginx -t refused the generated config (logs/nginx-t.log)"
		return
	fi
	"$NGINX" -p "$dir" -c "$conf" >"$LOGS/nginx.log" 2>&1 &
	PIDS+=($!)
	NGINX_PID=$!
	wait_for curl -sf "http://$NGINX_ADDR/" || { NGINX_SKIP="nginx did not answer (logs/nginx-error.log)"; NGINX_PID=""; }
}
log "starting nginx"
start_nginx
# CPU of a row through NGINX counts its workers too.
NGINX_PIDS=""
[[ -n $NGINX_PID ]] && NGINX_PIDS="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"
[[ -n $NGINX_PID ]] && param nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"

# ---------------------------------------------------------------- rows
PATH_="/api/orders/42"
ROWS=()
# DRIVER[id] is wrk (HTTP) or grpc (bench/grpcload; URL is then host:port).
declare -A LABEL URL TOKENS OFFSET ROW_PID ROW_REDIS_PID HEADERS DRIVER
row() { # id label addr tokenfile pid(s) [redis name]
	ROWS+=("$1")
	LABEL[$1]=$2
	URL[$1]="http://$3$PATH_"
	HEADERS[$1]=""
	DRIVER[$1]=wrk
	TOKENS[$1]=$4
	OFFSET[$1]=0
	ROW_PID[$1]=$5
	ROW_REDIS_PID[$1]=${REDIS_PID[${6:-none}]:-}
	jq -cn --arg id "$1" --arg l "$2" '{kind:"row",id:$id,label:$l}' >>"$RESULTS"
}
fmt_n() { sed ':a;s/\B[0-9]\{3\}\>/ &/;ta' <<<"$1"; }
gw_row() { # id label instance tokenfile
	row "$1" "$2" "${GW_ADDR[$3]}" "$4" "${GW_PID[$3]}" "${GW_REDIS[$3]}"
}
row upstream "upstream direct" "$UPSTREAM" "$ONE" "$UPSTREAM_PID"
row bare "bare httputil.ReverseProxy" "$BARE" "$ONE" "$BARE_PID"
row bare-pool "bare proxy + buffer pool" "$BARE_POOL" "$ONE" "$BARE_POOL_PID"
gw_row none "revgate auth: none" none "$ONE"
gw_row rs256 "revgate RS256 (redis A: 0 jtis)" rs256 "$ONE"
gw_row es256 "revgate ES256" es256 "$KEYS/token-es256.txt"
gw_row eddsa "revgate EdDSA" eddsa "$KEYS/token-eddsa.txt"
gw_row hs256 "revgate HS256" hs256 "$KEYS/token-hs256.txt"
gw_row rs256-distinct "revgate RS256, every token distinct" rs256 "$KEYS/tokens-rs256-distinct.txt"
gw_row rs256-memory "revgate RS256, memory store" rs256-memory "$ONE"
gw_row rs256-access "revgate RS256, access log on" rs256-access "$ONE"
gw_row rs256-jti-mid "revgate RS256 (redis B: $(fmt_n "$JTIS_MID") jtis)" rs256-b "$ONE"
gw_row rs256-jti-big "revgate RS256 (redis C: $(fmt_n "$JTIS_BIG") jtis)" rs256-c "$ONE"

if [[ -n $NGINX_SKIP ]]; then
	skip_row nginx "NGINX → upstream" "$NGINX_SKIP"
else
	row nginx "NGINX → upstream" "$NGINX_ADDR" "$ONE" "$NGINX_PIDS"
fi
if [[ -n $DECISION_SKIP ]]; then
	skip_row nginx-authreq "NGINX + auth_request → revgate RS256 → upstream" "$DECISION_SKIP"
	skip_row decision "revgate decision /auth-request alone (RS256)" "$DECISION_SKIP"
else
	if [[ -n $NGINX_SKIP ]]; then
		skip_row nginx-authreq "NGINX + auth_request → revgate RS256 → upstream" "$NGINX_SKIP"
	else
		row nginx-authreq "NGINX + auth_request → revgate RS256 → upstream" "$NGINX_AUTH_ADDR" "$ONE" "$NGINX_PIDS $DECISION_PID" A
	fi
	row decision "revgate decision /auth-request alone (RS256)" "$DECISION" "$ONE" "$DECISION_PID" A
	URL[decision]="http://$DECISION/auth-request"
	HEADERS[decision]=$ORIG_HEADERS
fi
if [[ -n $GRPC_SKIP ]]; then
	skip_row grpc-check "revgate gRPC ext_authz Check alone (RS256)" "$GRPC_SKIP"
else
	row grpc-check "revgate gRPC ext_authz Check alone (RS256)" "$DECISION_GRPC" "$ONE" "$DECISION_PID" A
	URL[grpc-check]=$DECISION_GRPC
	DRIVER[grpc-check]=grpc
fi

if [[ ${#VARIANT_ENV[@]} -gt 0 ]]; then
	gw_row rs256-variant "revgate RS256 with ${VARIANT_ENV[*]}" rs256-variant "$ONE"
fi
if [[ -n $ONLY_ROWS ]]; then
	kept=()
	for id in "${ROWS[@]}"; do
		[[ ,$ONLY_ROWS, == *,$id,* ]] && kept+=("$id")
	done
	[[ ${#kept[@]} -gt 0 ]] || { echo "run.sh: --rows $ONLY_ROWS matches no row that can run (ids: ${ROWS[*]})" >&2; exit 2; }
	ROWS=("${kept[@]}")
fi

# Sanity: every row answers 200 to its token, and redis C rejects the
# revoked one (the loader's layout is the gateway's).
for id in "${ROWS[@]}"; do
	if [[ ${DRIVER[$id]} == grpc ]]; then
		# A short run: every Check of the bench token answers OK.
		out=$("$BIN/grpcload" -addr "${URL[$id]}" -token-file "${TOKENS[$id]}" -concurrency 1 -duration 200ms 2>>"$LOGS/grpcload-$id.log") || true
		jq -e '.requests > 0 and .errors_status + .errors_read + .errors_timeout == 0' <<<"$out" >/dev/null 2>&1 \
			|| { echo "run.sh: row $id: Check did not answer OK: $out" >&2; exit 1; }
		continue
	fi
	extra=()
	while IFS= read -r h; do [[ -n $h ]] && extra+=(-H "$h"); done <<<"${HEADERS[$id]}"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(head -1 "${TOKENS[$id]}")" "${extra[@]}" "${URL[$id]}")
	[[ $code == 200 ]] || { echo "run.sh: row $id answered $code, not 200; see $LOGS" >&2; exit 1; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$KEYS/token-rs256-revoked.txt")" "http://${GW_ADDR[rs256-c]}$PATH_")
[[ $code == 401 ]] || { echo "run.sh: a revoked token answered $code on redis C, not 401" >&2; exit 1; }

# run_wrk id duration: one wrk run of a row (bench/grpcload for a gRPC
# row); sets WRK_JSON to its WRKJSON object and advances the row's token
# offset.
run_wrk() {
	local id=$1 d=$2 out json
	if [[ ${DRIVER[$id]} == grpc ]]; then
		out=$("$BIN/grpcload" -addr "${URL[$id]}" -token-file "${TOKENS[$id]}" -concurrency "$CONNECTIONS" \
			-conns "$THREADS" -duration "$d" -timeout 2s 2>>"$LOGS/grpcload-$id.log") || true
		echo "$out" >>"$LOGS/grpcload-$id.log"
		if ! WRK_JSON=$(jq -ce 'select(.requests != null)' <<<"$out" 2>/dev/null); then
			echo "run.sh: grpcload failed on row $id:" >&2
			echo "$out" >&2
			exit 1
		fi
		return
	fi
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$d" --timeout 2s -s bench/wrk/tokens.lua "${URL[$id]}" \
		-- "${TOKENS[$id]}" "${OFFSET[$id]}" "$THREADS" "${HEADERS[$id]}" 2>&1) || true
	echo "$out" >>"$LOGS/wrk-$id.log"
	json=$(sed -n 's/^WRKJSON //p' <<<"$out")
	if [[ -z $json ]]; then
		echo "run.sh: wrk failed on row $id:" >&2
		echo "$out" >&2
		exit 1
	fi
	OFFSET[$id]=$((OFFSET[$id] + $(jq .requests <<<"$json")))
	WRK_JSON=$json
}

# cpu_ticks PID: user+system CPU time of a process so far, in clock ticks.
CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID...: the same, summed over several processes (NGINX's
# workers and revgate for the nginx-authreq row); 0 for none.
cpu_ticks() {
	local pid total=0 t
	for pid in "$@"; do
		t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
		total=$((total + t))
	done
	echo "$total"
}

cmdstats() { # port: "name calls" lines
	redis-cli -p "$1" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1 \2/p'
}

NROWS=${#ROWS[@]}
log "throughput: $NROWS rows x $REPEATS rounds, ${DURATION} each (+${WARMUP} warmup), c=$CONNECTIONS t=$THREADS"
for ((rep = 1; rep <= REPEATS; rep++)); do
	for ((k = 0; k < NROWS; k++)); do
		id=${ROWS[(((rep - 1) * 3 + k) % NROWS)]}
		run_wrk "$id" "$WARMUP"
		before=""
		[[ $id == rs256 ]] && before=$(cmdstats "${REDIS_PORT[A]}")
		# shellcheck disable=SC2086 # ROW_PID may list several pids
		cpu0=$(cpu_ticks ${ROW_PID[$id]}) rcpu0=$(cpu_ticks ${ROW_REDIS_PID[$id]})
		run_wrk "$id" "$DURATION"
		# shellcheck disable=SC2086
		cpu1=$(cpu_ticks ${ROW_PID[$id]}) rcpu1=$(cpu_ticks ${ROW_REDIS_PID[$id]})
		jq -c --arg id "$id" --argjson r "$rep" --argjson cpu "$(((cpu1 - cpu0) * 1000 / CLK_TCK))" \
			--argjson rcpu "$(((rcpu1 - rcpu0) * 1000 / CLK_TCK))" \
			'{kind:"wrk",id:$id,repeat:$r,wrk:.,server_cpu_ms:$cpu,redis_cpu_ms:$rcpu}' <<<"$WRK_JSON" >>"$RESULTS"
		if [[ -n $before ]]; then
			after=$(cmdstats "${REDIS_PORT[A]}")
			LC_ALL=C join -a2 -e0 -o 0,1.2,2.2 <(LC_ALL=C sort <<<"$before") <(LC_ALL=C sort <<<"$after") \
				| jq -cRn --arg id "$id" --argjson r "$rep" --argjson n "$(jq .requests <<<"$WRK_JSON")" \
					'{kind:"cmdstats",id:$id,repeat:$r,requests:$n,
					  calls:([inputs | split(" ") | {(.[0]): ((.[2]|tonumber) - (.[1]|tonumber))}] | add)}' >>"$RESULTS"
		fi
		log "round $rep/$REPEATS $(printf '%-16s' "$id") $(jq -r '"\(.requests / (.duration_us/1e6) | floor) req/s  p50 \(.p50_us)us  p99 \(.p99_us)us  non-2xx \(.errors_status)"' <<<"$WRK_JSON")"
	done
done

# ---------------------------------------------------------------- latency
LAT_ROWS=()
for id in bare none rs256 rs256-memory; do
	[[ " ${ROWS[*]} " == *" $id "* ]] && LAT_ROWS+=("$id")
done
if [[ " ${LAT_ROWS[*]} " != *" bare "* ]]; then
	LAT_ROWS=()
	log "latency: skipped (needs the bare row)"
fi
[[ ${#LAT_ROWS[@]} -gt 0 ]] && BARE_PEAK=$(jq -s '[.[] | select(.kind=="wrk" and .id=="bare") | .wrk.requests / (.wrk.duration_us/1e6)] | sort
	| if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end' "$RESULTS")
RATE=$(jq -n --argjson p "${BARE_PEAK:-0}" '$p / 2 | floor')
[[ ${#LAT_ROWS[@]} -gt 0 ]] && param latency_rate "$RATE" && log "latency: open loop at $RATE req/s (half the bare proxy's median peak), ${LAT_DURATION} each"
for ((rep = 1; rep <= REPEATS && ${#LAT_ROWS[@]} > 0; rep++)); do
	for id in "${LAT_ROWS[@]}"; do
		"$BIN/loadgen" -url "${URL[$id]}" -rate "$RATE" -duration "$LAT_DURATION" -warmup "$WARMUP" \
			-connections "$CONNECTIONS" -token-file "$ONE" \
			| jq -c --arg id "$id" --argjson r "$rep" '{kind:"latency",id:$id,repeat:$r,loadgen:.}' | tee -a "$RESULTS" \
			| jq -r '"round \(.repeat) \(.id): p50 \(.loadgen.p50_us)us p99 \(.loadgen.p99_us)us late \(.loadgen.late)"' >&2
	done
done
param loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
for name in "${!GW_ADMIN[@]}"; do
	curl -s "http://${GW_ADMIN[$name]}/metrics" >"$LOGS/metrics-$name.txt" || true
done

# ---------------------------------------------------------------- report
"$BIN/report" "$RESULTS" | tee "$OUT/table.md"
ln -sfn "$STAMP" "$ROOT/bench/results/latest"
log "results in $OUT"
