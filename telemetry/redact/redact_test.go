package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

type checkCase struct {
	name string
	in   string
	want string
}

func runCases(t *testing.T, r Rules, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Check(tc.in); got != tc.want {
				t.Errorf("Check(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"plain", "alice@example.com", Email},
		{"inside text", "contact alice.smith+tag@mail.example.co.uk today", Email},
		{"percent and dash", "a%b-c_d@sub-domain.example.org", Email},
		{"upper case", "ALICE@EXAMPLE.COM", Email},
		{"end of sentence", "write to bob@example.com.", Email},
		{"in angle brackets", "Alice <alice@example.com>", Email},
		{"numeric provider", "user@163.com", Email},
		{"mailto", "mailto:alice@example.com", Email},
		{"colon then space", "from alice@example.com: hi", Email},
		{"colon at end", "alice@example.com:", Email},
		{"unicode local", "josé@example.com", Email},
		{"idn domain", "user@bücher.de", Email},
		{"bare git address", "git@github.com", Email},
		{"json", `{"user":"alice@example.com"}`, Email},

		{"npm scope", "@strapi/plugin-i18n", ""},
		{"npm scope and name", "@strapi/plugin-users-permissions", ""},
		{"version after @", "pkg@1.2.3", ""},
		{"scoped with version", "@types/node@20.1.0", ""},
		{"prerelease after @", "pkg@1.0.0-rc.beta", ""},
		{"v version after @", "golang.org/x/tools@v0.1.0", ""},
		{"dist tag", "react@latest", ""},
		{"image scale", "logo@2x.png", ""},
		{"no dot", "user@localhost", ""},
		{"numeric tld", "a@b.c1", ""},
		{"one-letter tld", "a@b.c", ""},
		{"no local part", "@example.com", ""},
		{"decorator", "@Component", ""},
		{"scp remote git", "git@github.com:strapi/strapi.git", ""},
		{"ssh url git", "ssh://git@github.com/strapi/strapi.git", ""},
		{"at sign alone", "@", ""},
	})
}

func TestIPAddress(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"ipv4", "10.0.0.1", IPAddress},
		{"ipv4 in text", "user at 192.168.1.20 said", IPAddress},
		{"ipv4 with port", "10.0.0.1:8080", IPAddress},
		{"ipv4 end of sentence", "connect to 172.16.0.254.", IPAddress},
		{"ipv4 zeros", "0.0.0.0", IPAddress},
		{"ipv4 broadcast", "255.255.255.255", IPAddress},
		{"ipv4 after equals", "host=8.8.8.8", IPAddress},
		{"ipv4 in url", "http://127.0.0.1:3000/admin", IPAddress},
		{"loopback v6", "::1", IPAddress},
		{"link local", "fe80::1ff:fe23:4567:890a", IPAddress},
		{"documentation v6", "2001:db8::8a2e:370:7334", IPAddress},
		{"full v6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", IPAddress},
		{"v6 with zone", "fe80::1%eth0", IPAddress},
		{"v6 in brackets", "http://[2001:db8::1]:8080/", IPAddress},
		{"v4-mapped v6", "::ffff:192.0.2.1", IPAddress},
		{"v6 after key", "addr:fe80::1", IPAddress},
		{"v6 in text", "from 2001:db8::42 today", IPAddress},

		{"semver", "5.3.1", ""},
		{"prerelease", "1.2.3-beta.4", ""},
		{"time", "10:00:05", ""},
		{"time with fraction", "10:00:05.123", ""},
		{"node version", "v20.11.1", ""},
		{"v four parts", "v1.2.3.4", ""},
		{"octet too large", "1.2.3.4567", ""},
		{"octet 256", "256.1.1.1", ""},
		{"five parts", "1.2.3.4.5", ""},
		{"windows build", "10.0.22631.2861", ""},
		{"duration", "1h2m3.5s", ""},
		{"duration ms", "1234.5ms", ""},
		{"iso timestamp", "2026-11-28T10:00:00.123Z", ""},
		{"rust path", "std::fmt::Display", ""},
		{"cpp scope", "Foo::Bar", ""},
		{"no digit", "dead::beef", ""},
		{"unspecified", "::", ""},
		{"mac address", "00:1a:2b:3c:4d:5e", ""},
		{"docker digest", "sha256:4d5e6f7a8b9c", ""},
		{"ratio", "16:9", ""},
	})
}

func TestCredentialURL(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"postgres", "postgres://user:pass@db:5432/x", CredentialURL},
		{"token", "https://token@github.com/x", CredentialURL},
		{"user only", "https://alice@example.com/", CredentialURL},
		{"password only", "redis://:secret@cache:6379", CredentialURL},
		{"in text", "failed to connect to mongodb://admin:pw@10.0.0.1/db now", CredentialURL},
		{"no path", "amqp://guest:guest@rabbit", CredentialURL},
		{"ssh other user", "ssh://deploy@host.example.com/srv/repo.git", CredentialURL},
		{"scp other user", "alice@host.example.com:team/repo.git", CredentialURL},
		{"scp with port-like", "alice@example.com:8080", CredentialURL},
		{"mysql dsn", "root:hunter2@tcp(db:3306)/app", CredentialURL},
		{"mysql dsn no address", "root:hunter2@/app", CredentialURL},

		{"github", "https://github.com/strapi/strapi", ""},
		{"npm page", "https://www.npmjs.com/package/@strapi/plugin-i18n", ""},
		{"at in path", "https://example.com/x/@y", ""},
		{"at in query", "https://example.com/?who=@me", ""},
		{"ssh git", "ssh://git@github.com/strapi/strapi.git", ""},
		{"scp git", "git@github.com:x/y.git", ""},
		{"docker digest", "nginx@sha256:0123456789", ""},
		{"npm alias", "npm:lodash@4.17.21", ""},
	})
}

func TestHomePath(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"tilde", "~/projects/app", HomePath},
		{"tilde backslash", `~\AppData\Local`, HomePath},
		{"tilde after equals", "PATH=~/bin", HomePath},
		{"tilde after space", "cd ~/x", HomePath},
		{"linux home", "/home/alice/project", HomePath},
		{"linux home end", "/home/alice", HomePath},
		{"linux home in text", "cannot open /home/alice: denied", HomePath},
		{"linux home inside", "/var/home/alice/x", HomePath},
		{"mac home", "/Users/bob/Library", HomePath},
		{"mac home end", "/Users/bob", HomePath},
		{"mac space in name", "/Users/John Smith/x", HomePath},
		{"windows", `C:\Users\carol\AppData`, HomePath},
		{"windows lower", `c:\users\dave`, HomePath},
		{"windows other drive", `D:\USERS\erin\x`, HomePath},
		{"windows forward", "C:/Users/frank/x", HomePath},
		{"windows escaped", `C:\\Users\\gina\\x`, HomePath},
		{"windows no drive", `\Users\hal\x`, HomePath},
		{"wsl", "/mnt/c/users/ivan/x", HomePath},
		{"root", "/root/.npm/_logs", HomePath},
		{"root alone", "/root", HomePath},
		{"root after equals", "HOME=/root", HomePath},
		{"file url", "file:///home/alice/x.txt", HomePath},
		{"ssh url path", "sftp://host/home/alice/x", HomePath},
		{"home in query", "https://example.com/?path=/home/alice/x", HomePath},
		{"unicode name", "/home/josé/x", HomePath},

		{"word", "home", ""},
		{"home dir itself", "/home/", ""},
		{"home dots", "/home/../etc", ""},
		{"api route", "/api/users/1", ""},
		{"relative users", "users/1", ""},
		{"src", "src/components", ""},
		{"url home route", "https://example.com/home/welcome", ""},
		{"url Users route", "https://example.com/Users/list", ""},
		{"mac shared", "/Users/Shared/x", ""},
		{"windows public", `C:\Users\Public\Desktop`, ""},
		{"windows default", `C:\Users\Default`, ""},
		{"tilde range", "~1.2.3", ""},
		{"tilde in url", "https://example.com/~/x", ""},
		{"rootfs", "/rootfs/x", ""},
		{"root not at start", "/srv/root/x", ""},
		{"tilde alone", "~", ""},
	})
}

func TestSecret(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", Secret},
		{"jwt bearer", "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", Secret},
		{"jwt unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", Secret},
		{"pem rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", Secret},
		{"pem openssh", "-----BEGIN OPENSSH PRIVATE KEY-----", Secret},
		{"pem pkcs8", "key: -----BEGIN PRIVATE KEY----- MIIE", Secret},
		{"pem after escaped newline", `key\n-----BEGIN EC PRIVATE KEY-----\nMHcC`, Secret},
		{"aws akia", "AKIAIOSFODNN7EXAMPLE", Secret},
		{"aws asia in text", "creds ASIAY34FZKBOKMUTVV7A here", Secret},
		{"github ghp", "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", Secret},
		{"github gho", "token=gho_16C7e42F292c6912E7710c838347Ae178B4a", Secret},
		{"github ghs", "ghs_1234567890abcdefABCDEF1234567890ab", Secret},
		{"github pat", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345", Secret},
		{"stripe live", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", Secret},
		{"stripe test", "sk_test_abcdefghijklmnop", Secret},
		{"stripe restricted", "rk_live_abcdefghijklmnop", Secret},
		{"slack bot", "xoxb-123456789012-1234567890123-abcdefghij", Secret},
		{"slack user", "xoxp-1234567890-abc", Secret},
		{"google", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", Secret},
		{"openai", "sk-abcdefghijklmnopqrstuvwxyz123456", Secret},
		{"openai project", "sk-proj-Ab3dEf9GhIjKlMn-OpQrStUvWx_Yz0123456", Secret},
		{"anthropic-like", "sk-ant-api03-Ab3dEf9GhIjK-lMnOp", Secret},
		{"npm", "npm_abcdefghijklmnopqrstuvwxyz0123456789", Secret},
		{"md5 hex", "5d41402abc4b2a76b9719d911017c592", Secret},
		{"sha256 hex", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Secret},
		{"git sha", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8", Secret},
		{"upper hex", "5D41402ABC4B2A76B9719D911017C592", Secret},
		{"base64 token", "tD9TLxT2OQKBgQCcdlHSjp", ""}, // 22: too short for the generic rule
		{"base64 token 24", "Zk3qP9xW2mL7vR4tY8nB1cHs", Secret},
		{"base64 token 32", "q8Xv2LmN4pR7sT1wY6zA3bC5dE9fG0hJ", Secret},
		{"base64 with padding", "token QWxhZGRpbjpvcGVuIHNlc2FtZQ== end", Secret},
		{"base64url", "N59pra9UdVQw9jxCU9G7eMyb0jJkNACAuEwakX3gi27b", Secret},
		{"alternating", "a1B2c3D4e5F6g7H8i9J0k1L2", Secret},
		{"password kv", "Password=hunter2;", Secret},
		{"db password kv", "DB_PASSWORD=hunter2", Secret},
		{"connection string", "Server=db;User Id=sa;Password=p4ss;", Secret},
		{"client secret", "client_secret=abc", Secret},
		{"api key colon", "api_key:abc", Secret},
		{"json password", `{"password": "hunter2"}`, Secret},
		{"yaml quoted", `'secret': x`, Secret},
		{"bearer", "Bearer abc123def456ghi789", Secret},
		{"uuid plus token", "7b581c0d-89b7-479e-b379-a76ab90b8754 Zk3qP9xW2mL7vR4tY8nB1cHs", Secret},

		{"uuid", "7b581c0d-89b7-479e-b379-a76ab90b8754", ""},
		{"uuid upper", "7B581C0D-89B7-479E-B379-A76AB90B8754", ""},
		{"uuid mixed case", "7B581c0d-89b7-479E-B379-a76ab90B8754", ""},
		{"prefixed uuid", "getstarted-7b581c0d-89b7-479e-b379-a76ab90b8754", ""},
		{"uuid v7", "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10", ""},
		{"two uuids", "7b581c0d-89b7-479e-b379-a76ab90b8754/0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10", ""},
		{"word", "production", ""},
		{"error code", "ERR_CONNECTION_REFUSED_2024", ""},
		{"error code short", "E_PLUGIN_NOT_FOUND", ""},
		{"plugin", "@strapi/plugin-users-permissions", ""},
		{"plugin unscoped", "strapi-plugin-graphql", ""},
		{"slug", "my-very-long-feature-flag-name-for-tests", ""},
		{"version", "5.3.1", ""},
		{"timestamp", "2026-11-28T10:00:00.123Z", ""},
		{"camel event", "didStartServerWithPlugin2", ""},
		{"camel with year", "MyAwesomeProject2024Final", ""},
		{"acronym camel", "HTTP2ServerPushEnabledFlag", ""},
		{"path like", "src/components/Header2/Header", ""},
		{"env var", "GODEBUG=tlsmaxrsasize=4096", ""},
		{"short hex", "deadbeef", ""},
		{"hex 31", "5d41402abc4b2a76b9719d911017c59", ""},
		{"all digits", "12345678901234567890123456789012345", ""},
		{"repetitive", "aB1aB1aB1aB1aB1aB1aB1aB1aB1", ""},
		{"task prefix", "task-runner-for-builds", ""},
		{"sk slug", "sk-my-very-long-feature-flag", ""},
		{"xoxo", "xoxo-hugs-and-kisses-forever", ""},
		{"slack too short", "xoxb-abc", ""},
		{"akia short", "AKIA1234", ""},
		{"ghp short", "ghp_abc", ""},
		{"eyJ word", "eyJust.a.sentence", ""},
		{"begin without key", "-----BEGIN CERTIFICATE-----", ""},
		{"prose password", "invalid password: too short", ""},
		{"empty password", "password=", ""},
		{"masked password", "password=********", ""},
		{"password hash key", "password_hash=abc", ""},
		{"passwords word", "passwords=3", ""},
		{"bearer prose", "Bearer token required", ""},
		{"placeholder", Placeholder, ""},
		{"empty", "", ""},
	})
}

func TestOrder(t *testing.T) {
	runCases(t, Rules{Home: "/home/alice"}, []checkCase{
		{"secret before url", "https://user:pass@host/?k=AKIAIOSFODNN7EXAMPLE", Secret},
		{"url before ip", "postgres://u:p@10.0.0.1/db", CredentialURL},
		{"url before email", "https://alice@example.com/", CredentialURL},
		{"email before ip", "alice@example.com from 10.0.0.1", Email},
		{"ip before home", "10.0.0.1:/home/alice/x", IPAddress},
		{"email before home", "/home/alice/alice@example.com", Email},
		{"secret before home", "/home/alice/.npmrc npm_abcdefghijklmnopqrstuvwxyz0123456789", Secret},
		{"home last", "/home/alice", HomePath},
	})
}

func TestRulesHome(t *testing.T) {
	cases := []struct {
		name, home, in, want string
	}{
		{"contains", "/srv/builder", "/srv/builder/app/x.js", HomePath},
		{"exact", "/srv/builder", "/srv/builder", HomePath},
		{"trailing slash on home", "/srv/builder/", "/srv/builder", HomePath},
		{"inside text", "/opt/ci", "cwd=/opt/ci/work", HomePath},
		{"windows case", `C:\Build\Agent`, `c:\build\agent\x`, HomePath},
		{"windows separators", `C:\Build\Agent`, `C:/Build/Agent/x`, HomePath},
		{"other path", "/srv/builder", "/srv/other", ""},
		{"empty home", "", "/srv/builder", ""},
		{"slash home", "/", "/srv/builder", ""},
		{"double slash home", "//", "/srv/builder", ""},
		{"drive root home", `C:\`, `C:\tmp`, ""},
		{"generic still found", "", "/home/bob", HomePath},
		{"generic with home set", "/srv/builder", "/Users/bob", HomePath},
		{"other reasons first", "/srv/builder", "/srv/builder/alice@example.com", Email},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Rules{Home: tc.home}).Check(tc.in); got != tc.want {
				t.Errorf("Rules{Home: %q}.Check(%q) = %q, want %q", tc.home, tc.in, got, tc.want)
			}
		})
	}
	if got := Check("/srv/builder/x"); got != "" {
		t.Errorf("zero Rules flagged a path outside any home shape: %q", got)
	}
}

func TestUnicodeAndInvalidUTF8(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"cjk", "数据库连接失败", ""},
		{"emoji", "🚀 launched", ""},
		{"accented", "café-résumé-naïve", ""},
		{"rtl", "مرحبا بالعالم", ""},
		{"invalid bytes", "\xff\xfe\xfd", ""},
		{"truncated rune", "abc\xe2\x82", ""},
		{"nul bytes", "a\x00b\x00c", ""},
		{"lone continuation", "\x80\x80@\x80", ""},
		{"email after invalid", "\xffalice@example.com", Email},
		{"email with invalid tld bytes", "a@b.\xff\xfe", Email},
		{"ip after emoji", "🚀10.0.0.1", IPAddress},
		{"home with invalid name", "/home/\xff\xfe/x", HomePath},
		{"secret after cjk", "密钥AKIAIOSFODNN7EXAMPLE", Secret},
		{"nbsp separated email", "mail\u00a0alice@example.com", Email},
		{"fullwidth at", "alice＠example.com", ""},
	})
}

// TestRandomTokens checks the tuning of the generic rule: random base62 and
// base64url tokens of 24 characters or more that mix lower case, upper case
// and digits are caught.
func TestRandomTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabets := map[string]string{
		"base62":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"base64":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
		"base64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	}
	for name, alpha := range alphabets {
		for _, n := range []int{24, 32, 40, 64} {
			caught, total := 0, 0
			b := make([]byte, n)
			for total < 2000 {
				for i := range b {
					b[i] = alpha[rng.IntN(len(alpha))]
				}
				s := string(b)
				if !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") ||
					!strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ||
					!strings.ContainsAny(s, "0123456789") {
					continue
				}
				total++
				if Check(s) == Secret {
					caught++
				}
			}
			min := 0.985 // n = 24: about 99.4% measured
			if n >= 32 {
				min = 0.995
			}
			if rate := float64(caught) / float64(total); rate < min {
				t.Errorf("%s n=%d: caught %.2f%%, want at least %.1f%%", name, n, 100*rate, 100*min)
			}
		}
	}
}

// TestLinear guards against quadratic behaviour on adversarial inputs (each
// rule that re-reads a run remembers how far it read). A linear scan of these
// inputs takes well under a millisecond; a quadratic one takes seconds.
func TestLinear(t *testing.T) {
	units := []string{
		"eyJ-", "sk-", "xoxb-", "github_pat_", "-----BEGIN", "a@", "://a", "1.", "1:", "::1:",
		"/Users/a", "/home/", "password", "0-", "aB1", "a@b.cd:", "~/", `\Users\`, "@1.2",
	}
	r := Rules{Home: "/home/alice/projects"}
	for _, u := range units {
		s := strings.Repeat(u, 120_000/len(u))
		start := time.Now()
		_ = Check(s)
		_ = r.Check(s)
		_ = r.Check(strings.Repeat("/home/alice/project", 6000))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Check(%q × %d) took %v", u, 120_000/len(u), d)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	cases := []struct{ name, in string }{
		{"safe-20", "didStartServer-v5.3"},
		{"safe-plugin", "@strapi/plugin-i18n"},
		{"safe-version", "5.3.1"},
		{"safe-uuid", "7b581c0d-89b7-479e-b379-a76ab90b8754"},
		{"safe-256", strings.Repeat("feature-flag-", 20)},
		{"email", "alice@example.com"},
		{"ip", "user at 192.168.1.20 said"},
		{"secret", "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"},
		{"token", "q8Xv2LmN4pR7sT1wY6zA3bC5dE9fG0hJ"},
		{"home", "/home/alice/project"},
	}
	r := Rules{Home: "/home/alice"}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				_ = r.Check(c.in)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	for _, s := range []string{
		"didStartServer", "@strapi/plugin-i18n", "5.3.1", "10:00:05", "7b581c0d-89b7-479e-b379-a76ab90b8754",
		"2026-11-28T10:00:00.123Z", "alice@example.com", "10.0.0.1", "::1", "/home/alice",
		"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", "q8Xv2LmN4pR7sT1wY6zA3bC5dE9fG0hJ",
	} {
		if n := testing.AllocsPerRun(100, func() { _ = Rules{Home: "/srv/x"}.Check(s) }); n != 0 {
			t.Errorf("Check(%q) allocates %.0f times", s, n)
		}
	}
}

func TestCredentialsAndWebhooks(t *testing.T) {
	runCases(t, Rules{}, []checkCase{
		{"slack webhook", "https://hooks.slack.com/services/T000/B000/XXXXXXXX", CredentialURL},
		{"discord webhook", "https://discord.com/api/webhooks/1234/abcd", CredentialURL},
		{"office webhook", "https://acme.webhook.office.com/webhookb2/x", CredentialURL},
		{"token query (a key/value secret first)", "https://example.com/cb?token=abc123", Secret},
		{"second parameter", "https://example.com/x?lang=en&api_key=zzz", Secret},
		{"key query", "https://maps.example.com/js?key=AbCdEf", CredentialURL},
		{"signed S3 URL", "https://b.s3.amazonaws.com/f?X-Amz-Signature=abcdef", CredentialURL},
		{"empty token", "https://example.com/cb?token=&x=1", ""},
		{"harmless query", "https://example.com/search?q=shoes&page=2", ""},
		{"slack docs", "https://api.slack.com/messaging/webhooks", ""},
		{"short bearer", "Bearer abc.def.ghi", Secret},
		{"basic", "Authorization: Basic dXNlcjpwYXNz", Secret},
		{"bearer prose", "Bearer authentication", ""},
		{"basic prose", "basic auth enabled", ""},
		{"password phrase", "my password is hunter2", Secret},
		{"secret phrase", "the secret is 42", Secret},
		{"token assignment", "api token = abc123", Secret},
		{"prose about a password", "password is required", ""},
		{"prose about a token", "the token is expired", ""},
		{"token type", "token_type=bearer", ""},
	})
}

func TestAbsolutePaths(t *testing.T) {
	paths := Rules{AbsolutePaths: true}
	runCases(t, paths, []checkCase{
		{"posix", "/srv/acme-corp/customer-portal", Path},
		{"in text", "built in /opt/acme/app today", Path},
		{"after a key", "cwd=/var/www/site", Path},
		{"windows", `C:\Projects\acme`, Path},
		{"windows slashes", "d:/work/acme", Path},
		{"unc", `\\fileserver\share`, Path},
		{"file url", "file:///etc/hosts", Path},
		{"one component", "/api", ""},
		{"relative", "src/components/Button.tsx", ""},
		{"dot relative", "./config/server.js", ""},
		{"url path", "https://docs.example.com/a/b", ""},
		{"npm scope", "@strapi/plugin-i18n", ""},
		{"fraction", "1/2", ""},
		{"timestamp", "2026-12-03T13:52:42.123Z", ""},
		{"dots only", "/../x", ""},
	})
	// The collector's rules leave paths that name no home alone.
	runCases(t, Rules{}, []checkCase{{"posix without the option", "/srv/acme-corp/customer-portal", ""}})
}
