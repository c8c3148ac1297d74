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
//     log, or stored: the store's Existing answers new IDs from its filter of
//     stored IDs, package store/idfilter, without a read).
//  4. The new events go to the write-ahead log as one record (package
//     wal/walrec); concurrent requests share an fsync (package wal). Only then does the client get 202
//     {"accepted", "duplicates", "rejected"}.
//  5. The writer queues the record as it is, bytes the garbage collector never
//     scans; it decodes and stores events in batches of up to 5,000 or every
//     250 ms, and releases log segments whose events are all stored.
//
// The PostHog, Segment and Strapi routes (compat.go) take the same path: their
// body is read, admitted and limited like a native one, mapped to a native
// batch by package compat, and then checked from step 2 on; they answer in
// their protocol's own shapes and count each event in
// abacus_compat_events_total{protocol,outcome}. GET /openapi.json describes
// every route (openapi.json, embedded; a test keeps it complete).
//
// On start, the log is replayed into the store (inserts are idempotent) before
// /readyz and ingest open. SIGKILL at any moment loses no acknowledged event.
// A store on a server (ClickHouse) that does not answer is waited for, with
// /readyz naming it; while the store's writes fail after the start, /readyz
// still answers 200 but says so, until the backlog reaches the 8 MiB below and
// ingest answers 503. The erasures of a store shared by collectors are
// recorded in it (RecordErasure), so that each collector drops an erased
// project's events from its log when it drains.
//
// # Back-pressure
//
// 503 with Retry-After when the log cannot be written (disk full, I/O error),
// when it is full (the store is behind), when more than MaxLag events (200,000)
// or MaxLagBytes of records (64 MiB) wait for the store, when the store's
// last write failed and 8 MiB of records wait for it (the log must not take
// the space the store needs to recover), when a disk of the data directory or the log is down to its floor
// of free space (--min-free: 5% of the volume, at least 64 MiB, at most 256
// MiB or half the volume; below twice the floor the store is checkpointed to give its own log
// back), when request bodies in memory are at their budget
// (--max-body-memory, 64 MiB), or when MaxInflight requests (64) are already
// being decoded and another has waited a second for its turn: under overload
// the collector answers fast and keeps its memory, instead of queueing
// requests until the garbage collector takes the machine.
// abacus_requests_shed_total counts these 503s by reason (lag, store, disk,
// memory, busy).
//
// # Abuse
//
// No single client can stop ingest for the others:
//
//   - Bodies are read before a request takes its turn, and must arrive at 4
//     KB/s on average after 2 seconds (408 otherwise): a client trickling its
//     body holds a connection, not a turn.
//   - Headers are capped at 16 KB (431), connections at --max-conns (1,024;
//     more wait in the kernel's queue).
//   - Bodies in memory, as read and after gunzip, have a budget (64 MiB). A
//     request whose bodies pass 256 KiB is large: one large request per
//     processor may be under way, and large ones may fill only three quarters
//     of the budget, so small batches always find room and a processor.
//   - Per client address (a keyed hash of it, in memory only): --rate-ip
//     requests a second (50, burst 500), --rate-ip-events events a second
//     (5,000, burst 300,000) and --rate-ip-new-projects projects never seen
//     before an hour (1,000, burst 5,000; the projects the store holds are
//     known from the start); per project, --rate-project events a second
//     (100, burst 6,000). Past a limit: 429 with Retry-After. A CI farm
//     behind one address stays well inside them, and so does the simulator's
//     default population sent at full speed.
//   - With --trust-proxy, the client address is the X-Forwarded-For entry
//     --trusted-hops (1) from the right, the one the outermost trusted proxy
//     wrote; entries that are not IP addresses are ignored.
//
// # Admin side
//
// The admin token is at least 32 characters (Open refuses a shorter
// ABACUS_TOKEN or token file). The admin API takes "Authorization: Bearer
// <token>", the scheme in any case. Failed authentications, on the API or
// the dashboard's sign-in, are throttled per client address (keyed hash, in
// memory): 10, then one every 6 seconds; past that every attempt, right
// token or not, gets 429 with Retry-After. A dashboard session (package web)
// lives in memory; sign-out ends it for every copy of its cookie. A known
// route asked with another method answers 405 with Allow.
//
// # Erasure
//
// DELETE /api/v1/projects/{id} records the erasure (a keyed hash of the
// project and the time, checksummed, in <data>/erased), stores the events
// still queued, and deletes the project's events from the store. Their bytes
// leave the disk at the next compaction (compact.go): the log is rolled, the
// segments holding records from before are deleted once those are stored
// (with any kept in wal/damaged/), and the store's file is rewritten without
// deleted rows. It runs at most compactEvery (an hour) after an erasure, at
// the next start if the collector stopped first, and before the answer with
// ?compact=1: an erased project is gone from disk within 24 hours.
//
// # Damaged log records
//
// Replay skips a damaged record between intact ones and stores every other
// record's events (package wal resynchronises on the next valid frame); it
// logs an ERROR with the numbers, counts the records in
// abacus_wal_damaged_records_total, and the segment goes to wal/damaged/
// instead of being deleted. A damaged line of <data>/erased stops the start
// with an error naming the file and the line.
//
// # What it never does
//
// It never writes an IP address or user agent to the log, the store or its own
// logs (net/http's error log goes through ErrorLog, which masks addresses),
// never stores a raw project or machine ID, and never acknowledges an event
// before it is durable. The data directory is private to the collector's user:
// at start its directories are set to 0700 and its files to 0600 (a warning
// says what could not be changed), and abacus serve creates files with umask
// 077.
package server
