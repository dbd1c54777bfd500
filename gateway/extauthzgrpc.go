package gateway

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
)

// headerEnvoyPartialBody is set by Envoy on a check request when
// with_request_body is on: "true" when the body was cut at
// max_request_bytes (allow_partial_message).
const headerEnvoyPartialBody = "X-Envoy-Auth-Partial-Body"

// extAuthz is Envoy's ext_authz gRPC service
// (envoy.service.auth.v3.Authorization) on the gateway.
type extAuthz struct {
	authv3.UnimplementedAuthorizationServer
	g *Gateway
}

// Check answers one ext_authz check. It never returns an RPC error: Envoy
// treats one as a failure of the authorization service, which
// failure_mode_allow would turn into "allowed". Every refusal, the store
// being down included, is a denied_response.
func (x extAuthz) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	in := checkInput(ctx, req)
	return checkResponse(x.g.decide(ctx, in)), nil
}

// checkInput reads the original request from a CheckRequest:
// attributes.request.http's method, path (the request-target, query
// included, undecoded), headers (lower-case, or header_map with
// encode_raw_headers), host and, with with_request_body, body or raw_body
// (pack_as_bytes). A missing method or path is errDecisionRequest in
// decide, as on the HTTP endpoints.
func checkInput(ctx context.Context, req *authv3.CheckRequest) decisionInput {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	in := decisionInput{
		mode:       ModeExtAuthzGRPC,
		method:     h.GetMethod(),
		uri:        h.GetPath(),
		header:     checkHeaders(h),
		host:       h.GetHost(),
		remoteAddr: sourceAddr(ctx, attrs),
	}
	// Envoy marks a check request that carries the body; without the
	// mark an empty body is indistinguishable from none sent.
	switch partial := in.header.Get(headerEnvoyPartialBody); {
	case partial == "true":
		// Cut at max_request_bytes: not the body the upstream receives.
	case len(h.GetRawBody()) > 0:
		in.body = strings.NewReader(string(h.GetRawBody()))
	case h.GetBody() != "" || partial == "false":
		in.body = strings.NewReader(h.GetBody())
	}
	return in
}

// checkHeaders turns the check request's headers into the original
// request's: header_map when Envoy sends it (encode_raw_headers; repeated
// fields kept apart), else the headers map (repeated fields joined by
// Envoy). Pseudo-headers (":path", ":authority") are not headers of the
// rebuilt request: path and host carry them.
func checkHeaders(h *authv3.AttributeContext_HttpRequest) http.Header {
	out := http.Header{}
	add := func(name, value string) {
		if name == "" || strings.HasPrefix(name, ":") {
			return
		}
		k := http.CanonicalHeaderKey(name)
		out[k] = append(out[k], value)
	}
	if raw := h.GetHeaderMap().GetHeaders(); len(raw) > 0 {
		for _, hv := range raw {
			v := hv.GetValue()
			if len(hv.GetRawValue()) > 0 {
				v = string(hv.GetRawValue())
			}
			add(hv.GetKey(), v)
		}
		return out
	}
	for name, value := range h.GetHeaders() {
		add(name, value)
	}
	return out
}

// sourceAddr is the client's address as Envoy saw it (for the access
// log), else the asking Envoy's.
func sourceAddr(ctx context.Context, attrs *authv3.AttributeContext) string {
	if sa := attrs.GetSource().GetAddress().GetSocketAddress(); sa.GetAddress() != "" {
		return net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// checkResponse renders a decision for Envoy.
//
// Allowed: OK with every forward header in ok_response.headers,
// overwriting (append_action OVERWRITE_IF_EXISTS_OR_ADD; the deprecated
// append is left unset, which Envoy reads as false in this message, so
// versions that predate append_action overwrite too), empty values included:
// Envoy sets them with setCopy, which replaces every client-sent copy of
// the name, empty or not. headers_to_remove lists the client's other
// spellings of them (X_Revgate_Subject). It never lists a forward header
// itself: Envoy applies headers_to_remove after headers, so it would
// delete the value just set.
//
// Denied: a gRPC code for the status (for Envoy's logs and stats) and a
// denied_response with the HTTP status, headers and JSON body the proxy
// listener would send.
func checkResponse(a decisionAnswer) *authv3.CheckResponse {
	if a.allowed {
		ok := &authv3.OkHttpResponse{Headers: headerOptions(a.header)}
		for _, name := range a.remove {
			ok.HeadersToRemove = append(ok.HeadersToRemove, strings.ToLower(name))
		}
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
		}
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCode(a.status)), Message: a.outcome},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(a.status)},
			Headers: headerOptions(a.header),
			Body:    string(a.body),
		}},
	}
}

// headerOptions renders headers to set, each overwriting, in a stable
// order (forward_headers is a map).
func headerOptions(h http.Header) []*corev3.HeaderValueOption {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	var opts []*corev3.HeaderValueOption
	for _, name := range names {
		for _, v := range h[name] {
			opts = append(opts, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(name), Value: v},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			})
		}
	}
	return opts
}

// grpcCode is the CheckResponse status for a refusal's HTTP status. Any
// code but OK denies; the HTTP status Envoy answers with is the
// denied_response's.
func grpcCode(status int) codes.Code {
	switch {
	case status == http.StatusUnauthorized:
		return codes.Unauthenticated
	case status == http.StatusForbidden:
		return codes.PermissionDenied
	case status == http.StatusServiceUnavailable:
		return codes.Unavailable
	case status == http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case status >= 500:
		return codes.Internal
	case status == http.StatusBadRequest, status == http.StatusRequestEntityTooLarge,
		status == http.StatusUnsupportedMediaType, status == http.StatusMethodNotAllowed:
		return codes.InvalidArgument
	}
	return codes.PermissionDenied
}
