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
// when it is full (the store is behind), or when more than MaxLag events wait
// for the store. 429 with Retry-After per client address and per project.
//
// # What it never does
//
// It never writes an IP address or user agent to the log, the store or its own
// logs, never stores a raw project or machine ID, and never acknowledges an
// event before it is durable.
package server
