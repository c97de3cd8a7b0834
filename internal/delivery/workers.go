package delivery

import (
	"sync/atomic"
	"time"
)

// workerIdle is how long a request goroutine waits for the next request
// before it ends.
const workerIdle = time.Second

// workers runs requests on goroutines that outlive one request: each
// grows its stack through net/http, HTTP/2 and TLS once and keeps it for
// the next request, where a goroutine per request copied a growing stack
// every time. A goroutine is started whenever none is free, so the number
// running follows the requests in flight (the limiter bounds those).
type workers struct {
	jobs    chan func() // unbuffered: a send succeeds only when a worker waits
	running atomic.Int64
}

func newWorkers() *workers { return &workers{jobs: make(chan func())} }

// run runs fn on a free worker, or on a new one.
func (w *workers) run(fn func()) {
	select {
	case w.jobs <- fn:
	default:
		w.running.Add(1)
		go w.loop(fn)
	}
}

func (w *workers) loop(fn func()) {
	defer w.running.Add(-1)
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		fn()
		t.Reset(workerIdle)
		select {
		case fn = <-w.jobs:
		case <-t.C:
			return
		}
	}
}
