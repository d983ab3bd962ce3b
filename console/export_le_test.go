package console

// SetInboxPage changes how many reports an inbox page shows, until the
// returned function restores it (tests of the paging).
func SetInboxPage(n int) (restore func()) {
	old := inboxPage.Swap(int64(n))
	return func() { inboxPage.Store(old) }
}
