package wal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzReplay writes arbitrary bytes as a segment file and replays it: Replay must not
// panic, must return only records whose framing and CRC are right (checked here
// independently, against the raw bytes), must account for every byte (records + damaged
// runs between them + tail = file size, each gap reported where it is), and must not
// allocate much more than the file size whatever its length fields say.
func FuzzReplay(f *testing.F) {
	var valid []byte
	for i := range 5 {
		valid = appendRecord(valid, payload(i))
	}
	f.Add([]byte{})
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:headerSize-1])
	f.Add(appendRecord(nil, nil))
	f.Add(make([]byte, 64))
	huge := appendRecord(nil, []byte("x"))
	binary.LittleEndian.PutUint32(huge[4:8], 0xFFFFFFF0)
	f.Add(huge)
	big := appendRecord(nil, []byte("x"))
	binary.LittleEndian.PutUint32(big[4:8], MaxRecordBytes) // allowed length, not there
	f.Add(append(big, valid...))
	flipped := bytes.Clone(valid)
	flipped[len(flipped)/2] ^= 1
	f.Add(flipped)

	// One directory per fuzz worker process (executions in a worker are sequential), so an
	// execution costs a file write, an Open and a Replay rather than a fresh directory.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()

		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		var prev int64
		var gaps [][2]int64 // [start, end) of the bytes between records
		st, err := l.Replay(func(rec []byte, end Pos) error {
			if end.Segment != 1 {
				t.Fatalf("record in segment %d", end.Segment)
			}
			start := end.Offset - headerSize - int64(len(rec))
			if start < prev || end.Offset > int64(len(data)) {
				t.Fatalf("record [%d, %d) of %d bytes overlaps the previous one (ends at %d) or the end", start, end.Offset, len(rec), prev)
			}
			if start > prev {
				gaps = append(gaps, [2]int64{prev, start})
			}
			h := data[start : start+headerSize]
			if h[0] != magic0 || h[1] != magic1 || h[2] != version || h[3] != 0 {
				t.Fatalf("record at %d has a bad header %x", start, h)
			}
			if n := binary.LittleEndian.Uint32(h[4:8]); int(n) != len(rec) {
				t.Fatalf("record at %d: length field %d, returned %d bytes", start, n, len(rec))
			}
			if !bytes.Equal(rec, data[start+headerSize:end.Offset]) {
				t.Fatalf("record at %d differs from the file", start)
			}
			sum := crc32.Checksum(data[start+4:start+8], crc32.MakeTable(crc32.Castagnoli))
			sum = crc32.Update(sum, crc32.MakeTable(crc32.Castagnoli), rec)
			if sum != binary.LittleEndian.Uint32(h[8:12]) {
				t.Fatalf("record at %d returned with a bad CRC", start)
			}
			prev = end.Offset
			return nil
		})
		runtime.ReadMemStats(&ms)
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		// Every gap between records is one damaged run, reported where it is; what follows
		// the last record is the tail, if anything.
		if len(gaps) != len(st.Damaged) {
			t.Fatalf("gaps %v between records, damage reported %+v", gaps, st.Damaged)
		}
		var skipped int64
		for i, g := range gaps {
			d := st.Damaged[i]
			if d.Offset != g[0] || d.Offset+d.Skipped != g[1] || d.Records < 1 {
				t.Fatalf("gap %v reported as %+v", g, d)
			}
			skipped += d.Skipped
		}
		tail := int64(len(data)) - prev
		if (tail > 0) != (len(st.Tails) == 1) || (tail > 0 && (st.Tails[0].Offset != prev || st.Tails[0].Skipped != tail)) {
			t.Fatalf("records end at %d of %d bytes, tails %+v", prev, len(data), st.Tails)
		}
		if skipped+tail != st.SkippedBytes {
			t.Fatalf("skipped %d bytes, damage %d + tail %d", st.SkippedBytes, skipped, tail)
		}
		if alloc := ms.TotalAlloc - before; alloc > 2*uint64(len(data))+1<<20 {
			t.Fatalf("replay of %d bytes allocated %d bytes", len(data), alloc)
		}
	})
}
