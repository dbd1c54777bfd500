package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// healthWatchInterval is how often a health Watch stream reads readiness
// again to report a change.
const healthWatchInterval = 5 * time.Second

// GRPCServer is the decision.grpc_listen server: Envoy's ext_authz
// Authorization service and the standard gRPC health service
// (grpc.health.v1), in plaintext HTTP/2; TLS to it is the mesh's job. Like
// the HTTP decision listener it must not be reachable by clients.
type GRPCServer struct {
	srv *grpc.Server
	// stopping is closed by Shutdown: open health Watch streams end, so a
	// graceful stop does not wait on them.
	stopping chan struct{}
	stopOnce sync.Once
}

// GRPCServer builds the gRPC decision server.
func (g *Gateway) GRPCServer() *GRPCServer {
	s := &GRPCServer{stopping: make(chan struct{})}
	s.srv = grpc.NewServer(
		// Envoy's gRPC clients may be configured to ping idle
		// connections; grpc-go's default (one ping per 5 minutes) would
		// answer a shorter interval with GOAWAY too_many_pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// grpc-go, unlike net/http, does not recover a handler's panic:
		// one bad request would take every gateway replica's decisions
		// down with it.
		grpc.ChainUnaryInterceptor(recoverUnary(g.log)),
		grpc.ChainStreamInterceptor(recoverStream(g.log)),
	)
	authv3.RegisterAuthorizationServer(s.srv, extAuthz{g: g})
	healthpb.RegisterHealthServer(s.srv, &healthService{g: g, stopping: s.stopping, interval: healthWatchInterval})
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *GRPCServer) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown ends health Watch streams, lets in-flight checks finish, and
// stops at once when ctx ends first, returning ctx's error (as
// http.Server.Shutdown does).
func (s *GRPCServer) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.srv.Stop()
		<-done
		return ctx.Err()
	}
}

// healthService reports the gateway's readiness, the judgement /readyz
// makes (keys loaded, store answering, not draining), for the whole
// server ("") and for the Authorization service; Kubernetes gRPC probes
// and Envoy's gRPC health checks call Check.
type healthService struct {
	healthpb.UnimplementedHealthServer
	g        *Gateway
	stopping <-chan struct{}
	interval time.Duration
}

// healthServices are the names the health service knows.
var healthServices = []string{"", authv3.Authorization_ServiceDesc.ServiceName}

func (h *healthService) known(service string) bool {
	return slices.Contains(healthServices, service)
}

func (h *healthService) status(ctx context.Context) healthpb.HealthCheckResponse_ServingStatus {
	select {
	case <-h.stopping:
		return healthpb.HealthCheckResponse_NOT_SERVING
	default:
	}
	if _, ready := h.g.readiness(ctx); ready {
		return healthpb.HealthCheckResponse_SERVING
	}
	return healthpb.HealthCheckResponse_NOT_SERVING
}

func (h *healthService) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if !h.known(req.GetService()) {
		return nil, status.Error(codes.NotFound, "unknown service")
	}
	return &healthpb.HealthCheckResponse{Status: h.status(ctx)}, nil
}

func (h *healthService) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	st := h.status(ctx)
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	for _, s := range healthServices {
		out.Statuses[s] = &healthpb.HealthCheckResponse{Status: st}
	}
	return out, nil
}

// Watch sends the status at once and then whenever it changes, reading
// readiness every interval. An unknown service is SERVICE_UNKNOWN and the
// stream stays open, as the protocol asks. On Shutdown a known service
// is reported NOT_SERVING and the stream ends UNAVAILABLE, which clients
// retry elsewhere.
func (h *healthService) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	ctx := stream.Context()
	known := h.known(req.GetService())
	t := time.NewTicker(h.interval)
	defer t.Stop()
	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	for {
		st := healthpb.HealthCheckResponse_SERVICE_UNKNOWN
		if known {
			st = h.status(ctx)
		}
		if st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-h.stopping:
			if known && last != healthpb.HealthCheckResponse_NOT_SERVING {
				_ = stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING})
			}
			return status.Error(codes.Unavailable, "server shutting down")
		case <-t.C:
		}
	}
}

// errPanicked answers a call whose handler panicked. Internal is an error
// to Envoy, so the request is denied unless the operator chose
// failure_mode_allow: closed, like every other failure.
var errPanicked = status.Error(codes.Internal, "internal error")

// recoverUnary turns a unary handler's panic into errPanicked and one
// error log line with the stack (never the request: it holds the token).
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				logPanic(log, info.FullMethod, p)
				resp, err = nil, errPanicked
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream does the same for streaming handlers (health Watch).
func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				logPanic(log, info.FullMethod, p)
				err = errPanicked
			}
		}()
		return handler(srv, ss)
	}
}

// logPanic logs where a handler panicked. The panic value is logged only
// when it is a runtime error (nil dereference, index out of range), whose
// text the runtime wrote; any other value is named by its type alone, as it
// may hold request data, and so a token.
func logPanic(log *slog.Logger, method string, p any) {
	what := fmt.Sprintf("%T", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	log.Error("grpc handler panicked; call answered with Internal",
		slog.String("method", method), slog.String("panic", what), slog.String("stack", string(debug.Stack())))
}
