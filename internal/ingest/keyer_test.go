package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
)

func TestKeyerKnownAnswer(t *testing.T) {
	k := NewKeyer(testSecret)
	mac := func(msg string) string {
		h := hmac.New(sha256.New, testSecret)
		h.Write([]byte(msg))
		return hex.EncodeToString(h.Sum(nil)[:16])
	}
	if got, want := k.Project(testProject), mac("project\x00"+testProject); got != want {
		t.Errorf("Project = %s, want %s", got, want)
	}
	if got, want := k.Machine(testMachine), mac("machine\x00"+testMachine); got != want {
		t.Errorf("Machine = %s, want %s", got, want)
	}
	if got, want := k.Session(strings.ToUpper(testSession)), mac("session\x00"+testSession); got != want {
		t.Errorf("Session = %s, want %s", got, want)
	}
}

func TestKeyer(t *testing.T) {
	k := NewKeyer(testSecret)
	p := k.Project(testProject)
	if len(p) != KeyLen || strings.Trim(p, "0123456789abcdef") != "" {
		t.Fatalf("key %q is not 32 lowercase hex characters", p)
	}
	if k.Project(testProject) != p || NewKeyer(testSecret).Project(testProject) != p {
		t.Error("not deterministic")
	}
	for _, id := range []string{strings.ToUpper(testProject), "getstarted-" + testProject, "a-" + strings.ToUpper(testProject), strings.Repeat("x", 32) + "-" + testProject} {
		if k.Project(id) != p {
			t.Errorf("Project(%q) differs from Project(uuid)", id)
		}
	}
	if k.Project("7b581c0d-89b7-479e-b379-a76ab90b8755") == p {
		t.Error("different projects, same key")
	}
	// Domain separation: the same text as project, machine and session.
	if k.Machine(testProject) == p || k.Session(testProject) == p || k.Machine(testProject) == k.Session(testProject) {
		t.Error("domains are not separated")
	}
	if k.Session("") != "" {
		t.Error(`Session("") is not ""`)
	}
	if k.Session(testSession) != k.Session(strings.ToUpper(testSession)) {
		t.Error("Session is case-sensitive")
	}
	other := make([]byte, 32)
	if NewKeyer(other).Project(testProject) == p {
		t.Error("the secret does not matter")
	}
	// The secret is copied.
	s := append([]byte(nil), testSecret...)
	k2 := NewKeyer(s)
	s[0] ^= 1
	if k2.Project(testProject) != p {
		t.Error("NewKeyer keeps a reference to the secret")
	}
	// Long and invalid inputs do not break it.
	long := strings.Repeat("z", 5000)
	if k.Machine(long) == k.Machine(long[:4999]) || len(k.Project(long)) != KeyLen {
		t.Error("long inputs")
	}
}

func TestKeyerShortSecretPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	NewKeyer(make([]byte, MinSecretLen-1))
}

func TestKeyerConcurrent(t *testing.T) {
	k := NewKeyer(testSecret)
	want := k.Machine(testMachine)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if k.Machine(testMachine) != want {
					t.Error("concurrent keys differ")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkKeyer(b *testing.B) {
	k := NewKeyer(testSecret)
	b.ReportAllocs()
	for b.Loop() {
		k.Machine(testMachine)
	}
}
