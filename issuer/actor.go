package issuer

// WithActor returns a view of the ledger that records changes under actor
// instead of l.Actor. It shares l's database and settings, so one ledger can
// serve many callers, each recorded under its own name, without anyone
// writing to the shared Actor field.
func (l *Ledger) WithActor(actor string) *Ledger {
	c := *l
	c.Actor = actor
	return &c
}
