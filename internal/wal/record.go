package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Record framing. Every record is a 12-byte header followed by the payload:
//
//	offset size field
//	0      2    magic   0xAB 0x57
//	2      1    version 1
//	3      1    flags   0, or flagSeal (length 0): the segment ends here; anything else is corruption
//	4      4    length  payload length, little endian, <= MaxRecordBytes
//	8      4    crc     CRC-32C (Castagnoli), little endian, over bytes 4..8 (length) + payload
//	12     n    payload
const (
	headerSize = 12

	magic0  = 0xAB
	magic1  = 0x57
	version = 1

	// flagSeal marks a seal: a record of no payload, written where a failed write could
	// not be undone, after which nothing in the segment counts (Replay stops there and
	// does not resynchronise on the failed write's records).
	flagSeal = 1

	// MaxRecordBytes is the largest payload one record may carry (16 MiB).
	MaxRecordBytes = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodedSize is the number of bytes a record of n payload bytes takes in a segment.
func encodedSize(n int) int64 { return headerSize + int64(n) }

// appendRecord appends the framed record to dst (the header is built in place: no
// allocation beyond growing dst).
func appendRecord(dst, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, magic0, magic1, version, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	h := dst[start : start+headerSize]
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(payload)))
	crc := crc32.Update(0, castagnoli, h[4:8])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[8:12], crc)
	return append(dst, payload...)
}

// appendSeal appends a seal record (see flagSeal).
func appendSeal(dst []byte) []byte {
	dst = appendRecord(dst, nil)
	dst[len(dst)-headerSize+3] = flagSeal
	return dst
}

// recordCRC is the checksum a record with this payload must carry.
func recordCRC(payload []byte) uint32 {
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(len(payload)))
	return crc32.Update(crc32.Update(0, castagnoli, l[:]), castagnoli, payload)
}

// tailError describes why the replay of one segment stopped before the end of its data.
type tailError struct {
	reason string
}

func (e *tailError) Error() string { return e.reason }

// damage is a run of unusable bytes between two valid records of a segment: a damaged
// record (or a few), followed by records that are intact.
type damage struct {
	off, n  int64
	records int // records in the run, as far as their headers tell (at least 1)
	reason  string
}

// scanResult is what scanSegment found besides the records it passed on.
type scanResult struct {
	valid   int64      // end of the last valid record
	damaged []damage   // runs of bad bytes with valid records after them, in order
	tail    *tailError // non-nil when the bytes from valid to the end are unusable
}

// segReader reads a segment at given offsets through one buffer, so that replaying many
// small records does not cost two system calls each.
type segReader struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	at   int64 // file offset of buf[0]
	n    int   // valid bytes in buf
}

// readAt fills p from offset off; the caller has checked that off+len(p) <= size.
func (sr *segReader) readAt(p []byte, off int64) error {
	if off >= sr.at && off+int64(len(p)) <= sr.at+int64(sr.n) {
		copy(p, sr.buf[off-sr.at:])
		return nil
	}
	if len(p) > len(sr.buf)/2 {
		n, err := sr.r.ReadAt(p, off)
		if n == len(p) {
			return nil
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return readErr(err)
	}
	want := int(min(int64(len(sr.buf)), sr.size-off))
	n, err := sr.r.ReadAt(sr.buf[:want], off)
	if n < want {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return readErr(err)
	}
	sr.at, sr.n = off, n
	copy(p, sr.buf[:len(p)])
	return nil
}

// checkHeader returns why the header h at off cannot start a record of a segment of size
// bytes ("" if it can) and the payload length it claims.
func checkHeader(h []byte, off, size int64) (int64, string) {
	if h[0] != magic0 || h[1] != magic1 {
		return 0, fmt.Sprintf("bad magic %#02x%02x", h[0], h[1])
	}
	if h[2] != version || (h[3] != 0 && h[3] != flagSeal) {
		return 0, fmt.Sprintf("unknown version %d / flags %#x", h[2], h[3])
	}
	n := int64(binary.LittleEndian.Uint32(h[4:8]))
	if h[3] == flagSeal && n != 0 {
		return n, fmt.Sprintf("bad length %d of a seal", n)
	}
	if n > MaxRecordBytes {
		return n, fmt.Sprintf("bad length %d > max %d", n, MaxRecordBytes)
	}
	if left := size - off - headerSize; n > left {
		return n, fmt.Sprintf("bad length %d: only %d bytes left", n, left)
	}
	return n, ""
}

// frameAt reports whether a valid record starts at off, checking its CRC through the
// fixed buffer chunk (so that candidates cost no allocation), and returns its payload
// length.
func (sr *segReader) frameAt(off int64, chunk []byte) (int64, bool, error) {
	if sr.size-off < headerSize {
		return 0, false, nil
	}
	var h [headerSize]byte
	if err := sr.readAt(h[:], off); err != nil {
		return 0, false, err
	}
	n, reason := checkHeader(h[:], off, sr.size)
	if reason != "" {
		return 0, false, nil
	}
	crc := crc32.Update(0, castagnoli, h[4:8])
	for done := int64(0); done < n; {
		c := chunk[:min(int64(len(chunk)), n-done)]
		if err := sr.readAt(c, off+headerSize+done); err != nil {
			return 0, false, err
		}
		crc = crc32.Update(crc, castagnoli, c)
		done += int64(len(c))
	}
	return n, crc == binary.LittleEndian.Uint32(h[8:12]), nil
}

// resync finds the first valid record after the bad one at off, trying every offset where
// the magic bytes appear (the earliest valid frame, so that a damaged length field cannot
// make it jump over intact records). It returns the offset found, or -1.
func (sr *segReader) resync(off int64, chunk []byte) (int64, error) {
	var two [2]byte
	for cand := off + 1; cand+headerSize <= sr.size; cand++ {
		if err := sr.readAt(two[:], cand); err != nil {
			return -1, err
		}
		if two[0] != magic0 || two[1] != magic1 {
			continue
		}
		if _, ok, err := sr.frameAt(cand, chunk); err != nil {
			return -1, err
		} else if ok {
			return cand, nil
		}
	}
	return -1, nil
}

// countRecords estimates how many records the damaged run [off, next) held: it follows
// the length fields of the headers that still look right, and counts one record when they
// do not lead exactly to next.
func (sr *segReader) countRecords(off, next int64) (int, error) {
	var h [headerSize]byte
	count := 0
	for p := off; p < next; count++ {
		if next-p < headerSize {
			return 1, nil
		}
		if err := sr.readAt(h[:], p); err != nil {
			return 0, err
		}
		n, reason := checkHeader(h[:], p, next)
		if reason != "" {
			return 1, nil
		}
		p += headerSize + n
	}
	return max(count, 1), nil
}

// scanSegment reads framed records from r, which holds exactly size bytes, calling fn for
// each valid record with the offset just past it.
//
// A record that is not valid (short header, bad magic, version or length, CRC mismatch)
// is not the end of the segment if a valid record follows it: records are framed and
// checksummed, so the scan resynchronises on the next valid frame and reports the bytes in
// between as damage. Only when no valid record follows are the bad bytes a tail (what a
// torn, never acknowledged append leaves). Any other error is an I/O error of r or an
// error returned by fn.
//
// Allocation is bounded by size: a length field is trusted only after it has been checked
// against MaxRecordBytes and against the bytes that remain in the segment, and once one
// record failed its CRC, candidates are checked through a fixed buffer before a payload
// is allocated.
func scanSegment(r io.ReaderAt, size int64, fn func(rec []byte, end int64) error) (res scanResult, err error) {
	sr := &segReader{r: r, size: size, buf: make([]byte, min(256<<10, max(size, 16)))}
	chunk := make([]byte, 4<<10)
	suspect := false // a CRC failed: verify before allocating
	var h [headerSize]byte
	off := int64(0)
	for off < size {
		reason, claimedEnd := "", int64(-1)
		var rec []byte
		if size-off < headerSize {
			reason = fmt.Sprintf("short header: %d bytes left", size-off)
		} else if err := sr.readAt(h[:], off); err != nil {
			return res, err
		} else if n, why := checkHeader(h[:], off, size); why != "" {
			reason = why
		} else {
			claimedEnd = off + headerSize + n
			ok := true
			if suspect {
				if _, ok, err = sr.frameAt(off, chunk); err != nil {
					return res, err
				}
			}
			if ok {
				rec = make([]byte, n)
				if err := sr.readAt(rec, off+headerSize); err != nil {
					return res, err
				}
				if want, got := binary.LittleEndian.Uint32(h[8:12]), recordCRC(rec); got != want {
					reason = fmt.Sprintf("crc mismatch: stored %#08x, computed %#08x", want, got)
					suspect = true
				}
			} else {
				reason = "crc mismatch"
			}
		}
		if reason == "" && h[3] == flagSeal {
			res.tail = &tailError{"sealed after a write that failed and could not be undone"}
			return res, nil
		}
		if reason == "" {
			off = claimedEnd
			res.valid = off
			if err := fn(rec, off); err != nil {
				return res, err
			}
			continue
		}
		next, err := sr.resync(off, chunk)
		if err != nil {
			return res, err
		}
		if next < 0 {
			res.tail = &tailError{reason}
			return res, nil
		}
		records, err := sr.countRecords(off, next)
		if err != nil {
			return res, err
		}
		res.damaged = append(res.damaged, damage{off: off, n: next - off, records: records, reason: reason})
		off = next
	}
	return res, nil
}

// readErr turns an early EOF (the file shrank under us) into a real error.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: segment shorter than its size: %w", ErrIO, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%w: read: %w", ErrIO, err)
}
