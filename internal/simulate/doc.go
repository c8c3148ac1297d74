// Package simulate generates a believable synthetic population of projects of the "strapi"
// product (the default tracking plan's), with planted effects of known size, for
// `abacus simulate`, `abacus serve --demo` and the end-to-end test that checks the reports
// find every planted effect.
//
//	sum, err := simulate.Generate(simulate.Config{Seed: 1}, func(e *wire.Event) error { … })
//	sum, err := simulate.Run(ctx, simulate.Config{Seed: 1}, sender, 0, os.Stderr)
//
// Generate emits the events in the order they would reach a collector; Run sends them
// through a telemetry.Sender in batches of 500 with a progress bar. Truths (in the Summary,
// or from TruthsFor without generating) states what was planted.
//
// # The population
//
// The default is 2000 projects created over 90 days (about 210,000–220,000 events, generated
// in well under a second; the volume scales with Projects and, more than linearly, with
// Days). Creation accelerates: the rate at End is twice that at the start, and weekends see
// about half as many as weekdays. Each project is made on a developer laptop and has no
// (35%), one (40%) or two (25%) more machines among a production server, a CI runner, a
// second developer's laptop and a staging server, which join after a few days of
// development, if the project lives that long: about 1.5 machines per project send events.
//
//   - Setup. willCreateProject (quickstart, sometimes a template), didCreateProject,
//     didInstallDependencies (in the create command's session) and the first didStartServer
//     and ping (in the first `develop` session), all with durationMs. The time from
//     willCreateProject to that didStartServer is the setup time: 40 s plus a log-normal part,
//     median 6m40s, p90 about 32 min, a tail of hours (capped at 72 h). 8% never complete:
//     they end with didFailWithError E_DEPENDENCY_INSTALL, E_DB_CONNECT, E_PORT_IN_USE or
//     E_TEMPLATE_DOWNLOAD and are never heard of again.
//   - Machines. Laptops (development): darwin 62% (mostly arm64), windows 32% (a fifth of
//     them run under WSL and report linux with wsl=true), linux 6%. CI runners (ci=true,
//     github-actions or gitlab, development or test): mostly linux, gitlab in docker.
//     Servers (production or staging): linux but 3% windows, 20% arm64, 45% docker. Over
//     machines that is about darwin 45%, linux 35%, windows 20%. osVersion, cpus and memoryMB
//     are plausible for the kind; context.sdk is "abacus-node/0.4.2".
//   - Runtime. node; majors 16, 18, 20 and 22 with shares moving over the window (22 growing,
//     16 fading, see below), production lagging development; a machine runs the newest
//     release of its major or one or two behind. Machines only ever upgrade.
//   - Product. Releases 4.25.x and 5.0.0 … 5.4.0 come out over the window (5.4.0 three weeks
//     before End). A project starts on the newest release of its line (7% stay on 4.25.x) or
//     one or two behind, and upgrades within its line now and then.
//   - Build. 0–6 plugins from 15 (users-permissions, i18n, upload, email, graphql,
//     documentation, seo, color-picker, config-sync, cloudinary, ckeditor, sentry,
//     transformer, import-export, meilisearch), typescript (more common later), database per
//     machine (mostly sqlite in development, postgres/mysql/mariadb in production),
//     packageManager npm/yarn/pnpm/bun.
//   - Activity. A quarter of projects are abandoned within three days; the others live an
//     exponential 150 days on average. On about 70% of weekdays and 25% of weekend days of
//     its life, a project's developers run the server one to three times in their working
//     hours (by the project's time zone): didStartServer, a daily ping, didUseFeature for
//     the features the project adopted (content-history, i18n-locales, releases, webhooks,
//     preview, graphql-playground — only with the graphql plugin —, review-workflows,
//     audit-logs, adopted by 40% down to 5% of projects), sometimes didBuildAdmin,
//     didInstallPlugin or didFailWithError (E_DB_CONNECT, E_PLUGIN_LOAD, … never
//     version-specific). CI runs install, build and sometimes start the server. Servers
//     deploy now and then (didBuildAdmin, didStartServer, new session), ping daily, see the
//     editors use features, and outlive development by weeks.
//   - Late delivery. A quarter of laptops are often offline: 16% of their sessions are sent
//     15 minutes to 72 hours after they happen, so about 3% of the events come behind later
//     ones. Generate's order is this send order; every timestamp is still in the past.
//
// # Planted effects (Truths)
//
//  1. Users of the feature "releases" have the plugin "seo" 3× as often as other projects
//     (24% against 8%). The cohort is known when a project is created (an adopter with at
//     least one development day, whose first one always uses the feature) and seo is
//     assigned by systematic sampling within each group, so the lift over the whole window
//     is 3 up to one project; a project has seo on all its events or on none.
//  2. Setup on "windows" in the last 14 days: the upper half of the setup time distribution
//     is stretched (p90 and above ×2.5, the median unchanged); other OSes and earlier weeks
//     stay as they were. Setup quantiles are stratified per OS, so the measured p90 ratio is
//     close to 2.5 at the default size (2.2–2.5 across seeds; below ~1000 projects there are
//     too few windows setups in 14 days for a stable p90).
//  3. node 16's share of active projects falls linearly from 20% at the start to 1% at End
//     (a project-level draw, stratified along creation order).
//  4. E_ADMIN_BUILD_CRASH appears only on product version 5.4.0, released 21 days before End:
//     45% of projects are susceptible, and 70% of their admin builds on 5.4.0 crash with it
//     (about a third of the projects seen on 5.4.0 report it).
//
// # What the generator never does
//
// It uses no randomness but PCG generators (math/rand/v2) seeded from Config.Seed and the
// project's index — never crypto/rand, the clock (except for a zero End) or map order — so
// the same Config gives the same events. Its identifiers are random UUIDs and random 64-hex
// machine IDs: none is derived from a real machine, person or project. It emits no free
// text: every property value comes from the fixed tables in catalog.go, and every event
// passes the default plan (plan.Default) with nothing dropped. It does no I/O except Run's
// requests to the collector and writes to the progress writer.
package simulate
