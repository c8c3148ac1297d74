package ingest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Decode, the floor of the request path, decodes every event of a batch,
// those the plan would reject too, and fails a request as Process does for
// what is not a batch.
func TestDecode(t *testing.T) {
	p := newPipeline(t, nil)
	decode := func(r *http.Request) (int, *Error) {
		b, e := p.Read(nil, r, nil)
		if e != nil {
			return 0, e
		}
		defer b.Close()
		return b.Decode()
	}
	evs := []any{goodEvent(0), with(goodEvent(1), "event", "notInThePlan"), with(goodEvent(2), "product.name", "ghost"), goodEvent(3)}
	body := batchBody(t, "", evs...)
	for name, r := range map[string]*http.Request{"plain": req(body), "gzip": gzReq(t, body)} {
		n, e := decode(r)
		if e != nil || n != len(evs) {
			t.Errorf("%s: Decode = %d, %v; want %d events", name, n, e, len(evs))
		}
	}
	for name, c := range map[string]struct {
		r    *http.Request
		want int
	}{
		"malformed JSON":  {req([]byte(`{"events":[{"id":"x",}]}`)), http.StatusBadRequest},
		"not a batch":     {req([]byte(`[1,2]`)), http.StatusBadRequest},
		"bad gzip":        {req([]byte("not gzip"), "Content-Encoding", "gzip"), http.StatusBadRequest},
		"invalid UTF-8":   {req([]byte("{\"events\":[{\"id\":\"\xff\"}]}")), http.StatusBadRequest},
		"no events array": {req([]byte(`{"sentAt":"2026-01-01T00:00:00Z"}`)), http.StatusBadRequest},
	} {
		if n, e := decode(c.r); e == nil || e.Status != c.want {
			t.Errorf("%s: Decode = %d, %v; want status %d", name, n, e, c.want)
		}
	}
}

// BenchmarkDecode is the request path up to wire values (ingest's floor,
// as bench/ingest's decode floor runs it); compare its ns/event with
// BenchmarkProcess.
func BenchmarkDecode(b *testing.B) {
	p := newPipeline(b, nil)
	plainBody, gzBody := benchBatch(b)
	b.SetBytes(int64(len(plainBody)))
	b.ReportAllocs()
	rd := bytes.NewReader(gzBody)
	r := benchRequest(gzBody)
	for b.Loop() {
		rd.Reset(gzBody)
		r.Body = io.NopCloser(rd)
		body, e := p.Read(nil, r, nil)
		if e != nil {
			b.Fatal(e)
		}
		if n, e := body.Decode(); e != nil || n != benchEvents {
			b.Fatalf("Decode = %d, %v", n, e)
		}
		body.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
}
