// Package tests checks the revgate Helm chart (charts/revgate), its worked
// sidecar example (charts/examples/orders-app) and the repository's
// Dockerfile. It is a module of its own so the Kubernetes API packages it
// decodes manifests with never enter the gateway's go.mod.
//
// Run from this directory:
//
//	go vet ./... && go test -race ./...
//
// The tests need helm (on PATH, in $HELM or in $(go env GOPATH)/bin; install
// with `go install helm.sh/helm/v3/cmd/helm@v3.22.0`) and build revgate from
// ../../cmd/revgate with the Dockerfile's own `go build` line.
package tests
