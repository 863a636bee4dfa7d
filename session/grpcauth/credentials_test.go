package grpcauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// selfSigned returns server and client TLS credentials for "bufnet".
func selfSigned(t *testing.T) (server, client credentials.TransportCredentials) {
	t.Helper()
	ca := testenv.NewCA(t, "grpcauth test CA")
	server = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{ca.Certificate("bufnet", "bufnet")}})
	client = credentials.NewTLS(&tls.Config{RootCAs: ca.Pool, ServerName: "bufnet"})
	return server, client
}

func TestCredentials(t *testing.T) {
	v, _ := readyValidator(t)
	valid, _ := mint(t, issuer(t, secret, nil), "user-1")
	srvTLS, cliTLS := selfSigned(t)
	tlsConn, err := serveWith(t, v, []grpc.ServerOption{grpc.Creds(srvTLS)}, nil, grpc.WithTransportCredentials(cliTLS))
	if err != nil {
		t.Fatal(err)
	}
	plainConn := serve(t, v)
	failing := &grpcauth.Credentials{Token: func(context.Context) (string, error) { return "", errors.New("refresh failed") }}

	tests := []struct {
		name  string
		cc    *grpc.ClientConn
		creds credentials.PerRPCCredentials
		code  codes.Code
		msg   string // a substring of the status message
		user  string
	}{
		{"TLS", tlsConn, grpcauth.StaticToken(valid), codes.OK, "", "user-1"},
		{"insecure refused", plainConn, grpcauth.StaticToken(valid), codes.Unauthenticated, "insecure", ""},
		{"insecure explicitly allowed", plainConn, &grpcauth.Credentials{Token: grpcauth.StaticToken(valid).Token, AllowInsecure: true}, codes.OK, "", "user-1"},
		{"token source fails", tlsConn, failing, codes.Internal, "refresh failed", ""},
		{"empty token", tlsConn, grpcauth.StaticToken(""), codes.Internal, "empty access token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			user, err := callUnary(ctx, tt.cc, whoamiMethod, grpc.PerRPCCredentials(tt.creds))
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) || user != tt.user {
				t.Fatalf("got %v %q, user %q; want %v containing %q, user %q", st.Code(), st.Message(), user, tt.code, tt.msg, tt.user)
			}
		})
	}
}

// A connection whose every call would carry the token is refused outright
// on an insecure transport.
func TestCredentialsRefuseInsecureConnection(t *testing.T) {
	v := newValidator(t, session.Config{IgnoreRevocations: true})
	_, err := serveWith(t, v, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcauth.StaticToken("a-token")))
	if err == nil || !strings.Contains(err.Error(), "transport level security") {
		t.Fatalf("got %v; want grpc to refuse the credentials without transport security", err)
	}
}
