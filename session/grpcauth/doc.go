// Package grpcauth protects gRPC services with the session validator: server
// interceptors that read "authorization: Bearer <token>" metadata, and
// client credentials that send it.
//
// It is a separate package so that services importing only the HTTP
// middleware of package session never link google.golang.org/grpc.
//
// A valid token puts its claims in the call's context, read with the same
// accessors as over HTTP (session.GetUserID, session.GetClaims, ...). A
// missing or rejected token fails the call with codes.Unauthenticated and
// the message "Invalid or expired token"; while the validator cannot decide
// (session.IsUnavailable: revocation state not loaded, stale, or
// uninterpretable) the call fails with codes.Unavailable, which clients may
// retry.
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(v, grpcauth.Exempt(grpcauth.HealthService))),
//		grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(v, grpcauth.Exempt(grpcauth.HealthService))),
//	)
package grpcauth
