package wire

import "testing"

func TestProjectIDs(t *testing.T) {
	const u = "7b581c0d-89b7-479e-b379-a76ab90b8754"
	for _, tc := range []struct {
		in      string
		valid   bool
		uuidOut string
	}{
		{u, true, u},
		{"7B581C0D-89B7-479E-B379-A76AB90B8754", true, u},
		{"getstarted-" + u, true, u},
		{"a-" + u, true, u},
		{"-" + u, false, ""}, // an empty prefix
		{"--" + u, true, u},  // a prefix of one dash: [a-z0-9-]{1,32}
		{"Get-" + u, false, ""},
		{"x_y-" + u, false, ""},
		{"abcdefghijklmnopqrstuvwxyz0123456-" + u, false, ""}, // 33-character prefix
		{"abcdefghijklmnopqrstuvwxyz012345-" + u, true, u},
		{u[:35], false, ""},
		{u + "0", false, ""},
		{"7b581c0d-89b7-479e-b379_a76ab90b8754", false, ""},
		{"7b581c0d-89b7-479e-b379-a76ab90b875g", false, ""},
		{"", false, ""},
	} {
		if got := IsProjectID(tc.in); got != tc.valid {
			t.Errorf("IsProjectID(%q) = %v, want %v", tc.in, got, tc.valid)
		}
		if got := ProjectUUID(tc.in); got != tc.uuidOut {
			t.Errorf("ProjectUUID(%q) = %q, want %q", tc.in, got, tc.uuidOut)
		}
	}
}

func TestMachineIDsAndEnvironments(t *testing.T) {
	hex64 := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if !IsMachineID(hex64) || IsMachineID(hex64[:63]) || IsMachineID("0123456789ABCDEF"+hex64[16:]) {
		t.Error("IsMachineID accepts only 64 lowercase hex characters")
	}
	for _, e := range Environments {
		if !IsEnvironment(e) {
			t.Errorf("IsEnvironment(%q) = false", e)
		}
	}
	if IsEnvironment("Production") || IsEnvironment("") {
		t.Error("environments are the five lowercase values only")
	}
}

func TestParseUUID(t *testing.T) {
	u, ok := ParseUUID("7B581C0D-89b7-479e-b379-a76ab90b8754")
	want := [16]byte{0x7b, 0x58, 0x1c, 0x0d, 0x89, 0xb7, 0x47, 0x9e, 0xb3, 0x79, 0xa7, 0x6a, 0xb9, 0x0b, 0x87, 0x54}
	if !ok || u != want {
		t.Fatalf("ParseUUID = %x, %v; want %x", u, ok, want)
	}
	for _, bad := range []string{"", "7b581c0d89b7479eb379a76ab90b8754", "7b581c0d-89b7-479e-b379-a76ab90b875g", "7b581c0d-89b7-479e-b379a-76ab90b8754",
		"00000000-0000-0000-0000-000000-00000", "7b581c0d-89b7-479e-b379-a-6ab90b8754"} { // a dash out of place, not a panic
		if _, ok := ParseUUID(bad); ok {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

func TestFormatUUID(t *testing.T) {
	u := [16]byte{0x7b, 0x58, 0x1c, 0x0d, 0x89, 0xb7, 0x47, 0x9e, 0xb3, 0x79, 0xa7, 0x6a, 0xb9, 0x0b, 0x87, 0x54}
	if got, want := FormatUUID(u), "7b581c0d-89b7-479e-b379-a76ab90b8754"; got != want {
		t.Fatalf("FormatUUID = %q, want %q", got, want)
	}
	if back, ok := ParseUUID(FormatUUID(u)); !ok || back != u {
		t.Fatalf("ParseUUID(FormatUUID(u)) = %x, %v", back, ok)
	}
}
