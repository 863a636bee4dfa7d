package session

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// results are the label values of authmesh_validations_total, in the order
// of metrics.counts.
var results = []string{"valid", "revoked", "expired", "invalid", "unavailable"}

const (
	resValid = iota
	resRevoked
	resExpired
	resInvalid
	resUnavailable
)

// metrics are lock-free counters read by the Prometheus collector; the
// revocation counters come from the synchroniser's Status.
type metrics struct {
	counts [5]atomic.Uint64
}

func (m *metrics) observe(err error) {
	switch {
	case err == nil:
		m.counts[resValid].Add(1)
	case errors.Is(err, ErrRevoked):
		m.counts[resRevoked].Add(1)
	case errors.Is(err, ErrExpired):
		m.counts[resExpired].Add(1)
	case IsUnavailable(err):
		m.counts[resUnavailable].Add(1)
	default:
		m.counts[resInvalid].Add(1)
	}
}

var (
	descValidations = prometheus.NewDesc("authmesh_validations_total",
		"Token validations by result (valid, revoked, expired, invalid, unavailable).", []string{"result"}, nil)
	descEntries = prometheus.NewDesc("authmesh_revocation_entries",
		"Revocation entries held in memory.", nil, nil)
	descEvents = prometheus.NewDesc("authmesh_revocation_events_applied_total",
		"Revocation events applied since start.", nil, nil)
	descResyncs = prometheus.NewDesc("authmesh_revocation_resyncs_total",
		"Full snapshots of the revocation state loaded after the first.", nil, nil)
	descStaleness = prometheus.NewDesc("authmesh_revocation_staleness_seconds",
		"Seconds since the revocation state was last known complete.", nil, nil)
	descReady = prometheus.NewDesc("authmesh_validator_ready",
		"1 when signing keys and the revocation snapshot are loaded.", nil, nil)
)

// collector exposes a validator's metrics to Prometheus.
type collector struct{ v *SessionValidator }

var _ prometheus.Collector = collector{}

// Collector returns a Prometheus collector for the validator's metrics:
// validations by result, revocation entries held, events applied, resyncs,
// staleness and readiness. Register it on the registry your /metrics serves.
func (v *SessionValidator) Collector() prometheus.Collector { return collector{v} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descValidations, descEntries, descEvents, descResyncs, descStaleness, descReady} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.v.metrics
	for i, r := range results {
		ch <- prometheus.MustNewConstMetric(descValidations, prometheus.CounterValue, float64(m.counts[i].Load()), r)
	}
	h := c.v.Health()
	var resyncs, applied uint64
	if c.v.sync != nil {
		st := c.v.sync.Status()
		resyncs, applied = st.Resyncs, st.EventsApplied
	}
	ready := 0.0
	if h.Ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(h.Revocations))
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(applied))
	ch <- prometheus.MustNewConstMetric(descResyncs, prometheus.CounterValue, float64(resyncs))
	ch <- prometheus.MustNewConstMetric(descStaleness, prometheus.GaugeValue, h.Staleness.Seconds())
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, ready)
}
