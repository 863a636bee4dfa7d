package session

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// results are the label values of authmesh_validations_total, in the order
// of metricShard.counts.
var resultNames = [...]string{"valid", "revoked", "expired", "invalid", "unavailable"}

const (
	resValid = iota
	resRevoked
	resExpired
	resInvalid
	resUnavailable
)

// metricShards is how many copies of the counters a validator keeps:
// 1<<metricShardBits.
const (
	metricShardBits = 5
	metricShards    = 1 << metricShardBits
)

// metrics are the validation counters read by the Prometheus collector;
// the revocation counters come from the synchroniser's Status.
//
// One shared counter is a cache line every core writes on every request,
// which alone makes two goroutines slower than one. So the counters are
// sharded: each shard fills its own cache lines, a goroutine counts in the
// shard its stack address picks (the same shard every time, other
// goroutines most likely in others), and the collector sums the shards.
type metrics struct {
	shards [metricShards]metricShard
}

// metricShard is one copy of the counters, padded to two cache lines so
// that neighbours never share one (adjacent-line prefetch included).
type metricShard struct {
	counts [len(resultNames)]atomic.Uint64
	_      [128 - 8*len(resultNames)]byte
}

func (m *metrics) observe(err error) {
	m.shard().counts[resultOf(err)].Add(1)
}

// resultOf is the index in resultNames of a validation's outcome.
func resultOf(err error) int {
	switch {
	case err == nil:
		return resValid
	case errors.Is(err, ErrRevoked):
		return resRevoked
	case errors.Is(err, ErrExpired):
		return resExpired
	case IsUnavailable(err):
		return resUnavailable
	}
	return resInvalid
}

// shard picks the calling goroutine's shard from the address of a local
// variable: goroutine stacks are distinct memory, so goroutines running at
// the same time usually land in different shards, and one goroutine keeps
// landing in the same one.
func (m *metrics) shard() *metricShard {
	var onStack byte
	h := uint64(uintptr(unsafe.Pointer(&onStack))>>10) * 0x9E3779B97F4A7C15 // Fibonacci hashing
	return &m.shards[h>>(64-metricShardBits)]
}

// count returns the total of one result over all shards.
func (m *metrics) count(r int) uint64 {
	var n uint64
	for i := range m.shards {
		n += m.shards[i].counts[r].Load()
	}
	return n
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
	for i, r := range resultNames {
		ch <- prometheus.MustNewConstMetric(descValidations, prometheus.CounterValue, float64(m.count(i)), r)
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
