package main

import (
	"context"
	"fmt"
	"net"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway"
)

// grpcListener is the Envoy ext_authz gRPC listener (decision.grpc_listen).
// A nil *grpcListener is the listener turned off: every method does
// nothing, so serve needs no branch for it.
type grpcListener struct {
	ln  net.Listener
	srv *gateway.GRPCServer
}

// listenGRPC binds decision.grpc_listen; nil when it is "".
func listenGRPC(cfg *config.Config, gw *gateway.Gateway) (*grpcListener, error) {
	if cfg.Decision.GRPCListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Decision.GRPCListen)
	if err != nil {
		return nil, fmt.Errorf("decision.grpc_listen: %w", err)
	}
	return &grpcListener{ln: ln, srv: gw.GRPCServer()}, nil
}

// serve runs the server, sending its end to errc.
func (l *grpcListener) serve(errc chan<- error) {
	if l == nil {
		return
	}
	go func() { errc <- l.srv.Serve(l.ln) }()
}

// logAttrs are the "revgate listening" line's attributes for it: "grpc"
// and the bound address.
func (l *grpcListener) logAttrs() []any {
	if l == nil {
		return nil
	}
	return []any{"grpc", l.ln.Addr().String()}
}

// shutdown stops it gracefully (in-flight checks finish), at once when
// ctx ends first.
func (l *grpcListener) shutdown(ctx context.Context) error {
	if l == nil {
		return nil
	}
	return l.srv.Shutdown(ctx)
}
