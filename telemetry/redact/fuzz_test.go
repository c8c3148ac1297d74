package redact

import (
	"strings"
	"testing"
)

var reasons = map[string]bool{"": true, Email: true, IPAddress: true, CredentialURL: true, HomePath: true, Secret: true}

// FuzzCheck asserts what must hold for any input:
//   - Check never panics and is deterministic;
//   - it returns one of the five reasons or "";
//   - a flagged value stays flagged when it is embedded in text:
//     " x " + s + " y". Every rule treats ASCII space exactly like the start or
//     the end of the value, and " x " and " y" cannot complete or break a
//     match inside s. (The reason may change: "password=" + " y" becomes a
//     Secret, so only "still flagged" is asserted, not "same reason".)
//   - Rules.AbsolutePaths only adds the Path check, last, which also survives
//     embedding;
//   - Rules only add the HomePath check, last: with a Home set, a value Check
//     flags gets the same reason, and a safe one is either safe or a HomePath;
//   - a value that contains the configured home (a sub-string of the value
//     used as Home, when it is a usable one) is flagged.
func FuzzCheck(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Check(s)
		if again := Check(s); again != got {
			t.Fatalf("Check(%q) not deterministic: %q then %q", s, got, again)
		}
		if !reasons[got] {
			t.Fatalf("Check(%q) = %q: not a known reason", s, got)
		}
		if got != "" {
			if e := Check(" x " + s + " y"); e == "" {
				t.Fatalf("Check(%q) = %q but embedded as %q it is safe", s, got, " x "+s+" y")
			}
		}

		r := Rules{Home: "/home/alice"}
		rg := r.Check(s)
		if got != "" && rg != got || got == "" && rg != "" && rg != HomePath {
			t.Fatalf("Check(%q) = %q but Rules{Home: %q}.Check = %q", s, got, r.Home, rg)
		}

		// AbsolutePaths only adds the Path check, last, and a path stays a
		// path when embedded in text.
		ra := Rules{AbsolutePaths: true}
		ga := ra.Check(s)
		if got != "" && ga != got || got == "" && ga != "" && ga != Path {
			t.Fatalf("Check(%q) = %q but Rules{AbsolutePaths: true}.Check = %q", s, got, ga)
		}
		if ga != "" && ra.Check(" x "+s+" y") == "" {
			t.Fatalf("Rules{AbsolutePaths: true}.Check(%q) = %q but embedded it is safe", s, ga)
		}

		// Use a piece of s as the home directory.
		if len(s) >= 2 {
			h := s[len(s)/3 : len(s)-len(s)/3]
			hr := Rules{Home: h}
			if hr.home() != "" && hr.Check(s) == "" {
				t.Fatalf("Rules{Home: %q}.Check(%q) = \"\" though the value contains the home", h, s)
			}
			if hg := hr.Check(s); got != "" && hg != got {
				t.Fatalf("Check(%q) = %q but Rules{Home: %q}.Check = %q", s, got, h, hg)
			}
		}
	})
}

// TestFuzzSeeds runs the seed corpus through the same properties without the
// fuzzing engine, so that plain "go test" covers them.
func TestFuzzSeeds(t *testing.T) {
	for _, s := range fuzzSeeds {
		got := Check(s)
		if !reasons[got] {
			t.Errorf("Check(%q) = %q", s, got)
		}
		if got != "" && Check(" x "+s+" y") == "" {
			t.Errorf("Check(%q) = %q, embedded safe", s, got)
		}
	}
	if !strings.Contains(strings.Join(fuzzSeeds, "\n"), "eyJ") {
		t.Fatal("seed corpus lost its JWT")
	}
}

var fuzzSeeds = []string{
	"",
	"didStartServer",
	"alice@example.com",
	"@strapi/plugin-i18n",
	"pkg@1.2.3",
	"@types/node@20.1.0",
	"git@github.com:x/y.git",
	"ssh://git@github.com/x/y.git",
	"alice@host.example.com:repo",
	"logo@2x.png",
	"10.0.0.1",
	"user at 192.168.1.20 said",
	"1.2.3.4567",
	"v1.2.3.4",
	"::1",
	"fe80::1ff:fe23:4567:890a%eth0",
	"2001:db8::8a2e:370:7334",
	"::ffff:192.0.2.1",
	"addr:::1",
	"10:00:05",
	"5.3.1",
	"postgres://user:pass@db:5432/x",
	"https://token@github.com/x",
	"https://github.com/strapi/strapi",
	"root:pw@tcp(db:3306)/x",
	"~/projects",
	"/home/alice",
	"/Users/bob/x",
	`C:\Users\carol`,
	`C:\\Users\\dave`,
	"/mnt/c/users/erin",
	"/root",
	"file:///home/alice",
	"https://example.com/home/welcome",
	"/api/users/1",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.sig",
	"-----BEGIN PRIVATE KEY-----",
	"AKIAIOSFODNN7EXAMPLE",
	"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",
	"github_pat_11ABCDEFG0123456789_abcdefghij",
	"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
	"sk-proj-Ab3dEf9GhIjKlMn-OpQrStUvWx",
	"xoxb-123456789012-abc",
	"AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
	"npm_abcdefghijklmnopqrstuvwxyz0123456789",
	"Password=hunter2;",
	`{"password": "x"}`,
	"Bearer abc123def456ghi789",
	"password=",
	"5d41402abc4b2a76b9719d911017c592",
	"q8Xv2LmN4pR7sT1wY6zA3bC5dE9fG0hJ",
	"7b581c0d-89b7-479e-b379-a76ab90b8754",
	"getstarted-7b581c0d-89b7-479e-b379-a76ab90b8754",
	"2026-11-28T10:00:00.123Z",
	"ERR_CONNECTION_REFUSED_2024",
	"my-very-long-feature-flag-name-for-tests",
	"\xff\xfe@\x80.com",
	"数据库/home/josé",
	"a\x00b",
}
