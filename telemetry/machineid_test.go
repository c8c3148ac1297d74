package telemetry

import (
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
	// HMAC-SHA256 keyed by the product name, as DESIGN.md fixes it.
	if want := hashMachineID(raw, "strapi"); a != want {
		t.Errorf("got %s, want %s", a, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a usable OS ID must not write a fallback file")
	}
}

func TestMachineIDFallsBackToAStoredRandomID(t *testing.T) {
	for _, raw := range []string{"", "   ", "00000000000000000000000000000000", "00000000-0000-0000-0000-000000000000",
		"b08dfa6083e7567a1921a715000001fb", "03000200-0400-0500-0006-000700080009"} {
		dir := filepath.Join(t.TempDir(), "state")
		a, err := machineID("strapi", dir, raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		b, _ := machineID("strapi", dir, raw)
		if a != b || !wire.IsMachineID(a) {
			t.Errorf("%q: fallback IDs %s, %s: want one stable ID", raw, a, b)
		}
		if a == hashMachineID(raw, "strapi") {
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
	if raw == "" {
		t.Skip("this machine has no OS machine ID; the fallback is tested above")
	}
	if !usableMachineID(raw) {
		t.Skipf("this machine's ID is a known shared value")
	}
	id, err := machineID("strapi", t.TempDir(), raw)
	if err != nil || id != hashMachineID(raw, "strapi") {
		t.Errorf("machineID = %s, %v", id, err)
	}
}
