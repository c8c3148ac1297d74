package duckdb

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/abacushq/abacus/internal/store"
)

// The rollups (see the package documentation) are kept exact in the
// transaction of every write: Insert appends the batch's own sums to the
// daily ones, DeleteProject and DeleteBefore remove or rebuild what they
// removed from event_rows. A day's rows may come in several pieces (one per
// Insert); the writer merges the pieces of a day once they make up a third
// of its rows, so the merging costs a constant per event however large the
// day grows. The weekly rollups hold the weeks listed in week_sealed only:
// the writer makes a week's rows from its days once the week is over, and
// an Insert with events of a sealed week takes it off the list (its days
// answer for it until the writer makes it again). schema.go creates the
// tables.

// rollupTable is a rollup: its period column (day or week), the rest of its
// key, its sums, and the order its rows are written in after the period
// (day_names and week_names by name, so that a query for a few names reads
// the vectors of those names only).
type rollupTable struct{ name, period, keys, sums, order string }

func (t rollupTable) key() string     { return t.period + ", " + t.keys }
func (t rollupTable) ordered() string { return t.period + ", " + t.order }

const timeSums = "sum(events)::BIGINT, min(first), max(last)"

var rollupTables = []rollupTable{
	{"day_names", "day", "source_id, pn, name, feature, code", timeSums, "name, source_id"},
	{"day_sources", "day", "source_id, pn, environment", timeSums, "source_id"},
	{"day_projects", "day", "pn", "sum(events)::BIGINT", "pn"},
	{"week_names", "week", "source_id, pn, name, feature, code", timeSums, "name, source_id"},
	{"week_sources", "week", "source_id, pn, environment", timeSums, "source_id"},
	{"week_projects", "week", "pn", "sum(events)::BIGINT", "pn"},
}

const msPerDay = 86400000

// dayOfMS is the day (since 1970-01-01, UTC) of a time in ms since the
// epoch, rounded down: the SQL's (time::DATE - DATE '1970-01-01').
func dayOfMS(ms int64) int32 {
	d := ms / msPerDay
	if ms%msPerDay < 0 {
		d--
	}
	return int32(d)
}

// sqlDay is dayOfMS in SQL, over the column time.
const sqlDay = `(time::DATE - DATE '1970-01-01')::INTEGER`

// weekOfDay is the week of a day: weeks are numbered since the Monday
// 1969-12-29, so week w starts on day 7w−3. In SQL, (day + 3) // 7.
func weekOfDay(d int32) int32 { return (d + 3) / 7 }

// rowFacts are what the rollups take from an event's properties: its
// "feature" and "code" when they are strings (the plan gives feature and
// error events string or enum ones), as the stored JSON reads back.
type rowFacts struct {
	project             string // the event's project ID, for its number
	feature, code       string
	hasFeature, hasCode bool
}

func factsOf(props map[string]any) rowFacts {
	var f rowFacts
	if v, ok := props["feature"].(string); ok {
		f.feature, f.hasFeature = jsonRoundTrip(v), true
	}
	if v, ok := props["code"].(string); ok {
		f.code, f.hasCode = jsonRoundTrip(v), true
	}
	return f
}

// jsonRoundTrip is s as json_extract_string reads it back from
// appendJSONString's text: each byte of invalid UTF-8 becomes U+FFFD.
func jsonRoundTrip(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// The SQL of rowFacts, over the column properties.
const (
	sqlFeature = `CASE WHEN properties LIKE '%"feature"%' AND json_type(properties, '$.feature') = 'VARCHAR' THEN json_extract_string(properties, '$.feature') END`
	sqlCode    = `CASE WHEN properties LIKE '%"code"%' AND json_type(properties, '$.code') = 'VARCHAR' THEN json_extract_string(properties, '$.code') END`
)

type (
	nameKey struct {
		day, source         int32
		name                string
		feature, code       string
		hasFeature, hasCode bool
	}
	sourceDayKey struct {
		day, source int32
		env         string
		hasEnv      bool
	}
	projectKey struct{ day, pn int32 }
	sums       struct{ events, first, last int64 }
)

func (s *sums) merge(o *sums) {
	if s.events == 0 || o.first < s.first {
		s.first = o.first
	}
	if s.events == 0 || o.last > s.last {
		s.last = o.last
	}
	s.events += o.events
}

func (s *sums) add(ms int64) {
	if s.events == 0 || ms < s.first {
		s.first = ms
	}
	if s.events == 0 || ms > s.last {
		s.last = ms
	}
	s.events++
}

// rollupPending is what a batch adds to the rollups, to be counted once its
// transaction commits.
type rollupPending struct {
	pns      map[string]int32 // project numbers learnt in the transaction, by project ID
	rows     map[period]int   // day_names rows appended, by day
	unsealed []int32          // weeks taken off week_sealed
}

// period is a day or a week (the writer merges days only).
type period struct {
	week bool
	n    int32
}

// rollupInsert appends the batch's sums to the rollups, in insert's
// transaction, after the sources are stored and before the events are: the
// rows the anti-join will skip (IDs stored already) are left out here too.
// It holds wmu.
func (s *Store) rollupInsert(ctx context.Context, b *batch) error {
	rows := b.events
	facts := b.facts
	if b.stored {
		stored, err := s.storedOf(ctx, b)
		if err != nil {
			return err
		}
		if len(stored) > 0 {
			rows, facts = nil, nil
			for i, r := range b.events {
				if _, ok := stored[r[0].(duckdb.UUID)]; !ok {
					rows = append(rows, r)
					facts = append(facts, b.facts[i])
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	p := &rollupPending{rows: map[period]int{}}
	b.rollup = p
	if err := s.projectNumbers(ctx, facts, p); err != nil {
		return fmt.Errorf("number the projects: %w", err)
	}
	names := make(map[nameKey]*sums)
	srcs := make(map[sourceDayKey]*sums)
	srcPN := make(map[int32]int32)
	for i, r := range rows {
		ms := r[1].(time.Time).UnixMilli()
		day, src := dayOfMS(ms), r[4].(int32)
		f := &facts[i]
		if _, ok := srcPN[src]; !ok {
			n, ok := p.pns[f.project]
			if !ok {
				n = s.projNums[f.project]
			}
			srcPN[src] = n
		}
		nk := nameKey{day: day, source: src, name: r[3].(string), feature: f.feature, code: f.code, hasFeature: f.hasFeature, hasCode: f.hasCode}
		a := names[nk]
		if a == nil {
			a = new(sums)
			names[nk] = a
		}
		a.add(ms)
		sk := sourceDayKey{day: day, source: src}
		if env, ok := r[6].(string); ok {
			sk.env, sk.hasEnv = env, true
		}
		if a = srcs[sk]; a == nil {
			a = new(sums)
			srcs[sk] = a
		}
		a.add(ms)
	}
	pn := func(src int32) int32 { return srcPN[src] }
	// The sealed weeks of these events are sealed no more.
	sealed, err := s.sealedWeeks(ctx)
	if err != nil {
		return err
	}
	for k := range srcs {
		if w := weekOfDay(k.day); sealed[w] && !slices.Contains(p.unsealed, w) {
			p.unsealed = append(p.unsealed, w)
		}
	}
	if len(p.unsealed) > 0 {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM week_sealed WHERE week IN `+intList(p.unsealed)); err != nil {
			return err
		}
	}
	{
		nameRows := make([][]driver.Value, 0, len(names))
		for k, a := range names {
			var feature, code any
			if k.hasFeature {
				feature = k.feature
			}
			if k.hasCode {
				code = k.code
			}
			nameRows = append(nameRows, []driver.Value{k.day, k.source, pn(k.source), k.name, feature, code,
				a.events, time.UnixMilli(a.first).UTC(), time.UnixMilli(a.last).UTC()})
			p.rows[period{false, k.day}]++
		}
		projects := make(map[projectKey]int64)
		srcRows := make([][]driver.Value, 0, len(srcs))
		for k, a := range srcs {
			var env any
			if k.hasEnv {
				env = k.env
			}
			n := pn(k.source)
			srcRows = append(srcRows, []driver.Value{k.day, k.source, n, env, a.events,
				time.UnixMilli(a.first).UTC(), time.UnixMilli(a.last).UTC()})
			projects[projectKey{k.day, n}] += a.events
		}
		projRows := make([][]driver.Value, 0, len(projects))
		for k, n := range projects {
			projRows = append(projRows, []driver.Value{k.day, k.pn, n})
		}
		// In day order (a merge then orders a day's rows as rollupTables
		// says).
		byDay := func(x, y []driver.Value) int { return cmp.Compare(x[0].(int32), y[0].(int32)) }
		slices.SortStableFunc(nameRows, byDay)
		slices.SortStableFunc(srcRows, byDay)
		slices.SortStableFunc(projRows, byDay)
		for _, a := range []struct {
			table string
			rows  [][]driver.Value
		}{{"day_names", nameRows}, {"day_sources", srcRows}, {"day_projects", projRows}} {
			if err := s.appendRows(ctx, "", a.table, a.rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// storedOf returns the IDs of the batch that are stored already, asking the
// table, in one query, only for those the filter of stored IDs does not
// rule out.
func (s *Store) storedOf(ctx context.Context, b *batch) (map[duckdb.UUID]struct{}, error) {
	f := s.ids.Load()
	var maybe [][]driver.Value
	for _, r := range b.events {
		if id := r[0].(duckdb.UUID); f.Has(id) {
			maybe = append(maybe, []driver.Value{id})
		}
	}
	out := make(map[duckdb.UUID]struct{})
	if len(maybe) == 0 {
		return out, nil
	}
	if err := s.appendRows(ctx, "temp", "stage_ids", maybe); err != nil {
		return nil, err
	}
	rows, err := s.w.QueryContext(ctx, fmt.Sprintf(`SELECT id FROM event_rows WHERE id BETWEEN %s AND %s AND id IN (SELECT id FROM stage_ids)`,
		uuidLiteral(b.lo), uuidLiteral(b.hi)))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		out[duckdb.UUID(id)] = struct{}{}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM stage_ids`); err != nil {
		return nil, err
	}
	return out, nil
}

// projectNumbers finds the number of each project of facts that the cache
// does not hold, numbering the projects that have none yet (appended to
// projects in the transaction).
func (s *Store) projectNumbers(ctx context.Context, facts []rowFacts, p *rollupPending) error {
	p.pns = map[string]int32{}
	var miss []any
	for i := range facts {
		id := facts[i].project
		if _, ok := s.projNums[id]; ok {
			continue
		}
		if _, ok := p.pns[id]; ok {
			continue
		}
		p.pns[id] = 0
		miss = append(miss, id)
	}
	if len(miss) == 0 {
		return nil
	}
	q, err := s.w.QueryContext(ctx, `SELECT project_id, pn FROM projects WHERE project_id IN (?`+strings.Repeat(", ?", len(miss)-1)+`)`, miss...)
	if err != nil {
		return err
	}
	for q.Next() {
		var id string
		var n int32
		if err := q.Scan(&id, &n); err != nil {
			q.Close()
			return err
		}
		p.pns[id] = n
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	var fresh []string
	for id, n := range p.pns {
		if n == 0 {
			fresh = append(fresh, id)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	slices.Sort(fresh)
	q, err = s.w.QueryContext(ctx, fmt.Sprintf(`SELECT nextval('projects_seq')::INTEGER FROM range(%d)`, len(fresh)))
	if err != nil {
		return err
	}
	rows := make([][]driver.Value, 0, len(fresh))
	for q.Next() {
		var n int32
		if err := q.Scan(&n); err != nil {
			q.Close()
			return err
		}
		id := fresh[len(rows)]
		p.pns[id] = n
		rows = append(rows, []driver.Value{id, n})
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	if len(rows) != len(fresh) {
		return fmt.Errorf("%d numbers for %d projects", len(rows), len(fresh))
	}
	return s.appendRows(ctx, "", "projects", rows)
}

// Merging: a day's rows are merged when the pieces appended since its last
// merge reach mergeMin rows (of day_names) and half the rows it had after
// that merge.
var mergeMin = 50_000

// sealEvery is how often, at most, the writer looks for weeks to seal
// (after an Insert, and at every Checkpoint).
var sealEvery = time.Minute

// intList is a list of integers for SQL's IN.
func intList(ns []int32) string {
	list := make([]string, len(ns))
	for i, n := range ns {
		list[i] = strconv.Itoa(int(n))
	}
	return "(" + strings.Join(list, ",") + ")"
}

// sealedWeeks returns the weeks of week_sealed, read once after Open or a
// delete. It holds wmu.
func (s *Store) sealedWeeks(ctx context.Context) (map[int32]bool, error) {
	if s.sealed != nil {
		return s.sealed, nil
	}
	rows, err := s.w.QueryContext(ctx, `SELECT week FROM week_sealed`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sealed := map[int32]bool{}
	for rows.Next() {
		var w int32
		if err := rows.Scan(&w); err != nil {
			return nil, err
		}
		sealed[w] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.sealed = sealed
	return sealed, nil
}

// currentWeek is the week of today (UTC): the weeks before it are over.
func currentWeek() int32 { return weekOfDay(dayOfMS(time.Now().UnixMilli())) }

// sealWeeks makes the weekly rows of every week that is over, has events
// and is not sealed, from its days, and seals it: a transaction per week.
// It holds wmu.
func (s *Store) sealWeeks(ctx context.Context) error {
	s.lastSeal = time.Now()
	cur := currentWeek()
	rows, err := s.w.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT (day + 3) // 7 AS week FROM day_projects
		WHERE day < %d AND (day + 3) // 7 NOT IN (SELECT week FROM week_sealed) ORDER BY week`, 7*cur-3))
	if err != nil {
		return err
	}
	var weeks []int32
	for rows.Next() {
		var w int32
		if err := rows.Scan(&w); err != nil {
			rows.Close()
			return err
		}
		weeks = append(weeks, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, w := range weeks {
		if _, err := s.w.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
			return s.recoverWriter(err)
		}
		for _, q := range append(weekStatements(w, w+1), fmt.Sprintf(`INSERT INTO week_sealed VALUES (%d)`, w)) {
			if _, err := s.w.ExecContext(ctx, q); err != nil {
				return s.rollback(err)
			}
		}
		if _, err := s.w.ExecContext(ctx, `COMMIT`); err != nil {
			return s.rollback(err)
		}
		if s.sealed != nil {
			s.sealed[w] = true
		}
	}
	return nil
}

// rollupCommitted counts a committed batch's pieces and merges the days and
// weeks that have enough of them. A failed merge changes nothing: the
// pieces are as exact as merged rows. It holds wmu.
func (s *Store) rollupCommitted(b *batch) {
	p := b.rollup
	if p == nil {
		return
	}
	if len(s.projNums)+len(p.pns) > maxSourceIDs {
		clear(s.projNums)
	}
	for id, n := range p.pns {
		s.projNums[id] = n
	}
	for _, w := range p.unsealed {
		delete(s.sealed, w)
	}
	var due []period
	for per, n := range p.rows {
		s.pieces[per] += n
		if s.pieces[per] >= mergeMin && s.pieces[per] >= s.merged[per]/2 {
			due = append(due, per)
		}
	}
	if len(due) > 0 {
		s.mergePeriods(context.Background(), due)
	}
	if time.Since(s.lastSeal) >= sealEvery {
		s.sealWeeks(context.Background())
	}
}

// mergePeriods replaces the rows of days and weeks by one row per key, in
// one transaction. It holds wmu.
func (s *Store) mergePeriods(ctx context.Context, due []period) error {
	lists := map[string][]string{}
	for _, per := range due {
		k := "day"
		if per.week {
			k = "week"
		}
		lists[k] = append(lists[k], strconv.Itoa(int(per.n)))
	}
	if _, err := s.w.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return s.recoverWriter(err)
	}
	after := map[period]int{}
	for _, t := range rollupTables {
		list := lists[t.period]
		if len(list) == 0 {
			continue
		}
		in := "(" + strings.Join(list, ",") + ")"
		stmts := []string{
			fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE rollup_merge AS SELECT %s, %s FROM %s WHERE %s IN %s GROUP BY ALL ORDER BY %s`,
				t.key(), t.sums, t.name, t.period, in, t.ordered()),
			fmt.Sprintf(`DELETE FROM %s WHERE %s IN %s`, t.name, t.period, in),
			fmt.Sprintf(`INSERT INTO %s SELECT * FROM rollup_merge`, t.name),
		}
		for _, q := range stmts {
			if _, err := s.w.ExecContext(ctx, q); err != nil {
				return s.rollback(err)
			}
		}
		if strings.HasSuffix(t.name, "_names") {
			rows, err := s.w.QueryContext(ctx, fmt.Sprintf(`SELECT %s, count(*) FROM rollup_merge GROUP BY ALL`, t.period))
			if err != nil {
				return s.rollback(err)
			}
			for rows.Next() {
				var n int32
				var c int
				if err := rows.Scan(&n, &c); err != nil {
					rows.Close()
					return s.rollback(err)
				}
				after[period{t.period == "week", n}] = c
			}
			rows.Close()
		}
		if _, err := s.w.ExecContext(ctx, `DROP TABLE rollup_merge`); err != nil {
			return s.rollback(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `COMMIT`); err != nil {
		return s.rollback(err)
	}
	for _, per := range due {
		s.pieces[per] = 0
		s.merged[per] = after[per]
	}
	return nil
}

// forgetRollupState empties what the writer remembers of the rollups
// (project numbers, pieces per day), after a delete.
func (s *Store) forgetRollupState() {
	s.sealed = nil
	clear(s.projNums)
	clear(s.pieces)
	clear(s.merged)
}

// rebuildStatements returns the statements that rebuild the day rollups'
// rows of the days [lo, hi) from event_rows, numbering the projects that
// have no number yet. They run in the caller's transaction on the writer's
// connection.
func rebuildStatements(lo, hi int32) []string {
	tlo := time.UnixMilli(int64(lo) * msPerDay).UTC().Format("2006-01-02")
	thi := time.UnixMilli(int64(hi) * msPerDay).UTC().Format("2006-01-02")
	where := fmt.Sprintf(`time >= TIMESTAMP_MS '%s' AND time < TIMESTAMP_MS '%s'`, tlo, thi)
	days := fmt.Sprintf(`day >= %d AND day < %d`, lo, hi)
	return []string{
		`INSERT INTO projects
		SELECT project_id, nextval('projects_seq')::INTEGER FROM (
			SELECT DISTINCT project_id FROM sources s
			WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.project_id = s.project_id)
			ORDER BY project_id)`,
		`CREATE OR REPLACE TEMP TABLE rollup_pn AS SELECT s.source_id, p.pn FROM sources s JOIN projects p USING (project_id)`,
		`DELETE FROM day_names WHERE ` + days,
		`DELETE FROM day_sources WHERE ` + days,
		`DELETE FROM day_projects WHERE ` + days,
		`INSERT INTO day_names
		SELECT day, source_id, pn, name, feature, code, count(*), min(time), max(time) FROM (
			SELECT ` + sqlDay + ` AS day, e.source_id, n.pn, e.name, ` + sqlFeature + ` AS feature, ` + sqlCode + ` AS code, e.time
			FROM event_rows e JOIN rollup_pn n USING (source_id) WHERE ` + where + `)
		GROUP BY ALL ORDER BY day, name, source_id`,
		`INSERT INTO day_sources
		SELECT day, source_id, pn, environment, count(*), min(time), max(time) FROM (
			SELECT ` + sqlDay + ` AS day, e.source_id, n.pn, e.environment, e.time
			FROM event_rows e JOIN rollup_pn n USING (source_id) WHERE ` + where + `)
		GROUP BY ALL ORDER BY day, source_id`,
		`INSERT INTO day_projects SELECT day, pn, sum(events)::BIGINT FROM day_sources WHERE ` + days + ` GROUP BY ALL ORDER BY day, pn`,
		`DROP TABLE rollup_pn`,
	}
}

// weekStatements returns the statements that rebuild the week rollups'
// rows of the weeks [lo, hi) from the day rollups.
func weekStatements(lo, hi int32) []string {
	var out []string
	for _, t := range rollupTables {
		if t.period != "week" {
			continue
		}
		day := "day_" + strings.TrimPrefix(t.name, "week_")
		weeks := fmt.Sprintf(`week >= %d AND week < %d`, lo, hi)
		out = append(out,
			`DELETE FROM `+t.name+` WHERE `+weeks,
			fmt.Sprintf(`INSERT INTO %s SELECT * FROM (SELECT (day + 3) // 7 AS week, %s, %s FROM %s WHERE day >= %d AND day < %d GROUP BY ALL) ORDER BY %s`,
				t.name, t.keys, t.sums, day, 7*lo-3, 7*hi-3, t.ordered()))
	}
	return out
}

// rebuildChunk bounds the events (or the day_names rows, for the weeks
// alone) one rebuild statement aggregates, so that a rebuild of the whole
// table stays within abacus serve's 64 MB.
const rebuildChunk = 300_000

// rebuildAll rebuilds every rollup, in chunks of whole weeks of about
// rebuildChunk events: the days from event_rows (unless weeksOnly), then
// the weeks from the days. It runs in the caller's transaction on the
// writer's connection and holds wmu.
func (s *Store) rebuildAll(ctx context.Context, weeksOnly bool) error {
	q := `SELECT (` + sqlDay + ` + 3) // 7 AS week, count(*) FROM event_rows GROUP BY week ORDER BY week`
	if weeksOnly {
		q = `SELECT (day + 3) // 7 AS week, count(*) FROM day_names GROUP BY week ORDER BY week`
	}
	rows, err := s.w.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	type weekCount struct {
		week int32
		n    int64
	}
	var counts []weekCount
	for rows.Next() {
		var c weekCount
		if err := rows.Scan(&c.week, &c.n); err != nil {
			rows.Close()
			return err
		}
		counts = append(counts, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range rollupTables {
		if weeksOnly && t.period == "day" {
			continue
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM `+t.name); err != nil {
			return err
		}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM week_sealed`); err != nil {
		return err
	}
	for i := 0; i < len(counts); {
		j, n := i, int64(0)
		for j < len(counts) && (j == i || n+counts[j].n <= rebuildChunk) {
			n += counts[j].n
			j++
		}
		lo, hi := counts[i].week, counts[j-1].week+1
		var stmts []string
		if !weeksOnly {
			stmts = rebuildStatements(7*lo-3, 7*hi-3)
		}
		// The weeks that are over are sealed.
		if whi := min(hi, currentWeek()); lo < whi {
			stmts = append(stmts, weekStatements(lo, whi)...)
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO week_sealed SELECT range FROM range(%d, %d)`, lo, whi))
		}
		for _, q := range stmts {
			if _, err := s.w.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		i = j
	}
	// Projects with no source left (none, unless rows were written around
	// the store) have no number to keep.
	_, err = s.w.ExecContext(ctx, `DELETE FROM projects p WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.project_id = p.project_id)`)
	return err
}

// rollupsAccountFor says whether every daily rollup sums to the events of
// event_rows: false when rows were written around the store.
func (s *Store) rollupsAccountFor(ctx context.Context) (bool, error) {
	q := `SELECT (SELECT count(*) FROM event_rows)`
	n := 1
	for _, t := range rollupTables {
		if t.period == "day" {
			q += `, (SELECT coalesce(sum(events), 0) FROM ` + t.name + `)`
			n++
		}
	}
	sums := make([]int64, n)
	dest := make([]any, len(sums))
	for i := range sums {
		dest[i] = &sums[i]
	}
	if err := s.w.QueryRowContext(ctx, q).Scan(dest...); err != nil {
		return false, err
	}
	for _, n := range sums[1:] {
		if n != sums[0] {
			return false, nil
		}
	}
	return true, nil
}

// rebuildRollups rebuilds the rollups (only the weeks' with weeksOnly) in
// a transaction of its own, with the statements then. It holds wmu.
func (s *Store) rebuildRollups(ctx context.Context, weeksOnly bool, then ...string) error {
	if _, err := s.w.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return s.recoverWriter(err)
	}
	if err := s.rebuildAll(ctx, weeksOnly); err != nil {
		return s.rollback(err)
	}
	for _, q := range then {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return s.rollback(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `COMMIT`); err != nil {
		return s.rollback(err)
	}
	s.forgetRollupState()
	return nil
}

// eventFacts is factsOf for an event being prepared.
func eventFacts(e *store.Event) rowFacts {
	f := factsOf(e.Properties)
	f.project = e.ProjectID
	return f
}
