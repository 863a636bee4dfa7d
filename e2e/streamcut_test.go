package e2e_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/examples/example-grpc-service/examplepb"
)

// TestStreamsEndAtLogout: an open gRPC Watch stream and an open HTTP
// /api/stream (server-sent events), both authenticated by the token a
// logout then revokes, end at once: Watch with Unauthenticated "Invalid or
// expired token", the event stream with an "error" event saying the same.
// It runs against the real binaries in the Redis and the embedded feed
// modes and logs the latency from sending the logout to each stream's
// end. Another user's streams keep running.
func TestStreamsEndAtLogout(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	grpcBin := grpcExampleBinary(t)
	for _, m := range modes()[:2] { // Redis, and the embedded feed
		t.Run(m.name, func(t *testing.T) {
			authEnv := m.auth(t)
			auth := start(t, serverBin, merge(authEnv, cheapArgon), "/healthz")
			svc := start(t, exampleBin, serviceEnv(authEnv, auth.URL), "/health")
			gsvc := start(t, grpcBin, serviceEnv(authEnv, auth.URL), grpcHealth)
			client := examplepb.NewExampleServiceClient(grpcClient(t, gsvc.Addr()))

			victim := registerAndLogin(t, auth.URL, "stream-"+rand.Text()+"@example.com")
			bystander := registerAndLogin(t, auth.URL, "stream-other-"+rand.Text()+"@example.com")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			watchEnded := openWatch(ctx, t, client, victim)
			sseEnded := openSSE(ctx, t, svc.URL, victim)
			otherWatch := openWatch(ctx, t, client, bystander)
			otherSSE := openSSE(ctx, t, svc.URL, bystander)

			var out bool
			sent := time.Now()
			gql(t, auth.URL, `mutation { logout }`, victim.Token).field(t, "logout", &out)
			for _, s := range []struct {
				name  string
				ended <-chan streamEnd
			}{{"gRPC Watch", watchEnded}, {"HTTP /api/stream", sseEnded}} {
				select {
				case e := <-s.ended:
					if e.err != "" {
						t.Errorf("%s: %s", s.name, e.err)
					} else {
						t.Logf("%s ended %v after the logout was sent", s.name, e.at.Sub(sent))
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: still open 5 s after the logout", s.name)
				}
			}
			for _, s := range []<-chan streamEnd{otherWatch, otherSSE} {
				select {
				case e := <-s:
					t.Fatalf("another user's stream ended: %+v", e)
				default:
				}
			}
		})
	}
}

// streamEnd is how a stream ended: when, and what was wrong about it ("" if
// it ended as a revoked stream should).
type streamEnd struct {
	at  time.Time
	err string
}

// openWatch opens a Watch stream as a, waits for its first event, and
// reports on the channel when and how the stream ends.
func openWatch(ctx context.Context, t *testing.T, client examplepb.ExampleServiceClient, a account) <-chan streamEnd {
	t.Helper()
	stream, err := client.Watch(ctx, &examplepb.WatchRequest{}, withToken(a.Token))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := stream.Recv(); err != nil || ev.GetUserId() != a.UserID {
		t.Fatalf("Watch: first event %+v, %v", ev, err)
	}
	ended := make(chan streamEnd, 1)
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				e := streamEnd{at: time.Now()}
				if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "Invalid or expired token" {
					e.err = "ended with " + st.Code().String() + " " + st.Message() + "; want Unauthenticated"
				}
				ended <- e
				return
			}
		}
	}()
	return ended
}

// openSSE opens /api/stream as a, waits for its first event, and reports
// on the channel when and how the stream ends.
func openSSE(ctx context.Context, t *testing.T, base string, a account) <-chan streamEnd {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/stream", nil)
	req.Header.Set("Authorization", "Bearer "+a.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("/api/stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || lines.Text() != "event: tick" || !lines.Scan() || !strings.Contains(lines.Text(), a.UserID) {
		t.Fatalf("/api/stream: first event %q, %v", lines.Text(), lines.Err())
	}
	ended := make(chan streamEnd, 1)
	go func() {
		var event, data string
		for lines.Scan() {
			switch l := lines.Text(); {
			case strings.HasPrefix(l, "event: "):
				event = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				data = strings.TrimPrefix(l, "data: ")
			}
		}
		e := streamEnd{at: time.Now()}
		if event != "error" || data != "Invalid or expired token" {
			e.err = "last event " + event + " " + data + "; want error Invalid or expired token"
		}
		ended <- e
	}()
	return ended
}
