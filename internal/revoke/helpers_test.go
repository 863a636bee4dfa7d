package revoke_test

import (
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// future is an expiry safely after every test's end.
func future() int64 { return time.Now().Add(time.Hour).Unix() }

func tokenEntry(id string) revoke.Entry {
	return revoke.Entry{Kind: revoke.KindToken, ID: id, Expires: future()}
}
