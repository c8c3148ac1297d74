package ingest

// Cover makes the request's share of the body memory budget hold n bytes
// beyond its bodies (the bytes read and, for gzip, the bytes after gunzip),
// for a batch built from them: another protocol's body mapped to a native
// batch. It fails with 503, as a body past the budget does, when the budget
// cannot give them; n past SmallBody in all makes the request large (see
// Budget).
func (b *Body) Cover(n int) *Error {
	base := int64(len(b.raw))
	if b.gz {
		base += int64(len(b.sc.plain))
	}
	if !b.acct.cover(base + int64(n)) {
		return errBusy
	}
	return nil
}
