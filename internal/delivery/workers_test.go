package delivery

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWorkers(t *testing.T) {
	t.Parallel()

	t.Run("AFreeWorkerTakesTheNextJob", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorkers()
			for range 20 {
				done := make(chan struct{})
				w.run(func() { close(done) })
				<-done
				synctest.Wait() // the worker waits for the next job
			}
			require.Equal(t, int64(1), w.running.Load())
			time.Sleep(workerIdle) // idle for a second: it ends
			synctest.Wait()
			require.Zero(t, w.running.Load())
		})
	})

	t.Run("BusyWorkersMeanNewOnes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorkers()
			release := make(chan struct{})
			var wg sync.WaitGroup
			for range 5 {
				wg.Add(1)
				w.run(func() { defer wg.Done(); <-release })
			}
			require.Equal(t, int64(5), w.running.Load())
			close(release)
			wg.Wait()
			time.Sleep(workerIdle)
			synctest.Wait()
			require.Zero(t, w.running.Load())
		})
	})
}
