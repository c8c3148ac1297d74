package telemetry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/abacushq/abacus/telemetry/wire"
)

func TestMachineIDIsKeyedHashOfOSID(t *testing.T) {
	const raw = "4c4c4544-0042-3510-8052-b4c04f4d4e31"
	dir := t.TempDir()
	a, err := machineID("strapi", dir, raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := machineID("strapi", dir, strings.ToUpper(raw)+"\n")
	other, _ := machineID("other-product", dir, raw)
	if !wire.IsMachineID(a) {
		t.Fatalf("machine ID %q is not 64 lowercase hex", a)
	}
	if a != b {
		t.Errorf("case or whitespace changed the ID: %s vs %s", a, b)
	}
	if a == other {
		t.Errorf("two products got the same machine ID")
	}
	if strings.Contains(a, strings.ReplaceAll(raw, "-", "")) || strings.Contains(a, raw) {
		t.Errorf("the raw ID shows through: %s", a)
	}
	// HMAC-SHA256 keyed by the product name, as DESIGN.md fixes it, computed
	// here with crypto/hmac, not by the code under test.
	m := hmac.New(sha256.New, []byte("strapi"))
	m.Write([]byte(raw))
	if want := hex.EncodeToString(m.Sum(nil)); a != want {
		t.Errorf("got %s, want %s", a, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a usable OS ID must not write a fallback file")
	}
}

// TestMachineIDKnownAnswer pins one ID, computed with an independent tool:
//
//	printf %s 4c4c4544004d3510804cb4c04f4d3332 | openssl dgst -sha256 -hmac strapi
func TestMachineIDKnownAnswer(t *testing.T) {
	id, err := machineID("strapi", t.TempDir(), "4C4C4544004D3510804CB4C04F4D3332\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "53f40cb105420d7ffe0e05b458fc0a48af91bebb256b40fad6f10b4dba7122bb"; id != want {
		t.Errorf("machine ID = %s, want %s", id, want)
	}
}

func TestMachineIDFallsBackToAStoredRandomID(t *testing.T) {
	for _, raw := range []string{"", "   ", "00000000000000000000000000000000", "00000000-0000-0000-0000-000000000000",
		"b08dfa6083e7567a1921a715000001fb", "03000200-0400-0500-0006-000700080009", "uninitialized", "not-hex"} {
		dir := filepath.Join(t.TempDir(), "state")
		a, err := machineID("strapi", dir, raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		b, _ := machineID("strapi", dir, raw)
		if a != b || !wire.IsMachineID(a) {
			t.Errorf("%q: fallback IDs %s, %s: want one stable ID", raw, a, b)
		}
		m := hmac.New(sha256.New, []byte("strapi"))
		m.Write([]byte(strings.ToLower(strings.TrimSpace(raw))))
		if a == hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("%q: a shared OS ID was used", raw)
		}
		info, err := os.Stat(filepath.Join(dir, "machine-id"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%q: fallback file: %v %v", raw, info, err)
		}
		c, _ := machineID("strapi", filepath.Join(t.TempDir(), "state"), raw)
		if c == a {
			t.Errorf("%q: two machines without an OS ID got the same fallback", raw)
		}
	}
}

func TestThisMachineHasAnOSID(t *testing.T) {
	raw := rawMachineID()
	state := t.TempDir()
	id, err := machineID("strapi", state, raw)
	if err != nil || !wire.IsMachineID(id) {
		t.Fatalf("machineID = %s, %v", id, err)
	}
	_, statErr := os.Stat(filepath.Join(state, "machine-id"))
	if !usableMachineID(raw) {
		// No usable OS ID here (a container without /etc/machine-id): the
		// fallback is kept.
		if statErr != nil {
			t.Errorf("no usable OS machine ID (%q) and no fallback file: %v", raw, statErr)
		}
		return
	}
	m := hmac.New(sha256.New, []byte("strapi"))
	m.Write([]byte(strings.ToLower(strings.TrimSpace(raw))))
	if want := hex.EncodeToString(m.Sum(nil)); id != want || statErr == nil {
		t.Errorf("machineID = %s, want %s and no fallback file", id, want)
	}
}
