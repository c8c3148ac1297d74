package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

const benchEvents = 100

// benchBatch is a realistic batch: one machine and project, a mix of the default plan's
// events, each with build info and context, as the SDK sends them.
func benchBatch(tb testing.TB) (plainBody, gzBody []byte) {
	evs := make([]any, benchEvents)
	for i := range evs {
		e := goodEvent(i)
		e = with(e, "build", ev{"plugins": []any{"i18n", "graphql", "@strapi/plugin-users-permissions", "upload"}, "typescript": true, "database": "postgres", "packageManager": "npm"})
		switch i % 4 {
		case 0:
			e = with(e, "event", "didStartServer")
			e = with(e, "properties", ev{"durationMs": 1000 + i})
		case 1:
			e = with(e, "event", "didUseFeature")
			e = with(e, "properties", ev{"feature": "content-history"})
		case 2:
			e = with(e, "event", "didFailWithError")
			e = with(e, "properties", ev{"code": "DB_CONNECTION_REFUSED"})
		case 3:
			e = with(e, "event", "ping")
			e = with(e, "properties", nil)
		}
		e = with(e, "timestamp", testNow.Add(-time.Duration(benchEvents-i)*time.Second).Format(time.RFC3339Nano))
		evs[i] = e
	}
	plainBody = batchBody(tb, testNow.Format(time.RFC3339Nano), evs...)
	return plainBody, gz(tb, plainBody)
}

func benchRequest(body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Encoding", "gzip")
	r.ContentLength = int64(len(body))
	return r
}

func BenchmarkProcess(b *testing.B) {
	p := newPipeline(b, nil)
	plainBody, gzBody := benchBatch(b)
	b.SetBytes(int64(len(plainBody))) // MB/s of JSON; the gzip body is much smaller
	b.ReportAllocs()
	rd := bytes.NewReader(gzBody)
	r := benchRequest(gzBody)
	for b.Loop() {
		rd.Reset(gzBody)
		r.Body = io.NopCloser(rd)
		batch, err := p.Process(r, false, testNow)
		if err != nil || len(batch.Events) != benchEvents {
			b.Fatalf("%v %+v", err, batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
	b.ReportMetric(float64(len(gzBody)), "gzip-bytes")
}

func BenchmarkProcessParallel(b *testing.B) {
	p := newPipeline(b, nil)
	plainBody, gzBody := benchBatch(b)
	b.SetBytes(int64(len(plainBody)))
	b.ReportAllocs()
	b.SetParallelism(8) // 16 senders on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(gzBody)
		r := benchRequest(gzBody)
		for pb.Next() {
			rd.Reset(gzBody)
			r.Body = io.NopCloser(rd)
			batch, err := p.Process(r, false, testNow)
			if err != nil || len(batch.Events) != benchEvents {
				b.Errorf("%v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
}

// BenchmarkFloor is what the benchmark's floor server does per request: read the body,
// gunzip it (with a pooled reader) and decode it into the wire types. Compare its ns/event
// with BenchmarkProcess.
func BenchmarkFloor(b *testing.B) {
	plainBody, gzBody := benchBatch(b)
	b.SetBytes(int64(len(plainBody)))
	b.ReportAllocs()
	rd := bytes.NewReader(gzBody)
	r := benchRequest(gzBody)
	for b.Loop() {
		rd.Reset(gzBody)
		r.Body = io.NopCloser(rd)
		floor(b, r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
}

func BenchmarkFloorParallel(b *testing.B) {
	plainBody, gzBody := benchBatch(b)
	b.SetBytes(int64(len(plainBody)))
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(gzBody)
		r := benchRequest(gzBody)
		for pb.Next() {
			rd.Reset(gzBody)
			r.Body = io.NopCloser(rd)
			floor(b, r)
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
}

var floorPool sync.Pool // *gzip.Reader

func floor(b *testing.B, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		b.Fatal(err)
	}
	zr, _ := floorPool.Get().(*gzip.Reader)
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(body))
	} else {
		err = zr.Reset(bytes.NewReader(body))
	}
	if err != nil {
		b.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	floorPool.Put(zr)
	if err != nil {
		b.Fatal(err)
	}
	var batch wire.Batch
	if err := json.Unmarshal(plain, &batch); err != nil || len(batch.Events) != benchEvents {
		b.Fatal(err)
	}
}
