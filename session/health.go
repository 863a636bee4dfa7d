package session

import (
	"fmt"
	"time"
)

// Health describes whether the validator can be trusted right now.
type Health struct {
	// Ready is false until signing keys and the first snapshot of the
	// revocation state have loaded.
	Ready bool
	// Connected reports whether the revocation transport is up.
	Connected bool
	// Staleness is how long ago the revocation state was last known to be
	// complete (zero when there is no revocation source).
	Staleness time.Duration
	// Degraded is true when Staleness exceeds Config.MaxStaleness, or the
	// state holds revocations this version cannot interpret.
	Degraded bool
	// Rejecting is true when the validator rejects every token: not ready,
	// degraded with FailClosed, or holding revocations it cannot interpret
	// (ErrUnsupported).
	Rejecting bool
	// Revocations is the number of revocation entries held.
	Revocations int
	// Source names the revocation transport: "redis", "feed" or "none".
	Source string
	// Problem, when set, says what keeps the revocation state from being
	// trusted: no layout marker under the Redis prefix (a wrong
	// REDIS_PREFIX or REDIS_DB, or Redis lost its data), an issuer or
	// audience other than the auth service's, or entries of a protocol
	// this version cannot interpret.
	Problem string
}

// String explains the state in one line, e.g. for a /health endpoint.
func (h Health) String() string {
	switch {
	case !h.Ready && h.Problem != "":
		return "not ready: " + h.Problem
	case h.Rejecting && h.Problem != "":
		return "rejecting tokens: " + h.Problem
	case !h.Ready:
		return "not ready: revocation state or signing keys not loaded yet"
	case h.Rejecting:
		return fmt.Sprintf("rejecting tokens: revocation state stale for %s (fail-closed)", h.Staleness.Round(time.Millisecond))
	case h.Degraded:
		return fmt.Sprintf("degraded: revocation state stale for %s; validating on local state (fail-open)", h.Staleness.Round(time.Millisecond))
	case h.Problem != "":
		return "degraded: " + h.Problem
	}
	return "OK"
}

// Health reports the validator's current state.
func (v *SessionValidator) Health() Health {
	h := Health{Ready: v.keysReady.Load(), Revocations: v.revoked.Len(), Source: "none"}
	if v.sync != nil {
		st := v.sync.Status()
		h.Ready = h.Ready && st.Ready
		h.Connected = st.Connected
		if st.Ready {
			h.Staleness = max(0, v.cfg.Clock().Sub(st.LastSync))
		}
		h.Degraded = h.Ready && h.Staleness > v.cfg.MaxStaleness
		h.Problem = st.Problem
		h.Source = "feed"
		if v.cfg.RedisAddr != "" || v.cfg.RedisClient != nil {
			h.Source = "redis"
		}
	}
	if n, why := v.revoked.Unsupported(); n > 0 {
		h.Degraded, h.Problem = true, fmt.Sprintf("%d revocation entries this version cannot interpret (%s); refusing every token until they expire: upgrade this service", n, why)
		h.Rejecting = true
	}
	h.Rejecting = h.Rejecting || !h.Ready || (h.Degraded && v.cfg.FailClosed)
	return h
}
