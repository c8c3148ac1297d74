// Package web is the dashboard of `abacus serve`: a page per report of
// package insights, at / (overview), /features, /cohort, /setup, /errors,
// /plugins and /runtimes, behind a sign-in with the admin token.
//
// Pages are rendered on the server with html/template. Charts are inline SVG
// drawn in Go (chart.go): lines and areas for series, bars for rankings, a
// histogram for setup time; each is an image with a label for screen
// readers, and a data table with the same numbers sits under it. A page is
// one request — the report runs on the server and the HTML carries its
// answer — plus three embedded assets (a stylesheet, a small script that
// submits the controls when they change, an icon), so the dashboard works
// with no internet and a strict Content-Security-Policy (no inline script or
// style, nothing from elsewhere).
//
// The controls are a GET form: last (7d … 365d, any window the report API's
// last takes, or custom with from/to; a link with the former name range is
// redirected to last),
// and per page a breakdown (by=environment|os|productVersion on the
// overview, by=os|runtimeMajor on setup, env=all|production|other on
// runtimes) or the cohort (cohort=feature:NAME or event:NAME). A page's
// "as JSON" link is the same report from GET /api/v1/reports/{name}.
//
// Sign-in posts the token to /signin; the answer is a session cookie,
// HttpOnly and SameSite=Strict (and Secure over TLS), valid 30 days, whose
// value is an expiry, a random session ID and an HMAC of both under
// Config.Key — never the token. Sessions are kept on the server, in memory
// (at most 1,000): a cookie opens pages only while its session is live, so
// signing out ends the session for every copy of the cookie, and restarting
// the collector ends them all. The collector derives the key from its secret
// and the token, so changing the token ends every session too.
//
// Requests that change state (POST /signin, POST /signout) must come from
// the dashboard's own origin: a browser's Sec-Fetch-Site (same-origin) or
// Origin (this host) says so, and another site's form gets 403
// (http.CrossOriginProtection). Requests without either header (not from a
// browser) pass.
package web
