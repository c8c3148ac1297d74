package ingest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A body that stalls after a few bytes is cut off with 408 once the grace is
// over, not at the server's ReadTimeout.
func TestReadCutsOffAStalledBody(t *testing.T) {
	p := newPipeline(t, func(c *Config) { c.Limits.MinBodyRate, c.Limits.BodyGrace = 4096, 300*time.Millisecond })
	got := make(chan *Error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, e := p.Read(w, r, nil)
		if b != nil {
			b.Close()
		}
		got <- e
		if e != nil {
			w.WriteHeader(e.Status)
		}
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"events\":[")
	select {
	case e := <-got:
		if e == nil || e.Status != http.StatusRequestTimeout || !strings.Contains(e.Msg, "4096 bytes a second") {
			t.Fatalf("stalled body: %v, want 408 naming the rate", e)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cut off after %v, want about the 300ms grace", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stalled body was not cut off in 10s")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := io.ReadAll(io.LimitReader(c, 12))
	if string(line) != "HTTP/1.1 408" {
		t.Errorf("the client read %q, want the 408", line)
	}
}

// A body sent at a steady pace above the minimum rate passes, even when it
// takes longer than the grace.
func TestReadLetsASteadyBodyThrough(t *testing.T) {
	p := newPipeline(t, func(c *Config) { c.Limits.MinBodyRate, c.Limits.BodyGrace = 4096, 200*time.Millisecond })
	got := make(chan *Error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, e := p.Read(w, r, nil)
		if b != nil {
			b.Close()
		}
		got <- e
	}))
	defer srv.Close()
	body := bytes.Repeat([]byte(" "), 8000)
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(body); i += 1000 { // 10,000 bytes a second
			pw.Write(body[i : i+1000])
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if e := <-got; e != nil {
		t.Fatalf("a body at 10,000 bytes a second: %v", e)
	}
}

func TestBudgetKeepsRoomForSmallBodies(t *testing.T) {
	b := NewBudget(4<<20, 2) // large growth may fill 3 MiB
	big := account{b: b}
	if !big.cover(3 << 20) {
		t.Fatal("3 MiB of a 4 MiB budget refused")
	}
	big2 := account{b: b}
	if big2.cover(SmallBody + 1) {
		t.Error("a second large body went past three quarters of the budget")
	}
	big3 := account{b: b}
	if big3.cover(SmallBody + 1) {
		t.Error("a third large body was let in with two at once allowed")
	}
	big3.release()
	var small []account
	for range 4 { // 4 x 256 KiB: the last quarter
		a := account{b: b}
		if !a.cover(SmallBody) {
			t.Fatalf("a small body was refused with %d bytes in use", b.InUse())
		}
		small = append(small, a)
	}
	extra := account{b: b}
	if extra.cover(1) {
		t.Error("the budget gave more than its size")
	}
	big.release()
	for i := range small {
		small[i].release()
	}
	big2.release()
	again := account{b: b}
	if !again.cover(SmallBody + 1) {
		t.Error("a large body refused after the others were released")
	}
	again.release()
	if b.InUse() != 0 {
		t.Errorf("%d bytes in use after every release", b.InUse())
	}
	var none *Budget
	if a := (account{b: none}); !a.cover(1 << 40) {
		t.Error("no budget refused")
	}
}

// While the turns of large bodies are taken, a gzip body of more than
// SmallBody after gunzip is refused with 503; a small one passes.
func TestLargeGzipBodyNeedsATurn(t *testing.T) {
	p := newPipeline(t, nil)
	b := NewBudget(64<<20, 1)
	holder := account{b: b}
	if !holder.claimBig() {
		t.Fatal("the only turn was refused")
	}
	big := append(append([]byte(`{"events":[`), bytes.Repeat([]byte(" "), SmallBody+1)...), []byte(`{}]}`)...)
	body, e := p.Read(nil, gzReq(t, big), b)
	if e != nil {
		t.Fatal(e)
	}
	_, e = body.Process(false, testNow)
	body.Close()
	if e == nil || e.Status != 503 {
		t.Fatalf("a large gzip body with the turn taken: %v, want 503", e)
	}
	small := batchBody(t, "", goodEvent(1))
	body, e = p.Read(nil, gzReq(t, small), b)
	if e != nil {
		t.Fatal(e)
	}
	if _, e = body.Process(false, testNow); e != nil {
		t.Errorf("a small gzip body with the turn taken: %v", e)
	}
	body.Close()
	holder.release()
	if b.InUse() != 0 {
		t.Errorf("%d bytes still held", b.InUse())
	}
}
