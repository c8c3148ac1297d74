package redact

import (
	"math"
	"net/netip"
	"strings"
)

// Placeholder replaces a value that Check flags.
const Placeholder = "[redacted]"

// Reasons Check can return.
const (
	Email         = "email"
	IPAddress     = "ip-address"
	CredentialURL = "url-credentials"
	HomePath      = "home-path"
	Secret        = "secret"
	// Path is an absolute file path of any OS; only Rules.AbsolutePaths
	// reports it.
	Path = "path"
)

// Rules holds what the checks need to know about the machine. The zero value checks
// generic shapes only.
type Rules struct {
	// Home is the user's home directory; any value containing it is a HomePath.
	// "" or "/" disables that one check (generic home shapes are still found).
	Home string
	// AbsolutePaths flags every absolute file path as Path, not only home
	// directories: "/srv/acme-corp/portal", "C:\Projects\acme", "D:/work",
	// "\\server\share", "file:///etc/hosts". The SDK sets it (a path names a
	// customer or a project as often as a home directory names a user); the
	// collector leaves it off.
	AbsolutePaths bool
}

// Check reports why s looks personal or secret under the zero Rules, or "" when it is safe.
func Check(s string) string {
	return Rules{}.Check(s)
}

// Check reports why s looks personal or secret, or "" when it is safe to send.
//
// When several reasons apply, the first of this order is returned: Secret,
// CredentialURL, Email, IPAddress, HomePath, Path. The order puts the most harmful
// leak first (a credential can be used, an address only identifies), and it
// makes "postgres://u:p@10.0.0.1/db" a CredentialURL rather than an IPAddress.
func (r Rules) Check(s string) string {
	if s == "" {
		return ""
	}
	// One cheap look at the bytes decides which scanners can apply at all,
	// so that a typical safe value costs one or two passes.
	var at, colon, dot, sep, query bool
	at = strings.IndexByte(s, '@') >= 0
	query = strings.IndexByte(s, '?') >= 0
	colon = strings.IndexByte(s, ':') >= 0
	dot = strings.IndexByte(s, '.') >= 0
	sep = strings.IndexByte(s, '/') >= 0 || strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '~') >= 0

	switch {
	case len(s) >= minSecretLen && hasSecret(s):
		return Secret
	case at && hasCredentialURL(s), query && hasSecretQuery(s), dot && sep && hasWebhook(s):
		return CredentialURL
	case at && dot && hasEmail(s):
		return Email
	case dot && hasIPv4(s), colon && hasIPv6(s):
		return IPAddress
	case sep && hasHomeShape(s), r.hasHome(s):
		return HomePath
	case r.AbsolutePaths && (sep || colon) && hasAbsolutePath(s):
		return Path
	}
	return ""
}

// Byte classes. A byte may be in several.
const (
	cLower      uint16 = 1 << iota // a-z
	cUpper                         // A-Z
	cDigit                         // 0-9
	cHex                           // 0-9 a-f A-F
	cTok                           // token run for the entropy rule: A-Za-z0-9 + / = _ -
	cB64URL                        // base64url: A-Za-z0-9 _ -
	cLocal                         // e-mail local part: A-Za-z0-9 . _ % + - and non-ASCII bytes
	cDomain                        // host name: A-Za-z0-9 . - and non-ASCII bytes
	cName                          // user name in a home path: A-Za-z0-9 . _ - and non-ASCII bytes
	cSpace                         // ASCII white space
	cV6                            // IPv6 candidate run: 0-9 a-f A-F : .
	cPrefix                        // first byte of a secret prefix or key (see prefixAt)
	cUnderscore                    // _
	cDash                          // -
	cDot                           // .

	cAlnum  = cLower | cUpper | cDigit
	cLetter = cLower | cUpper
)

var class = func() (t [256]uint16) {
	set := func(chars string, bits uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= bits
		}
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= cUpper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= cDigit | cHex | cV6
	}
	set("abcdefABCDEF", cHex|cV6)
	set(":.", cV6)
	for c := 0; c < 256; c++ {
		if t[c]&cAlnum != 0 {
			t[c] |= cTok | cB64URL | cLocal | cDomain | cName
		}
		if c >= 0x80 {
			t[c] |= cLocal | cDomain | cName
		}
	}
	set("+/=_-", cTok)
	set("_-", cB64URL)
	set("._%+-", cLocal)
	set(".-", cDomain)
	set("._-", cName)
	set(" \t\n\r\v\f", cSpace)
	// Case-sensitive prefixes start with e - A g s r x n; case-insensitive
	// keys start with p s a b t (either case).
	set("e-Agsrxn", cPrefix)
	set("psabtPSABT", cPrefix)
	t['_'] |= cUnderscore
	t['-'] |= cDash
	t['.'] |= cDot
	return t
}()

func is(c byte, bits uint16) bool { return class[c]&bits != 0 }

// runLen returns how many bytes at the start of s are in the class bits.
func runLen(s string, bits uint16) int {
	i := 0
	for i < len(s) && class[s[i]]&bits != 0 {
		i++
	}
	return i
}

// hasPrefixFold reports whether s starts with the lowercase ASCII prefix p,
// ignoring ASCII case.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Secret

const (
	minSecretLen = 8  // shortest value any secret rule can flag ("secret=x")
	minTokenLen  = 24 // shortest run the entropy rule looks at
	minHexLen    = 32 // shortest hex-only run the entropy rule flags
)

// secretScan carries the state of one hasSecret pass. The skip fields remember
// how far a rule that reads a run containing non-alphanumeric bytes has already
// looked, so that inputs like "sk-sk-sk-…" stay linear.
type secretScan struct {
	s                          string
	jwtSkip, skSkip, slackSkip int
	patSkip                    int
	pemChecked                 bool
}

func hasSecret(s string) bool {
	sc := secretScan{s: s}
	run := -1       // start of the current entropy-rule token run
	var bits uint16 // classes seen in that run
	for i := 0; i < len(s); i++ {
		c := s[i]
		k := class[c]
		if k&cTok != 0 {
			if run < 0 {
				run, bits = i, 0
			}
			bits |= k
		} else if run >= 0 {
			if worthEntropy(i-run, bits) && highEntropyRun(s[run:i]) {
				return true
			}
			run = -1
		}
		// Prefixes count at a word start only; a PEM header anywhere (it often
		// follows an escaped "\n").
		if k&cPrefix != 0 && (c == '-' || i == 0 || class[s[i-1]]&cAlnum == 0) && sc.prefixAt(i) {
			return true
		}
	}
	return run >= 0 && worthEntropy(len(s)-run, bits) && highEntropyRun(s[run:])
}

// worthEntropy reports whether a token run of n bytes with the class bits can
// meet the generic rule at all: both of its branches need a digit, the hex one
// 32 bytes, the other one both cases.
func worthEntropy(n int, bits uint16) bool {
	return n >= minTokenLen && bits&cDigit != 0 && (n >= minHexLen || bits&cLetter == cLetter)
}

// prefixAt checks the secret shapes that start with a known prefix at i, which
// is at a word start (not preceded by a letter or digit), or is a '-'.
func (sc *secretScan) prefixAt(i int) bool {
	s := sc.s
	rest := s[i:]
	switch s[i] {
	case 'e':
		if i >= sc.jwtSkip && strings.HasPrefix(rest, "eyJ") {
			ok, end := isJWT(rest)
			if ok {
				return true
			}
			sc.jwtSkip = i + end
		}
	case '-':
		// PEM: "-----BEGIN … PRIVATE KEY-----". Only the first BEGIN needs a
		// look: any later one has less text after it.
		if !sc.pemChecked && strings.HasPrefix(rest, "-----BEGIN") {
			sc.pemChecked = true
			if strings.Contains(rest[len("-----BEGIN"):], "PRIVATE KEY") {
				return true
			}
		}
	case 'A':
		// AWS access key IDs; Google API keys.
		if (strings.HasPrefix(rest, "AKIA") || strings.HasPrefix(rest, "ASIA")) &&
			runLen(rest[4:], cUpper|cDigit) >= 16 {
			return true
		}
		if strings.HasPrefix(rest, "AIza") && runLen(rest[4:], cB64URL) >= 35 {
			return true
		}
	case 'g':
		// GitHub tokens: ghp_ gho_ ghu_ ghs_ ghr_ (36 base62 characters today;
		// 20 is enough to be sure and still catches a truncated one) and
		// fine-grained github_pat_.
		if len(rest) > 4 && rest[0] == 'g' && rest[1] == 'h' && rest[3] == '_' &&
			strings.IndexByte("pousr", rest[2]) >= 0 && runLen(rest[4:], cAlnum) >= 20 {
			return true
		}
		if i >= sc.patSkip && strings.HasPrefix(rest, "github_pat_") {
			n := runLen(rest[len("github_pat_"):], cAlnum|cUnderscore)
			if n >= 22 {
				return true
			}
			sc.patSkip = i + len("github_pat_") + n
		}
	case 's':
		// Stripe secret keys; OpenAI-style "sk-" keys.
		if (strings.HasPrefix(rest, "sk_live_") || strings.HasPrefix(rest, "sk_test_")) &&
			runLen(rest[8:], cAlnum) >= 16 {
			return true
		}
		if i >= sc.skSkip && strings.HasPrefix(rest, "sk-") {
			ok, end := isDashKey(rest[3:])
			if ok {
				return true
			}
			sc.skSkip = i + 3 + end
		}
	case 'r':
		// Stripe restricted keys.
		if (strings.HasPrefix(rest, "rk_live_") || strings.HasPrefix(rest, "rk_test_")) &&
			runLen(rest[8:], cAlnum) >= 16 {
			return true
		}
	case 'x':
		// Slack tokens: xoxa- xoxb- xoxp- xoxr- xoxs-.
		if i >= sc.slackSkip && len(rest) > 5 && strings.HasPrefix(rest, "xox") &&
			strings.IndexByte("abprs", rest[3]) >= 0 && rest[4] == '-' {
			t := rest[5:]
			n := runLen(t, cAlnum|cDash)
			if n >= 10 && strings.ContainsAny(t[:n], "0123456789") {
				return true
			}
			sc.slackSkip = i + 5 + n
		}
	case 'n':
		// npm access tokens.
		if strings.HasPrefix(rest, "npm_") && runLen(rest[4:], cAlnum) >= 36 {
			return true
		}
	}
	switch s[i] | 0x20 {
	case 'p', 's', 'a', 't':
		return isKeyValue(s, i)
	case 'b':
		return isBearer(rest) || isBasic(rest)
	}
	return false
}

// isJWT reports whether t, which starts with "eyJ", is header.payload.signature
// in base64url. The signature may be empty (an unsecured JWT still carries
// claims). end is how far the header run reaches, for the caller's skip.
func isJWT(t string) (ok bool, end int) {
	h := runLen(t, cB64URL)
	if h < 10 || h >= len(t) || t[h] != '.' {
		return false, h
	}
	p := runLen(t[h+1:], cB64URL)
	if p < 4 || h+1+p >= len(t) || t[h+1+p] != '.' {
		return false, h
	}
	return true, h
}

// isDashKey checks what follows "sk-": a run of [A-Za-z0-9_-] that has an
// alphanumeric stretch of 20 or more ("sk-" + 48 base62, "sk-proj-" + …), or is
// 20 or more long and mixes upper case, lower case and digits
// ("sk-ant-api03-…"). Lower-case kebab slugs ("sk-my-feature-…") are not keys.
func isDashKey(t string) (ok bool, end int) {
	n := runLen(t, cB64URL)
	var lower, upper, digit bool
	stretch := 0
	for i := 0; i < n; i++ {
		c := class[t[i]]
		if c&cAlnum == 0 {
			stretch = 0
			continue
		}
		stretch++
		if stretch >= 20 {
			return true, n
		}
		lower = lower || c&cLower != 0
		upper = upper || c&cUpper != 0
		digit = digit || c&cDigit != 0
	}
	return n >= 20 && lower && upper && digit, n
}

// secretKeys are key names whose value is a secret in "key=value", "key: value"
// (JSON/YAML quoted key) and "key:value" forms. They are matched case-insensitively
// at a word start, so "DB_PASSWORD=x" and "client_secret=x" match.
var secretKeys = [...]string{
	"password", "passphrase", "passwd", "secret", "api_key", "apikey", "api-key",
	"access_token", "auth_token", "private_key", "token",
}

// proseAfterIs are words that, after "password is", make a sentence about the
// password rather than the password itself ("password is required").
var proseAfterIs = [...]string{
	"a", "an", "the", "not", "required", "invalid", "incorrect", "wrong", "missing",
	"expired", "empty", "too", "set", "unset", "valid", "correct", "needed", "optional",
}

// isKeyValue reports whether a secret key with a non-empty value starts at i.
// "password=" (empty), "password_hash=x" and "invalid password: too short"
// (unquoted key, space after the colon: prose) are not flagged; a masked value
// ("password=***") or a placeholder ("password=<secret>") is not either.
func isKeyValue(s string, i int) bool {
	first := s[i] | 0x20
	for _, k := range secretKeys {
		if k[0] != first || !hasPrefixFold(s[i:], k) {
			continue
		}
		j := i + len(k)
		quoted := false
		if j < len(s) && (s[j] == '"' || s[j] == '\'') && i > 0 && s[i-1] == s[j] {
			quoted = true
			j++
		}
		sp := j
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j > sp && !quoted && isPhrase(s, j) {
			return true
		}
		if j >= len(s) || (s[j] != '=' && s[j] != ':') {
			continue
		}
		colon := s[j] == ':'
		j++
		spaced := false
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
			spaced = true
		}
		if colon && spaced && !quoted {
			continue
		}
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			j++
		}
		if j < len(s) && !is(s[j], cSpace) && strings.IndexByte("\"';&,})*<", s[j]) < 0 {
			return true
		}
	}
	return false
}

// isPhrase reports whether s[j:] is "is <value>" after a secret key, as in
// "my password is hunter2": "is", white space, then a word that is not one of
// proseAfterIs.
func isPhrase(s string, j int) bool {
	if !hasPrefixFold(s[j:], "is") {
		return false
	}
	j += 2
	sp := j
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j == sp || j >= len(s) {
		return false
	}
	end := j
	for end < len(s) && !is(s[end], cSpace) && strings.IndexByte(".,;!?)", s[end]) < 0 {
		end++
	}
	w := s[j:end]
	if w == "" || strings.IndexByte("\"'<*", w[0]) >= 0 {
		return false
	}
	for _, p := range proseAfterIs {
		if len(w) == len(p) && hasPrefixFold(w, p) {
			return false
		}
	}
	return true
}

// isBearer reports whether t starts with "Bearer " (any case) and a credential.
func isBearer(t string) bool {
	return hasPrefixFold(t, "bearer") && isCredential(t[len("bearer"):])
}

// isBasic reports whether t starts with "Basic " (any case) and a credential
// ("Basic dXNlcjpwYXNz").
func isBasic(t string) bool {
	return hasPrefixFold(t, "basic") && isCredential(t[len("basic"):])
}

// isCredential reports whether t is white space and then a token of 8 or more
// characters from [A-Za-z0-9._~+/=-] that is not a plain word: it has a digit,
// punctuation, or both cases ("abc.def.ghi", "dXNlcjpwYXNz"; not
// "authentication").
func isCredential(t string) bool {
	j := 0
	for j < len(t) && t[j] == ' ' {
		j++
	}
	if j == 0 {
		return false
	}
	var lower, upper, other bool
	n := 0
	for ; j < len(t); j++ {
		c := t[j]
		if !is(c, cTok) && c != '.' && c != '~' {
			break
		}
		lower = lower || is(c, cLower)
		upper = upper || is(c, cUpper)
		other = other || !is(c, cLetter)
		n++
	}
	return n >= 8 && (other || lower && upper)
}

// highEntropyRun applies the generic token rule to a run of [A-Za-z0-9+/=_-]
// of at least minTokenLen bytes. Canonical UUIDs inside the run are cut out
// first: they are identifiers the protocol itself uses.
func highEntropyRun(t string) bool {
	start := 0
	for i := 0; i+36 <= len(t); i++ {
		if (i == 0 || !is(t[i-1], cAlnum)) && isUUID(t[i:i+36]) && (i+36 == len(t) || !is(t[i+36], cAlnum)) {
			if suspiciousToken(t[start:i]) {
				return true
			}
			start = i + 36
			i += 35
		}
	}
	return suspiciousToken(t[start:])
}

// isUUID reports whether u (36 bytes) is a canonical 8-4-4-4-12 hex UUID.
func isUUID(u string) bool {
	if u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		if !is(u[i], cHex) {
			return false
		}
	}
	return true
}

// suspiciousToken is the generic high-entropy rule:
//   - a stretch of 32 or more hex digits (between separators), with both
//     digits and letters and some spread (hashes, hex API keys, git SHAs);
//   - or a token of 24 or more that mixes lower case, upper case and digits,
//     whose characters are spread (Shannon entropy at or above
//     entropyThreshold) and that is not made of words: in an identifier such
//     as "didStartServerWithPlugin2" most letters sit in lower-case runs of
//     three or more ("Start", "Server"), in a random token few do.
func suspiciousToken(t string) bool {
	if len(t) < minTokenLen {
		return false
	}
	if len(t) >= minHexLen {
		seg := 0
		for j := 0; j <= len(t); j++ {
			if j == len(t) || !is(t[j], cAlnum) {
				if j-seg >= minHexLen && hexSecret(t[seg:j]) {
					return true
				}
				seg = j + 1
			}
		}
	}
	var counts [128]int32
	var lower, upper, digit bool
	letters, wordy, run := 0, 0, 0 // run: length of the current lower-case run
	for j := 0; j <= len(t); j++ {
		k := uint16(0)
		if j < len(t) {
			counts[t[j]&0x7f]++
			k = class[t[j]] & cAlnum
		}
		switch k {
		case cLower:
			lower = true
			letters++
			run++
			continue
		case cUpper:
			upper = true
			letters++
		case cDigit:
			digit = true
		case 0:
			wordy += capsWord(t, j)
		}
		wordy += wordCredit(t, j, run)
		run = 0
	}
	if !lower || !upper || !digit || wordy*100 >= letters*maxWordPercent {
		return false
	}
	return entropy(counts[:], len(t)) >= entropyThreshold
}

// wordCredit counts the letters of a word-like lower-case run of length run
// that ends at end: runs of three or more, with the capital before them
// ("Server").
func wordCredit(t string, end, run int) int {
	if run < 3 {
		return 0
	}
	if start := end - run; start > 0 && is(t[start-1], cUpper) {
		return run + 1
	}
	return run
}

// capsWord counts the letters of an all-capitals segment of four or more that
// ends at end, between separators or the ends of t ("GODEBUG=…", "…/README").
// Random tokens seldom have one; names of variables and files often do.
func capsWord(t string, end int) int {
	n := 0
	for n < end && is(t[end-n-1], cUpper) {
		n++
	}
	if n < minCapsWord || (n < end && is(t[end-n-1], cAlnum)) {
		return 0
	}
	return n
}

// Tuning of the generic rule, measured on random tokens and on identifiers
// (see TestRandomTokens): with these, about 99.3% of random base62/base64url
// tokens of 24 characters that have all three classes are caught, 99.8% at 32
// and all but a handful in 10,000 from 40 on.
const (
	entropyThreshold = 3.5
	maxWordPercent   = 70
	minCapsWord      = 4
)

// hexSecret reports whether seg (no separators, len >= minHexLen) is a hex
// secret.
func hexSecret(seg string) bool {
	var counts [128]int32
	var letter, digit bool
	for j := 0; j < len(seg); j++ {
		c := seg[j]
		if !is(c, cHex) {
			return false
		}
		counts[c|0x20]++ // fold case
		if is(c, cDigit) {
			digit = true
		} else {
			letter = true
		}
	}
	return letter && digit && entropy(counts[:], len(seg)) >= 3.0
}

// entropy is the Shannon entropy in bits per symbol of the byte counts.
func entropy(counts []int32, n int) float64 {
	fn := float64(n)
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / fn
			h -= p * math.Log2(p)
		}
	}
	return h
}

// ---------------------------------------------------------------------------
// Credentials in URLs

// hasCredentialURL reports
//   - a URL with userinfo: "scheme://user[:pass]@host…" (any scheme, even an
//     empty one), except the bare SSH service account "git"
//     ("ssh://git@github.com/x/y.git"), which is neither personal nor secret;
//   - an scp-like remote "user@host.tld:path" whose user is not "git" (it names
//     an account; "git@github.com:x/y.git" is not flagged at all, and is not an
//     Email either: the ":path" makes it a remote, not a mailbox);
//   - a Go MySQL-style DSN "user:pass@tcp(…)" or "user:pass@/db".
func hasCredentialURL(s string) bool {
	for off := 0; off < len(s); {
		k := strings.Index(s[off:], "://")
		if k < 0 {
			break
		}
		a := off + k + 3
		e, at := a, -1
		for e < len(s) && !authorityEnd(s[e]) {
			if s[e] == '@' {
				at = e
			}
			e++
		}
		if at > a && s[a:at] != "git" {
			return true
		}
		off = e
	}
	for off := 0; ; {
		k := strings.IndexByte(s[off:], '@')
		if k < 0 {
			return false
		}
		at := off + k
		off = at + 1
		u := localStart(s, at)
		if u == at {
			continue
		}
		if isDSN(s, u, at) {
			return true
		}
		host, end := domainAt(s, at+1)
		if scpPath(s, end) && strings.IndexByte(host, '.') >= 0 && strings.ContainsFunc(host, isASCIILetter) &&
			s[u:at] != "git" && !(u >= 3 && s[u-3:u] == "://") {
			return true
		}
	}
}

func isASCIILetter(r rune) bool { return r < 0x80 && is(byte(r), cLetter) }

// authorityEnd reports whether c ends the authority part of a URL.
func authorityEnd(c byte) bool {
	return is(c, cSpace) || strings.IndexByte("/?#\\\"'<>", c) >= 0
}

// isDSN reports "user:pass@tcp(…)", "user:pass@(…)" or "user:pass@/…", where
// s[u:at] is the password.
func isDSN(s string, u, at int) bool {
	if u < 2 || s[u-1] != ':' || !is(s[u-2], cLocal) {
		return false
	}
	j := at + 1
	j += runLen(s[j:], cLower)
	return j < len(s) && (s[j] == '(' || (j == at+1 && s[j] == '/'))
}

// scpPath reports whether s[end:] is ":" followed by the start of a path, as in
// "git@github.com:x/y.git".
func scpPath(s string, end int) bool {
	if end+1 >= len(s) || s[end] != ':' {
		return false
	}
	c := s[end+1]
	return is(c, cAlnum) || c >= 0x80 || strings.IndexByte("/~._-", c) >= 0
}

// ---------------------------------------------------------------------------
// E-mail

// localStart returns where the e-mail local part (or URL user) that ends at the
// '@' at index at starts; at itself when there is none.
func localStart(s string, at int) int {
	u := at
	for u > 0 && is(s[u-1], cLocal) {
		u--
	}
	return u
}

// domainAt returns the host name that starts at i, without trailing dots and
// dashes (end of a sentence), and the index just after it.
func domainAt(s string, i int) (string, int) {
	e := i + runLen(s[i:], cDomain)
	for e > i && (s[e-1] == '.' || s[e-1] == '-') {
		e--
	}
	return s[i:e], e
}

// hasEmail finds local@domain.tld anywhere in s. Not e-mail:
//   - "@strapi/plugin-i18n" (no local part), "pkg@1.2.3", "@types/node@20.1.0",
//     "pkg@1.0.0-rc.beta" (a version after the @: see emailDomain);
//   - "logo@2x.png" (an image scale suffix);
//   - "git@github.com:x/y.git" (an scp-like remote; see hasCredentialURL);
//   - the userinfo of a URL ("ssh://git@github.com/…"): hasCredentialURL owns it.
//
// A bare "git@github.com" is flagged: nothing in it says it is a remote.
func hasEmail(s string) bool {
	for off := 0; ; {
		k := strings.IndexByte(s[off:], '@')
		if k < 0 {
			return false
		}
		at := off + k
		off = at + 1
		u := localStart(s, at)
		if u == at {
			continue
		}
		d, end := domainAt(s, at+1)
		if !emailDomain(d) || scpPath(s, end) || (u >= 3 && s[u-3:u] == "://") {
			continue
		}
		return true
	}
}

// emailDomain reports whether d is a plausible mail domain: a non-empty first
// label, at least one dot, a last label of two or more letters (non-ASCII bytes
// count as letters, for internationalized domains), and not a version
// ("1.0.0-rc.beta": the first label is a number and so is the start of the
// second) or an image scale ("2x.png").
func emailDomain(d string) bool {
	dot := strings.IndexByte(d, '.')
	last := strings.LastIndexByte(d, '.')
	if dot <= 0 {
		return false
	}
	tld := d[last+1:]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !is(tld[i], cLetter) && tld[i] < 0x80 {
			return false
		}
	}
	first := d[:dot]
	if f := strings.TrimPrefix(strings.TrimPrefix(first, "v"), "V"); f != "" && runLen(f, cDigit) == len(f) && is(d[dot+1], cDigit) {
		return false // version
	}
	if n := runLen(first, cDigit); n > 0 && n == len(first)-1 && first[n]|0x20 == 'x' {
		return false // @2x
	}
	return true
}

// ---------------------------------------------------------------------------
// IP addresses

// hasIPv4 finds a dotted quad (four decimal octets, each 0–255, up to three
// digits) that is a whole run of digits and dots: "1.2.3.4567", "1.2.3.4.5"
// and "5.3.1" are not addresses, and neither is "v1.2.3.4" (a version).
// Leading and trailing dots are dropped ("at 10.0.0.1." is flagged). A
// four-part version such as "1.0.0.0" is indistinguishable and is flagged.
func hasIPv4(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '.' && !is(c, cDigit) {
			i++
			continue
		}
		j := i
		for j < len(s) && (s[j] == '.' || is(s[j], cDigit)) {
			j++
		}
		if (i == 0 || s[i-1]|0x20 != 'v') && isDottedQuad(strings.Trim(s[i:j], ".")) {
			return true
		}
		i = j
	}
	return false
}

func isDottedQuad(q string) bool {
	parts := 0
	for len(q) > 0 {
		n := runLen(q, cDigit)
		if n == 0 || n > 3 {
			return false
		}
		v := 0
		for _, c := range []byte(q[:n]) {
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return false
		}
		parts++
		q = q[n:]
		if len(q) > 0 {
			if q[0] != '.' || len(q) == 1 {
				return false
			}
			q = q[1:]
		}
	}
	return parts == 4
}

// hasIPv6 finds an IPv6 address: a run of hex digits, colons and dots that is
// not glued to a word ("Foo::Bar" is not an address), has a decimal digit
// (so "::" and "dead::beef" are not flagged), has the shape of an address
// ("::" or eight groups — a time "10:00:05" or a MAC address is not) and that
// net/netip accepts. A zone ("%eth0") ends the run and is not needed.
func hasIPv6(s string) bool {
	for i := 0; i < len(s); {
		if !is(s[i], cV6) {
			i++
			continue
		}
		j := i + runLen(s[i:], cV6)
		if ipv6Candidate(s, i, j) {
			return true
		}
		i = j
	}
	return false
}

func ipv6Candidate(s string, i, j int) bool {
	c := s[i:j]
	c = strings.TrimRight(c, ".")
	if strings.HasSuffix(c, ":") && !strings.HasSuffix(c, "::") {
		c = c[:len(c)-1] // "addr fe80::1:" at the end of a phrase
	}
	switch {
	case strings.HasPrefix(c, ":::"), strings.HasPrefix(c, ":") && !strings.HasPrefix(c, "::"):
		c = c[1:] // "addr:::1", "key:fe80::1"
		i++
	}
	end := i + len(c)
	if i > 0 && (is(s[i-1], cAlnum) || s[i-1] == '_') {
		return false
	}
	if end < len(s) && (is(s[end], cAlnum) || s[end] == '_') {
		return false
	}
	colons := strings.Count(c, ":")
	if colons < 2 || !strings.ContainsAny(c, "0123456789") {
		return false
	}
	if !strings.Contains(c, "::") && colons != 7 && !(colons == 6 && strings.IndexByte(c, '.') >= 0) {
		return false
	}
	_, err := netip.ParseAddr(c)
	return err == nil
}

// ---------------------------------------------------------------------------
// Home paths

// hasHome reports whether s contains the configured home directory. The
// comparison ignores ASCII case and treats '/' and '\' alike (Windows and
// macOS file systems usually ignore case; flagging more is the safe side).
// A trailing separator on Home is ignored; "", "/" and a drive root ("C:\")
// disable the check.
func (r Rules) hasHome(s string) bool {
	h := r.home()
	if h == "" || len(h) > len(s) {
		return false
	}
	h0 := pathFold[h[0]]
	for i := 0; i+len(h) <= len(s); i++ {
		if pathFold[s[i]] != h0 {
			continue
		}
		j := 1
		for j < len(h) && pathFold[s[i+j]] == pathFold[h[j]] {
			j++
		}
		if j == len(h) {
			return true
		}
	}
	return false
}

// pathFold maps A-Z to a-z and '\' to '/', every other byte to itself.
var pathFold = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c) + 'a' - 'A'
	}
	t['\\'] = '/'
	return t
}()

func (r Rules) home() string {
	h := r.Home
	for len(h) > 0 && (h[len(h)-1] == '/' || h[len(h)-1] == '\\') {
		h = h[:len(h)-1]
	}
	if len(h) <= 1 || (len(h) == 2 && h[1] == ':') {
		return ""
	}
	return h
}

// hasHomeShape finds generic home-directory paths:
//   - "~/" or "~\" at the start of a word ("~/projects", "PATH=~/bin"); "~1.2.3"
//     (an npm range) is not a path;
//   - "/home/<name>" anywhere (followed by "/", the end or any other byte);
//   - "/root" at the start of a word, as a whole path component;
//   - "/Users/<name>" (macOS: capital U, case-sensitive, so a URL route such as
//     "/api/users/1" is safe);
//   - "\Users\<name>" in any case with backslashes, "C:/Users/<name>" with any
//     drive letter and case, and WSL's "/mnt/c/users/<name>".
//
// "/Users/Shared", "\Users\Public", "\Users\Default" and "\Users\All Users" are
// not anyone's home. In the path of an http(s) or ws(s) URL, "/home/…" and
// "/Users/…" are routes, not files ("https://example.com/home/welcome"); in a
// query, a fragment or any other scheme ("file://", "ssh://") they still count.
func hasHomeShape(s string) bool {
	inURL := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', '<', '>', '?', '#', '=', '&':
			inURL = false
		case ':':
			if strings.HasPrefix(s[i:], "://") {
				inURL = webScheme(s, i)
			}
		case '~':
			if i+1 < len(s) && (s[i+1] == '/' || s[i+1] == '\\') && wordStart(s, i) {
				return true
			}
		case '/', '\\':
			if homeAt(s, i, inURL) {
				return true
			}
		}
	}
	return false
}

// webScheme reports whether the scheme that ends at i (where "://" starts) is
// http, https, ws or wss.
func webScheme(s string, i int) bool {
	for _, sc := range [...]string{"https", "http", "wss", "ws"} {
		j := i - len(sc)
		if j >= 0 && hasPrefixFold(s[j:], sc) && (j == 0 || !is(s[j-1], cAlnum) && s[j-1] != '+' && s[j-1] != '.' && s[j-1] != '-') {
			return true
		}
	}
	return false
}

// wordStart reports whether i starts a word: the start of s, or after white
// space or punctuation that separates values ("PATH=~/bin", "cwd:/root").
func wordStart(s string, i int) bool {
	return i == 0 || is(s[i-1], cSpace) || strings.IndexByte("\"'`=:,;([{<>|", s[i-1]) >= 0
}

// nameAt returns the user name that starts at k, or "" when there is none
// (dots only, as in "/home/../x", do not count).
func nameAt(s string, k int) string {
	n := runLen(s[k:], cName)
	if runLen(s[k:k+n], cDot) == n {
		return ""
	}
	return s[k : k+n]
}

func homeAt(s string, i int, inURL bool) bool {
	rest := s[i:]
	if s[i] == '/' && !inURL && strings.HasPrefix(rest, "/home/") && nameAt(s, i+6) != "" {
		return true
	}
	if s[i] == '/' && strings.HasPrefix(rest, "/root") && wordStart(s, i) && (len(rest) == 5 || !is(rest[5], cName)) {
		return true
	}
	if len(rest) < 6 || !hasPrefixFold(rest[1:], "users") {
		return false
	}
	backslash := s[i] == '\\'
	k := i + 6
	for k < len(s) && (s[k] == '/' || s[k] == '\\') {
		backslash = backslash || s[k] == '\\'
		k++
	}
	if k == i+6 {
		return false
	}
	name := nameAt(s, k)
	if name == "" {
		return false
	}
	for _, x := range [...]string{"shared", "public", "default", "all"} {
		if len(name) == len(x) && hasPrefixFold(name, x) {
			return false
		}
	}
	j := i
	for j > 0 && (s[j-1] == '/' || s[j-1] == '\\') {
		backslash = backslash || s[j-1] == '\\'
		j--
	}
	switch {
	case backslash:
		return true
	case j >= 2 && s[j-1] == ':' && is(s[j-2], cLetter):
		return true // C:/Users/x
	case j >= 6 && s[j-6:j-1] == "/mnt/" && is(s[j-1], cLetter):
		return true // /mnt/c/users/x (WSL)
	case rest[1:6] == "Users" && !inURL:
		return true // /Users/x (macOS)
	}
	return false
}

// ---------------------------------------------------------------------------
// Secrets in URLs

// secretParams are query parameter names whose value is a credential.
var secretParams = [...]string{
	"token", "access_token", "refresh_token", "id_token", "auth", "key", "apikey", "api_key",
	"api-key", "secret", "client_secret", "password", "pass", "pwd", "sig", "signature",
	"x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
	"x-goog-credential", "private_token",
}

// hasSecretQuery finds a query parameter of secretParams with a non-empty
// value after a '?' ("https://x/cb?token=abc", "?a=1&api_key=z").
func hasSecretQuery(s string) bool {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return false
	}
	for i := q; i < len(s); i++ {
		c := s[i]
		if is(c, cSpace) {
			// A new word may hold another URL.
			n := strings.IndexByte(s[i:], '?')
			if n < 0 {
				return false
			}
			i += n
			c = '?'
		}
		if c != '?' && c != '&' && c != ';' {
			continue
		}
		rest := s[i+1:]
		for _, p := range secretParams {
			if len(rest) > len(p)+1 && hasPrefixFold(rest, p) && rest[len(p)] == '=' {
				v := rest[len(p)+1]
				if v != '&' && v != '#' && v != ';' && !is(v, cSpace) {
					return true
				}
			}
		}
	}
	return false
}

// webhookHosts are URL prefixes (host and path, lower case) of incoming
// webhooks: the URL itself is the credential.
var webhookHosts = [...]string{
	"hooks.slack.com/", "discord.com/api/webhooks/", "discordapp.com/api/webhooks/",
	"webhook.office.com/", "outlook.office.com/webhook", "hooks.zapier.com/",
	"chat.googleapis.com/v1/spaces/", "api.telegram.org/bot", "events.pagerduty.com/integration/",
}

// hasWebhook finds an incoming-webhook URL of a well-known service.
func hasWebhook(s string) bool {
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i-1] != '/' && s[i-1] != '.' && !is(s[i-1], cSpace) {
			continue
		}
		for _, h := range webhookHosts {
			if (s[i]|0x20) == h[0] && hasPrefixFold(s[i:], h) {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Absolute paths

// hasAbsolutePath finds an absolute file path at a word start, outside the path
// of a URL:
//   - POSIX: "/" and at least two components ("/srv/acme", "/usr/lib/x"); a
//     single component ("/api", "/tmp") and relative paths are not flagged;
//   - Windows: a drive ("C:\x", "d:/x") or a UNC share ("\\server\share");
//   - a file: URL ("file:///etc/hosts").
func hasAbsolutePath(s string) bool {
	inURL := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case is(c, cSpace) || strings.IndexByte("\"'`<>", c) >= 0 && c != '\\':
			inURL = false
		case c == ':':
			if strings.HasPrefix(s[i:], "://") {
				if i >= 4 && hasPrefixFold(s[i-4:], "file") {
					return true
				}
				inURL = true
			}
		case inURL || !wordStart(s, i):
		case c == '/':
			n := runLen(s[i+1:], cName)
			k := i + 1 + n
			if n > 0 && k+1 < len(s) && s[k] == '/' && is(s[k+1], cName) && runLen(s[i+1:k], cDot) != n {
				return true
			}
		case c == '\\':
			if i+2 < len(s) && s[i+1] == '\\' && is(s[i+2], cName) {
				return true
			}
		case is(c, cLetter):
			if i+3 < len(s) && s[i+1] == ':' && (s[i+2] == '\\' || s[i+2] == '/') && is(s[i+3], cName) {
				return true
			}
		}
	}
	return false
}
