package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that two servers in one process (tests) never share counters.
type metrics struct {
	reg         *prometheus.Registry
	activations *prometheus.CounterVec
	checkins    *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	batchSize   *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seatkey_activations_total",
			Help: "Activation requests answered, by outcome (new-device, same-device, recommissioned, replayed, refused).",
		}, []string{"outcome"}),
		checkins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seatkey_checkins_total",
			Help: "Check-ins answered, by result (ok, suspected-duplicate, refused).",
		}, []string{"result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seatkey_refusals_total",
			Help: "Requests refused, by the stable error code of the JSON error.",
		}, []string{"code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seatkey_http_request_duration_seconds",
			Help:    "Time from request to response, by route pattern and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seatkey_ledger_batch_size",
			Help:    "Device requests written per ledger transaction (group commit), by kind (activations, checkins).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.activations, m.checkins, m.refusals, m.latency, m.batchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
