package server

// SetAfterCommit sets the hook that runs after a kept change commits and
// before its answer is written (the crash test stops the process there).
func SetAfterCommit(f func()) { afterCommit = f }

// CreatingRoutes lists the routes that honour Idempotency-Key.
func (s *Server) CreatingRoutes() []string { return s.creatingRoutes }
