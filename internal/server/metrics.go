package server

import (
	"github.com/abacushq/abacus/internal/metrics"
)

// serverMetrics are the collector's Prometheus metrics. Label values come from
// fixed sets: routes, status codes, reasons.
type serverMetrics struct {
	reg         metrics.Registry
	requests    *metrics.CounterVec // route, code
	accepted    *metrics.CounterVec
	duplicates  *metrics.CounterVec
	rejected    *metrics.CounterVec // reason
	dropped     *metrics.CounterVec // where: build, properties
	limited     *metrics.CounterVec // scope: ip, project
	shed        *metrics.CounterVec // reason: busy, lag
	stored      *metrics.CounterVec
	unstorable  *metrics.CounterVec
	walDamaged  *metrics.CounterVec // records skipped by replay as damaged
	compat      *metrics.CounterVec // protocol, outcome
	storeInsert *metrics.Histogram
	ack         *metrics.Histogram
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{}
	m.requests = m.reg.Counter("abacus_http_requests_total", "HTTP requests by route and status code.", "route", "code")
	m.accepted = m.reg.Counter("abacus_events_accepted_total", "Events accepted into the write-ahead log.")
	m.duplicates = m.reg.Counter("abacus_events_duplicate_total", "Events whose id was already accepted.")
	m.rejected = m.reg.Counter("abacus_events_rejected_total", "Events rejected, by reason.", "reason")
	m.dropped = m.reg.Counter("abacus_keys_dropped_total", "Undeclared build keys and properties dropped by the tracking plan.", "where")
	m.limited = m.reg.Counter("abacus_rate_limited_total", "Requests answered 429, by limit.", "scope")
	m.shed = m.reg.Counter("abacus_requests_shed_total", "Ingest requests answered 503 before they were read, by reason.", "reason")
	m.stored = m.reg.Counter("abacus_events_stored_total", "Events inserted into the store.")
	m.unstorable = m.reg.Counter("abacus_events_unstorable_total", "Acknowledged events the store refused while accepting others (a bug; see the logs).")
	m.walDamaged = m.reg.Counter("abacus_wal_damaged_records_total", "Damaged write-ahead log records skipped at replay between intact ones (their segments are kept in wal/damaged/).")
	m.compat = m.reg.Counter("abacus_compat_events_total", "Events received on the PostHog, Segment and Strapi routes, by protocol and outcome.", "protocol", "outcome")
	m.storeInsert = m.reg.Histogram("abacus_store_insert_seconds", "Duration of one batch insert into the store.",
		0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
	m.ack = m.reg.Histogram("abacus_ingest_ack_seconds", "Time from request start to a 202 answer.",
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
	return m
}
