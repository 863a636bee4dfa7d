package feed

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/testenv"
)

// The feed carries the same versioned entries as Redis: a feed client that
// meets an entry of a newer version or an unknown kind, in a snapshot or
// as a live event, remembers it (the validator then refuses every token),
// and a snapshot whose layout names another issuer keeps it not Ready.
func TestFeedSyncProtocolChecks(t *testing.T) {
	tests := []struct {
		name        string
		stream      string
		cfg         feedsync.Config
		ready       bool
		unsupported int
		problem     string
	}{
		{
			name:   "unknown kind in the snapshot",
			stream: `{"cursor":"1","layout":{"v":1},"entries":[{"v":1,"kind":"before","id":"all","exp":9999999999}]}`,
			ready:  true, unsupported: 1,
		},
		{
			name:   "newer version as a live event",
			stream: `{"cursor":"1","layout":{"v":1},"entries":[]}` + "\n\nevent: revocation\nid: 2\ndata: {\"v\":2,\"kind\":\"jti\",\"id\":\"x\",\"exp\":9999999999,\"cursor\":\"2\"}",
			ready:  true, unsupported: 1,
		},
		{
			name:   "another issuer",
			stream: `{"cursor":"1","layout":{"v":1,"issuer":"https://auth.example"},"entries":[]}`,
			cfg:    feedsync.Config{Issuer: "https://other.example"},
			ready:  false, problem: "https://auth.example",
		},
		{
			name:   "a newer layout",
			stream: `{"cursor":"1","layout":{"v":2},"entries":[]}`,
			ready:  false, problem: "protocol version 2",
		},
		{
			name:   "a matching issuer",
			stream: `{"cursor":"1","layout":{"v":1,"issuer":"https://auth.example"},"entries":[]}`,
			cfg:    feedsync.Config{Issuer: "https://auth.example"},
			ready:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sseHeaders(w)
				io.WriteString(w, "event: snapshot\nid: 1\ndata: "+tt.stream+"\n\nevent: sync\ndata: {\"cursor\":\"1\"}\n\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			defer srv.Close()
			defer srv.CloseClientConnections()
			f, set := startFeedSync(t, srv.URL, tt.cfg)
			testenv.WaitFor(t, "the stream read", func() bool {
				n, _ := set.Unsupported()
				return f.Status().Ready || f.Status().Problem != "" || n > 0
			})
			testenv.WaitFor(t, "the expected state", func() bool {
				n, _ := set.Unsupported()
				st := f.Status()
				return st.Ready == tt.ready && n == tt.unsupported && strings.Contains(st.Problem, tt.problem)
			})
		})
	}
}
