#!/usr/bin/env bash
# test.sh — revgate's whole test suite, on a fresh machine, in one command.
#
# It installs what the tests start and is missing, then runs every test:
#   - redis-server and redis-sentinel (Debian packages redis-server,
#     redis-sentinel): the store tests start their own servers, Sentinels
#     and Clusters on free loopback ports, never 6379;
#   - nginx (Debian package nginx-light) and caddy (caddy): the decision
#     mode tests run the real proxies with examples/decision's configs;
#   - Django and djangorestframework-simplejwt (python3-django,
#     python3-djangorestframework-simplejwt), for the end-to-end test
#     against a real simplejwt issuer;
#   - Apache httpd with mod_auth_openidc (Debian packages apache2,
#     libapache2-mod-auth-openidc), the real RFC 7662 client the
#     introspection test starts on a free loopback port;
#   - Chromium (Debian package chromium), the headless browser the admin
#     console's tests drive through chromedp;
#   - helm v3.22.0, built from the Go module proxy once and cached in
#     $(go env GOPATH)/bin, for the chart checks;
#   - Ory Hydra v2.3.0, unmodified, built once from the Go module proxy
#     into $(go env GOPATH)/bin/hydra with the pinned module in
#     examples/hydra/build (its go.sum is committed, so nothing is looked
#     up in the checksum database), for the back-channel logout test.
#     Hydra keeps its in-memory database in SQLite, so the build needs cgo
#     and a C compiler (Debian package gcc).
# Packages come from apt, so installing needs Debian or Ubuntu and root (or
# sudo). On another system install the same tools yourself first; the
# script then finds them and installs nothing. Go 1.26 is assumed.
#
# Usage: ./test.sh [go test flags...], e.g. ./test.sh -run TestDemo -v
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
# Debian installs nginx in /usr/sbin, which a non-root PATH may lack.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
# The simplejwt test runs Debian's python3, whatever else is on PATH.
/usr/bin/python3 -c 'import django, rest_framework_simplejwt' >/dev/null 2>&1 ||
  missing+=(python3-django python3-djangorestframework-simplejwt)
[ -x /usr/sbin/apache2 ] || missing+=(apache2)
[ -f /usr/lib/apache2/modules/mod_auth_openidc.so ] || missing+=(libapache2-mod-auth-openidc)
# Hydra is built with cgo (SQLite): a C compiler, when it is to be built.
command -v hydra >/dev/null 2>&1 || [ -x "$(go env GOPATH)/bin/hydra" ] ||
  command -v "$(go env CC)" >/dev/null 2>&1 || missing+=(gcc)
# The console's browser tests run Debian's Chromium at /usr/bin/chromium.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: missing ${missing[*]} and no apt-get to install them; install them and run again" >&2
    exit 1
  fi
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export PATH="$PATH:$(go env GOPATH)/bin"
if ! command -v helm >/dev/null 2>&1; then
  echo "building helm v3.22.0 (once; cached in $(go env GOPATH)/bin)"
  go install helm.sh/helm/v3/cmd/helm@v3.22.0
fi
if ! command -v hydra >/dev/null 2>&1; then
  echo "building Ory Hydra v2.3.0 (once, a few minutes; cached in $(go env GOPATH)/bin)"
  mkdir -p "$(go env GOPATH)/bin"
  (cd examples/hydra/build &&
    CGO_ENABLED=1 go build -buildvcs=false -tags sqlite,sqlite_omit_load_extension \
      -ldflags "-X github.com/ory/hydra/v2/driver/config.Version=v2.3.0" \
      -o "$(go env GOPATH)/bin/hydra" github.com/ory/hydra/v2)
fi

# The gateway module, then the chart checks (a module of their own, so
# Kubernetes types stay out of the gateway's).
go test -race "$@" ./...
(cd charts/tests && go test -race "$@" ./...)
