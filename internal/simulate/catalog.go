package simulate

// The fixed tables the population is drawn from. Every string here is made up or is a public
// product, plugin or version name; none identifies a person or a machine.

// weighted is one choice of a weighted table.
type weighted struct {
	v string
	w float64
}

// pick returns a value of t drawn with the weights (which need not sum to 1).
func (r *rng) pick(t []weighted) string {
	var sum float64
	for _, c := range t {
		sum += c.w
	}
	x := r.Float64() * sum
	for _, c := range t {
		if x < c.w {
			return c.v
		}
		x -= c.w
	}
	return t[len(t)-1].v
}

// Product releases, by days before the end of the window. A project is created on a recent
// release of its line and upgrades within its line from time to time. errorVersion must be
// released errorReleaseDays before the end.
type release struct {
	version string
	line    int
	days    float64 // released this many days before End
}

var releases = []release{
	{"4.25.9", 4, 240}, {"4.25.11", 4, 150}, {"4.25.12", 4, 100}, {"4.25.13", 4, 60}, {"4.25.14", 4, 27},
	{"5.0.0", 5, 130}, {"5.0.6", 5, 112}, {"5.1.0", 5, 98}, {"5.1.1", 5, 88}, {"5.2.0", 5, 74},
	{"5.3.0", 5, 56}, {"5.3.1", 5, 45}, {"5.3.2", 5, 34}, {errorVersion, 5, errorReleaseDays},
}

// Node.js releases per major, by days before End. A machine runs the newest release of its
// major minus its lag (0–2 releases behind).
type nodeRelease struct {
	version string
	days    float64
}

var nodeReleases = map[string][]nodeRelease{
	"16": {{"16.19.1", 900}, {"16.20.0", 800}, {"16.20.2", 700}},
	"18": {{"18.19.1", 300}, {"18.20.2", 210}, {"18.20.4", 130}, {"18.20.5", 60}},
	"20": {{"20.11.1", 300}, {"20.12.2", 230}, {"20.15.1", 160}, {"20.17.0", 105}, {"20.18.0", 72}, {"20.18.1", 33}},
	"22": {{"22.3.0", 200}, {"22.9.0", 110}, {"22.11.0", 76}, {"22.12.0", 41}, {"22.13.1", 9}},
}

// Machine kinds.
const (
	kindLaptop  = iota // a developer's computer: development
	kindCI             // a CI runner: development or test, ci=true
	kindServer         // a production server
	kindStaging        // a staging server
)

// OS of a developer laptop. Windows developers run under WSL (reported as linux, wsl=true)
// a fifth of the time.
var laptopOS = []weighted{{"darwin", 0.62}, {"windows", 0.32}, {"linux", 0.06}}

var osVersions = map[string][]weighted{
	"darwin": {{"15.2", 0.20}, {"15.1.1", 0.18}, {"15.3", 0.10}, {"14.7.2", 0.14}, {"14.6.1", 0.10},
		{"14.5", 0.06}, {"13.7.2", 0.10}, {"13.6.9", 0.06}, {"12.7.6", 0.06}},
	"windows":      {{"10.0.22631", 0.38}, {"10.0.26100", 0.22}, {"10.0.19045", 0.32}, {"10.0.22621", 0.08}},
	"linux":        {{"6.8.0", 0.30}, {"6.11.0", 0.15}, {"6.5.0", 0.15}, {"6.1.0", 0.20}, {"5.15.0", 0.20}},
	"linux-server": {{"5.15.0", 0.30}, {"6.1.0", 0.25}, {"6.8.0", 0.25}, {"5.10.0", 0.10}, {"4.18.0", 0.10}},
	"wsl":          {{"5.15.167", 0.50}, {"5.15.153", 0.40}, {"6.6.36", 0.10}},
}

// Build configuration.
var (
	packageManagers = []weighted{{"npm", 0.52}, {"yarn", 0.26}, {"pnpm", 0.18}, {"bun", 0.04}}
	laptopDB        = []weighted{{"sqlite", 0.78}, {"postgres", 0.16}, {"mysql", 0.05}, {"mariadb", 0.01}}
	ciDB            = []weighted{{"sqlite", 0.60}, {"postgres", 0.35}, {"mysql", 0.05}}
	serverDB        = []weighted{{"postgres", 0.64}, {"mysql", 0.25}, {"mariadb", 0.11}}
	templates       = []weighted{{"blog", 0.35}, {"corporate", 0.2}, {"ecommerce", 0.15}, {"portfolio", 0.15}, {"launchpad", 0.15}}
	ciNames         = []weighted{{"github-actions", 0.72}, {"gitlab", 0.28}}
)

// plugins a project may have, with the probability it has each at creation. plantedPlugin is
// not here: it is assigned separately (see population) so that its share is exact.
var plugins = []struct {
	name string
	p    float64
}{
	{"users-permissions", 0.70}, {"i18n", 0.45}, {"upload", 0.40}, {"email", 0.30},
	{"graphql", 0.22}, {"documentation", 0.15}, {"color-picker", 0.10}, {"config-sync", 0.08},
	{"cloudinary", 0.07}, {"ckeditor", 0.07}, {"sentry", 0.06}, {"transformer", 0.05},
	{"import-export", 0.05}, {"meilisearch", 0.04},
}

// maxPlugins caps a project's plugin list (the planted plugin is never the one left out).
const maxPlugins = 6

// features of the product: how many projects adopt each, and, for an adopter, the chance it
// is used on a development day and on a production day. graphql-playground is only adopted
// by projects with the graphql plugin and only used in development.
var features = []struct {
	name             string
	adopt, dev, prod float64
}{
	{"content-history", 0.40, 0.30, 0.40},
	{"i18n-locales", 0.30, 0.35, 0.20},
	{plantedFeature, 0.22, 0.80, 0.45},
	{"webhooks", 0.20, 0.20, 0.10},
	{"preview", 0.18, 0.40, 0.30},
	{"graphql-playground", 0.70, 0.50, 0},
	{"review-workflows", 0.12, 0.30, 0.50},
	{"audit-logs", 0.05, 0.20, 0.30},
}

// Error codes outside setup; none depends on the product version.
var runtimeErrors = []weighted{
	{"E_DB_CONNECT", 0.24}, {"E_PORT_IN_USE", 0.15}, {"E_PLUGIN_LOAD", 0.15},
	{"E_MIGRATION_FAILED", 0.12}, {"E_INVALID_CONFIG", 0.12}, {"E_UPLOAD_PROVIDER", 0.08},
	{"E_OUT_OF_MEMORY", 0.05}, {"E_WEBHOOK_TIMEOUT", 0.06}, {"E_LICENSE_INVALID", 0.03},
}

// Time zones of projects, as hours east of UTC: where the working day falls.
var timeZones = []struct {
	h float64
	w float64
}{
	{-8, 0.10}, {-6, 0.06}, {-5, 0.14}, {-3, 0.06}, {0, 0.08}, {1, 0.22}, {2, 0.08},
	{3, 0.04}, {5.5, 0.10}, {8, 0.06}, {9, 0.04}, {10, 0.02},
}
