package session

import (
	"encoding/json"
	"net/http"
)

// Probes for a service that embeds a validator, split so that none takes a
// whole fleet down:
//
//   - liveness answers while the process serves: restarting it would not
//     help with anything the validator can report;
//   - readiness fails only while THIS replica cannot validate but another
//     could: before its signing keys and first revocation snapshot have
//     loaded. A stale or degraded revocation state (the auth service or
//     Redis unreachable) is shared by every replica: it shows in the body
//     and in the metrics, and the replica stays ready.
//
// Mount them next to the service's API:
//
//	mux.Handle("GET /livez", v.LivenessHandler())
//	mux.Handle("GET /readyz", v.ReadinessHandler())

// LivenessHandler returns a handler answering 200 {"status":"ok"} while the
// process serves. It never consults the revocation state.
func (v *SessionValidator) LivenessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeProbe(w, http.StatusOK, probeBody{Status: "ok"})
	})
}

// ReadinessHandler returns a handler answering 200 once the validator is
// ready (Health.Ready), 503 before. The JSON body gives "status" ("ok",
// "degraded" or "not ready"), the one-line explanation of Health.String,
// the revocation source and its staleness in seconds.
func (v *SessionValidator) ReadinessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := v.Health()
		body := probeBody{
			Status: "ok", Detail: h.String(), Source: h.Source,
			StalenessSeconds: h.Staleness.Seconds(), Rejecting: h.Rejecting,
		}
		status := http.StatusOK
		switch {
		case !h.Ready:
			body.Status, status = "not ready", http.StatusServiceUnavailable
		case h.Degraded || h.Rejecting || h.Problem != "":
			body.Status = "degraded"
		}
		writeProbe(w, status, body)
	})
}

// probeBody is the JSON answer of the probes.
type probeBody struct {
	Status           string  `json:"status"`
	Detail           string  `json:"detail,omitempty"`
	Source           string  `json:"source,omitempty"`
	StalenessSeconds float64 `json:"staleness_seconds,omitempty"`
	Rejecting        bool    `json:"rejecting,omitempty"`
}

func writeProbe(w http.ResponseWriter, status int, body probeBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
