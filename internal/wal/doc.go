// Package wal is the collector's write-ahead log: an append-only, segmented, checksummed
// log with group commit. Ingest acknowledges a batch (202) only after Append has returned
// for it; the store writer later reads it back (Replay after a restart) and calls Release
// once the batch is stored, which deletes the segments it no longer needs.
//
// # Files
//
// A log is a directory holding segment files named by a 20-digit, zero-padded sequence
// number (00000000000000000001.wal, ...) and a LOCK file (flock: one Log per directory,
// released by the kernel if the process dies). Segments are written in sequence order. A
// new one is started (rolled) before a write that would take the active segment past
// Options.SegmentBytes; on Open (a segment that already holds data is never appended to
// again, an empty last segment is reused); and when Release covers a large active segment.
// The directory is fsynced after every segment file is created or removed.
//
// # Record format
//
// A segment is a plain sequence of records, without a file header. Each record is a 12-byte
// header and the payload (at most MaxRecordBytes, 16 MiB):
//
//	offset size field
//	0      2    magic   0xAB 0x57
//	2      1    version 1
//	3      1    flags   0, or 1 for a seal (no payload: nothing after it in the segment counts)
//	4      4    length  payload length in bytes, little endian
//	8      4    crc     CRC-32C (Castagnoli) over the 4 length bytes and the payload, little endian
//	12     n    payload
//
// A Pos is (segment sequence number, byte offset); Append and Replay give the position just
// past a record.
//
// # Guarantees
//
// When Append returns nil, its records have been written and fsynced (the file; the
// directory entry of a new segment was fsynced when the segment was created): they survive
// a process crash, a kernel crash and a power loss, and Replay will return them, in order,
// at the position Append returned. The only exception is Options.NoSync, which skips every
// fsync and is for benchmarks only.
//
// Concurrent Appends are grouped: one writer goroutine takes everything queued, writes it
// with one write call and fsyncs once, then wakes every caller of the group. Under load an
// fsync is shared by many Appends (see Stats.Fsyncs and Stats.Groups).
//
// A crash can lose only Appends that had not returned: they may be missing entirely, or
// partly written. A partly written record at the end of a segment (short header, length
// beyond the file, CRC mismatch, zeros) is a torn tail; Replay stops that segment there,
// reports the skipped bytes in ReplayStats.Tails (and logs a warning), and goes on with
// the next segment. Because a reopened log never appends to an existing non-empty
// segment, a torn tail is never followed by acknowledged records in the same file.
// Records of Appends that had not returned may also replay whole (their write completed
// just before the crash): consumers must be idempotent (the store dedupes by event id).
//
// # Damage
//
// A bad record with valid records after it is not a torn tail but damage to acknowledged
// data (a flipped bit, a lost or zeroed block). Replay skips only the damaged bytes: it
// resynchronises on the earliest offset where a whole valid frame starts (magic, version,
// a length that fits, and a matching CRC-32C), returns the records from there on, and
// reports each damaged run in ReplayStats.Damaged with the records it held as far as
// their headers tell, logged as an error. When Release later covers such a segment, it
// is moved to the DamagedDir subdirectory (damaged/) instead of being deleted, for the
// operator to inspect; it no longer counts towards Size. Damage to the last record of a
// segment cannot be told apart from a torn tail and is reported as one. After a power
// loss, a write whose pages reached the disk out of order can also show as damage: the
// records after it were never acknowledged, and replay them is harmless (consumers are
// idempotent).
//
// When a write or fsync fails, every Append of the group gets an error wrapping ErrIO (and
// the OS error), none of it is acknowledged, and the bytes written are undone: the segment
// is truncated back to its last durable offset and fsynced. If that fails too, a seal
// record is written at the durable offset (Replay stops there and does not resynchronise
// on what follows), the segment is sealed, and a new segment is started; its garbage is
// then a tail, never between acknowledged records. Later Appends try again. (If even the
// seal cannot be written, the failed group's complete records may replay, like
// unacknowledged appends after a crash.)
//
// # Backpressure and space
//
// Size is the number of bytes in live segment files. An Append that would take it past
// Options.MaxBytes fails with ErrFull: the store writer is too far behind and the caller
// should shed load (429/503). Release(p) deletes every sealed segment that lies entirely
// before p; the active segment is never deleted, but when p covers all of it and it holds
// at least min(SegmentBytes, MaxBytes)/8 bytes it is rolled first and then deleted, so an
// idle log gives its space back without creating a file per Release at low traffic.
//
// Append honours its context only while waiting to be queued for the writer (the queue
// holds 4096 Appends); once queued, it waits for and reports the real outcome.
package wal
