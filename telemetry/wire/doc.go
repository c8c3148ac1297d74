// Package wire holds the types of the Abacus ingest protocol, version 1, shared by
// the SDK that sends events and the collector that receives them.
//
// # Requests
//
// A client sends POST /v1/batch with a JSON [Batch] (Content-Type: application/json,
// optionally Content-Encoding: gzip), or POST /v1/track with one [Event]. Each event
// carries a client-chosen UUID in ID; the collector stores an ID once, so a client
// may resend a batch it is unsure about.
//
// # Answers
//
// 202 carries a [Response]: how many events were accepted, how many were repeats,
// and which were rejected and why. Valid events of a batch are kept even when others
// are rejected, so a client never resends rejected events. Every other status
// carries an [Error]; 429 and 503 come with Retry-After.
//
// This package only describes shapes and checks identifiers; it does no I/O.
package wire
