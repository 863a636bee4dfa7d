package revoke

// Observe makes the set call f with the entries it applies (one for
// Apply, a chunk for ApplyAll), and with every entry it remembers as not
// understood, once lookups can see them: a CheckToken that starts after f
// is called reports them. f runs on the applying goroutine (the synchroniser's), outside
// the writers' lock, and must not block; it tells f's owner to act on
// requests that are already running (session cancels their contexts).
// A nil f stops the calls. Observe is safe for concurrent use.
func (s *Set) Observe(f func([]Entry)) {
	if f == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&f)
}

// Applied counts the entries applied so far (those Observe reports). It is
// advanced after an entry is applied and before the observer hears of it,
// so a reader that registers a request with the observer between two reads
// of Applied that agree knows no entry slipped between its own check and
// its registration: a check that started after the first read would have
// seen any entry applied before it, and the observer will see every entry
// applied after the second.
func (s *Set) Applied() uint64 { return s.applied.Load() }

// notify hands e to the observer, if any.
func (s *Set) notify(e Entry) {
	s.applied.Add(1)
	if f := s.observer.Load(); f != nil {
		(*f)([]Entry{e})
	}
}

// notifyAll hands the valid entries of a chunk ApplyAll applied to the
// observer; the invalid ones reach it through noteUnsupported.
func (s *Set) notifyAll(chunk []Entry) {
	s.applied.Add(1)
	f := s.observer.Load()
	if f == nil {
		return
	}
	valid := make([]Entry, 0, len(chunk))
	for _, e := range chunk {
		if e.Validate() == nil {
			valid = append(valid, e)
		}
	}
	if len(valid) > 0 {
		(*f)(valid)
	}
}
