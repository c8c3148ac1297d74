// Package server is the collector behind `abacus serve`: it ties ingest, the
// write-ahead log, the store writer, the admin API and the operations endpoints
// into one http.Handler.
//
// # The life of a batch
//
//  1. POST /v1/batch arrives. The client address is hashed with the server
//     secret for the per-address rate limit and then forgotten; the user agent
//     is never read.
//  2. ingest.Pipeline reads, gunzips and checks the body against the tracking
//     plan, corrects clock skew and re-keys the project, machine and session IDs
//     (package ingest). Invalid events are rejected one by one.
//  3. dedup sets aside events whose IDs were accepted before (pending in the
//     log, or stored: a Bloom filter spares the store a lookup for new IDs).
//  4. The new events go to the write-ahead log as one record; concurrent
//     requests share an fsync (package wal). Only then does the client get 202
//     {"accepted", "duplicates", "rejected"}.
//  5. The writer queues the record as it is, bytes the garbage collector never
//     scans; it decodes and stores events in batches of up to 5,000 or every
//     250 ms, and releases log segments whose events are all stored.
//
// On start, the log is replayed into the store (inserts are idempotent) before
// /readyz and ingest open. SIGKILL at any moment loses no acknowledged event.
//
// # Back-pressure
//
// 503 with Retry-After when the log cannot be written (disk full, I/O error),
// when it is full (the store is behind), when more than MaxLag events wait
// for the store (200,000: a few seconds of full load, a bounded queue), or
// when MaxInflight requests (64) are already being read and another has
// waited a second for its turn: under overload the collector answers fast and
// keeps its memory, instead of queueing requests until the garbage collector
// takes the machine. 429 with Retry-After per client address and per project.
// abacus_requests_shed_total counts the 503s of the last two by reason.
//
// # What it never does
//
// It never writes an IP address or user agent to the log, the store or its own
// logs, never stores a raw project or machine ID, and never acknowledges an
// event before it is durable.
package server
